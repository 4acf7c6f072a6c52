//! The authoring guide (`components/README.md`) and its example, the `upper`
//! row transform of `components/examples/upper`: the guide shows the crate's
//! code exactly, and the built component does what the guide says.

use std::fs;

use sluice_tests::{DumpDir, TestDb, component_wasm, dump, restore_into, run, workspace_root};

/// The line in the guide that introduces the example's code block.
const EXAMPLE_MARKER: &str = "<!-- example: components/examples/upper/src/lib.rs -->";

/// Four people: one without an email, one without a name.
fn people() -> TestDb {
    let db = TestDb::new();
    db.exec(
        "CREATE TABLE public.people (id int PRIMARY KEY, name text, email text); \
         INSERT INTO public.people VALUES \
           (1, 'ada', 'ada@example.com'), (2, 'grace', NULL), (3, 'zoë', 'zoe@example.com'), (4, NULL, 'x@example.com')",
    );
    db
}

/// Restores `dir` into a fresh database and returns its `public.people`
/// rows as `id|name|email` lines in id order (`-` for NULL).
#[track_caller]
fn restored_people(dir: &DumpDir) -> String {
    let target = TestDb::new();
    restore_into(dir, &target, &[]).assert_success();
    target
        .query("SELECT id || '|' || coalesce(name, '-') || '|' || coalesce(email, '-') FROM public.people ORDER BY id")
}

/// Writes a `--config` file applying `upper.wasm` to `public.people` with
/// `config` (a TOML inline table), and returns its directory and path.
fn config_file(config: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let wasm = component_wasm("upper");
    let wasm = wasm.to_str().expect("the component path is UTF-8");
    let path = dir.path().join("sluice.toml");
    // `{:?}` quotes the path the way a TOML basic string wants for the
    // ASCII paths the build produces.
    let toml = format!("[[table]]\nmatch = \"public.people\"\ntransform = {wasm:?}\nconfig = {config}\n");
    fs::write(&path, toml).expect("write the config file");
    let path = path.to_str().expect("temporary paths are UTF-8").to_owned();
    (dir, path)
}

#[test]
fn the_authoring_guide_shows_the_upper_example_exactly() {
    let root = workspace_root().join("components");
    let readme = fs::read_to_string(root.join("README.md")).expect("read components/README.md");
    let lib = fs::read_to_string(root.join("examples/upper/src/lib.rs")).expect("read the upper example");
    // The crate ends with its unit tests module, which the guide leaves out.
    let code = lib.split("\n#[cfg(test)]").next().unwrap_or_default().trim_end();
    let after_marker = readme
        .split_once(EXAMPLE_MARKER)
        .unwrap_or_else(|| panic!("components/README.md has no line {EXAMPLE_MARKER:?}"))
        .1;
    let shown = after_marker
        .split_once("```rust\n")
        .and_then(|(_, block)| block.split_once("\n```"))
        .map(|(block, _)| block.trim_end())
        .expect("a ```rust block follows the example marker");
    assert_eq!(shown, code, "the guide's example differs from components/examples/upper/src/lib.rs");
}

#[test]
fn upper_without_config_upper_cases_every_text_column() {
    let transform = format!("public.people={}", component_wasm("upper").display());
    let dir = dump(&people(), &["--transform", &transform]);
    assert_eq!(restored_people(&dir), "1|ADA|ADA@EXAMPLE.COM\n2|GRACE|-\n3|ZOË|ZOE@EXAMPLE.COM\n4|-|X@EXAMPLE.COM");
}

#[test]
fn upper_configured_in_the_config_file_upper_cases_names_and_drops_rows_without_email() {
    let (_config_dir, config) = config_file(r#"{ upper = "name", drop_null = "email" }"#);
    let dir = dump(&people(), &["--config", &config]);
    assert_eq!(restored_people(&dir), "1|ADA|ada@example.com\n3|ZOË|zoe@example.com\n4|-|x@example.com");
}

#[test]
fn upper_configured_with_an_unknown_column_is_bad_input_naming_it() {
    let (_config_dir, config) = config_file(r#"{ upper = "nickname" }"#);
    let dir = DumpDir::new();
    run(["dump", people().url(), "--out", dir.arg(), "--config", &config])
        // invalid-config is bad input (exit 2), like an unreadable config file.
        .assert_code(2)
        .assert_stderr_contains("nickname");
    assert!(!dir.manifest_path().exists());
}

#[test]
fn component_check_accepts_the_upper_example() {
    let wasm = component_wasm("upper");
    let out = run([std::ffi::OsStr::new("component"), "check".as_ref(), wasm.as_os_str()]);
    out.assert_success();
    assert!(out.stdout.contains("row-transform"), "component check does not name the world\n{out}");
}
