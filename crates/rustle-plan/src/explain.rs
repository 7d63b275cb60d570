//! `--explain`: the plan for people, play by play and host by host.

use std::fmt::Write;

use rustle_format::{Connection, Document, ExecMode, HintKind};

pub fn explain(doc: &Document) -> String {
    let Some(plan) = &doc.plan else {
        return String::new();
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Plan for {}: {} play(s), {} host(s), forks {}{}{}",
        doc.parsed.playbook,
        plan.plays.len(),
        plan.hosts.len(),
        plan.forks,
        if plan.check { ", check mode" } else { "" },
        if plan.diff { ", diff" } else { "" },
    );
    for pp in &plan.plays {
        let play = &doc.parsed.plays[pp.play as usize];
        let _ = writeln!(
            out,
            "\nPlay {}: {} (hosts: {}, strategy {})",
            pp.play + 1,
            play.name,
            play.hosts,
            pp.strategy
        );
        if pp.hosts.is_empty() {
            let _ = writeln!(out, "  no hosts matched: nothing runs");
            continue;
        }
        if let Some(pct) = pp.max_fail_percentage {
            let _ = writeln!(out, "  stops when more than {pct}% of a batch fails");
        }
        if pp.any_errors_fatal {
            let _ = writeln!(out, "  any_errors_fatal: one failure stops every host");
        }
        let mut start = 0;
        for (b, size) in pp.batches.iter().enumerate() {
            let end = start + *size as usize;
            let _ = writeln!(out, "  batch {}: {}", b + 1, pp.hosts[start..end].join(" "));
            start = end;
        }
        let _ = writeln!(out, "  tasks ({}):", pp.tasks.len());
        for &i in &pp.tasks {
            let t = &play.tasks[i as usize];
            let name = t.name.clone().unwrap_or_else(|| t.action.clone());
            let _ = writeln!(out, "    {:<50} {}", name, t.action);
        }
        for h in &pp.hints {
            let kind = match &h.kind {
                HintKind::HostExclusive => "one at a time per host".to_owned(),
                HintKind::RateLimited { per_second } => format!("at most {per_second}/s"),
                HintKind::GlobalExclusive => "one host at a time".to_owned(),
                HintKind::Throttled { limit } => format!("at most {limit} hosts at a time"),
            };
            let _ = writeln!(out, "  hint: {} -> {kind} ({})", h.name, h.reason);
        }
        for s in &pp.sync_points {
            let _ = writeln!(out, "  sync: {} ({})", s.name, s.reason);
        }
        if pp.batches.len() > 1 {
            let _ = writeln!(out, "  sync: between batches");
        }
    }
    let _ = writeln!(out, "\nHosts:");
    for h in &plan.hosts {
        let how = match &h.connection {
            Connection::Local => "local".to_owned(),
            Connection::Ssh {
                address,
                port,
                user,
                ..
            } => format!(
                "ssh {}{}{}",
                user.as_ref().map(|u| format!("{u}@")).unwrap_or_default(),
                address,
                port.map(|p| format!(":{p}")).unwrap_or_default()
            ),
        };
        let mode = match h.mode {
            ExecMode::Runner => "runner",
            ExecMode::Ssh => "task by task over ssh",
        };
        let _ = writeln!(
            out,
            "  {:<24} {how}, {mode}, slice {}",
            h.name,
            &h.slice_sha256[..12.min(h.slice_sha256.len())]
        );
    }
    out
}
