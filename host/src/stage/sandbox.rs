//! The sandbox: one wasmtime engine per run, limits per store, and the
//! compiled components.
//!
//! Limits: linear memory per instance (`StoreLimits`, growth past it traps),
//! CPU per call (epoch deadline; a ticker thread advances the epoch, or a
//! deterministic fuel budget), wasm stack depth, and output size relative to
//! input (checked by the drivers).
//!
//! Imports: no host function is linked. Interfaces a language runtime links
//! even when the code never calls them (`wasi:cli`, `wasi:io`,
//! `wasi:filesystem`, `wasi:clocks`, `wasi:random`) are defined as traps, so
//! the first call fails naming the function. Anything else a world does not
//! declare (`wasi:sockets`, `wasi:http`, any other import) has no innocent
//! reason to be there: such a component is refused at load, with the list.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::{Component, InstancePre, Linker, WasmList, WasmStr};
use wasmtime::{Config, Engine, Store, StoreContextMut, StoreLimits, StoreLimitsBuilder};

use super::cache::CompileCache;
use super::component::ComponentRef;
use super::error::StageError;
use super::keyed::MaskKey;
use super::world::World;

/// How often the epoch advances: the granularity of the CPU limit.
const EPOCH_TICK: Duration = Duration::from_millis(50);

/// Output a stage may return beyond `output_ratio` × its input.
pub const OUTPUT_ALLOWANCE: usize = 1 << 20;

/// Resource limits for every instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum linear memory per instance, in bytes.
    pub memory_bytes: usize,
    /// Maximum wall-clock CPU time per call.
    pub cpu_per_call: Duration,
    /// Maximum wasm stack, in bytes.
    pub stack_bytes: usize,
    /// A call may return at most this many times its input's bytes (plus
    /// [`OUTPUT_ALLOWANCE`]); decoding byte stages are exempt.
    pub output_ratio: usize,
    /// Deterministic budget of wasm fuel per call, instead of only wall time.
    pub fuel: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 256 << 20,
            cpu_per_call: Duration::from_secs(10),
            stack_bytes: 1 << 20,
            output_ratio: 16,
            fuel: None,
        }
    }
}

/// What sluice does with one import of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPolicy {
    /// Declared by the pipeline package (types only): nothing to link.
    Declared,
    /// Linked as a trap: loads, fails on first call.
    TrapOnUse,
    /// Never linked: the component is refused at load.
    Refused,
}

impl LinkPolicy {
    /// How `component check` shows it.
    pub fn describe(self) -> &'static str {
        match self {
            LinkPolicy::Declared => "declared by the world: provided by sluice",
            LinkPolicy::TrapOnUse => "not provided: traps if called",
            LinkPolicy::Refused => "refused: sluice will not load this component",
        }
    }
}

/// The policy for an import name such as `wasi:sockets/tcp@0.2.6`, for a
/// component used as `world`.
pub fn import_policy(name: &str, world: World) -> LinkPolicy {
    const TRAP_ON_USE: [&str; 5] = ["wasi:cli/", "wasi:io/", "wasi:filesystem/", "wasi:clocks/", "wasi:random/"];
    if name.starts_with("sluice:pipeline/types@0.1.0") || (world == World::RowTransform && name.starts_with(KEYED)) {
        LinkPolicy::Declared
    } else if TRAP_ON_USE.iter().any(|prefix| name.starts_with(prefix)) {
        LinkPolicy::TrapOnUse
    } else {
        LinkPolicy::Refused
    }
}

/// What a store carries: its limits and, for row transforms, the masking
/// key behind the `keyed` import.
pub struct StoreData {
    limits: StoreLimits,
    pub(crate) key: Option<Arc<MaskKey>>,
    /// When the current call's CPU time runs out, for the host's own loops.
    deadline: Instant,
}

/// A compiled component ready to instantiate.
pub(crate) struct Loaded {
    pub(crate) pre: InstancePre<StoreData>,
}

/// The engine, limits and compiled components of one run. Shared by all
/// workers (`Arc`); stores and instances are per worker.
pub struct Runtime {
    engine: Engine,
    limits: Limits,
    key: Option<Arc<MaskKey>>,
    cache: CompileCache,
    compiled: Compiled,
}

impl Runtime {
    /// Builds the engine and starts the epoch ticker.
    pub fn new(limits: Limits) -> anyhow::Result<Arc<Self>> {
        Self::with_key(limits, None)
    }

