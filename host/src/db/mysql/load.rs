//! The dump's multi-row `INSERT` statements turned into the tab-separated
//! rows `LOAD DATA LOCAL INFILE` reads, so the server loads rows without
//! parsing SQL (its costliest part of a restore by INSERT).
//!
//! The input is what the `sql` component writes in its MySQL dialect:
//! `INSERT INTO `t` (`a`,`b`) VALUES\n(…),\n(…);\n`, each value `NULL`, a
//! bare number, a `'…'` string with backslash escapes, or `X'<hex>'`. The
//! output uses LOAD DATA's defaults spelled out in [`load_statement`]:
//! fields end at a tab, rows at a newline, `\` escapes, `\N` is NULL.

use anyhow::{Context, bail};
use bytes::Bytes;
use futures_util::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};
use percent_encoding::percent_decode_str;
use tokio::sync::mpsc;

use super::{SESSION_SETTINGS, quote_ident};
use crate::catalog::Column;
use crate::db::DbUrl;

/// Pieces of a LOAD DATA file, or the error that must fail it.
pub type Piece = std::io::Result<Bytes>;

/// A loading connection (mysql_async, which offers LOCAL INFILE) with the
/// session sqlx connections get, foreign-key checks off and, unless
/// `keep_binlog`, the binary log off. Returns whether rows will be logged
/// although `keep_binlog` was not asked (no privilege to turn it off).
pub async fn connect_loader(url: &DbUrl, keep_binlog: bool) -> anyhow::Result<(Conn, bool)> {
    let u = url.url();
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let password = u.password().map(decode).or_else(|| std::env::var("MYSQL_PWD").ok());
    let database = decode(u.path().trim_start_matches('/'));
    let opts = OptsBuilder::default()
        .ip_or_hostname(u.host_str().unwrap_or("localhost"))
        .tcp_port(u.port().unwrap_or(3306))
        .user(Some(decode(u.username())).filter(|n| !n.is_empty()))
        .pass(password)
        .db_name(Some(database).filter(|d| !d.is_empty()))
        // Else it moves to the server's unix socket, which another host's
        // or a container's path would not be.
        .prefer_socket(false);
    let mut conn = Conn::new(opts).await.with_context(|| format!("cannot connect to {url}"))?;
    conn.query_drop("SET NAMES utf8mb4 COLLATE utf8mb4_general_ci").await?;
    conn.query_drop(SESSION_SETTINGS).await.context("cannot apply session settings")?;
    conn.query_drop("SET SESSION foreign_key_checks = 0").await?;
    let binlog_kept = !keep_binlog && conn.query_drop("SET SESSION sql_log_bin = 0").await.is_err();
    Ok((conn, binlog_kept))
}

/// Runs `statement` (from [`load_statement`]) inside the open transaction,
/// its file streamed from `pieces`; returns the rows the server loaded.
/// LOCAL loads turn errors into warnings (the server cannot stop the
/// client's upload), so any warning fails the load, with its message.
pub async fn load(conn: &mut Conn, statement: &str, pieces: mpsc::Receiver<Piece>) -> anyhow::Result<u64> {
    conn.set_infile_handler(async move {
        Ok(futures_util::stream::unfold(pieces, |mut rx| async move { rx.recv().await.map(|piece| (piece, rx)) })
            .boxed())
    });
    conn.query_drop(statement).await?;
    let (loaded, warnings) = (conn.affected_rows(), conn.get_warnings());
    if warnings > 0 {
        let first: Option<(String, u32, String)> = conn.query_first("SHOW WARNINGS LIMIT 1").await?;
        let (level, code, message) = first.unwrap_or_default();
        bail!("the server loaded the rows with {warnings} warning(s), the first: {level} {code}: {message}");
    }
    Ok(loaded)
}

