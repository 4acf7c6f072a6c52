//! The traits a component implements and the macros that export them.
//!
//! Each macro expands, in the component crate, to a `thread_local` slot
//! holding the component's state plus an implementation of the generated
//! `Guest` trait that forwards to [`glue`]. The slot is emptied and refilled
//! by every start call, so each chunk starts from fresh state.

use crate::{Batch, Column, Direction, StageError, Table};

/// A row stage (world `row-transform`): filters rows, masks values, drops
/// columns.
pub trait RowTransform: Sized {
    /// Prepares for one chunk of `table`; `config` is the stage's config text
    /// for the table (empty when none). Returns the state and the columns of
    /// the batches [`transform`](Self::transform) will return.
    fn start(table: &Table, config: &str) -> Result<(Self, Vec<Column>), StageError>;

    /// Transforms one batch. The input is owned, so returning it (or a
    /// modified version) costs no copy. The result must have one column per
    /// column announced by `start` and at most `input.rows` rows.
    fn transform(&mut self, input: Batch) -> Result<Batch, StageError>;
}

/// The writing side of a formatter (world `formatter`): batches to bytes.
pub trait Formatter: Sized {
    /// File extension without the dot, e.g. `csv`.
    const EXTENSION: &'static str;

    /// The reading side of the same format.
    type Parser: Parser;

    /// Starts a chunk of `table`: returns the state and the file's first bytes.
    fn header(table: &Table, config: &str) -> Result<(Self, Vec<u8>), StageError>;

    /// Encodes one batch; the bytes are appended to the file in call order.
    fn format(&mut self, input: &Batch) -> Result<Vec<u8>, StageError>;

    /// Ends the chunk: returns the file's last bytes.
    fn trailer(self) -> Result<Vec<u8>, StageError>;
}

/// The reading side of a formatter: bytes back to batches.
pub trait Parser: Sized {
    /// Starts parsing a chunk of `table` written with the same `config`.
    fn start(table: &Table, config: &str) -> Result<Self, StageError>;

    /// Feeds the next piece of the file (split anywhere, even inside a value)
    /// and returns every row completed so far. Keep a partial row for the
    /// next call.
    fn parse(&mut self, input: &[u8]) -> Result<Batch, StageError>;

    /// Ends the file: the remaining rows, or `invalid-input` if it ends
    /// inside a row.
    fn end(self) -> Result<Batch, StageError>;
}

/// A byte stage (world `byte-transform`): compression, encryption. `decode`
/// must turn whatever `encode` wrote back into the same bytes.
pub trait ByteTransform: Sized {
    /// File extension this stage adds, without the dot, e.g. `zst`.
    const EXTENSION: &'static str;

    /// Starts one file in `direction`; `config` is the option text (empty
    /// for the default).
    fn start(direction: Direction, config: &str) -> Result<Self, StageError>;

    /// Transforms the next piece; may return nothing until enough input
    /// arrived.
    fn push(&mut self, input: &[u8]) -> Result<Vec<u8>, StageError>;

    /// Ends the file and returns any remaining output.
    fn finish(self) -> Result<Vec<u8>, StageError>;
}

/// Runtime glue called by the export macros; hidden from the docs.
#[doc(hidden)]
pub mod glue {
    use super::*;
    use std::cell::RefCell;
    use std::thread::LocalKey;

    pub use std::thread_local;

    /// Per-instance state of one exported type.
    pub type Slot<T> = LocalKey<RefCell<Option<T>>>;

    fn out_of_order(call: &str, start: &str) -> StageError {
        StageError::failed(format!("{call} called without a successful {start} first"))
    }

    fn with_state<T, R>(
        slot: &'static Slot<T>,
        call: &str,
        start: &str,
        f: impl FnOnce(&mut T) -> Result<R, StageError>,
    ) -> Result<R, StageError> {
        slot.with(|s| match s.borrow_mut().as_mut() {
            Some(state) => f(state),
            None => Err(out_of_order(call, start)),
        })
    }

