//! Dialect-neutral description of what a dump holds: tables, columns, keys,
//! sizes and sequences. Each engine's `db::<engine>::catalog` fills it in.

use serde::{Deserialize, Serialize};

/// What a column's values mean (mirrors the WIT `column-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColumnKind {
    /// `t`/`f`.
    Boolean,
    /// Integers of any width.
    Integer,
    /// Floating point.
    Float,
    /// Exact decimals, money.
    Decimal,
    /// Character data.
    Text,
    /// Raw bytes (the batch holds the bytes themselves).
    Binary,
    /// Calendar date.
    Date,
    /// Time of day, with or without zone.
    Time,
    /// Timestamp without zone.
    Timestamp,
    /// Timestamp with zone.
    TimestampTz,
    /// Interval.
    Interval,
    /// UUID.
    Uuid,
    /// JSON document.
    Json,
    /// Array in the engine's text form.
    Array,
    /// Anything else, in the engine's text form.
    Other,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Unquoted name.
    pub name: String,
    /// SQL type as the engine prints it.
    pub sql_type: String,
    /// Semantic class.
    pub kind: ColumnKind,
    /// May hold NULL.
    pub nullable: bool,
}

/// What a [`Table`]'s rows are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TableKind {
    /// A table's own rows.
    #[default]
    Rows,
    /// PostgreSQL large objects' contents, as `(loid, offset, data)` pieces
    /// of at most [`LARGE_OBJECT_PIECE`] bytes: the pseudo-table
    /// [`LARGE_OBJECTS`], dumped and restored like a table but written back
    /// with `lo_put` into the objects the pre-data script creates.
    LargeObjects,
}

impl TableKind {
    /// Whether this is an ordinary table (for serde's skip).
    pub fn is_rows(&self) -> bool {
        *self == TableKind::Rows
    }
}

/// The schema and name of the large-object pseudo-table.
pub const LARGE_OBJECTS: (&str, &str) = ("pg_catalog", "pg_largeobject");

/// `pg_catalog.pg_largeobject`, for messages.
pub fn large_objects_qualified() -> String {
    format!("{}.{}", LARGE_OBJECTS.0, LARGE_OBJECTS.1)
}

/// The most bytes of a large object in one piece (one row of the pseudo-table).
pub const LARGE_OBJECT_PIECE: u64 = 256 << 10;

/// How many large objects a dump carries, and their bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LargeObjectCount {
    /// Objects.
    pub objects: u64,
    /// Bytes of their contents.
    pub bytes: u64,
}

/// A PostgreSQL extension's configuration table (marked with
/// `pg_extension_config_dump`): `CREATE EXTENSION` in the pre-data script
/// creates it with the rows the extension ships, and the dump carries the
/// rows its condition picks, as pg_dump does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionConfig {
    /// The extension the table belongs to.
    pub extension: String,
    /// The condition's predicate, without its leading `WHERE` (empty: every
    /// row), as the extension wrote it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub predicate: String,
}

impl ExtensionConfig {
    /// The predicate as a condition to AND with others (`(predicate)`);
    /// None when every row is picked.
    pub fn condition(&self) -> Option<String> {
        (!self.predicate.is_empty()).then(|| format!("({})", self.predicate))
    }
}

/// A MariaDB system-versioned table (`WITH SYSTEM VERSIONING`): its
/// period columns, and whether the files hold its history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemVersioning {
    /// The row-start column (`ROW_START` when the server made it hidden).
    pub start: String,
    /// The row-end column (`ROW_END` when hidden).
    pub end: String,
    /// Whether the files hold every row version, each with its exact
    /// period columns (read `FOR SYSTEM_TIME ALL`); false: current rows
    /// only, without the period columns.
    pub history: bool,
}

/// A base table (or leaf partition) whose rows are dumped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// What the rows are (a table's, or large objects' pieces).
    #[serde(default, skip_serializing_if = "TableKind::is_rows")]
    pub kind: TableKind,
    /// Schema / database name.
    pub schema: String,
    /// Table name.
    pub name: String,
    /// Set when the table is an extension's configuration table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_config: Option<ExtensionConfig>,
    /// The module of a SQLite virtual table whose content is carried
    /// (`fts5`, `fts4`, `fts3`, `rtree`, `rtree_i32`): its rows are
    /// inserted into the table the schema script creates, which rebuilds
    /// its own index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_module: Option<String>,
    /// Set when the table is MariaDB system-versioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_versioning: Option<SystemVersioning>,
    /// Data columns in dump order (generated columns are not data).
    pub columns: Vec<Column>,
    /// Primary key column names, in key order (empty when none).
    pub primary_key: Vec<String>,
    /// The engine's row estimate (negative when unknown).
    pub estimated_rows: i64,
    /// On-disk size of the table's main data in bytes.
    pub bytes: u64,
    /// Parent when this table is a partition, as `schema.table`.
    pub partition_of: Option<String>,
    /// Column sets that must stay unique (primary key, unique constraints
    /// and unique indexes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unique: Vec<Vec<String>>,
    /// Lowest and highest value of the integer key chunks split on (SQLite's
    /// rowid, a MySQL integer primary key); None: no such key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int_key: Option<(i64, i64)>,
    /// Primary-key values that split a table with no integer key, in key
    /// order, each a tuple of SQL literals: chunk `i` holds the keys from
    /// bound `i - 1` (inclusive) to bound `i` (exclusive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_bounds: Vec<Vec<String>>,
}

