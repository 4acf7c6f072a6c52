//! Where a dump lives: the [`Store`] seam, with one implementation per kind
//! of location (a local directory, a bucket prefix of an object store) and
//! an in-memory one for tests. Stores see keys and bytes, never rows,
//! engines or manifests.
//!
//! Keys are the manifest's own relative names (`data/public.film.00003.copy.zst`,
//! `schema/pre-data.sql`, `manifest.json`), made in [`naming`]. Checksums are
//! taken on the way in and out by [`hash`], around any store.

pub mod bucket;
pub mod contract;
pub mod dir;
pub mod hash;
pub mod memory;
pub mod naming;
pub mod s3;

use std::sync::Arc;

use anyhow::bail;

pub use contract::{Part, Store, Written};
pub use hash::Hashed;
pub use s3::S3Options;

/// Opens the store a location names: the one place that maps a location to
/// an implementation. `s3://` is a bucket prefix; any other `scheme://` is
/// refused, so `gs://bucket` never becomes a local folder named `gs:`.
/// Creates nothing and makes no request.
pub fn open(location: &str, s3: &S3Options) -> anyhow::Result<Arc<dyn Store>> {
    if let Some((scheme, _)) = location.split_once("://")
        && !scheme.is_empty()
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        if scheme == "s3" {
            return Ok(Arc::new(s3::open(location, s3)?));
        }
        bail!("dump location {location}: {scheme}:// is not supported (a local directory and s3:// are)");
    }
    if location.is_empty() {
        bail!("the dump location is empty");
    }
    Ok(Arc::new(dir::DirStore::new(location)))
}

/// The summary's line for requests the storage failed transiently and the
/// client retried, when there were any.
pub fn retried_line(store: &dyn Store) -> Option<String> {
    match store.retried_requests() {
        0 => None,
        1 => Some("1 storage request retried".to_owned()),
        n => Some(format!("{n} storage requests retried")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_with_an_unsupported_scheme_are_refused() {
        let s3 = S3Options::default();
        for location in ["gs://b", "http://host/x", "az://c/p", "S3://b/p"] {
            let error = open(location, &s3).err().expect("refused").to_string();
            assert!(error.contains("is not supported"), "{error}");
        }
        assert_eq!(open("some/dir", &s3).expect("a directory").location(), "some/dir");
        assert_eq!(open("s3://bucket/a/b/", &s3).expect("a bucket").location(), "s3://bucket/a/b");
    }
}
