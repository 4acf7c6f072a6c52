//! The sandbox: one wasmtime engine per run, limits per store, and the
//! compiled components.
//!
//! Limits: linear memory per instance (`StoreLimits`), CPU per call (epoch
//! deadline; a ticker thread advances the epoch), wasm stack depth. No host
//! function is linked: every import a guest declares beyond its world's
//! (WASI files, sockets, environment, clocks, random) is defined as a trap.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{InstancePre, Linker};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};

use super::cache::CompileCache;
use super::{Compiled, ComponentRef, StageError, World};

/// How often the epoch advances: the granularity of the CPU limit.
const EPOCH_TICK: Duration = Duration::from_millis(50);

/// Resource limits for every instance.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum linear memory per instance, in bytes.
    pub memory_bytes: usize,
    /// Maximum wall-clock CPU time per call.
    pub cpu_per_call: Duration,
    /// Maximum wasm stack, in bytes.
    pub stack_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { memory_bytes: 256 << 20, cpu_per_call: Duration::from_secs(10), stack_bytes: 1 << 20 }
    }
}

/// What a store carries: its limits.
pub struct StoreData {
    limits: StoreLimits,
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
    cache: CompileCache,
    compiled: Compiled,
}

impl Runtime {
    /// Builds the engine and starts the epoch ticker.
    pub fn new(limits: Limits) -> anyhow::Result<Arc<Self>> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .concurrency_support(false)
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
        Ok(Arc::new(Runtime { engine, limits, cache: CompileCache::from_env(), compiled: Compiled::default() }))
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
        let compiled = self.cache.load(&self.engine, &component.bytes, &component.sha256).map_err(load_err)?;
        let mut linker = Linker::<StoreData>::new(&self.engine);
        linker.define_unknown_imports_as_traps(&compiled).map_err(load_err)?;
        let pre = linker.instantiate_pre(&compiled).map_err(load_err)?;
        let loaded = Arc::new(Loaded { pre });
        map.insert(key, loaded.clone());
        Ok(loaded)
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
        let limits = StoreLimitsBuilder::new().memory_size(self.limits.memory_bytes).instances(16).build();
        let mut store = Store::new(&self.engine, StoreData { limits });
        store.limiter(|data| &mut data.limits);
        self.arm(&mut store);
        store
    }

    /// Resets the CPU deadline before a call.
    pub(crate) fn arm(&self, store: &mut Store<StoreData>) {
        let ticks = (self.limits.cpu_per_call.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
    }

    /// The world's name, for the manifest.
    pub fn world_name(world: World) -> &'static str {
        world.wit_name()
    }
}
