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
            let component = Self::from_file(Path::new(name), world)?;
            if let Err(what) = binary_kind(&component.bytes) {
                bail!("component {name} is {what}, not a WebAssembly component");
            }
            Ok(component)
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

/// Checks a file's first bytes: a component binary passes; anything else
/// is named (`a core WebAssembly module`, `an ELF executable`, `a text
/// file`), so the error says what the file is instead of what the compiler
/// tripped on.
pub fn binary_kind(bytes: &[u8]) -> Result<(), &'static str> {
    const COMPONENT_LAYER: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];
    const CORE_MODULE: [u8; 4] = [0x01, 0x00, 0x00, 0x00];
    match bytes {
        [0, b'a', b's', b'm', version @ ..] if version.starts_with(&COMPONENT_LAYER) => Ok(()),
        [0, b'a', b's', b'm', version @ ..] if version.starts_with(&CORE_MODULE) => {
            Err("a core WebAssembly module (build it for wasm32-wasip2, or wrap it with `wasm-tools component new`)")
        }
        [0, b'a', b's', b'm', ..] => Err("a WebAssembly binary of an unknown version"),
        [0x7f, b'E', b'L', b'F', ..] => Err("an ELF executable"),
        [b'M', b'Z', ..] => Err("a Windows executable"),
        [] => Err("an empty file"),
        text if std::str::from_utf8(text).is_ok() => {
            let start = String::from_utf8_lossy(text).trim_start().chars().take(10).collect::<String>();
            if start.starts_with("(component") || start.starts_with("(module") {
                Err("WebAssembly text (compile it to a binary component first)")
            } else {
                Err("a text file")
            }
        }
        _ => Err("not WebAssembly (it does not start with the \\0asm magic)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_component_binaries_pass_and_the_rest_is_named() {
        assert_eq!(binary_kind(b"\0asm\x0d\x00\x01\x00rest"), Ok(()));
        assert!(binary_kind(b"\0asm\x01\x00\x00\x00").expect_err("core").starts_with("a core WebAssembly module"));
        assert_eq!(binary_kind(b"\x7fELF\x02\x01"), Err("an ELF executable"));
        assert_eq!(binary_kind(b"hello, world\n"), Err("a text file"));
        assert_eq!(
            binary_kind(b"(module)").expect_err("wat"),
            "WebAssembly text (compile it to a binary component first)"
        );
        assert_eq!(binary_kind(b""), Err("an empty file"));
        assert!(binary_kind(&[0xff, 0xfe, 0x00]).is_err());
    }
}
