//! Loading by `LOAD DATA LOCAL INFILE` (mysql_async, which offers LOCAL
//! INFILE): the loading connection, the statement, and the load of one
//! file's rows as `format::load_rows` makes them from the dump's INSERTs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};
use percent_encoding::percent_decode_str;
use tokio::sync::mpsc;

use super::{
    INSERT_HISTORY, LENIENT_MODE, SESSION_SETTINGS, STRICT_MODE, enum_columns, insert_history_failed, quote_ident,
    with_history,
};
use crate::catalog::{Column, Table};
use crate::db::source::Piece;
use crate::db::target::{LoadFile, Loader};
use crate::db::url::DbUrl;
use crate::format::Framing;

/// A loading connection (mysql_async, which offers LOCAL INFILE) with the
/// session sqlx connections get, foreign-key checks off, history rows
/// writable when `tables` have them and, unless
/// `keep_binlog`, the binary log off. Returns whether rows will be logged
/// although `keep_binlog` was not asked (no privilege to turn it off).
pub async fn connect_loader(url: &DbUrl, keep_binlog: bool, tables: &[Table]) -> anyhow::Result<(Conn, bool)> {
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
    if let Some(table) = with_history(tables) {
        conn.query_drop(INSERT_HISTORY).await.with_context(|| insert_history_failed(table))?;
    }
    let binlog_kept = !keep_binlog && conn.query_drop("SET SESSION sql_log_bin = 0").await.is_err();
    Ok((conn, binlog_kept))
}

/// Runs `statement` (from [`load_statement`]) inside the open transaction,
/// its file streamed from `pieces`; returns the rows the server loaded.
/// A channel that closes before [`Piece::End`] fails the upload, so the
/// server never takes a file cut short for a whole one. LOCAL loads turn
/// errors into warnings (the server cannot stop the client's upload), so
/// any warning fails the load, with its message, but one: the "data
/// truncated" of an empty field in an ENUM column (`enums[i]`), which is
/// that ENUM's error value coming back, when there are exactly as many of
/// them as the file has such fields.
pub async fn load(
    conn: &mut Conn,
    statement: &str,
    pieces: mpsc::Receiver<Piece>,
    enums: &[bool],
) -> anyhow::Result<u64> {
    let counter = Arc::new(Mutex::new(EmptyFields::new(enums)));
    let counting = counter.clone();
    conn.set_infile_handler(async move {
        let stream = futures_util::stream::unfold(Some(pieces), move |state| {
            let counting = counting.clone();
            async move {
                let mut rx = state?;
                match rx.recv().await {
                    Some(Piece::Data(bytes)) => {
                        counting.lock().unwrap_or_else(|p| p.into_inner()).feed(&bytes);
                        Some((Ok(bytes), Some(rx)))
                    }
                    Some(Piece::End) => None,
                    Some(Piece::Batch(_)) => Some((Err(std::io::Error::other("LOAD DATA got rows in batches")), None)),
                    None => Some((Err(std::io::Error::other("the file's reader stopped before its end")), None)),
                }
            }
        });
        Ok(stream.boxed())
    });
    conn.query_drop(statement).await?;
    let (loaded, warnings) = (conn.affected_rows(), conn.get_warnings());
    if warnings > 0 {
        let listed: Vec<(String, u32, String)> = conn.query("SHOW WARNINGS").await?;
        let expected = counter.lock().unwrap_or_else(|p| p.into_inner()).count;
        let enum_error_value = |(_, code, message): &(String, u32, String)| {
            *code == 1265 && message.starts_with("Data truncated for column")
        };
        if u64::from(warnings) != expected || !listed.iter().all(enum_error_value) {
            let (level, code, message) = listed.into_iter().find(|w| !enum_error_value(w)).unwrap_or_default();
            bail!("the server loaded the rows with {warnings} warning(s), the first: {level} {code}: {message}");
        }
    }
    Ok(loaded)
}

/// Counts the empty fields of some columns in LOAD DATA rows fed in pieces
/// split anywhere (a raw tab ends a field, a raw newline a row: both are
/// escaped inside values).
struct EmptyFields {
    columns: Vec<bool>,
    field: usize,
    length: usize,
    count: u64,
}

