//! rustle-plan's hot path: hosts x tasks into a plan with every host's
//! slice hash. The demo's parsed document grown to 200 hosts x 200 tasks
//! (its tasks repeated, each with its own id), built once outside the loop.

use criterion::{Criterion, criterion_group, criterion_main};
use rustle_format::{Document, Host, Stage};
use rustle_plan::{PlanOptions, plan};

fn grown(hosts: usize, tasks: usize) -> Document {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/golden/demo.parsed.json"
    );
    let text = std::fs::read(path).unwrap();
    let mut doc = Document::read(text.as_slice(), &[Stage::Parsed]).unwrap();
    let play = &mut doc.parsed.plays[0];
    play.hosts = "all".into();
    let base = play.tasks.clone();
    play.tasks = (0..tasks)
        .map(|i| {
            let mut t = base[i % base.len()].clone();
            t.id = format!("{:016x}", i);
            t
        })
        .collect();
    let inv = &mut doc.parsed.inventory;
    inv.hosts = (0..hosts)
        .map(|i| Host {
            name: format!("web{i:03}"),
            vars: [("ansible_connection".to_owned(), "local".into())]
                .into_iter()
                .collect(),
            implicit: false,
        })
        .collect();
    let ungrouped = inv
        .groups
        .iter_mut()
        .find(|g| g.name == "ungrouped")
        .unwrap();
    ungrouped.hosts = inv.hosts.iter().map(|h| h.name.clone()).collect();
    doc
}

fn bench(c: &mut Criterion) {
    let doc = grown(200, 200);
    let opts = PlanOptions::default();
    c.bench_function("plan 200 hosts x 200 tasks", |b| {
        b.iter(|| plan(doc.clone(), &opts).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
