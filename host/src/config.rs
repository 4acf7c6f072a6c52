//! The TOML config file (`--config FILE`): what describes the data pipeline.
//!
//! ```toml
//! format = "copy"            # or csv
//! compress = "zstd:3"        # gzip[:LEVEL], none
//! include = ["public.*"]
//! exclude = ["*.audit_*"]
//!
//! [[table]]
//! match = "public.customer"  # glob on schema.table
//! transform = "identity"     # or a list; built-in name or path to .wasm
//! config = { any = "value" } # handed to the components' start, as JSON
//!
//! [mask]                     # masking (see `masking`)
//! key_env = "SLUICE_MASK_KEY"
//! unmapped = "keep"          # or "fail"
//!
//! [[table]]
//! match = "public.customer"
//! mask = { email = "email", customer_id = { rule = "ff1", min = 1, max = 999999 } }
//! keep = ["store_id"]
//! filter = "active = 1"      # and/or sample = 0.25, follow_fks = true
//!
//! [[fk]]                     # declared foreign keys, for masking
//! table = "public.rental"
//! columns = ["customer_id"]
//! references = "public.customer"
//! ref_columns = ["customer_id"]
//!
//! [limits]                   # sandbox limits; flags win
//! memory = "256MiB"
//! cpu = "10s"
//! output_ratio = 16
//! stack = "1MiB"
//! fuel = 5000000000           # optional deterministic budget per call
//! ```
//! Unknown keys are errors: a typo must never silently drop a rule.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

/// The whole config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Data file format.
    pub format: Option<String>,
    /// Data file compression.
    pub compress: Option<String>,
    /// Include globs, added to `--include`.
    #[serde(default)]
    pub include: Vec<String>,
    /// Exclude globs, added to `--exclude`.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Per-table rules.
    #[serde(default)]
    pub table: Vec<TableRule>,
    /// Sandbox limits for every component instance.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Masking defaults and the key's source.
    #[serde(default)]
    pub mask: MaskSection,
    /// Declared ("virtual") foreign keys, added to the catalog's for masking.
    #[serde(default)]
    pub fk: Vec<VirtualForeignKey>,
    /// PostgreSQL large objects: `include`, `exclude` or `empty` (the
    /// `--large-objects` flag wins).
    pub large_objects: Option<crate::db::LargeObjects>,
}

/// `[mask]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskSection {
    /// Environment variable holding the secret (default `SLUICE_MASK_KEY`).
    pub key_env: Option<String>,
    /// Default for tables' `unmapped`.
    pub unmapped: Option<Unmapped>,
}

/// What happens to a masked table's columns that no rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unmapped {
    /// They pass through unchanged.
    Keep,
    /// The dump refuses to start: every column needs a rule or a `keep`.
    Fail,
}

/// `[[fk]]`: `columns` of `table` reference `ref_columns` of `references`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualForeignKey {
    /// `schema.table` holding the referencing columns.
    pub table: String,
    /// Referencing columns.
    pub columns: Vec<String>,
    /// `schema.table` referenced.
    pub references: String,
    /// Referenced columns, pairwise.
    pub ref_columns: Vec<String>,
}

/// `allow_collisions = true` or a list of columns.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Collisions {
    /// Every column of the table (or none).
    All(bool),
    /// These columns.
    Columns(Vec<String>),
}

impl Collisions {
    /// Whether masking `column` may create duplicates.
    pub fn allows(&self, column: &str) -> bool {
        match self {
            Collisions::All(all) => *all,
            Collisions::Columns(columns) => columns.iter().any(|c| c == column),
        }
    }
}

/// `[limits]`: the same limits as the `--memory-limit`, `--cpu-limit`,
/// `--output-limit`, `--stack-limit` and `--fuel` flags, which win.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Linear memory per instance (`256MiB`).
    pub memory: Option<String>,
    /// CPU time per call (`10s`).
    pub cpu: Option<String>,
    /// Output at most this many times the input, plus 1 MiB.
    pub output_ratio: Option<usize>,
    /// Wasm stack per instance (`1MiB`).
    pub stack: Option<String>,
    /// Fuel budget per call.
    pub fuel: Option<u64>,
}

/// One `[[table]]` rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableRule {
    /// Glob on `schema.table`.
    #[serde(rename = "match")]
    pub match_: String,
    /// Row-transform components, in order.
    #[serde(default)]
    pub transform: Transforms,
    /// Config handed to the components, serialized as JSON.
    pub config: Option<toml::Table>,
    /// Masking rules: column = "rule" or column = { rule = "…", params… }.
    pub mask: Option<toml::Table>,
    /// Columns of a masked table passed through unchanged.
    #[serde(default)]
    pub keep: Vec<String>,
    /// Overrides `[mask] unmapped` for these tables.
    pub unmapped: Option<Unmapped>,
    /// Rows are kept where this expression is true.
    pub filter: Option<String>,
    /// Keep this deterministic fraction of rows (by keyed hash of the key).
    pub sample: Option<f64>,
    /// Allow a rule that may create duplicates on a unique column.
    pub allow_collisions: Option<Collisions>,
    /// Sample dependent tables with the same keyed hash, so children of
    /// dropped rows are dropped too.
    #[serde(default)]
    pub follow_fks: bool,
}

/// One component name or a list of them.
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
pub enum Transforms {
    /// No transform.
    #[default]
    None,
    /// One component.
    One(String),
    /// A chain.
    Many(Vec<String>),
}

impl Transforms {
    /// Component names in order.
    pub fn names(&self) -> Vec<&str> {
        match self {
            Transforms::None => Vec::new(),
            Transforms::One(name) => vec![name.as_str()],
            Transforms::Many(names) => names.iter().map(String::as_str).collect(),
        }
    }
}

impl TableRule {
    /// Whether this rule masks, filters or samples.
    pub fn is_masking(&self) -> bool {
        self.mask.is_some() || self.filter.is_some() || self.sample.is_some()
    }

    /// The rule's component config as JSON text (empty when none).
    pub fn config_json(&self) -> anyhow::Result<String> {
        match &self.config {
            None => Ok(String::new()),
            Some(table) => Ok(serde_json::to_string(table)?),
        }
    }
}

impl Config {
    /// Reads and checks a config file; errors name the file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_rejects_unknown_keys() {
        let err = toml::from_str::<Config>("formt = 'csv'").expect_err("typo must fail");
        assert!(err.to_string().contains("formt"), "{err}");
    }

    #[test]
    fn table_rule_accepts_one_or_many_transforms() {
        let c: Config = toml::from_str(
            "[[table]]\nmatch = 'a.*'\ntransform = 'identity'\n[[table]]\nmatch = 'b.*'\ntransform = ['identity', 'x.wasm']\n",
        )
        .expect("valid config");
        assert_eq!(c.table[0].transform.names(), ["identity"]);
        assert_eq!(c.table[1].transform.names(), ["identity", "x.wasm"]);
    }
}
