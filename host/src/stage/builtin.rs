//! Built-in components, compiled from `components/` by `host/build.rs` for
//! wasm32-wasip2 and embedded in the binary.

use super::world::World;

macro_rules! embedded {
    ($name:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/components/", $name, ".wasm"))
    };
}

/// Every built-in component: name, world, wasm bytes.
pub const BUILTINS: &[(&str, World, &[u8])] = &[
    ("identity", World::RowTransform, embedded!("identity")),
    ("mask", World::RowTransform, embedded!("mask")),
    ("filter", World::RowTransform, embedded!("filter")),
    ("copy", World::Formatter, embedded!("copy")),
    ("csv", World::Formatter, embedded!("csv")),
    ("sql", World::Formatter, embedded!("sql")),
    ("jsonl", World::Formatter, embedded!("jsonl")),
    ("tsv", World::Formatter, embedded!("tsv")),
    ("zstd", World::ByteTransform, embedded!("zstd")),
    ("gzip", World::ByteTransform, embedded!("gzip")),
];

/// Looks up a built-in component by name.
pub fn find(name: &str) -> Option<(World, &'static [u8])> {
    BUILTINS.iter().find(|(n, _, _)| *n == name).map(|(_, w, b)| (*w, *b))
}

/// Names of the built-ins implementing `world`, for messages.
pub fn names(world: World) -> Vec<&'static str> {
    BUILTINS.iter().filter(|(_, w, _)| *w == world).map(|(n, _, _)| *n).collect()
}