impl EmptyFields {
    fn new(columns: &[bool]) -> Self {
        EmptyFields { columns: columns.to_vec(), field: 0, length: 0, count: 0 }
    }

    fn feed(&mut self, data: &[u8]) {
        if !self.columns.contains(&true) {
            return;
        }
        // Only the separators matter: a vectorised scan finds them.
        let mut start = 0;
        for at in memchr::memchr2_iter(b'\t', b'\n', data) {
            self.length += at - start;
            if self.length == 0 && self.columns.get(self.field).copied().unwrap_or(false) {
                self.count += 1;
            }
            self.length = 0;
            self.field = if data[at] == b'\n' { 0 } else { self.field + 1 };
            start = at + 1;
        }
        self.length += data.len() - start;
    }
}

/// One worker's LOAD DATA connection; `convert` names, per table, the
/// columns that take the dump's UTF-8 text only as text.
pub struct LoadDataLoader {
    conn: Conn,
    convert: Arc<HashMap<String, Vec<bool>>>,
}

impl LoadDataLoader {
    /// A loader on `conn` (from [`connect_loader`]).
    pub fn new(conn: Conn, convert: Arc<HashMap<String, Vec<bool>>>) -> Self {
        LoadDataLoader { conn, convert }
    }
}

impl Loader for LoadDataLoader {
    fn framing(&self, table: &Table) -> Framing {
        Framing::LoadDataRows { columns: table.columns.len() }
    }

    fn load<'a>(
        &'a mut self,
        file: LoadFile<'a>,
        pieces: mpsc::Receiver<Piece>,
    ) -> BoxFuture<'a, anyhow::Result<Option<u64>>> {
        Box::pin(async move {
            let table = file.table;
            let flags = self.convert.get(&table.name).cloned().unwrap_or_default();
            let statement = load_statement(&table.name, &table.columns, &flags);
            let enums = enum_columns(table);
            let lenient = enums.contains(&true);
            if lenient {
                self.conn.query_drop(LENIENT_MODE).await?;
            }
            self.conn.query_drop("START TRANSACTION").await?;
            let loaded = load(&mut self.conn, &statement, pieces, &enums).await.and_then(|rows| {
                if rows != file.rows {
                    bail!("{rows} rows loaded, manifest says {}", file.rows);
                }
                Ok(rows)
            });
            let loaded = match (loaded, file.record) {
                (Ok(rows), Some(record)) => self.conn.query_drop(record).await.map(|()| rows).map_err(Into::into),
                (other, _) => other,
            };
            let ended = match loaded {
                Ok(rows) => self.conn.query_drop("COMMIT").await.map(|()| Some(rows)).map_err(Into::into),
                Err(e) => {
                    let _ = self.conn.query_drop("ROLLBACK").await;
                    Err(e)
                }
            };
            if lenient {
                self.conn.query_drop(STRICT_MODE).await?;
            }
            ended
        })
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let _ = self.conn.disconnect().await;
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ColumnKind;

    fn column(name: &str, sql_type: &str) -> Column {
        Column { name: name.into(), sql_type: sql_type.into(), kind: ColumnKind::Text, nullable: true }
    }

    #[test]
    fn empty_enum_fields_are_counted_across_pieces() {
        let rows = b"1\t\ta\n2\tx\t\n3\t\t\\N\n";
        for piece in [1, 2, 5, rows.len()] {
            let mut counter = EmptyFields::new(&[false, true, true]);
            rows.chunks(piece).for_each(|p| counter.feed(p));
            assert_eq!(counter.count, 3, "in pieces of {piece}");
        }
        let mut none = EmptyFields::new(&[false, false, false]);
        none.feed(rows);
        assert_eq!(none.count, 0);
    }

    #[test]
    fn bit_and_non_utf8_columns_load_through_variables() {
        let columns = [column("id", "int"), column("flags", "bit(64)"), column("l1", "varchar(9)")];
        let statement = load_statement("t", &columns, &[false, false, true]);
        assert!(
            statement
                .ends_with("(`id`, @v1, @v2) SET `flags` = CAST(@v1 AS UNSIGNED), `l1` = CONVERT(@v2 USING utf8mb4)"),
            "{statement}"
        );
        assert!(statement.starts_with("LOAD DATA LOCAL INFILE 'sluice' INTO TABLE `t` CHARACTER SET binary"));
    }
}
