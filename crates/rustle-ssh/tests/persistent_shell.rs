//! The persistent shell against a real sshd: each script's stdout, stderr
//! and exit code come back exactly, whatever bytes they hold, and a script
//! that fails, exits or has a syntax error ends only itself.

use std::time::Duration;

use rustle_ssh::{Endpoint, PersistentShell, connect};
use rustle_testkit::SshHosts;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_run_one_after_another_with_exact_outputs() {
    let hosts = SshHosts::start(1).unwrap();
    let h = &hosts.hosts()[0];
    let ep = Endpoint {
        host: h.name.clone(),
        address: h.address.clone(),
        port: Some(h.port),
        user: Some(h.user.clone()),
        private_key_file: Some(hosts.key_path().display().to_string()),
        extra_args: vec![
            "-o".into(),
            format!("UserKnownHostsFile={}", hosts.known_hosts().display()),
        ],
        timeout: None,
    };
    let conn = connect(&ep, Duration::from_secs(10)).await.unwrap();
    let mut sh = PersistentShell::start(&conn).await.unwrap();
    let run = async |sh: &mut PersistentShell, script: &str, stdin: Option<&[u8]>| {
        let out = sh.run(script, stdin).await.unwrap();
        (out.rc, out.stdout, out.stderr)
    };

    // No trailing newline, empty lines, and both streams.
    assert_eq!(
        run(&mut sh, "printf 'a\\n\\nb'; printf err >&2; exit 3", None).await,
        (3, b"a\n\nb".to_vec(), b"err".to_vec())
    );
    assert_eq!(run(&mut sh, "", None).await, (0, vec![], vec![]));
    assert_eq!(
        run(&mut sh, "echo", None).await,
        (0, b"\n".to_vec(), vec![])
    );
    // Quotes of every kind and a here-document of the script's own.
    assert_eq!(
        run(
            &mut sh,
            "cat <<'X'\nit's \"$HOME\" `x`\nX\necho \"'\"",
            None
        )
        .await
        .1,
        b"it's \"$HOME\" `x`\n'\n"
    );
    // Binary stdin, returned unchanged, with no newline at the end.
    let data: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    assert_eq!(run(&mut sh, "cat", Some(&data)).await, (0, data, vec![]));
    // Without stdin a script reads nothing, not the shell's own input.
    assert_eq!(run(&mut sh, "cat; echo done", None).await.1, b"done\n");
    // Much output on both streams at once does not stall.
    let (rc, out, err) = run(
        &mut sh,
        "i=0; while [ $i -lt 20000 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done",
        None,
    )
    .await;
    assert_eq!(rc, 0);
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 20000);
    assert!(err.ends_with(b"err19999\n"), "{:?}", &err[err.len() - 20..]);
    // A syntax error, an exit trap and `exec` end the script, not the shell.
    let (rc, _, err) = run(&mut sh, "echo \"unterminated", None).await;
    assert_eq!(rc, 2);
    assert!(String::from_utf8_lossy(&err).contains("Syntax error"));
    assert_eq!(
        run(&mut sh, "trap 'echo trapped' EXIT; exit 4", None).await,
        (4, b"trapped\n".to_vec(), vec![])
    );
    assert_eq!(run(&mut sh, "exec sh -c 'exit 5'", None).await.0, 5);
    // A script's variables and directory do not outlive it.
    run(&mut sh, "cd /; v=set", None).await;
    assert_eq!(
        run(&mut sh, "echo \"${v:-unset}\"; pwd", None).await.1,
        format!("unset\n{}\n", std::env::var("HOME").unwrap()).into_bytes()
    );
    // A script cannot hold a NUL byte; the caller runs it another way.
    assert!(!PersistentShell::carries("echo \0"));
    drop(sh);
    conn.close().await;
}
