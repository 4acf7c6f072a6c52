//! Restore bookkeeping on the target: one row per loaded file, committed in
//! the file's own transaction, so after any crash a file is either loaded
//! and recorded or not there at all; a row naming the dump the restore is
//! of; one per finished schema phase. `restore --resume` reads them; the
//! table is dropped once the restore is complete.

/// The row that says which dump the restore is of.
pub const OWNER: &str = "owner";
/// The row that says the pre-data script ran.
pub const PRE_DATA_DONE: &str = "phase:pre-data";
/// The row that says the post-data script ran.
pub const POST_DATA_DONE: &str = "phase:post-data";

/// One bookkeeping row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressRow {
    /// The dump's id (the SHA-256 of its manifest).
    pub dump_id: String,
    /// A data file's key, [`OWNER`] or a phase.
    pub item: String,
    /// The file's SHA-256 (empty for the others).
    pub sha256: String,
    /// The file's rows.
    pub row_count: i64,
}

impl From<(String, String, String, i64)> for ProgressRow {
    fn from((dump_id, item, sha256, row_count): (String, String, String, i64)) -> Self {
        ProgressRow { dump_id, item, sha256, row_count }
    }
}

/// The bookkeeping's SQL in one engine's dialect.
#[derive(Debug, Clone, Copy)]
pub struct ProgressSql {
    /// The table, qualified as every statement names it.
    pub table: &'static str,
    /// Creates it when missing.
    pub create: &'static str,
    /// Drops it (and its schema, for PostgreSQL).
    pub drop: &'static str,
    /// Selects every row as text, text, text, integer.
    pub select: &'static str,
    /// Whether string literals treat backslashes as escapes (MySQL).
    pub backslash_escapes: bool,
}

impl ProgressSql {
    /// PostgreSQL: a schema of its own, `_sluice`.
    pub const POSTGRES: ProgressSql = ProgressSql {
        table: "_sluice.restore_progress",
        create: "CREATE SCHEMA IF NOT EXISTS _sluice; CREATE TABLE IF NOT EXISTS _sluice.restore_progress \
                 (dump_id text NOT NULL, item text PRIMARY KEY, sha256 text NOT NULL, row_count bigint NOT NULL)",
        drop: "DROP SCHEMA IF EXISTS _sluice CASCADE",
        select: "SELECT dump_id, item, sha256, row_count FROM _sluice.restore_progress",
        backslash_escapes: false,
    };
    /// MySQL/MariaDB: an InnoDB table in the target database.
    pub const MYSQL: ProgressSql = ProgressSql {
        table: "`_sluice_restore_progress`",
        create: "CREATE TABLE IF NOT EXISTS `_sluice_restore_progress` (dump_id varchar(64) NOT NULL, \
                 item varchar(700) NOT NULL PRIMARY KEY, sha256 varchar(64) NOT NULL, row_count bigint NOT NULL) \
                 ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        drop: "DROP TABLE IF EXISTS `_sluice_restore_progress`",
        // A binary collation reads back as bytes unless cast.
        select: "SELECT CAST(dump_id AS CHAR), CAST(item AS CHAR), CAST(sha256 AS CHAR), row_count \
                 FROM `_sluice_restore_progress`",
        backslash_escapes: true,
    };
    /// SQLite: a table in the target file.
    pub const SQLITE: ProgressSql = ProgressSql {
        table: "\"_sluice_restore_progress\"",
        create: "CREATE TABLE IF NOT EXISTS \"_sluice_restore_progress\" (dump_id TEXT NOT NULL, \
                 item TEXT NOT NULL PRIMARY KEY, sha256 TEXT NOT NULL, row_count INTEGER NOT NULL)",
        drop: "DROP TABLE IF EXISTS \"_sluice_restore_progress\"",
        select: "SELECT dump_id, item, sha256, row_count FROM \"_sluice_restore_progress\"",
        backslash_escapes: false,
    };

    /// Records `row`.
    pub fn insert(&self, row: &ProgressRow) -> String {
        format!(
            "INSERT INTO {} (dump_id, item, sha256, row_count) VALUES ({}, {}, {}, {})",
            self.table,
            self.literal(&row.dump_id),
            self.literal(&row.item),
            self.literal(&row.sha256),
            row.row_count
        )
    }

    /// Removes the row of `item`.
    pub fn delete(&self, item: &str) -> String {
        format!("DELETE FROM {} WHERE item = {}", self.table, self.literal(item))
    }

    fn literal(&self, text: &str) -> String {
        let mut quoted = text.replace('\'', "''");
        if self.backslash_escapes {
            quoted = quoted.replace('\\', "\\\\");
        }
        format!("'{quoted}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_inserted_as_literals_in_each_dialect() {
        let row = ProgressRow { dump_id: "ab".into(), item: "data/o'k\\x".into(), sha256: "cd".into(), row_count: 7 };
        assert_eq!(
            ProgressSql::POSTGRES.insert(&row),
            "INSERT INTO _sluice.restore_progress (dump_id, item, sha256, row_count) VALUES ('ab', 'data/o''k\\x', 'cd', 7)"
        );
        assert!(ProgressSql::MYSQL.insert(&row).contains("'data/o''k\\\\x'"));
    }
}
