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
pub mod component;
pub mod encrypt;
pub mod error;
pub mod formatter;
pub mod instances;
pub mod keyed;
pub mod row;
mod sandbox;
pub mod world;

pub use bindings::types::Dialect;
pub use component::{ComponentRef, ComponentSource};
pub use error::StageError;
pub use instances::{ChunkInstances, Instances};
pub use keyed::MaskKey;
pub use sandbox::{Limits, LinkPolicy, Runtime, import_policy};
pub use world::World;
