//! rustle-parse's hot path: reading a playbook tree (YAML, roles,
//! inventory) into a document. A generated tree of 20 roles x 50 tasks.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use rustle_parse::{ParseOptions, parse};

/// Writes `site.yml`, `hosts.ini` and `roles/r*/tasks/main.yml`.
fn tree(dir: &Path, roles: usize, tasks: usize) {
    let mut site = String::from("- hosts: all\n  gather_facts: false\n  roles:\n");
    for r in 0..roles {
        site.push_str(&format!("    - r{r}\n"));
        let tasks_dir = dir.join(format!("roles/r{r}/tasks"));
        std::fs::create_dir_all(&tasks_dir).unwrap();
        let mut main = String::new();
        for t in 0..tasks {
            main.push_str(&format!(
                "- name: task {t} of role {r}\n  copy:\n    content: \"{{{{ inventory_hostname }}}} {t}\\n\"\n    dest: /tmp/out/{r}-{t}\n  when: x is defined\n  tags: [t{t}]\n"
            ));
        }
        std::fs::write(tasks_dir.join("main.yml"), main).unwrap();
    }
    std::fs::write(dir.join("site.yml"), site).unwrap();
    std::fs::write(
        dir.join("hosts.ini"),
        "[web]\nweb[01:50]\n[all:vars]\nx=1\n",
    )
    .unwrap();
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path(), 20, 50);
    let opts = ParseOptions {
        playbook: dir.path().join("site.yml"),
        inventory: vec![dir.path().join("hosts.ini").display().to_string()],
        ..ParseOptions::default()
    };
    c.bench_function("parse 1,000 tasks in 20 roles", |b| {
        b.iter(|| parse(&opts).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