    /// Like [`Runtime::new`], with a masking key for the `keyed` import.
    pub fn with_key(limits: Limits, key: Option<MaskKey>) -> anyhow::Result<Arc<Self>> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .concurrency_support(false)
            .consume_fuel(limits.fuel.is_some())
            .max_wasm_stack(limits.stack_bytes);
        let engine = Engine::new(&config)?;
        let ticker = engine.weak();
        std::thread::Builder::new().name("sluice-epoch".into()).spawn(move || {
            // The epoch is wasmtime's clock for CPU deadlines: it must
            // advance on wall time, so this thread sleeps between ticks and
            // ends when the engine is gone.
            while let Some(engine) = ticker.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })?;
        Ok(Arc::new(Runtime {
            engine,
            limits,
            key: key.map(Arc::new),
            cache: CompileCache::from_env(),
            compiled: Compiled::default(),
        }))
    }

    /// Compiles (or fetches from cache) `component` once per run and links
    /// it: every import becomes a trap.
    pub(crate) fn load(&self, component: &ComponentRef) -> Result<Arc<Loaded>, StageError> {
        let key = (component.sha256.clone(), component.world);
        let mut map = self.compiled.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(loaded) = map.get(&key) {
            return Ok(loaded.clone());
        }
        let load_err = |e: wasmtime::Error| StageError::Load { component: component.label(), reason: format!("{e:#}") };
        let compiled = self.compile(component)?;
        let refused: Vec<String> = compiled
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name)
            .filter(|name| import_policy(name, component.world) == LinkPolicy::Refused)
            .map(str::to_owned)
            .collect();
        if !refused.is_empty() {
            return Err(StageError::Load {
                component: component.label(),
                reason: format!("it imports interfaces sluice never links: {}", refused.join(", ")),
            });
        }
        let mut linker = Linker::<StoreData>::new(&self.engine);
        if component.world == World::RowTransform {
            link_keyed(&mut linker).map_err(load_err)?;
        }
        linker.define_unknown_imports_as_traps(&compiled).map_err(load_err)?;
        let pre = linker.instantiate_pre(&compiled).map_err(load_err)?;
        let loaded = Arc::new(Loaded { pre });
        map.insert(key, loaded.clone());
        Ok(loaded)
    }

    /// Compiles `component` (or fetches it from the cache) without linking.
    pub fn compile(&self, component: &ComponentRef) -> Result<Component, StageError> {
        self.cache.load(&self.engine, &component.bytes, &component.sha256).map_err(|e| StageError::Load {
            component: component.label(),
            reason: if component.bytes.starts_with(b"\0asm") {
                format!("{e:#}")
            } else {
                "not a WebAssembly component (no \\0asm header)".to_owned()
            },
        })
    }

    /// Imports and exports of a compiled component, by name.
    pub fn interfaces(&self, compiled: &Component) -> (Vec<String>, Vec<String>) {
        let ty = compiled.component_type();
        let imports = ty.imports(&self.engine).map(|(n, _)| n.to_owned()).collect();
        let exports = ty.exports(&self.engine).map(|(n, _)| n.to_owned()).collect();
        (imports, exports)
    }

    /// This run's limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Fails when a call returned more than the output limit allows.
    pub(crate) fn check_output(&self, label: &str, input: usize, output: usize) -> Result<(), StageError> {
        let allowed = input.saturating_mul(self.limits.output_ratio).saturating_add(OUTPUT_ALLOWANCE);
        if output > allowed {
            return Err(StageError::Limit {
                component: label.to_owned(),
                reason: format!(
                    "output of {output} bytes for {input} bytes of input exceeds the output limit ({}x input + 1 MiB, --output-limit)",
                    self.limits.output_ratio
                ),
            });
        }
        Ok(())
    }

    /// Compiles every component up front so errors surface before data moves.
    pub fn preload<'a>(&self, components: impl IntoIterator<Item = &'a ComponentRef>) -> Result<(), StageError> {
        for component in components {
            self.load(component)?;
        }
        Ok(())
    }

    /// A fresh store with this run's limits, deadline armed.
    pub(crate) fn store(&self) -> Store<StoreData> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.limits.memory_bytes)
            .instances(16)
            .trap_on_grow_failure(true)
            .build();
        let mut store = Store::new(&self.engine, StoreData { limits, key: self.key.clone(), deadline: Instant::now() });
        store.limiter(|data| &mut data.limits);
        self.arm(&mut store);
        store
    }

    /// Resets the CPU deadline before a call.
    pub(crate) fn arm(&self, store: &mut Store<StoreData>) {
        let ticks = (self.limits.cpu_per_call.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        store.data_mut().deadline = Instant::now() + self.limits.cpu_per_call;
        if let Some(fuel) = self.limits.fuel {
            // Fuel is enabled on the engine whenever a budget is set, so this
            // cannot fail.
            let _ = store.set_fuel(fuel);
        }
    }

    /// The world's name, for the manifest.
    pub fn world_name(world: World) -> &'static str {
        world.wit_name()
    }
}

