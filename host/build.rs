//! Builds the built-in WebAssembly components (`components/`, its own cargo
//! workspace) for `wasm32-wasip2` and copies them to
//! `$OUT_DIR/components/<name>.wasm`, where the host embeds them with
//! `include_bytes!(concat!(env!("OUT_DIR"), "/components/copy.wasm"))`.
//! So a plain `cargo build --release` at the repository root yields a
//! binary with working default stages.
//!
//! The nested cargo runs with a clean environment: the variables cargo sets
//! for build scripts (target, profile, cfgs, features, rustflags, jobserver)
//! describe the *host* build and would otherwise leak into the guest build.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, exit};

/// Components to embed: each is `<name>.wasm` in the components workspace.
const COMPONENTS: [&str; 10] = ["copy", "csv", "sql", "jsonl", "tsv", "identity", "mask", "filter", "zstd", "gzip"];

const WASM_TARGET: &str = "wasm32-wasip2";

/// Variables removed from the nested cargo's environment by exact name.
const LEAKY_VARS: [&str; 18] = [
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "CARGO_BUILD_TARGET",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_MAKEFLAGS",
    "CARGO_PRIMARY_PACKAGE",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "PROFILE",
    "OPT_LEVEL",
    "TARGET",
    "HOST",
    "OUT_DIR",
    "DEBUG",
];

/// Variables removed by prefix: host cfgs and features, and profile
/// overrides (the components pin their own release profile).
const LEAKY_PREFIXES: [&str; 3] = ["CARGO_CFG_", "CARGO_FEATURE_", "CARGO_PROFILE_"];

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| fail("CARGO_MANIFEST_DIR is not set")));
    let repo = manifest_dir.parent().unwrap_or_else(|| fail("host/ has no parent directory")).to_path_buf();
    let components = repo.join("components");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_else(|| fail("OUT_DIR is not set")));

    emit_rerun_if_changed(&repo, &components);

    let target_dir = repo.join("target").join("wasm-components");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(&components)
        .args(["build", "--release", "--target", WASM_TARGET, "--manifest-path"])
        .arg(components.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    // Without the host's jobserver, keep to the job count it was given.
    if let Ok(jobs) = env::var("NUM_JOBS") {
        cmd.args(["--jobs", &jobs]);
    }
    for var in LEAKY_VARS.iter().chain(&["NUM_JOBS"]) {
        cmd.env_remove(var);
    }
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        if LEAKY_PREFIXES.iter().any(|p| key.starts_with(p)) {
            cmd.env_remove(key.as_ref());
        }
    }

    let output = cmd.output().unwrap_or_else(|e| fail(&format!("cannot run {}: {e}", cargo.to_string_lossy())));
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        eprintln!("{}{stderr}", String::from_utf8_lossy(&output.stdout));
        let hint = if stderr.contains("may not be installed") || stderr.contains("can't find crate for `core`") {
            format!("the {WASM_TARGET} target is missing: run `rustup target add {WASM_TARGET}`")
        } else {
            format!(
                "see the output above; to reproduce: cargo build --release --target {WASM_TARGET} --manifest-path components/Cargo.toml (needs `rustup target add {WASM_TARGET}`)"
            )
        };
        fail(&format!("building the built-in components failed ({}); {hint}", output.status));
    }

    let dest = out_dir.join("components");
    fs::create_dir_all(&dest).unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", dest.display())));
    let built = target_dir.join(WASM_TARGET).join("release");
    for name in COMPONENTS {
        let from = built.join(format!("{name}.wasm"));
        let bytes =
            fs::read(&from).unwrap_or_else(|e| fail(&format!("component {name}: cannot read {}: {e}", from.display())));
        // A component (not a core module): magic, then version 0x0d and layer 1.
        if !bytes.starts_with(b"\0asm\x0d\x00\x01\x00") {
            fail(&format!("component {name}: {} is not a WebAssembly component", from.display()));
        }
        let to = dest.join(format!("{name}.wasm"));
        fs::write(&to, &bytes)
            .unwrap_or_else(|e| fail(&format!("component {name}: cannot write {}: {e}", to.display())));
    }
}

/// Reruns for any change to the WIT contract or the components' sources and
/// manifests, but not for their `target/` directory (which changes on every
/// build and would make this script rerun forever).
fn emit_rerun_if_changed(repo: &Path, components: &Path) {
    println!("cargo:rerun-if-changed={}", repo.join("wit").display());
    let entries =
        fs::read_dir(components).unwrap_or_else(|e| fail(&format!("cannot list {}: {e}", components.display())));
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == "target" || name.starts_with('.') {
            continue;
        }
        // A directory is scanned recursively by cargo; a file is one path.
        println!("cargo:rerun-if-changed={}", entry.path().display());
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    exit(1);
}
