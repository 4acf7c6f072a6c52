//! Cuts a stream of SQL text into whole statements, so a loader can run
//! them in pieces without ever splitting one.
//!
//! Hand-written rather than a SQL parser crate: only quotes and
//! `;` matter, and the dump's own INSERT statements are all it must read.

/// Length of the leading run of `text` without a byte `special` flags.
/// Whole 16-byte blocks are tested branch-free first, which the compiler
/// turns into a few wide compares, so plain text is copied in long runs.
#[inline(always)]
pub fn plain_run(text: &[u8], special: impl Fn(u8) -> bool) -> usize {
    let mut i = 0;
    while let Some(block) = text.get(i..i + 16) {
        if block.iter().fold(false, |any, &b| any | special(b)) {
            break;
        }
        i += 16;
    }
    while i < text.len() && !special(text[i]) {
        i += 1;
    }
    i
}

/// Quote-aware statement splitter for SQLite (`'…'` with `''`) and MySQL
/// (`'…'` with `\` escapes too) text.
#[derive(Debug, Default)]
pub struct StatementSplitter {
    backslash_escapes: bool,
    pending: Vec<u8>,
    /// How far `pending` was scanned, and the state there.
    scanned: usize,
    quote: Option<u8>,
    escaped: bool,
}

impl StatementSplitter {
    /// A splitter; `backslash_escapes` for MySQL string literals.
    pub fn new(backslash_escapes: bool) -> Self {
        StatementSplitter { backslash_escapes, ..Self::default() }
    }

    /// Adds text; returns the complete statements now available (possibly
    /// empty), each ending with its `;`.
    pub fn feed(&mut self, text: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(text);
        let mut cut = None;
        let mut i = self.scanned;
        while i < self.pending.len() {
            let b = self.pending[i];
            match self.quote {
                Some(_) if self.escaped => self.escaped = false,
                Some(_) if self.backslash_escapes && b == b'\\' => self.escaped = true,
                Some(q) if b == q => self.quote = None,
                Some(_) => {}
                None if matches!(b, b'\'' | b'"' | b'`') => self.quote = Some(b),
                None if b == b';' => cut = Some(i + 1),
                None => {}
            }
            i += 1;
        }
        self.scanned = self.pending.len();
        match cut {
            Some(end) => {
                let rest = self.pending.split_off(end);
                self.scanned -= end;
                std::mem::replace(&mut self.pending, rest)
            }
            None => Vec::new(),
        }
    }

    /// Ends the stream: fails when text other than whitespace is left (a
    /// statement without its end, or an open quote).
    pub fn finish(self) -> Result<(), String> {
        if self.quote.is_some() {
            return Err("the SQL text ends inside a quoted string".into());
        }
        match self.pending.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(at) => Err(format!(
                "the SQL text ends with an unfinished statement: {:?}",
                String::from_utf8_lossy(&self.pending[at..(at + 60).min(self.pending.len())])
            )),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_every_way(text: &[u8], backslash: bool) -> Vec<Vec<u8>> {
        let mut results = Vec::new();
        for step in 1..=text.len() {
            let mut splitter = StatementSplitter::new(backslash);
            let mut out = Vec::new();
            let mut cuts = Vec::new();
            for piece in text.chunks(step) {
                let whole = splitter.feed(piece);
                if !whole.is_empty() {
                    cuts.push(whole.clone());
                }
                out.extend(whole);
            }
            splitter.finish().expect("complete");
            assert!(cuts.iter().all(|c| c.ends_with(b";")), "step {step}");
            results.push(out);
        }
        results
    }

    #[test]
    fn semicolons_inside_quotes_never_cut() {
        let text = b"INSERT INTO \"a;b\" VALUES\n('x;\n'';y'),\n(X'3b');\nINSERT INTO t VALUES (1);\n";
        for out in split_every_way(text, false) {
            assert_eq!(out, text[..text.len() - 1].to_vec());
        }
    }

    #[test]
    fn mysql_backslash_escapes_keep_quotes_open() {
        let text = b"INSERT INTO `t` VALUES ('it\\'s; fine\\\\'),('\\0');\n";
        for out in split_every_way(text, true) {
            assert_eq!(out, text[..text.len() - 1].to_vec());
        }
    }

    #[test]
    fn an_unfinished_statement_is_an_error() {
        let mut s = StatementSplitter::new(false);
        assert!(s.feed(b"INSERT INTO t VALUES ('a;").is_empty());
        assert!(s.finish().is_err());
        let mut s = StatementSplitter::new(false);
        assert_eq!(s.feed(b"SELECT 1; SELECT 2"), b"SELECT 1;");
        assert!(s.finish().is_err());
    }
}
