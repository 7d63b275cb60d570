//! copy's directory `src`: parse embeds every file under it (so a runner
//! carries the whole tree), found where Ansible looks for it.

use rustle_parse::{ParseOptions, parse};

#[test]
fn a_directory_src_is_embedded_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for (path, text) in [
        ("files/tree/a.txt", "a\n"),
        ("files/tree/sub/b.txt", "b\n"),
        ("top/c.txt", "c\n"),
        ("files/other.txt", "not wanted\n"),
    ] {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let book = root.join("site.yml");
    std::fs::write(
        &book,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n\
         \x20   - copy: {src: tree, dest: /x}\n\
         \x20   - copy: {src: top/, dest: /y}\n\
         \x20   - template: {src: tree, dest: /z}\n",
    )
    .unwrap();
    let doc = parse(&ParseOptions {
        playbook: book,
        ..ParseOptions::default()
    })
    .unwrap();
    let keys: Vec<&str> = doc.parsed.files.iter().map(|f| f.src.as_str()).collect();
    assert_eq!(
        keys,
        ["files/tree/a.txt", "files/tree/sub/b.txt", "top/c.txt"]
    );
}
