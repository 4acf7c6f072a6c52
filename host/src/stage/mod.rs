//! Component stages run by wasmtime: row transforms, formatters and byte
//! transforms. This module owns the engine, the sandbox limits, the compile
//! cache and one driver per world; it knows nothing of databases.
//!
//! Each component is compiled once per run ([`Runtime::load`]), its
//! `InstancePre` built once, and every worker instantiates it once and reuses
//! the instance across chunks and batches. Nothing is linked into a store but
//! what a world declares (nothing, in v0.1): any WASI import the guest's
//! standard library pulls in traps if called.

pub mod bindings;
pub mod builtin;
pub mod bytes;
pub mod cache;
pub mod formatter;
pub mod keyed;
pub mod row;
mod sandbox;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use bindings::types::Dialect;
pub use keyed::MaskKey;
pub use sandbox::{Limits, LinkPolicy, Runtime, import_policy};

/// The three component worlds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    /// `sluice:pipeline/row-transform`.
    RowTransform,
    /// `sluice:pipeline/formatter`.
    Formatter,
    /// `sluice:pipeline/byte-transform`.
    ByteTransform,
}

impl World {
    /// The world's WIT name.
    pub fn wit_name(self) -> &'static str {
        match self {
            World::RowTransform => "sluice:pipeline/row-transform@0.1.0",
            World::Formatter => "sluice:pipeline/formatter@0.1.0",
            World::ByteTransform => "sluice:pipeline/byte-transform@0.1.0",
        }
    }
}

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

/// Why a stage call failed. Every variant names the component.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StageError {
    /// The component could not be compiled or instantiated.
    #[error("component {component} cannot be loaded: {reason}")]
    Load {
        /// Component label.
        component: String,
        /// What went wrong.
        reason: String,
    },
    /// The guest trapped or hit a limit (CPU deadline, memory).
    #[error("component {component} trapped: {reason}")]
    Trap {
        /// Component label.
        component: String,
        /// The trap, with its cause.
        reason: String,
    },
    /// The guest returned its own `stage-error`.
    #[error("component {component} failed: {reason}")]
    Reported {
        /// Component label.
        component: String,
        /// The guest's message with its kind.
        reason: String,
    },
    /// The guest hit a resource limit the host enforces on its output.
    #[error("component {component} exceeded a limit: {reason}")]
    Limit {
        /// Component label.
        component: String,
        /// Which limit.
        reason: String,
    },
    /// The guest returned output of the wrong shape.
    #[error("component {component} returned a malformed batch: {reason}")]
    Malformed {
        /// Component label.
        component: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Turns a guest `stage-error` into text.
fn reported(component: &str, error: bindings::types::StageError) -> StageError {
    use bindings::types::StageError as E;
    let reason = match error {
        E::InvalidConfig(m) => format!("invalid config: {m}"),
        E::InvalidInput(m) => format!("invalid input: {m}"),
        E::Failed(m) => m,
    };
    StageError::Reported { component: component.to_owned(), reason }
}

/// Names what stopped a guest: a limit, a call to an import sluice does not
/// provide, or another trap (panic, bug), with wasmtime's cause chain.
fn trap(component: &str, error: wasmtime::Error) -> StageError {
    let chain: Vec<String> = error.chain().map(|c| c.to_string()).collect();
    let whole = chain.join(": ");
    let reason = match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => "CPU time limit per call exceeded (--cpu-limit)".to_owned(),
        Some(wasmtime::Trap::OutOfFuel) => "fuel budget per call exhausted (--fuel)".to_owned(),
        Some(wasmtime::Trap::StackOverflow) => "wasm stack limit exceeded (--stack-limit)".to_owned(),
        _ if whole.contains("forcing trap when growing memory") => {
            let at = chain.iter().find(|c| c.contains("growing memory")).cloned().unwrap_or_default();
            format!("memory limit exceeded (--memory-limit): {at}")
        }
        _ => match whole.find("unknown import: `") {
            Some(start) => {
                let name = whole[start + 17..].split('`').next().unwrap_or("?");
                format!("called `{name}`, which sluice does not provide to components")
            }
            None => whole,
        },
    };
    StageError::Trap { component: component.to_owned(), reason }
}