/// The `LOAD DATA` statement for rows of `columns` written by
/// [`InsertToRows`].
///
/// The file is read as `CHARACTER SET binary`: field bytes are split
/// exactly (a multi-byte reading could swallow a tab after a stray lead
/// byte) and stored as they are. The dump's text is UTF-8, so columns in
/// another character set (`convert[i]`) go through a variable relabelled as
/// utf8mb4, which the server converts as it would an INSERT's string. BIT
/// columns arrive as their number, which a BIT column would take as the
/// bytes of its text: they go through a variable and a cast.
pub fn load_statement(table: &str, columns: &[Column], convert: &[bool]) -> String {
    let mut targets = Vec::with_capacity(columns.len());
    let mut sets = Vec::new();
    for (i, column) in columns.iter().enumerate() {
        let name = quote_ident(&column.name);
        if is_bit(column) {
            targets.push(format!("@v{i}"));
            sets.push(format!("{name} = CAST(@v{i} AS UNSIGNED)"));
        } else if convert.get(i).copied().unwrap_or(false) {
            targets.push(format!("@v{i}"));
            sets.push(format!("{name} = CONVERT(@v{i} USING utf8mb4)"));
        } else {
            targets.push(name);
        }
    }
    let set = if sets.is_empty() { String::new() } else { format!(" SET {}", sets.join(", ")) };
    format!(
        "LOAD DATA LOCAL INFILE 'sluice' INTO TABLE {} CHARACTER SET binary \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({}){set}",
        quote_ident(table),
        targets.join(", ")
    )
}

fn is_bit(column: &Column) -> bool {
    column.sql_type.get(..3).is_some_and(|t| t.eq_ignore_ascii_case("bit"))
}

/// Converts whole `INSERT` statements (as the statement splitter returns
/// them) into LOAD DATA rows, counting rows.
pub struct InsertToRows {
    columns: usize,
    /// Rows converted so far.
    pub rows: u64,
}

impl InsertToRows {
    /// A converter for statements of `columns` values per row.
    pub fn new(columns: usize) -> Self {
        InsertToRows { columns, rows: 0 }
    }