/// Compiled components of one run, keyed by SHA-256.
#[derive(Default)]
pub(crate) struct Compiled {
    map: Mutex<HashMap<(String, World), Arc<Loaded>>>,
}

/// The `keyed` import's interface name, as components import it.
const KEYED: &str = "sluice:pipeline/keyed@0.1.0";

/// Bytes of a `domain` at most: domains are short labels such as
/// `email:public.customer.email`.
pub const MAX_DOMAIN_BYTES: usize = 4096;

/// Links the `keyed` import into a row transform's linker: the key stays in
/// host memory, and a guest only ever sees digests and ciphertexts.
///
/// Written by hand rather than through `bindgen!`'s generated `Host` trait:
/// the generated glue copies every `list` argument out of guest memory into
/// a `Vec` before the host function runs, so one call could make the host
/// allocate as much as the guest holds before any limit is checked. Here the
/// arguments are `WasmList`/`WasmStr` views of guest memory: the limits are
/// checked first, the crypto reads the guest's bytes in place, and the only
/// host allocation is the bounded output.
fn link_keyed(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    let mut keyed = linker.instance(KEYED)?;
    keyed.func_wrap(
        "hmac",
        |store: StoreContextMut<'_, StoreData>, (domain, data, offsets): (WasmStr, WasmList<u8>, WasmList<u32>)| {
            let result = domain_of(&domain, &store).and_then(|domain| {
                let host = store.data();
                key(&host.key)?.hmac(&domain, data.as_le_slice(&store), offsets.as_le_slice(&store), host.deadline)
            });
            Ok((result,))
        },
    )?;
    keyed.func_wrap(
        "ff1-encrypt",
        |store: StoreContextMut<'_, StoreData>,
         (domain, radix, numerals, offsets): (WasmStr, u32, WasmList<u16>, WasmList<u32>)| {
            let result = domain_of(&domain, &store).and_then(|domain| {
                let host = store.data();
                key(&host.key)?.ff1_encrypt(
                    &domain,
                    radix,
                    numerals.as_le_slice(&store),
                    offsets.as_le_slice(&store),
                    host.deadline,
                )
            });
            Ok((result,))
        },
    )?;
    Ok(())
}

/// The domain string of a call, read in place (UTF-8 components) and at
/// most [`MAX_DOMAIN_BYTES`] long.
fn domain_of<'a>(domain: &WasmStr, store: &'a StoreContextMut<'_, StoreData>) -> Result<Cow<'a, str>, String> {
    let text = domain.to_str(store).map_err(|e| format!("domain: {e}"))?;
    if text.len() > MAX_DOMAIN_BYTES {
        return Err(format!("a domain of {} bytes, over the limit of {MAX_DOMAIN_BYTES} bytes", text.len()));
    }
    Ok(text)
}

fn key(key: &Option<Arc<MaskKey>>) -> Result<&MaskKey, String> {
    key.as_deref().ok_or_else(|| {
        "no masking key: set the environment variable named by [mask] key_env (default SLUICE_MASK_KEY)".to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_trapped_declared_or_refused_by_interface() {
        let row = World::RowTransform;
        assert_eq!(import_policy("sluice:pipeline/types@0.1.0", row), LinkPolicy::Declared);
        assert_eq!(import_policy("sluice:pipeline/keyed@0.1.0", row), LinkPolicy::Declared);
        assert_eq!(import_policy("sluice:pipeline/keyed@0.1.0", World::Formatter), LinkPolicy::Refused);
        for name in [
            "wasi:cli/environment@0.2.6",
            "wasi:io/streams@0.2.0",
            "wasi:filesystem/preopens@0.2.6",
            "wasi:clocks/wall-clock@0.2.6",
            "wasi:random/insecure-seed@0.2.6",
        ] {
            assert_eq!(import_policy(name, row), LinkPolicy::TrapOnUse, "{name}");
        }
        for name in [
            "wasi:sockets/tcp@0.2.6",
            "wasi:http/outgoing-handler@0.2.6",
            "evil:net/exfiltrate",
            "sluice:pipeline/other@0.1.0",
        ] {
            assert_eq!(import_policy(name, row), LinkPolicy::Refused, "{name}");
        }
    }
}