/// One worker's live instances, created on first use and reused.
#[derive(Default)]
pub struct Instances {
    rows: HashMap<String, row::RowInstance>,
    formatters: HashMap<String, formatter::FormatterInstance>,
    codecs: HashMap<String, bytes::ByteInstance>,
}

/// Disjoint borrows of one formatter and one codec instance, for a chunk
/// that needs both at once.
pub struct ChunkInstances<'a> {
    /// Row-transform instances by component digest.
    pub rows: &'a mut HashMap<String, row::RowInstance>,
    /// The formatter, when the chunk runs one as a component.
    pub formatter: Option<&'a mut formatter::FormatterInstance>,
    /// The codec, when the chunk runs one as a component.
    pub codec: Option<&'a mut bytes::ByteInstance>,
}

impl Instances {
    /// The row-transform instance for `component`.
    pub fn row(&mut self, runtime: &Runtime, component: &ComponentRef) -> Result<&mut row::RowInstance, StageError> {
        take_or_create(&mut self.rows, component, || row::RowInstance::new(runtime, component))
    }

    /// The formatter instance for `component`.
    pub fn formatter(
        &mut self,
        runtime: &Runtime,
        component: &ComponentRef,
    ) -> Result<&mut formatter::FormatterInstance, StageError> {
        take_or_create(&mut self.formatters, component, || formatter::FormatterInstance::new(runtime, component))
    }

    /// The byte-transform instance for `component`.
    pub fn codec(
        &mut self,
        runtime: &Runtime,
        component: &ComponentRef,
    ) -> Result<&mut bytes::ByteInstance, StageError> {
        take_or_create(&mut self.codecs, component, || bytes::ByteInstance::new(runtime, component))
    }

    /// Borrows what one chunk needs: row instances (created on demand by
    /// [`Instances::row_in`]), and the formatter and codec if given.
    pub fn for_chunk<'a>(
        &'a mut self,
        runtime: &Runtime,
        formatter: Option<&ComponentRef>,
        codec: Option<&ComponentRef>,
    ) -> Result<ChunkInstances<'a>, StageError> {
        let formatter = match formatter {
            Some(c) => Some(take_or_create(&mut self.formatters, c, || formatter::FormatterInstance::new(runtime, c))?),
            None => None,
        };
        let codec = match codec {
            Some(c) => Some(take_or_create(&mut self.codecs, c, || bytes::ByteInstance::new(runtime, c))?),
            None => None,
        };
        Ok(ChunkInstances { rows: &mut self.rows, formatter, codec })
    }

    /// The row-transform instance for `component` in a chunk's borrow.
    pub fn row_in<'a>(
        rows: &'a mut HashMap<String, row::RowInstance>,
        runtime: &Runtime,
        component: &ComponentRef,
    ) -> Result<&'a mut row::RowInstance, StageError> {
        take_or_create(rows, component, || row::RowInstance::new(runtime, component))
    }

    /// Drops every instance: after a trap an instance must not be entered
    /// again, so a worker that saw an error starts afresh.
    pub fn reset(&mut self) {
        *self = Instances::default();
    }
}

fn take_or_create<'a, I>(
    map: &'a mut HashMap<String, I>,
    component: &ComponentRef,
    create: impl FnOnce() -> Result<I, StageError>,
) -> Result<&'a mut I, StageError> {
    if !map.contains_key(&component.sha256) {
        map.insert(component.sha256.clone(), create()?);
    }
    Ok(map.get_mut(&component.sha256).expect("inserted above"))
}

/// Compiled components of one run, keyed by SHA-256.
#[derive(Default)]
pub(crate) struct Compiled {
    map: Mutex<HashMap<(String, World), Arc<sandbox::Loaded>>>,
}
