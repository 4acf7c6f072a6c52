//! Where a dump lives: the [`Store`] seam, with one implementation per kind
//! of location (a local directory today; object storage plugs in beside it)
//! and an in-memory one for tests. Stores see keys and bytes, never rows,
//! engines or manifests.
//!
//! Keys are the manifest's own relative names (`data/public.film.00003.copy.zst`,
//! `schema/pre-data.sql`, `manifest.json`), made in [`naming`]. Checksums are
//! taken on the way in and out by [`hash`], around any store.

pub mod contract;
pub mod dir;
pub mod hash;
pub mod memory;
pub mod naming;

use std::sync::Arc;

use anyhow::bail;

pub use contract::{Part, Store, Written};
pub use hash::Hashed;

/// Opens the store a location names: the one place that maps a location to
/// an implementation. A location with a `scheme://` prefix is refused until
/// that scheme has a store, so `s3://bucket` never becomes a local folder
/// named `s3:`.
pub fn open(location: &str) -> anyhow::Result<Arc<dyn Store>> {
    if let Some((scheme, _)) = location.split_once("://")
        && !scheme.is_empty()
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        bail!("dump location {location}: {scheme}:// is not supported (a local directory is)");
    }
    if location.is_empty() {
        bail!("the dump location is empty");
    }
    Ok(Arc::new(dir::DirStore::new(location)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_with_an_unsupported_scheme_are_refused() {
        for location in ["s3://bucket/prefix", "gs://b", "http://host/x", "az://c/p"] {
            let error = open(location).err().expect("refused").to_string();
            assert!(error.contains("is not supported"), "{error}");
        }
        assert_eq!(open("some/dir").expect("a directory").location(), "some/dir");
    }
}
