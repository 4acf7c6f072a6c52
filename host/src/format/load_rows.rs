//! The dump's multi-row `INSERT` statements turned into the tab-separated
//! rows `LOAD DATA LOCAL INFILE` reads, so the server loads rows without
//! parsing SQL (its costliest part of a restore by INSERT).
//!
//! The input is what the `sql` component writes in its MySQL dialect:
//! `INSERT INTO `t` (`a`,`b`) VALUES\n(…),\n(…);\n`, each value `NULL`, a
//! bare number, a `'…'` string with backslash escapes, or `X'<hex>'`. The
//! output uses LOAD DATA's defaults (the loader's statement spells them
//! out): fields end at a tab, rows at a newline, `\` escapes, `\N` is NULL.

use anyhow::bail;

/// Converts the `INSERT` statements of a data file, fed in pieces split
/// anywhere, into LOAD DATA rows, counting rows.
///
/// It parses in units (a statement's `INSERT INTO … VALUES` head, or one
/// row with the `,` or `;` after it). A unit cut off by the end of a piece
/// is kept and parsed again, whole, once the next piece arrives; that is
/// the only copying, and it replaces a separate statement-splitting pass.
pub struct InsertToRows {
    columns: usize,
    /// Rows converted so far.
    pub rows: u64,
    /// Between a statement's head and its `;`.
    in_values: bool,
    /// The start of a unit the last piece cut off.
    pending: Vec<u8>,
}

/// Why parsing a unit stopped.
enum Stop {
    /// The text ended inside the unit.
    Incomplete,
    /// The text is not what the `sql` formatter writes.
    Bad(anyhow::Error),
}

type Parsed<T = ()> = Result<T, Stop>;

fn bad<T>(message: String) -> Parsed<T> {
    Err(Stop::Bad(anyhow::anyhow!(message)))
}

impl InsertToRows {
    /// A converter for statements of `columns` values per row.
    pub fn new(columns: usize) -> Self {
        InsertToRows { columns, rows: 0, in_values: false, pending: Vec::new() }
    }

