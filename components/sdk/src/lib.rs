//! Guest SDK for sluice components.
//!
//! A sluice component is a WebAssembly component (`wasm32-wasip2`) that
//! implements one world of the WIT package `sluice:pipeline@0.1.0` (see
//! `wit/` at the repository root). This crate owns the WIT bindings so a
//! component crate holds only its logic:
//!
//! | world            | implement            | then call                       |
//! |------------------|----------------------|---------------------------------|
//! | `row-transform`  | [`RowTransform`]     | [`export_row_transform!`]       |
//! | `formatter`      | [`Formatter`] + [`Parser`] | [`export_formatter!`]     |
//! | `byte-transform` | [`ByteTransform`]    | [`export_byte_transform!`]      |
//!
//! The host instantiates a component once per worker and reuses it for many
//! chunks. The export macros keep one value of your type per instance: it is
//! created by the start call of a chunk (`start`, `header`, `parse-start`) and
//! replaced by the next one, so no state leaks from one chunk to the next.
//!
//! # Writing a row transform
//!
//! ```
//! use sluice_sdk::{Batch, Column, ColumnBuilder, RowTransform, StageError, Table};
//!
//! /// Upper-cases the column named in the config.
//! struct Upper {
//!     column: usize,
//! }
//!
//! impl RowTransform for Upper {
//!     fn start(table: &Table, config: &str) -> Result<(Self, Vec<Column>), StageError> {
//!         let column = table
//!             .column_index(config.trim())
//!             .ok_or_else(|| StageError::invalid_config(format!("no column {config:?}")))?;
//!         Ok((Upper { column }, table.columns.clone()))
//!     }
//!
//!     fn transform(&mut self, mut input: Batch) -> Result<Batch, StageError> {
//!         let mut out = ColumnBuilder::new();
//!         for value in input.column(self.column)?.iter() {
//!             out.push(value.map(|v| v.to_ascii_uppercase()).as_deref());
//!         }
//!         input.columns[self.column] = out.finish();
//!         Ok(input)
//!     }
//! }
//!
//! // In the component crate (crate-type = ["cdylib"]):
//! // sluice_sdk::export_row_transform!(Upper);
//! ```
//!
//! # Batches
//!
//! A [`Batch`] is column-major: per column one flat `data` buffer, `rows + 1`
//! offsets and a null bitmap (bit `i % 8` of byte `i / 8` set = row `i` is
//! NULL; an empty bitmap = no NULLs). Never index those buffers by hand: read
//! through [`ColumnView`] / [`BatchView`] (which validate the buffers and turn
//! malformed input into [`StageError::InvalidInput`]) and write through
//! [`ColumnBuilder`] / [`BatchBuilder`]. [`Batch::select_rows`] and
//! [`Batch::select_columns`] cover filtering and dropping columns.
//!
//! Values are the engine's canonical text, except columns of kind
//! [`ColumnKind::Binary`], which hold raw bytes; [`bytea`] converts those to
//! and from PostgreSQL's `\x` hex text.
//!
//! # Keyed primitives
//!
//! Row transforms that mask data get HMAC-SHA-256 and FF1 under the run's
//! masking key from the host through [`keyed`], one call per column of a
//! batch. The key never enters the component. Native builds (unit tests) use
//! a deterministic, public stand-in instead.
//!
//! # Errors
//!
//! Return [`StageError`] for anything a user can cause (bad config, bad
//! input); a panic traps the instance and fails the table, so keep panics for
//! bugs. Components are built with `panic = "abort"`, and the SDK replaces
//! std's panic hook with a silent one (the default needs the environment and
//! stderr, which sluice does not provide), so the host reports "the
//! component panicked or aborted"; the panic's message is not shown.
//!
//! # Building
//!
//! ```text
//! cargo build --release --target wasm32-wasip2 --manifest-path components/Cargo.toml
//! ```
//!
//! emits `components/target/wasm32-wasip2/release/<lib name>.wasm`, already a
//! component. The host's build script runs the same command for the built-in
//! components and embeds the results.

pub mod bindings;
pub mod builder;
pub mod bytea;
mod error;
mod export;
pub mod keyed;
pub mod text;
pub mod view;

mod batch;

pub use bindings::byte_transform::exports::sluice::pipeline::byte_transformer::Direction;
pub use bindings::row_transform::sluice::pipeline::types::{
    Batch, Column, ColumnData, ColumnKind, Dialect, StageError, Table,
};
pub use builder::{BatchBuilder, ColumnBuilder};
pub use export::{ByteTransform, Formatter, Parser, RowTransform};
pub use view::{BatchView, ColumnView};

#[doc(hidden)]
pub mod __private {
    //! Glue the export macros expand to; not part of the public API.
    pub use crate::export::glue::*;
}
