//! The command-line contract: bad usage and bad input exit 2, with a message.

use std::fs;

use sluice_tests::{DumpDir, TestDb, run, sluice_command};

#[test]
fn an_unknown_flag_is_bad_usage() {
    run(["--no-such-flag"]).assert_code(2);
    let dir = DumpDir::new();
    run(["dump", TestDb::new().url(), "--out", dir.arg(), "--no-such-flag"]).assert_code(2);
    assert!(!dir.manifest_path().exists());
}

#[test]
fn restore_of_a_directory_that_is_not_a_dump_is_bad_input() {
    let dir = DumpDir::new();
    fs::create_dir_all(dir.path()).expect("mkdir");
    fs::write(dir.path().join("notes.txt"), "not a dump").expect("write");
    let target = TestDb::new();
    run(["restore", dir.arg(), target.url()]).assert_code(2);
    assert_eq!(target.query_i64("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"), 0);
}

#[test]
fn resume_is_refused_as_not_yet_supported() {
    let dir = DumpDir::new();
    run(["dump", TestDb::small().url(), "--out", dir.arg(), "--resume"])
        .assert_code(2)
        .assert_stderr_contains("not yet supported");
    assert!(!dir.manifest_path().exists());
}

#[test]
fn bad_input_creates_nothing_and_the_rerun_is_not_refused() {
    let dir = DumpDir::new();
    let missing = dir.path().with_extension("no-such.db");
    run(["dump", &format!("sqlite://{}", missing.display()), "--out", dir.arg()]).assert_code(1);
    assert!(!dir.path().exists(), "a dump of a missing SQLite file created --out");

    let text = dir.path().with_extension("txt");
    fs::write(&text, "not a component\n").expect("write");
    let transform = format!("public.*={}", text.display());
    run(["dump", TestDb::small().url(), "--out", dir.arg(), "--transform", &transform]).assert_code(2);
    assert!(!dir.path().exists(), "a dump with a bad transform created --out");

    run(["dump", TestDb::small().url(), "--out", dir.arg(), "--include", "public.no_such_table_*"])
        .assert_code(2)
        .assert_stderr_contains("no table matches the selection");
    assert!(!dir.path().exists(), "a dump selecting no table created --out");

    fs::create_dir_all(dir.path()).expect("mkdir");
    run(["dump", "sqlite:///nonexistent/sluice.db", "--out", dir.arg()]).assert_code(1);
    assert!(
        dir.path().is_dir() && fs::read_dir(dir.path()).expect("read").next().is_none(),
        "the empty --out stays, empty"
    );
    run(["dump", TestDb::small().url(), "--out", dir.arg()]).assert_success();
    assert!(dir.manifest_path().exists());
}

#[test]
fn a_transform_that_is_not_a_component_is_bad_input_naming_what_it_is() {
    let dir = DumpDir::new();
    let scratch = dir.path().with_extension("files");
    fs::create_dir_all(&scratch).expect("mkdir");
    let cases = [
        ("notes.wasm", b"hello\n".to_vec(), "a text file"),
        ("module.wasm", b"\0asm\x01\0\0\0".to_vec(), "a core WebAssembly module"),
        ("true.wasm", fs::read("/bin/true").expect("/bin/true"), "an ELF executable"),
    ];
    for (name, bytes, what) in cases {
        let path = scratch.join(name);
        fs::write(&path, bytes).expect("write");
        let transform = format!("public.*={}", path.display());
        run(["dump", TestDb::small().url(), "--out", dir.arg(), "--transform", &transform])
            .assert_code(2)
            .assert_stderr_contains(&format!("component {} is {what}", path.display()));
        assert!(!dir.path().exists());
    }
}

#[test]
fn a_reader_that_closes_the_pipe_early_ends_the_command_quietly() {
    let small = TestDb::small();
    let dir = sluice_tests::dump(&small, &[]);
    for args in
        [vec!["inspect", dir.arg()], vec!["inspect", dir.arg(), "--json"], vec!["plan", small.url()], vec!["--help"]]
    {
        let mut child = sluice_command(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start sluice");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

#[test]
fn an_error_says_each_cause_once() {
    let db = TestDb::new();
    let out = run(["dump", &db.url_as("sluice_no_such_role", "x"), "--out", DumpDir::new().arg()]);
    out.assert_code(1);
    let line = out.stderr.lines().next().unwrap_or_default().to_owned();
    assert!(line.contains("sluice_no_such_role"), "{line}");
    let cause = line.rsplit(": ").next().unwrap_or_default();
    assert_eq!(line.matches(cause).count(), 1, "a cause is repeated: {line}");
}