    /// Appends the rows that `data` completes to `out`.
    pub fn feed(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> anyhow::Result<()> {
        out.reserve(data.len() + data.len() / 8);
        // Finish the cut-off unit first, adding the piece bit by bit so a
        // long piece is not copied whole for one short row.
        while !self.pending.is_empty() {
            if data.is_empty() {
                return Ok(());
            }
            let old = self.pending.len();
            let take = data.len().min(old.max(64 << 10));
            self.pending.extend_from_slice(&data[..take]);
            let pending = std::mem::take(&mut self.pending);
            let used = self.units(&pending, out)?;
            if used >= old {
                // The cut-off unit is whole now; go on in `data` itself.
                data = &data[used - old..];
            } else {
                self.pending = pending;
                data = &data[take..];
            }
        }
        let used = self.units(data, out)?;
        self.pending.extend_from_slice(&data[used..]);
        Ok(())
    }

    /// Ends the file: fails if it stopped inside a statement.
    pub fn finish(&self) -> anyhow::Result<u64> {
        if self.in_values || !self.pending.iter().all(u8::is_ascii_whitespace) {
            bail!("the data ends inside an INSERT statement (row {})", self.rows + 1);
        }
        Ok(self.rows)
    }

    /// Converts every whole unit of `text`; returns the bytes they took.
    fn units(&mut self, text: &[u8], out: &mut Vec<u8>) -> anyhow::Result<usize> {
        let mut p = Parser { text, at: 0 };
        loop {
            let (start, written) = (p.at, out.len());
            let step = if self.in_values { self.row(&mut p, out) } else { self.head(&mut p) };
            match step {
                Ok(true) => {}
                Ok(false) => return Ok(p.at),
                Err(Stop::Incomplete) => {
                    out.truncate(written);
                    return Ok(start);
                }
                Err(Stop::Bad(e)) => return Err(e.context(format!("row {}", self.rows + 1))),
            }
        }
    }

    /// `INSERT INTO `t` (`a`,…) VALUES`; false at the end of the text.
    fn head(&mut self, p: &mut Parser<'_>) -> Parsed<bool> {
        p.skip_space();
        if p.at == p.text.len() {
            return Ok(false);
        }
        p.expect(b"INSERT INTO ")?;
        p.identifier()?;
        p.expect(b" (")?;
        let mut names = 1;
        p.identifier()?;
        while p.eat(b',')? {
            p.identifier()?;
            names += 1;
        }
        if names != self.columns {
            return bad(format!("an INSERT names {names} columns, the table has {}", self.columns));
        }
        p.expect(b") VALUES")?;
        self.in_values = true;
        Ok(true)
    }

    /// `(v,…)` and the `,` or `;` after it.
    fn row(&mut self, p: &mut Parser<'_>, out: &mut Vec<u8>) -> Parsed<bool> {
        p.skip_space();
        p.expect(b"(")?;
        for i in 0..self.columns {
            if i > 0 {
                p.expect(b",")?;
                out.push(b'\t');
            }
            p.value(out)?;
        }
        p.expect(b")")?;
        if p.eat(b';')? {
            self.in_values = false;
        } else {
            p.expect(b",")?;
        }
        out.push(b'\n');
        self.rows += 1;
        Ok(true)
    }
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &[u8] {
        &self.text[self.at..]
    }

    fn skip_space(&mut self) {
        while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    /// Takes `b` if it is next; incomplete at the end of the text.
    fn eat(&mut self, b: u8) -> Parsed<bool> {
        match self.text.get(self.at) {
            None => Err(Stop::Incomplete),
            Some(&next) => {
                self.at += usize::from(next == b);
                Ok(next == b)
            }
        }
    }

    fn expect(&mut self, word: &[u8]) -> Parsed {
        let rest = self.rest();
        if rest.starts_with(word) {
            self.at += word.len();
            return Ok(());
        }
        if word.starts_with(rest) {
            return Err(Stop::Incomplete);
        }
        let seen = String::from_utf8_lossy(&rest[..rest.len().min(20)]).into_owned();
        bad(format!("expected {:?} at {seen:?}", String::from_utf8_lossy(word)))
    }

    /// A backquoted name (inner backquotes doubled); skipped.
    fn identifier(&mut self) -> Parsed {
        self.expect(b"`")?;
        loop {
            let Some(end) = memchr::memchr(b'`', self.rest()) else { return Err(Stop::Incomplete) };
            self.at += end + 1;
            if !self.eat(b'`')? {
                return Ok(());
            }
        }
    }

    /// One value, written as a LOAD DATA field.
    fn value(&mut self, out: &mut Vec<u8>) -> Parsed {
        let rest = self.rest();
        match rest {
            [] => Err(Stop::Incomplete),
            [b'\'', ..] => {
                self.at += 1;
                self.string(out)
            }
            [b'X'] => Err(Stop::Incomplete),
            [b'X', b'\'', ..] => {
                let Some(end) = memchr::memchr(b'\'', &rest[2..]) else { return Err(Stop::Incomplete) };
                let hex = &rest[2..2 + end];
                let mut bytes = vec![0; hex.len() / 2];
                if hex::decode_to_slice(hex, &mut bytes).is_err() {
                    return bad(format!("bad X'…' literal of {} digits", hex.len()));
                }
                escape_into(&bytes, out);
                self.at += end + 3;
                Ok(())
            }
            _ => {
                // NULL or a bare number: everything up to the next `,` or `)`.
                let Some(end) = rest.iter().position(|&b| b == b',' || b == b')') else {
                    return Err(Stop::Incomplete);
                };
                let token = &rest[..end];
                if token == b"NULL" {
                    out.extend_from_slice(b"\\N");
                } else if !token.is_empty() && token.iter().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b)) {
                    out.extend_from_slice(token);
                } else {
                    return bad(format!("unexpected value {:?}", String::from_utf8_lossy(&token[..end.min(20)])));
                }
                self.at += end;
                Ok(())
            }
        }
    }

    /// The rest of a `'…'` literal after its opening quote. MySQL's string
    /// escapes that LOAD DATA reads the same way (`\0 \b \n \r \t \Z \\`)
    /// are copied; quotes are unescaped; a raw tab or newline is escaped.
    fn string(&mut self, out: &mut Vec<u8>) -> Parsed {
        loop {
            let rest = self.rest();
            let n = plain_run(rest);
            out.extend_from_slice(&rest[..n]);
            let Some(&special) = rest.get(n) else { return Err(Stop::Incomplete) };
            let next = rest.get(n + 1).copied();
            self.at += n + 1;
            match (special, next) {
                (b'\t', _) => out.extend_from_slice(b"\\t"),
                (b'\n', _) => out.extend_from_slice(b"\\n"),
                // A closing quote, or a doubled one: the next byte decides.
                (b'\'', None) => return Err(Stop::Incomplete),
                (b'\'', Some(b'\'')) => {
                    out.push(b'\'');
                    self.at += 1;
                }
                (b'\'', Some(_)) => return Ok(()),
                (_, None) => return Err(Stop::Incomplete),
                (_, Some(c)) => {
                    self.at += 1;
                    match c {
                        b'0' | b'b' | b'n' | b'r' | b't' | b'Z' | b'\\' => out.extend_from_slice(&[b'\\', c]),
                        // Outside LIKE patterns MySQL keeps the backslash.
                        b'%' | b'_' => out.extend_from_slice(&[b'\\', b'\\', c]),
                        other => escape_into(&[other], out),
                    }
                }
            }
        }
    }
}

