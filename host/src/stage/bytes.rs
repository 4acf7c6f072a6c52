//! Byte stages: the `byte-transform` world's driver, and the encoder and
//! decoder chains that run a codec natively (zstd, gzip in the host) or as
//! a component.

use std::io::{self, Read, Write};

use wasmtime::Store;

use super::bindings::bytes::exports::sluice::pipeline::byte_transformer::Direction;
use super::bindings::bytes::{ByteTransform, ByteTransformPre};
use super::component::ComponentRef;
use super::error::{StageError, reported, trap};
use super::sandbox::Runtime;
use super::sandbox::StoreData;
use crate::format::Compression;

/// One worker's instance of a byte-transform component.
pub struct ByteInstance {
    store: Store<StoreData>,
    bindings: ByteTransform,
    label: String,
    encoding: bool,
    /// Bytes in and out since `start`: codecs buffer (a frame, a block), so
    /// the output limit is checked on the running totals, not per call.
    total_in: usize,
    total_out: usize,
}

macro_rules! call {
    ($self:ident, $runtime:ident, $method:ident $(, $arg:expr)*) => {{
        $runtime.arm(&mut $self.store);
        $self
            .bindings
            .sluice_pipeline_byte_transformer()
            .$method(&mut $self.store $(, $arg)*)
            .map_err(|e| trap(&$self.label, e))?
            .map_err(|e| reported(&$self.label, e))
    }};
}

impl ByteInstance {
    pub(crate) fn new(runtime: &Runtime, component: &ComponentRef) -> Result<Self, StageError> {
        let loaded = runtime.load(component)?;
        let pre = ByteTransformPre::new(loaded.pre.clone()).map_err(|e| StageError::Load {
            component: component.label(),
            reason: format!("it does not implement {}: {e}", component.world.wit_name()),
        })?;
        let mut store = runtime.store();
        let bindings = pre.instantiate(&mut store).map_err(|e| trap(&component.label(), e))?;
        Ok(ByteInstance { store, bindings, label: component.label(), encoding: true, total_in: 0, total_out: 0 })
    }

    fn start(&mut self, runtime: &Runtime, encode: bool, config: &str) -> Result<(), StageError> {
        let direction = if encode { Direction::Encode } else { Direction::Decode };
        self.encoding = encode;
        (self.total_in, self.total_out) = (0, 0);
        call!(self, runtime, call_start, direction, config)
    }

    /// Transforms the next piece. Encoding output is held to the output
    /// limit; decoding is exempt because decompression legitimately expands
    /// (the instance's memory limit still bounds each call's output).
    pub fn push(&mut self, runtime: &Runtime, input: &[u8]) -> Result<Vec<u8>, StageError> {
        let output = call!(self, runtime, call_push, input)?;
        self.account(runtime, input.len(), output.len())?;
        Ok(output)
    }

    /// Ends the file; returns the remaining output.
    pub fn finish(&mut self, runtime: &Runtime) -> Result<Vec<u8>, StageError> {
        let output = call!(self, runtime, call_finish)?;
        self.account(runtime, 0, output.len())?;
        Ok(output)
    }

    fn account(&mut self, runtime: &Runtime, input: usize, output: usize) -> Result<(), StageError> {
        self.total_in += input;
        self.total_out += output;
        if self.encoding {
            runtime.check_output(&self.label, self.total_in, self.total_out)?;
        }
        Ok(())
    }

    /// Starts a file in one direction (public for `component check`).
    pub fn begin(&mut self, runtime: &Runtime, encode: bool, config: &str) -> Result<(), StageError> {
        self.start(runtime, encode, config)
    }
}

/// Encodes bytes on their way to a sink.
pub enum Encoder<'a, W: Write> {
    /// No codec.
    Plain(W),
    /// Native zstd.
    Zstd(zstd::stream::write::Encoder<'static, W>),
    /// Native gzip.
    Gzip(flate2::write::GzEncoder<W>),
    /// A byte-transform component.
    Wasm {
        /// The instance, started in the encode direction.
        instance: &'a mut ByteInstance,
        /// Run limits.
        runtime: &'a Runtime,
        /// Where encoded bytes go.
        out: W,
    },
}