    fn take_state<T>(slot: &'static Slot<T>, call: &str, start: &str) -> Result<T, StageError> {
        slot.with(|s| s.borrow_mut().take()).ok_or_else(|| out_of_order(call, start))
    }

    /// Replaces std's panic hook, once per instance, with one that does
    /// nothing: the default hook reads `RUST_BACKTRACE` (`wasi:cli/environment`)
    /// and writes to stderr, neither of which sluice provides, so the trap
    /// would name that import instead of the panic. With it, a panic goes
    /// straight to `abort` and the host reports "the component panicked or
    /// aborted". Native builds (unit tests) keep the default hook.
    fn quiet_panics() {
        #[cfg(target_arch = "wasm32")]
        {
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| std::panic::set_hook(Box::new(|_| {})));
        }
    }

    fn put_state<T>(slot: &'static Slot<T>, state: Option<T>) {
        quiet_panics();
        // Dropping the previous chunk's state happens here, outside any borrow.
        let old = slot.with(|s| s.replace(state));
        drop(old);
    }

    pub fn row_start<T: RowTransform>(
        slot: &'static Slot<T>,
        table: Table,
        config: String,
    ) -> Result<Vec<Column>, StageError> {
        put_state(slot, None);
        let (state, columns) = T::start(&table, &config)?;
        put_state(slot, Some(state));
        Ok(columns)
    }

    pub fn row_transform<T: RowTransform>(slot: &'static Slot<T>, input: Batch) -> Result<Batch, StageError> {
        with_state(slot, "transform", "start", |t| t.transform(input))
    }

    pub fn format_extension<T: Formatter>() -> String {
        T::EXTENSION.to_string()
    }

    pub fn format_header<T: Formatter>(
        slot: &'static Slot<T>,
        table: Table,
        config: String,
    ) -> Result<Vec<u8>, StageError> {
        put_state(slot, None);
        let (state, bytes) = T::header(&table, &config)?;
        put_state(slot, Some(state));
        Ok(bytes)
    }

    pub fn format_batch<T: Formatter>(slot: &'static Slot<T>, input: Batch) -> Result<Vec<u8>, StageError> {
        with_state(slot, "format", "header", |t| t.format(&input))
    }

    pub fn format_trailer<T: Formatter>(slot: &'static Slot<T>) -> Result<Vec<u8>, StageError> {
        take_state(slot, "trailer", "header")?.trailer()
    }

    pub fn parse_start<P: Parser>(slot: &'static Slot<P>, table: Table, config: String) -> Result<(), StageError> {
        put_state(slot, None);
        let state = P::start(&table, &config)?;
        put_state(slot, Some(state));
        Ok(())
    }

    pub fn parse_piece<P: Parser>(slot: &'static Slot<P>, input: Vec<u8>) -> Result<Batch, StageError> {
        with_state(slot, "parse", "parse-start", |p| p.parse(&input))
    }

    pub fn parse_end<P: Parser>(slot: &'static Slot<P>) -> Result<Batch, StageError> {
        take_state(slot, "parse-end", "parse-start")?.end()
    }

    pub fn bytes_extension<T: ByteTransform>() -> String {
        T::EXTENSION.to_string()
    }

    pub fn bytes_start<T: ByteTransform>(
        slot: &'static Slot<T>,
        direction: Direction,
        config: String,
    ) -> Result<(), StageError> {
        put_state(slot, None);
        let state = T::start(direction, &config)?;
        put_state(slot, Some(state));
        Ok(())
    }

    pub fn bytes_push<T: ByteTransform>(slot: &'static Slot<T>, input: Vec<u8>) -> Result<Vec<u8>, StageError> {
        with_state(slot, "push", "start", |t| t.push(&input))
    }

    pub fn bytes_finish<T: ByteTransform>(slot: &'static Slot<T>) -> Result<Vec<u8>, StageError> {
        take_state(slot, "finish", "start")?.finish()
    }
}