/// Length of the leading run of `text` without a quote, backslash, tab or
/// newline.
fn plain_run(text: &[u8]) -> usize {
    super::sql_text::plain_run(text, |b| (b == b'\\') | (b == b'\'') | (b == b'\t') | (b == b'\n'))
}

/// Appends the rows of `batch` as LOAD DATA rows: `\N` for NULL, every
/// other value's bytes escaped. This is the `tsv` format's native writer
/// (the same bytes as the `tsv` component), and how rows parsed from
/// another format reach `LOAD DATA`.
pub fn encode_load_rows(batch: &crate::batch::Batch, out: &mut Vec<u8>) {
    out.reserve(batch.data_bytes() + batch.rows as usize * (batch.columns.len() + 1));
    for row in 0..batch.rows as usize {
        for (i, column) in batch.columns.iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            match column.value(row) {
                None => out.extend_from_slice(b"\\N"),
                Some(bytes) => escape_into(bytes, out),
            }
        }
        out.push(b'\n');
    }
}

/// Raw bytes as a LOAD DATA field.
fn escape_into(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => out.extend_from_slice(b"\\0"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Converts `sql` fed in pieces of `piece` bytes.
    fn convert_in(columns: usize, sql: &[u8], piece: usize) -> anyhow::Result<(Vec<u8>, u64)> {
        let mut converter = InsertToRows::new(columns);
        let mut out = Vec::new();
        for part in sql.chunks(piece) {
            converter.feed(part, &mut out)?;
        }
        Ok((out, converter.finish()?))
    }

    fn convert(columns: usize, sql: &[u8]) -> anyhow::Result<(Vec<u8>, u64)> {
        let whole = convert_in(columns, sql, sql.len().max(1));
        for piece in [1, 2, 3, 5, 7, 16, 100] {
            let (a, b) = (convert_in(columns, sql, piece), &whole);
            match (a, b) {
                (Ok(a), Ok(b)) => assert_eq!(&a, b, "in pieces of {piece}"),
                (Err(_), Err(_)) => {}
                (a, b) => panic!("pieces of {piece}: {:?} but whole: {:?}", a.is_ok(), b.is_ok()),
            }
        }
        whole
    }

    #[test]
    fn values_become_tab_separated_fields() {
        let sql = b"INSERT INTO `t``x` (`a`,`b c`,`d`) VALUES\n(1,'it\\'s\\ta\\nb\\\\c\\0\\Z\\r','')\
            ,\n(-2.5e3,NULL,X'00095c0a0dff'),\n(3,'tab\there ''q'' \\% \\_ \\\"','x');\n\
            INSERT INTO `t``x` (`a`,`b c`,`d`) VALUES\n(4,'',NULL);\n";
        let (out, rows) = convert(3, sql).expect("converts");
        assert_eq!(rows, 4);
        let expected: &[u8] = b"1\tit's\\ta\\nb\\\\c\\0\\Z\\r\t\n\
            -2.5e3\t\\N\t\\0\\t\\\\\\n\\r\xff\n\
            3\ttab\\there 'q' \\\\% \\\\_ \"\tx\n\
            4\t\t\\N\n";
        assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(expected));
        assert_eq!(out, expected);
    }

    #[test]
    fn batches_become_the_same_rows_as_their_inserts() {
        let mut batch = crate::batch::Batch::with_columns(2);
        for (a, b) in [(Some(&b"1"[..]), Some(&b"tab\there\\ \n\r\0"[..])), (None, Some(&b""[..]))] {
            batch.columns[0].push(a);
            batch.columns[1].push(b);
            batch.rows += 1;
        }
        let mut out = Vec::new();
        encode_load_rows(&batch.sealed(), &mut out);
        let (from_inserts, _) =
            convert(2, b"INSERT INTO `t` (`a`,`b`) VALUES\n(1,'tab\\there\\\\ \\n\\r\\0'),\n(NULL,'');\n")
                .expect("converts");
        assert_eq!(out, b"1\ttab\\there\\\\ \\n\\r\\0\n\\N\t\n");
        assert_eq!(out, from_inserts);
    }

    #[test]
    fn malformed_statements_are_refused() {
        for bad in [
            &b"INSERT INTO `t` (`a`) VALUES\n(1,2);\n"[..],
            b"INSERT INTO `t` (`a`,`b`) VALUES\n(1);\n",
            b"INSERT INTO `t` (`a`) VALUES\n('open);\n",
            b"INSERT INTO `t` (`a`) VALUES\n(X'0g');\n",
            b"INSERT INTO `t` (`a`) VALUES\n(now());\n",
            b"DELETE FROM `t`;\n",
            b"INSERT INTO `t` (`a`) VALUES\n(1),\n",
            b"INSERT INTO `t` (`a`) VALUES\n(1);\nINSERT INTO `t` (`a`) VALU",
        ] {
            let columns = if bad.starts_with(b"INSERT INTO `t` (`a`,`b`)") { 2 } else { 1 };
            assert!(convert(columns, bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
