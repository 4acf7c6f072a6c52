//! One worker's live component instances, created on first use and reused
//! across chunks and batches.

use std::collections::HashMap;

use super::component::ComponentRef;
use super::error::StageError;
use super::sandbox::Runtime;
use super::{bytes, formatter, row};

/// One worker's live instances, created on first use and reused.
#[derive(Default)]
pub struct Instances {
    rows: HashMap<String, row::RowInstance>,
    formatters: HashMap<String, formatter::FormatterInstance>,
    /// Formatters in their writing direction while another one parses
    /// (restore re-encoding parsed rows as its loader's statements).
    encoders: HashMap<String, formatter::FormatterInstance>,
    codecs: HashMap<String, bytes::ByteInstance>,
}

/// Disjoint borrows of one formatter and one codec instance, for a chunk
/// that needs both at once.
pub struct ChunkInstances<'a> {
    /// Row-transform instances by component digest.
    pub rows: &'a mut HashMap<String, row::RowInstance>,
    /// Encoding formatters by component digest ([`Instances::encoder_in`]).
    pub encoders: &'a mut HashMap<String, formatter::FormatterInstance>,
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
        Ok(ChunkInstances { rows: &mut self.rows, encoders: &mut self.encoders, formatter, codec })
    }

    /// The encoding formatter instance for `component` in a chunk's borrow.
    pub fn encoder_in<'a>(
        encoders: &'a mut HashMap<String, formatter::FormatterInstance>,
        runtime: &Runtime,
        component: &ComponentRef,
    ) -> Result<&'a mut formatter::FormatterInstance, StageError> {
        take_or_create(encoders, component, || formatter::FormatterInstance::new(runtime, component))
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
