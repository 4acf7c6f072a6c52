//! On-disk cache of compiled components, so a run compiles each component
//! once and the next run not at all.
//!
//! Key: wasmtime version + the engine's precompile compatibility hash + the
//! wasm's SHA-256. A file is `sha256(payload) ‖ payload`; an entry whose
//! digest does not match (corrupt, truncated, foreign) is ignored and rebuilt.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled components live, if anywhere.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: Option<PathBuf>,
}

impl CompileCache {
    /// `$SLUICE_CACHE_DIR`, else `$XDG_CACHE_HOME/sluice`, else `~/.cache/sluice`.
    pub fn from_env() -> Self {
        let base = std::env::var_os("SLUICE_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("sluice")))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("sluice")));
        CompileCache { dir: base.map(|b| b.join(format!("wasmtime-{}", wasmtime_version()))) }
    }

    /// Loads the compiled form of `wasm` (digest `sha256`), compiling and
    /// storing it when the cache has no valid entry.
    pub fn load(&self, engine: &Engine, wasm: &[u8], sha256: &str) -> wasmtime::Result<Component> {
        let Some(path) = self.path(engine, sha256) else {
            return Component::new(engine, wasm);
        };
        if let Some(component) = read_entry(engine, &path) {
            return Ok(component);
        }
        let compiled = engine.precompile_component(wasm)?;
        write_entry(&path, &compiled);
        deserialize(engine, &compiled)
    }

    fn path(&self, engine: &Engine, sha256: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let mut hasher = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Some(dir.join(format!("{sha256}-{:016x}.cwasm", hasher.finish())))
    }
}

fn wasmtime_version() -> &'static str {
    // The pinned version (Cargo.toml `=48.0.8`); the compatibility hash
    // covers everything else that changes compiled code.
    "48.0.8"
}

fn read_entry(engine: &Engine, path: &PathBuf) -> Option<Component> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.len() < 32 {
        return None;
    }
    let (digest, payload) = bytes.split_at(32);
    if Sha256::digest(payload).as_slice() != digest {
        tracing::warn!(path = %path.display(), "Ignoring corrupt compile-cache entry.");
        return None;
    }
    deserialize(engine, payload).ok()
}

fn write_entry(path: &PathBuf, compiled: &[u8]) {
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let mut contents = Sha256::digest(compiled).to_vec();
    contents.extend_from_slice(compiled);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    // A cache write failing only costs the next run a compile.
    if std::fs::write(&tmp, &contents).is_ok() && std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, compiled: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: the bytes are either what `precompile_component` returned in
    // this process, or a cache entry whose SHA-256 matched the digest we
    // stored next to it when this same engine configuration (the key carries
    // its compatibility hash) produced it. wasmtime additionally checks the
    // header and engine compatibility.
    unsafe { Component::deserialize(engine, compiled) }
}
