//! rustle-deploy's per-host hot path: packing a host's slice and files
//! into a payload and appending it to the runner binary, then reading it
//! back as the runner does.

use criterion::{Criterion, criterion_group, criterion_main};
use rustle_format::{FileRef, HostSlice};

fn bench(c: &mut Criterion) {
    let file = vec![7u8; 256 * 1024];
    let digest = rustle_format::sha256_hex(&file);
    let slice = HostSlice {
        version: rustle_format::FORMAT_VERSION,
        host: "web01".into(),
        check: false,
        diff: false,
        tags: Vec::new(),
        skip_tags: Vec::new(),
        playbook_dir: "/src".into(),
        group_names: vec!["web".into()],
        groups: Default::default(),
        vars: Default::default(),
        extra_vars: Default::default(),
        plays: Vec::new(),
        files: vec![FileRef {
            src: "app.tar".into(),
            path: "/src/app.tar".into(),
            sha256: digest,
            size: file.len() as u64,
        }],
    };
    // A runner-sized base binary.
    let base = vec![0x7fu8; 4 * 1024 * 1024];
    c.bench_function("build a payload (256 KiB file)", |b| {
        b.iter(|| rustle_payload::build(&slice, |_| Ok(file.clone())).unwrap())
    });
    let payload = rustle_payload::build(&slice, |_| Ok(file.clone())).unwrap();
    c.bench_function("embed into a 4 MiB runner", |b| {
        b.iter(|| rustle_payload::embed(&base, &payload))
    });
    let exe = rustle_payload::embed(&base, &payload);
    c.bench_function("read the embedded payload back", |b| {
        b.iter(|| rustle_payload::read_embedded(&exe).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
