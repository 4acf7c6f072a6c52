//! The only place that runs `bindgen!`: host bindings for the three worlds
//! of `wit/` (package `sluice:pipeline@0.1.0`). The `types` interface is
//! generated once and shared by the other worlds through `with`.

#![allow(missing_docs, clippy::all)]

/// Bindings for the `row-transform` world (and the shared `types`).
pub mod row {
    wasmtime::component::bindgen!({
        world: "row-transform",
        path: "../wit",
    });
}

/// Bindings for the `formatter` world.
pub mod fmt {
    wasmtime::component::bindgen!({
        world: "formatter",
        path: "../wit",
        with: {
            "sluice:pipeline/types": crate::stage::bindings::row::sluice::pipeline::types,
        },
    });
}

/// Bindings for the `byte-transform` world.
pub mod bytes {
    wasmtime::component::bindgen!({
        world: "byte-transform",
        path: "../wit",
        with: {
            "sluice:pipeline/types": crate::stage::bindings::row::sluice::pipeline::types,
        },
    });
}

pub use row::sluice::pipeline::types;