impl<'a, W: Write> Encoder<'a, W> {
    /// A native encoder for `compression`.
    pub fn native(compression: Compression, out: W) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Encoder::Plain(out),
            Compression::Zstd(level) => Encoder::Zstd(zstd::stream::write::Encoder::new(out, level)?),
            Compression::Gzip(level) => {
                Encoder::Gzip(flate2::write::GzEncoder::new(out, flate2::Compression::new(level)))
            }
        })
    }

    /// A component encoder; `config` is the codec's option text.
    pub fn wasm(
        instance: &'a mut ByteInstance,
        runtime: &'a Runtime,
        config: &str,
        out: W,
    ) -> Result<Self, StageError> {
        instance.start(runtime, true, config)?;
        Ok(Encoder::Wasm { instance, runtime, out })
    }

    /// Encodes and forwards `data`.
    pub fn write_all(&mut self, data: &[u8]) -> anyhow::Result<()> {
        match self {
            Encoder::Plain(w) => w.write_all(data)?,
            Encoder::Zstd(w) => w.write_all(data)?,
            Encoder::Gzip(w) => w.write_all(data)?,
            Encoder::Wasm { instance, runtime, out } => {
                let encoded = instance.push(runtime, data)?;
                out.write_all(&encoded)?;
            }
        }
        Ok(())
    }

    /// Flushes the codec's tail and returns the sink.
    pub fn finish(self) -> anyhow::Result<W> {
        Ok(match self {
            Encoder::Plain(w) => w,
            Encoder::Zstd(w) => w.finish()?,
            Encoder::Gzip(w) => w.finish()?,
            Encoder::Wasm { instance, runtime, mut out } => {
                let tail = instance.finish(runtime)?;
                out.write_all(&tail)?;
                out
            }
        })
    }
}

/// Decodes bytes read from a dump file.
pub enum Decoder<'a, R: Read> {
    /// No codec.
    Plain(R),
    /// Native zstd (accepts concatenated frames).
    Zstd(zstd::stream::read::Decoder<'static, io::BufReader<R>>),
    /// Native gzip (accepts concatenated members).
    Gzip(flate2::read::MultiGzDecoder<R>),
    /// A byte-transform component in the decode direction.
    Wasm(WasmDecoder<'a, R>),
}

/// Reads from `inner`, pushes through a component, serves its output.
pub struct WasmDecoder<'a, R: Read> {
    instance: &'a mut ByteInstance,
    runtime: &'a Runtime,
    inner: R,
    scratch: Vec<u8>,
    pending: Vec<u8>,
    position: usize,
    done: bool,
}

impl<'a, R: Read> Decoder<'a, R> {
    /// A native decoder for `compression`.
    pub fn native(compression: Compression, input: R) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Decoder::Plain(input),
            Compression::Zstd(_) => Decoder::Zstd(zstd::stream::read::Decoder::new(input)?),
            Compression::Gzip(_) => Decoder::Gzip(flate2::read::MultiGzDecoder::new(input)),
        })
    }

    /// A component decoder.
    pub fn wasm(
        instance: &'a mut ByteInstance,
        runtime: &'a Runtime,
        config: &str,
        input: R,
    ) -> Result<Self, StageError> {
        instance.start(runtime, false, config)?;
        Ok(Decoder::Wasm(WasmDecoder {
            instance,
            runtime,
            inner: input,
            scratch: vec![0; 1 << 20],
            pending: Vec::new(),
            position: 0,
            done: false,
        }))
    }
}

impl<R: Read> Read for Decoder<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Zstd(r) => r.read(buf),
            Decoder::Gzip(r) => r.read(buf),
            Decoder::Wasm(r) => r.read(buf),
        }
    }
}

impl<R: Read> Read for WasmDecoder<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.position == self.pending.len() {
            if self.done {
                return Ok(0);
            }
            let n = self.inner.read(&mut self.scratch)?;
            self.pending = if n == 0 {
                self.done = true;
                self.instance.finish(self.runtime).map_err(io::Error::other)?
            } else {
                self.instance.push(self.runtime, &self.scratch[..n]).map_err(io::Error::other)?
            };
            self.position = 0;
        }
        let n = buf.len().min(self.pending.len() - self.position);
        buf[..n].copy_from_slice(&self.pending[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}