    /// Appends the rows of every statement in `sql` to `out`.
    pub fn convert(&mut self, sql: &[u8], out: &mut Vec<u8>) -> anyhow::Result<()> {
        out.reserve(sql.len());
        let mut p = Parser { text: sql, at: 0 };
        loop {
            p.skip_space();
            if p.at == sql.len() {
                return Ok(());
            }
            p.expect(b"INSERT INTO ")?;
            p.identifier()?;
            p.expect(b" (")?;
            let mut names = 1;
            p.identifier()?;
            while p.eat(b',') {
                p.identifier()?;
                names += 1;
            }
            if names != self.columns {
                bail!("an INSERT names {names} columns, the table has {}", self.columns);
            }
            p.expect(b") VALUES")?;
            loop {
                p.skip_space();
                p.expect(b"(")?;
                for i in 0..self.columns {
                    if i > 0 {
                        p.expect(b",")?;
                        out.push(b'\t');
                    }
                    p.value(out).with_context(|| format!("row {}, column {}", self.rows + 1, i + 1))?;
                }
                p.expect(b")")?;
                out.push(b'\n');
                self.rows += 1;
                if p.eat(b';') {
                    break;
                }
                p.expect(b",")?;
            }
        }
    }
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        let found = self.text.get(self.at) == Some(&b);
        self.at += usize::from(found);
        found
    }

    fn expect(&mut self, word: &[u8]) -> anyhow::Result<()> {
        if !self.text[self.at..].starts_with(word) {
            let seen = &self.text[self.at..self.text.len().min(self.at + 20)];
            bail!("expected {:?} at {:?}", String::from_utf8_lossy(word), String::from_utf8_lossy(seen));
        }
        self.at += word.len();
        Ok(())
    }

    /// A backquoted name (inner backquotes doubled); skipped.
    fn identifier(&mut self) -> anyhow::Result<()> {
        self.expect(b"`")?;
        loop {
            let Some(end) = memchr::memchr(b'`', &self.text[self.at..]) else { bail!("a name has no closing `") };
            self.at += end + 1;
            if !self.eat(b'`') {
                return Ok(());
            }
        }
    }

    /// One value, written as a LOAD DATA field.
    fn value(&mut self, out: &mut Vec<u8>) -> anyhow::Result<()> {
        let rest = &self.text[self.at..];
        match rest.first() {
            Some(b'\'') => {
                self.at += 1;
                self.string(out)
            }
            Some(b'X') if rest.get(1) == Some(&b'\'') => {
                self.at += 2;
                let Some(end) = memchr::memchr(b'\'', &self.text[self.at..]) else { bail!("unterminated X'…'") };
                let hex = &self.text[self.at..self.at + end];
                self.at += end + 1;
                let mut bytes = vec![0; hex.len() / 2];
                hex::decode_to_slice(hex, &mut bytes).map_err(|e| anyhow::anyhow!("bad X'…' literal: {e}"))?;
                escape_into(&bytes, out);
                Ok(())
            }
            Some(b'N') if rest.starts_with(b"NULL") => {
                self.at += 4;
                out.extend_from_slice(b"\\N");
                Ok(())
            }
            _ => {
                // A bare number: everything up to the next `,` or `)`.
                let end = rest.iter().position(|&b| b == b',' || b == b')').unwrap_or(rest.len());
                let number = &rest[..end];
                if number.is_empty() || !number.iter().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b)) {
                    bail!("unexpected value {:?}", String::from_utf8_lossy(&rest[..end.min(20)]));
                }
                out.extend_from_slice(number);
                self.at += end;
                Ok(())
            }
        }
    }

    /// The rest of a `'…'` literal after its opening quote. MySQL's string
    /// escapes that LOAD DATA reads the same way (`\0 \b \n \r \t \Z \\`)
    /// are copied; quotes are unescaped; a raw tab or newline is escaped.
    fn string(&mut self, out: &mut Vec<u8>) -> anyhow::Result<()> {
        loop {
            let rest = &self.text[self.at..];
            let n = plain_run(rest);
            if n == rest.len() {
                bail!("unterminated string");
            }
            out.extend_from_slice(&rest[..n]);
            self.at += n + 1;
            match rest[n] {
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\'' if rest.get(n + 1) == Some(&b'\'') => {
                    out.push(b'\'');
                    self.at += 1;
                }
                b'\'' => return Ok(()),
                _ => {
                    let Some(&c) = rest.get(n + 1) else { bail!("unterminated string") };
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
/// newline; whole 16-byte blocks are tested branch-free first (the compiler
/// makes wide compares of them), so long strings are copied in long runs.
fn plain_run(text: &[u8]) -> usize {
    let special = |b: u8| (b == b'\\') | (b == b'\'') | (b == b'\t') | (b == b'\n');
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
    use crate::catalog::ColumnKind;

    fn column(name: &str, sql_type: &str) -> Column {
        Column { name: name.into(), sql_type: sql_type.into(), kind: ColumnKind::Text, nullable: true }
    }

    fn convert(columns: usize, sql: &[u8]) -> anyhow::Result<(Vec<u8>, u64)> {
        let mut converter = InsertToRows::new(columns);
        let mut out = Vec::new();
        converter.convert(sql, &mut out)?;
        Ok((out, converter.rows))
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
    fn malformed_statements_are_refused() {
        for bad in [
            &b"INSERT INTO `t` (`a`) VALUES\n(1,2);\n"[..],
            b"INSERT INTO `t` (`a`,`b`) VALUES\n(1);\n",
            b"INSERT INTO `t` (`a`) VALUES\n('open);\n",
            b"INSERT INTO `t` (`a`) VALUES\n(X'0g');\n",
            b"INSERT INTO `t` (`a`) VALUES\n(now());\n",
            b"DELETE FROM `t`;\n",
        ] {
            let columns = if bad.starts_with(b"INSERT INTO `t` (`a`,`b`)") { 2 } else { 1 };
            assert!(convert(columns, bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn bit_and_non_utf8_columns_load_through_variables() {
        let columns = [column("id", "int"), column("flags", "bit(64)"), column("l1", "varchar(9)")];
        let statement = load_statement("t", &columns, &[false, false, true]);
        assert!(
            statement.ends_with(
                "(`id`, @v1, @v2) SET `flags` = CAST(@v1 AS UNSIGNED), `l1` = CONVERT(@v2 USING utf8mb4)"
            ),
            "{statement}"
        );
        assert!(statement.starts_with("LOAD DATA LOCAL INFILE 'sluice' INTO TABLE `t` CHARACTER SET binary"));
    }
}
