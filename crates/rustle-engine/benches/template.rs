//! The engine's hot path: rendering task arguments. A plain string, a
//! filter chain over a list, and a whole-expression value kept native.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use rustle_engine::template::{Templar, environment};
use serde_json::json;

fn bench(c: &mut Criterion) {
    let vars = json!({
        "inventory_hostname": "web01",
        "port": 8080,
        "users": (0..50).map(|i| json!({"name": format!("user{i}"), "admin": i % 5 == 0})).collect::<Vec<_>>(),
    });
    let serde_json::Value::Object(vars) = vars else {
        unreachable!()
    };
    let templar = Templar::new(environment(), vec![Arc::new(vars)]);
    let cases = [
        ("plain text", json!("/etc/app/config.yml")),
        ("one variable", json!("{{ inventory_hostname }}:{{ port }}")),
        (
            "filter chain",
            json!("{{ users | selectattr('admin') | map(attribute='name') | join(',') | upper }}"),
        ),
        ("native value", json!("{{ users | length > 10 }}")),
    ];
    let mut group = c.benchmark_group("render");
    for (name, raw) in &cases {
        group.bench_function(*name, |b| b.iter(|| templar.render(raw).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
