//! The keys of a dump's objects, which are also the names the manifest
//! records: one portable name per table chunk, whatever its identifiers.

/// The pre-data schema script.
pub const PRE_DATA: &str = "schema/pre-data.sql";
/// The post-data schema script.
pub const POST_DATA: &str = "schema/post-data.sql";
/// The manifest, written last: a location without it is no complete dump.
pub const MANIFEST: &str = "manifest.json";
/// Where chunk files live.
pub const DATA_PREFIX: &str = "data/";

/// `data/<schema>.<table>.<chunk>.<ext>` with every byte that is not safe
/// in a file name (`/`, control characters, `%`, non-ASCII)
/// percent-encoded, so any identifier maps to one portable name.
pub fn chunk_key(schema: &str, table: &str, chunk: u32, ext: &str) -> String {
    format!("{DATA_PREFIX}{}.{}.{chunk:05}.{ext}", escape(schema), escape(table))
}

fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.' | b'$' | b' ') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_keys_escape_unsafe_bytes() {
        assert_eq!(chunk_key("public", "film", 3, "copy.zst"), "data/public.film.00003.copy.zst");
        assert_eq!(chunk_key("a/b", "ünï\"x", 0, "csv"), "data/a%2Fb.%C3%BCn%C3%AF%22x.00000.csv");
    }
}
