//! A component to run: a built-in or a `.wasm` file, with its bytes and
//! the digest the manifest records.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::builtin;
use super::world::World;

/// A component to run: a built-in or a `.wasm` file, with its bytes and digest.
#[derive(Clone)]
pub struct ComponentRef {
    /// Built-in name, or the file name as given.
    pub name: String,
    /// The world it is used as.
    pub world: World,
    /// Where it came from, for the manifest.
    pub source: ComponentSource,
    /// The wasm bytes.
    pub bytes: Arc<[u8]>,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
}

/// Where a component came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentSource {
    /// Embedded in the sluice binary.
    Builtin,
    /// A file on disk.
    File(PathBuf),
}

impl std::fmt::Debug for ComponentRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ComponentRef({} {})", self.name, &self.sha256[..12])
    }
}

impl ComponentRef {
    /// A built-in component by name; errors list the built-ins of `world`.
    pub fn builtin(name: &str, world: World) -> anyhow::Result<Self> {
        match builtin::find(name) {
            Some((w, bytes)) if w == world => Ok(Self::from_bytes(name, world, ComponentSource::Builtin, bytes.into())),
            Some((w, _)) => bail!("built-in component '{name}' is a {:?}, not a {:?}", w, world),
            None => bail!(
                "unknown component '{name}': not a built-in ({}) and not a path to a .wasm file",
                builtin::names(world).join(", ")
            ),
        }
    }

    /// A built-in name, or a path to a `.wasm` file (anything with a `/` or a
    /// `.wasm` suffix is a path).
    pub fn resolve(name: &str, world: World) -> anyhow::Result<Self> {
        if name.contains('/') || name.ends_with(".wasm") {
            Self::from_file(Path::new(name), world)
        } else {
            Self::builtin(name, world)
        }
    }

    /// A component read from a file; its name is the file name.
    pub fn from_file(path: &Path, world: World) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read component {}", path.display()))?;
        let name =
            path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string());
        Ok(Self::from_bytes(&name, world, ComponentSource::File(path.to_owned()), bytes.into()))
    }

    fn from_bytes(name: &str, world: World, source: ComponentSource, bytes: Arc<[u8]>) -> Self {
        let sha256 = hex::encode(Sha256::digest(&bytes));
        ComponentRef { name: name.to_owned(), world, source, bytes, sha256 }
    }

    /// `name (sha256 0123456789ab)`, how messages name a component.
    pub fn label(&self) -> String {
        format!("{} (sha256 {})", self.name, &self.sha256[..12])
    }
}
