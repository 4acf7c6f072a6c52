//! Sinks: where encoded bytes go. Sinks see bytes, never rows.

pub mod file;

/// `<schema>.<table>.<chunk>.<ext>` with every byte that is not safe in a
/// file name (`/`, control characters, `%`, non-ASCII) percent-encoded, so
/// any identifier maps to one portable file name.
pub fn chunk_file_name(schema: &str, table: &str, chunk: u32, ext: &str) -> String {
    format!("{}.{}.{chunk:05}.{ext}", escape(schema), escape(table))
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
    fn chunk_file_names_escape_unsafe_bytes() {
        assert_eq!(chunk_file_name("public", "film", 3, "copy.zst"), "public.film.00003.copy.zst");
        assert_eq!(chunk_file_name("a/b", "ünï\"x", 0, "csv"), "a%2Fb.%C3%BCn%C3%AF%22x.00000.csv");
    }
}