impl Table {
    /// `schema.table`, unquoted, for messages and file names.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// A foreign key: `columns` of `table` reference `ref_columns` of `ref_table`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// Referencing table (schema, name).
    pub table: (String, String),
    /// Referencing columns.
    pub columns: Vec<String>,
    /// Referenced table (schema, name).
    pub ref_table: (String, String),
    /// Referenced columns, pairwise with `columns`.
    pub ref_columns: Vec<String>,
}

/// A sequence and its value, read in the dump's snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sequence {
    /// Schema.
    pub schema: String,
    /// Sequence name.
    pub name: String,
    /// Last value handed out (or the start value when never called).
    pub last_value: i64,
    /// Whether `nextval` has been called since the last `setval`.
    pub is_called: bool,
}

/// Everything the plan and the manifest need to know about a source.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Server version string.
    pub server_version: String,
    /// Data page size, for page-range chunks (0: the engine has none).
    pub page_size: u64,
    /// Tables with data, selection applied.
    pub tables: Vec<Table>,
    /// Tables kept for the schema only (partitioned parents), as (schema, table).
    pub schema_only: Vec<(String, String)>,
    /// Sequences, selection applied.
    pub sequences: Vec<Sequence>,
    /// Foreign keys between tables with data.
    pub foreign_keys: Vec<ForeignKey>,
    /// Whether include globs were given (schema then lists tables one by one).
    pub include_given: bool,
    /// Tables the selection left out, as (schema, table).
    pub excluded: Vec<(String, String)>,
    /// Data the user left out on purpose besides tables (`12 large objects
    /// (--large-objects exclude)`), for the manifest and the summary.
    pub left_out: Vec<String>,
    /// The large objects the dump carries (their pseudo-table is among
    /// `tables`).
    pub large_objects: Option<LargeObjectCount>,
    /// What the user should know about how the rows are read (tables the
    /// snapshot cannot hold still), said as warnings before the dump starts.
    pub warnings: Vec<String>,
}

impl Catalog {
    /// What the dump carries besides ordinary tables' rows, one line each,
    /// for `plan`: the objects of the README's inventory that need a word
    /// (partitioned parents, extensions' configuration tables, sequences,
    /// large objects). What is left out is in `left_out`.
    pub fn inventory(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for (schema, name) in &self.schema_only {
            lines.push(format!("partitioned table {schema}.{name}: schema only (its partitions hold the rows)"));
        }
        for table in &self.tables {
            if let Some(config) = &table.extension_config {
                let rows = if config.predicate.is_empty() {
                    "every row".to_owned()
                } else {
                    format!("the rows WHERE {}", config.predicate)
                };
                lines.push(format!(
                    "configuration table {} of extension {}: {rows} (CREATE EXTENSION makes the table and its shipped rows)",
                    table.qualified(),
                    config.extension
                ));
            }
        }
        for table in &self.tables {
            if let Some(module) = &table.virtual_module {
                lines.push(format!(
                    "{module} virtual table {}: its content, inserted again on restore (the index is rebuilt)",
                    table.qualified()
                ));
            }
        }
        for table in &self.tables {
            if let Some(versioning) = &table.system_versioning {
                let rows = if versioning.history {
                    format!("current and history rows, each with its exact {} and {}", versioning.start, versioning.end)
                } else {
                    "current rows only".to_owned()
                };
                lines.push(format!("system-versioned table {}: {rows}", table.qualified()));
            }
        }
        if !self.sequences.is_empty() {
            lines.push(format!("{} sequence(s): values read in the snapshot", self.sequences.len()));
        }
        if let Some(count) = self.large_objects {
            lines.push(format!(
                "{} large object(s), {} bytes: contents carried as {}, OID, owner, ACL and comment in the schema",
                count.objects,
                count.bytes,
                large_objects_qualified()
            ));
        }
        lines
    }
}