/// Exports a [`RowTransform`] as this component's `row-transform` world.
///
/// ```
/// use sluice_sdk::{Batch, Column, RowTransform, StageError, Table};
///
/// /// Drops rows whose `name` is NULL.
/// struct DropNullNames {
///     name: usize,
/// }
///
/// impl RowTransform for DropNullNames {
///     fn start(table: &Table, _config: &str) -> Result<(Self, Vec<Column>), StageError> {
///         let name = table.column_index("name").ok_or_else(|| StageError::invalid_config("no column `name`"))?;
///         Ok((DropNullNames { name }, table.columns.clone()))
///     }
///
///     fn transform(&mut self, input: Batch) -> Result<Batch, StageError> {
///         let keep: Vec<bool> = input.column(self.name)?.iter().map(|v| v.is_some()).collect();
///         input.select_rows(&keep)
///     }
/// }
///
/// sluice_sdk::export_row_transform!(DropNullNames);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! export_row_transform {
    ($t:ty) => {
        const _: () = {
            $crate::__private::thread_local! {
                static STATE: ::core::cell::RefCell<::core::option::Option<$t>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }
            #[allow(dead_code)]
            struct SluiceRowTransform;
            impl $crate::bindings::row_transform::exports::sluice::pipeline::row_transformer::Guest
                for SluiceRowTransform
            {
                fn start(
                    table: $crate::Table,
                    config: ::std::string::String,
                ) -> ::core::result::Result<::std::vec::Vec<$crate::Column>, $crate::StageError> {
                    $crate::__private::row_start(&STATE, table, config)
                }
                fn transform(input: $crate::Batch) -> ::core::result::Result<$crate::Batch, $crate::StageError> {
                    $crate::__private::row_transform(&STATE, input)
                }
            }
            // Only wasm exports the C ABI symbols (their names are not valid
            // in native linker version scripts); natively the impl above is
            // still type-checked.
            #[cfg(target_arch = "wasm32")]
            $crate::bindings::row_transform::export_row_transform_world!(
                SluiceRowTransform with_types_in $crate::bindings::row_transform
            );
        };
    };
}

/// Exports a [`Formatter`] (and its [`Formatter::Parser`]) as this
/// component's `formatter` world.
///
/// ```
/// use sluice_sdk::{Batch, BatchBuilder, Formatter, Parser, StageError, Table};
///
/// /// One line per row holding the row count of its batch (a toy format).
/// struct Counts;
/// struct CountsParser;
///
/// impl Formatter for Counts {
///     const EXTENSION: &'static str = "counts";
///     type Parser = CountsParser;
///     fn header(_table: &Table, _config: &str) -> Result<(Self, Vec<u8>), StageError> {
///         Ok((Counts, b"counts\n".to_vec()))
///     }
///     fn format(&mut self, input: &Batch) -> Result<Vec<u8>, StageError> {
///         Ok(format!("{}\n", input.rows).into_bytes())
///     }
///     fn trailer(self) -> Result<Vec<u8>, StageError> {
///         Ok(Vec::new())
///     }
/// }
///
/// impl Parser for CountsParser {
///     fn start(_table: &Table, _config: &str) -> Result<Self, StageError> {
///         Err(StageError::failed("counts cannot be parsed back"))
///     }
///     fn parse(&mut self, _input: &[u8]) -> Result<Batch, StageError> {
///         BatchBuilder::new(0).finish()
///     }
///     fn end(self) -> Result<Batch, StageError> {
///         BatchBuilder::new(0).finish()
///     }
/// }
///
/// sluice_sdk::export_formatter!(Counts);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! export_formatter {
    ($t:ty) => {
        const _: () = {
            $crate::__private::thread_local! {
                static WRITER: ::core::cell::RefCell<::core::option::Option<$t>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
                static READER: ::core::cell::RefCell<
                    ::core::option::Option<<$t as $crate::Formatter>::Parser>,
                > = const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }
            #[allow(dead_code)]
            struct SluiceFormatter;
            impl $crate::bindings::formatter::exports::sluice::pipeline::batch_formatter::Guest for SluiceFormatter {
                fn extension() -> ::std::string::String {
                    $crate::__private::format_extension::<$t>()
                }
                fn header(
                    table: $crate::Table,
                    config: ::std::string::String,
                ) -> ::core::result::Result<::std::vec::Vec<u8>, $crate::StageError> {
                    $crate::__private::format_header(&WRITER, table, config)
                }
                fn format(input: $crate::Batch) -> ::core::result::Result<::std::vec::Vec<u8>, $crate::StageError> {
                    $crate::__private::format_batch(&WRITER, input)
                }
                fn trailer() -> ::core::result::Result<::std::vec::Vec<u8>, $crate::StageError> {
                    $crate::__private::format_trailer(&WRITER)
                }
                fn parse_start(
                    table: $crate::Table,
                    config: ::std::string::String,
                ) -> ::core::result::Result<(), $crate::StageError> {
                    $crate::__private::parse_start(&READER, table, config)
                }
                fn parse(input: ::std::vec::Vec<u8>) -> ::core::result::Result<$crate::Batch, $crate::StageError> {
                    $crate::__private::parse_piece(&READER, input)
                }
                fn parse_end() -> ::core::result::Result<$crate::Batch, $crate::StageError> {
                    $crate::__private::parse_end(&READER)
                }
            }
            // Only wasm exports the C ABI symbols (their names are not valid
            // in native linker version scripts); natively the impl above is
            // still type-checked.
            #[cfg(target_arch = "wasm32")]
            $crate::bindings::formatter::export_formatter_world!(
                SluiceFormatter with_types_in $crate::bindings::formatter
            );
        };
    };
}

