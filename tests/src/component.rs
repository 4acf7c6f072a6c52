//! Built wasm components for tests: the built-ins, the authoring guide's
//! example and the hostile ones of `components/hostile/`, which
//! `cargo build --release` (through `host/build.rs`) leaves in
//! `target/wasm-components/wasm32-wasip2/release/`.

use std::path::{Path, PathBuf};

use crate::db::workspace_root;
use crate::dump::sha256_file;

/// `<workspace root>/target/wasm-components/wasm32-wasip2/release/<name>.wasm`,
/// which must exist.
#[track_caller]
pub fn component_wasm(name: &str) -> PathBuf {
    let dir = workspace_root().join("target").join("wasm-components").join("wasm32-wasip2").join("release");
    let path = dir.join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "component {name} is missing at {}: build the components with `cargo build --release` at the \
         repository root (`just test` does), which builds every member of components/Cargo.toml",
        path.display()
    );
    path
}

/// The first 12 hex digits of a file's SHA-256: how sluice names a
/// component's digest in messages.
#[track_caller]
pub fn short_sha256(path: &Path) -> String {
    sha256_file(path)[..12].to_owned()
}