/// Exports a [`ByteTransform`] as this component's `byte-transform` world.
///
/// ```
/// use sluice_sdk::{ByteTransform, Direction, StageError};
///
/// /// XORs every byte with a key from the config (its own inverse).
/// struct Xor(u8);
///
/// impl ByteTransform for Xor {
///     const EXTENSION: &'static str = "xor";
///     fn start(_direction: Direction, config: &str) -> Result<Self, StageError> {
///         config.parse().map(Xor).map_err(|_| StageError::invalid_config("key must be 0-255"))
///     }
///     fn push(&mut self, input: &[u8]) -> Result<Vec<u8>, StageError> {
///         Ok(input.iter().map(|b| b ^ self.0).collect())
///     }
///     fn finish(self) -> Result<Vec<u8>, StageError> {
///         Ok(Vec::new())
///     }
/// }
///
/// sluice_sdk::export_byte_transform!(Xor);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! export_byte_transform {
    ($t:ty) => {
        const _: () = {
            $crate::__private::thread_local! {
                static STATE: ::core::cell::RefCell<::core::option::Option<$t>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }
            #[allow(dead_code)]
            struct SluiceByteTransform;
            impl $crate::bindings::byte_transform::exports::sluice::pipeline::byte_transformer::Guest
                for SluiceByteTransform
            {
                fn extension() -> ::std::string::String {
                    $crate::__private::bytes_extension::<$t>()
                }
                fn start(
                    direction: $crate::Direction,
                    config: ::std::string::String,
                ) -> ::core::result::Result<(), $crate::StageError> {
                    $crate::__private::bytes_start(&STATE, direction, config)
                }
                fn push(input: ::std::vec::Vec<u8>) -> ::core::result::Result<::std::vec::Vec<u8>, $crate::StageError> {
                    $crate::__private::bytes_push(&STATE, input)
                }
                fn finish() -> ::core::result::Result<::std::vec::Vec<u8>, $crate::StageError> {
                    $crate::__private::bytes_finish(&STATE)
                }
            }
            // Only wasm exports the C ABI symbols (their names are not valid
            // in native linker version scripts); natively the impl above is
            // still type-checked.
            #[cfg(target_arch = "wasm32")]
            $crate::bindings::byte_transform::export_byte_transform_world!(
                SluiceByteTransform with_types_in $crate::bindings::byte_transform
            );
        };
    };
}
