//! Masking plan: turns the config's `[mask]`, `[[table]]` and `[[fk]]` rules
//! and the catalog into each table's `filter` and `mask` stage configs.
//! Pure: no I/O, so every rule about keys is unit-tested with tables.
//!
//! What it guarantees before any data is read (errors exit 2, naming the
//! table and column):
//! - every rule names an existing column and a known rule;
//! - a rule on a key column applies, with the same domain, to every column
//!   that references it (catalog foreign keys and `[[fk]]`), so masked keys
//!   still join; a conflicting explicit rule on such a column is an error;
//! - a rule that may create duplicates is refused on a unique column unless
//!   `allow_collisions` says so;
//! - with `unmapped = "fail"`, every column of a masked table has a rule or
//!   a `keep`.
//!
//! The components validate their own parameters in `start`, which the dump
//! calls for every table before reading data.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, anyhow, bail};
use serde_json::{Map, Value, json};

use crate::catalog::{Catalog, ForeignKey, Table};
use crate::config::{Config, Unmapped};

/// Rule names sluice knows, and whether each keeps distinct values distinct.
const RULES: &[(&str, bool)] = &[
    ("null", false),
    ("const", false),
    ("redact", false),
    ("email", false),
    ("first_name", false),
    ("last_name", false),
    ("full_name", false),
    ("digits", false),
    ("hash", true),
    ("ff1", true),
    ("noise", false),
    ("json", false),
];

/// Rules that need no key.
const UNKEYED: &[&str] = &["null", "const", "redact"];

/// Whether `rule` (with its parameters) maps distinct inputs to distinct outputs.
pub fn unique_preserving(rule: &Value) -> bool {
    let name = rule.get("rule").and_then(Value::as_str).unwrap_or("");
    let truncated_hash = name == "hash" && rule.get("length").is_some();
    RULES.iter().any(|(n, unique)| *n == name && *unique) && !truncated_hash
}

/// The stage configs of one table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableMasking {
    /// Config of the `filter` stage (runs first, on original values).
    pub filter: Option<String>,
    /// Config of the `mask` stage.
    pub mask: Option<String>,
    /// Column → rule name, for the manifest.
    pub rules: BTreeMap<String, String>,
}

/// The plan for every catalog table, index-aligned with `catalog.tables`.
#[derive(Debug, Clone, Default)]
pub struct MaskPlan {
    /// Per table.
    pub tables: Vec<TableMasking>,
    /// Warnings to show (filters that may orphan dependent rows).
    pub warnings: Vec<String>,
}

impl MaskPlan {
    /// Whether any stage needs the masking key.
    pub fn needs_key(&self) -> bool {
        self.tables.iter().any(|t| {
            t.rules.values().any(|r| !UNKEYED.contains(&r.as_str()))
                || t.filter.as_deref().is_some_and(|f| f.contains("\"sample\""))
        })
    }
}

/// Whether the config asks for masking, filtering or sampling at all.
pub fn configured(config: &Config) -> bool {
    config.table.iter().any(|t| t.is_masking())
}

/// What the merged `[[table]]` rules say about one table.
#[derive(Default)]
struct Merged {
    mask: BTreeMap<String, Value>,
    keep: Vec<String>,
    unmapped: Option<Unmapped>,
    filter: Option<String>,
    sample: Option<f64>,
    allowed: Vec<crate::config::Collisions>,
    follow_fks: bool,
}

/// Builds the plan; errors are the user's (exit 2).
pub fn plan(config: &Config, catalog: &Catalog) -> anyhow::Result<MaskPlan> {
    let tables = &catalog.tables;
    let index: HashMap<(String, String), usize> =
        tables.iter().enumerate().map(|(i, t)| ((t.schema.clone(), t.name.clone()), i)).collect();

    let mut merged: Vec<Merged> = tables.iter().map(|_| Merged::default()).collect();
    for rule in config.table.iter().filter(|r| r.is_masking() || !r.keep.is_empty()) {
        let glob = crate::select::Glob::new(&rule.match_)?;
        for (i, table) in tables.iter().enumerate() {
            // Large objects are not rows a rule can see into: the config's
            // `large_objects` decides about them.
            if !table.kind.is_rows() || !glob.matches(&table.schema, &table.name) {
                continue;
            }
            let m = &mut merged[i];
            for (column, value) in rule.mask.iter().flatten() {
                let value =
                    rule_value(value).with_context(|| format!("table {} column {column}", table.qualified()))?;
                m.mask.insert(column.clone(), value);
            }
            m.keep.extend(rule.keep.iter().cloned());
            m.unmapped = rule.unmapped.or(m.unmapped);
            m.filter = rule.filter.clone().or(m.filter.take());
            m.sample = rule.sample.or(m.sample);
            m.allowed.extend(rule.allow_collisions.clone());
            m.follow_fks |= rule.follow_fks;
        }
    }

    // Explicit rules: known names, existing columns, a domain each.
    let mut rules: HashMap<(usize, String), Value> = HashMap::new();
    for (i, m) in merged.iter().enumerate() {
        let table = &tables[i];
        for (column, value) in &m.mask {
            require_column(table, column)?;
            let mut value = value.clone();
            let name = value["rule"].as_str().unwrap_or_default().to_owned();
            if !RULES.iter().any(|(n, _)| *n == name) {
                let known: Vec<&str> = RULES.iter().map(|(n, _)| *n).collect();
                bail!(
                    "table {} column {column}: unknown rule '{name}' (known: {})",
                    table.qualified(),
                    known.join(", ")
                );
            }
            if value.get("domain").is_none() {
                value["domain"] = json!(format!("{name}:{}.{}.{column}", table.schema, table.name));
            }
            rules.insert((i, column.clone()), value);
        }
        for column in &m.keep {
            require_column(table, column)?;
        }
    }

    // Foreign keys carry key rules to the columns that reference them.
    let fks = foreign_keys(config, catalog)?;
    let explicit: Vec<(usize, String)> = rules.keys().cloned().collect();
    loop {
        let mut changed = false;
        for fk in &fks {
            let (Some(&child), Some(&parent)) = (index.get(&fk.table), index.get(&fk.ref_table)) else { continue };
            for (column, ref_column) in fk.columns.iter().zip(&fk.ref_columns) {
                let Some(parent_rule) = rules.get(&(parent, ref_column.clone())).cloned() else { continue };
                let key = (child, column.clone());
                match rules.get(&key) {
                    Some(existing) if *existing == parent_rule => {}
                    Some(existing) if explicit.contains(&key) && !same_rule(existing, &parent_rule) => bail!(
                        "table {} column {column}: its rule conflicts with the rule on {}.{ref_column}, which it references (a foreign key must be masked like its key)",
                        tables[child].qualified(),
                        tables[parent].qualified()
                    ),
                    _ => {
                        rules.insert(key, parent_rule);
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }

    let mut plan = MaskPlan::default();
    for (i, table) in tables.iter().enumerate() {
        let m = &merged[i];
        let mut columns = Map::new();
        let mut names = BTreeMap::new();
        for column in &table.columns {
            if let Some(rule) = rules.get(&(i, column.name.clone())) {
                columns.insert(column.name.clone(), rule.clone());
                names.insert(column.name.clone(), rule["rule"].as_str().unwrap_or_default().to_owned());
            }
        }
        for (column, rule) in &columns {
            let unique = table.unique.iter().any(|set| set.contains(column));
            if unique && !unique_preserving(rule) && !m.allowed.iter().any(|a| a.allows(column)) {
                bail!(
                    "table {} column {column}: rule '{}' may turn distinct values into duplicates, but the column is unique; use a unique-preserving rule (ff1, hash) or set allow_collisions",
                    table.qualified(),
                    rule["rule"].as_str().unwrap_or_default()
                );
            }
        }
        let unmapped = m.unmapped.or(config.mask.unmapped).unwrap_or(Unmapped::Keep);
        if unmapped == Unmapped::Fail && !columns.is_empty() {
            let missing: Vec<&str> = table
                .columns
                .iter()
                .map(|c| c.name.as_str())
                .filter(|c| !columns.contains_key(*c) && !m.keep.iter().any(|k| k == c))
                .collect();
            if !missing.is_empty() {
                bail!(
                    "table {} has unmapped columns with unmapped = \"fail\": {} (give each a rule or list it in keep)",
                    table.qualified(),
                    missing.join(", ")
                );
            }
        }
        let row_key = row_key(table);
        let mask = (!columns.is_empty()).then(|| {
            json!({ "columns": columns, "keep": m.keep, "unmapped": unmapped, "row_key": row_key }).to_string()
        });
        let filter =
            filter_config(table, m.filter.as_deref(), m.sample, &row_key, &format!("sample:{}", table.qualified()))?;
        plan.tables.push(TableMasking { filter, mask, rules: names });
    }

    // Sampling follows foreign keys when asked: a child row is kept exactly
    // when the parent row it references is, by hashing its foreign key
    // under the parent's sample domain.
    for fk in &fks {
        let (Some(&child), Some(&parent)) = (index.get(&fk.table), index.get(&fk.ref_table)) else { continue };
        let m = &merged[parent];
        if m.filter.is_some() && !m.follow_fks {
            plan.warnings.push(format!(
                "filtering {} can leave rows of {} pointing at rows that were dropped; restoring its foreign key will then fail",
                tables[parent].qualified(),
                tables[child].qualified()
            ));
        }
        let Some(fraction) = m.sample.filter(|_| m.follow_fks) else { continue };
        if plan.tables[child].filter.is_some() || row_key(&tables[parent]) != fk.ref_columns {
            continue;
        }
        let domain = format!("sample:{}", tables[parent].qualified());
        plan.tables[child].filter = filter_config(&tables[child], None, Some(fraction), &fk.columns, &domain)?;
    }
    Ok(plan)
}

fn require_column(table: &Table, column: &str) -> anyhow::Result<()> {
    if table.columns.iter().any(|c| c.name == column) {
        return Ok(());
    }
    bail!("table {} has no column '{column}'", table.qualified())
}

/// `"email"` or `{ rule = "ff1", min = 1 }` as a JSON rule object.
fn rule_value(value: &toml::Value) -> anyhow::Result<Value> {
    match value {
        toml::Value::String(name) => Ok(json!({ "rule": name })),
        toml::Value::Table(table) => {
            let value = serde_json::to_value(table)?;
            if !value.get("rule").is_some_and(Value::is_string) {
                bail!("a rule table needs rule = \"name\"");
            }
            Ok(value)
        }
        other => Err(anyhow!("a rule is a name or a table with rule = \"name\", not {other}")),
    }
}

/// Two rules equal but for their domain.
fn same_rule(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove("domain");
        }
        v
    };
    strip(a) == strip(b)
}

/// The catalog's foreign keys plus the declared ones.
fn foreign_keys(config: &Config, catalog: &Catalog) -> anyhow::Result<Vec<ForeignKey>> {
    let split = |text: &str| -> anyhow::Result<(String, String)> {
        text.split_once('.')
            .map(|(s, t)| (s.to_owned(), t.to_owned()))
            .ok_or_else(|| anyhow!("[[fk]] table '{text}' must be schema.table"))
    };
    let mut fks = catalog.foreign_keys.clone();
    for fk in &config.fk {
        if fk.columns.len() != fk.ref_columns.len() || fk.columns.is_empty() {
            bail!("[[fk]] {} → {}: columns and ref_columns must pair up", fk.table, fk.references);
        }
        let (table, ref_table) = (split(&fk.table)?, split(&fk.references)?);
        for (name, columns) in [(&table, &fk.columns), (&ref_table, &fk.ref_columns)] {
            if let Some(t) = catalog.tables.iter().find(|t| (&t.schema, &t.name) == (&name.0, &name.1)) {
                for column in columns {
                    require_column(t, column).context("[[fk]]")?;
                }
            }
        }
        fks.push(ForeignKey { table, columns: fk.columns.clone(), ref_table, ref_columns: fk.ref_columns.clone() });
    }
    Ok(fks)
}

/// Columns identifying a row: the primary key, else every column.
fn row_key(table: &Table) -> Vec<String> {
    if table.primary_key.is_empty() {
        table.columns.iter().map(|c| c.name.clone()).collect()
    } else {
        table.primary_key.clone()
    }
}

fn filter_config(
    table: &Table,
    filter: Option<&str>,
    sample: Option<f64>,
    row_key: &[String],
    domain: &str,
) -> anyhow::Result<Option<String>> {
    if let Some(fraction) = sample
        && !(0.0..=1.0).contains(&fraction)
    {
        bail!("table {}: sample = {fraction} is not a fraction between 0 and 1", table.qualified());
    }
    if filter.is_none() && sample.is_none() {
        return Ok(None);
    }
    let mut config = Map::new();
    if let Some(filter) = filter {
        config.insert("filter".into(), json!(filter));
    }
    if let Some(fraction) = sample {
        config.insert("sample".into(), json!(fraction));
        config.insert("row_key".into(), json!(row_key));
        config.insert("domain".into(), json!(domain));
    }
    Ok(Some(Value::Object(config).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Column, ColumnKind};

    fn table(name: &str, columns: &[&str], pk: &[&str]) -> Table {
        Table {
            schema: "public".into(),
            name: name.into(),
            columns: columns
                .iter()
                .map(|c| Column { name: (*c).into(), sql_type: "text".into(), kind: ColumnKind::Text, nullable: true })
                .collect(),
            primary_key: pk.iter().map(|c| c.to_string()).collect(),
            unique: if pk.is_empty() { vec![] } else { vec![pk.iter().map(|c| c.to_string()).collect()] },
            ..Table::default()
        }
    }

    fn catalog() -> Catalog {
        Catalog {
            server_version: "15".into(),
            page_size: 8192,
            tables: vec![
                table("customer", &["customer_id", "email", "name", "store_id"], &["customer_id"]),
                table("rental", &["rental_id", "customer_id", "note"], &["rental_id"]),
                table("payment", &["payment_id", "rental_id", "amount"], &["payment_id"]),
            ],
            schema_only: vec![],
            sequences: vec![],
            foreign_keys: vec![
                ForeignKey {
                    table: ("public".into(), "rental".into()),
                    columns: vec!["customer_id".into()],
                    ref_table: ("public".into(), "customer".into()),
                    ref_columns: vec!["customer_id".into()],
                },
                ForeignKey {
                    table: ("public".into(), "payment".into()),
                    columns: vec!["rental_id".into()],
                    ref_table: ("public".into(), "rental".into()),
                    ref_columns: vec!["rental_id".into()],
                },
            ],
            include_given: false,
            excluded: vec![],
            left_out: Vec::new(),
            large_objects: None,
            warnings: Vec::new(),
        }
    }

    fn config(text: &str) -> Config {
        toml::from_str(text).expect("config")
    }

    fn mask_of(plan: &MaskPlan, i: usize) -> Value {
        serde_json::from_str(plan.tables[i].mask.as_deref().expect("masked")).expect("json")
    }

    #[test]
    fn key_rules_follow_foreign_keys_with_the_same_domain() {
        let c = config(
            "[[table]]\nmatch = 'public.customer'\nmask = { email = 'email', customer_id = { rule = 'ff1', min = 1, max = 999999 } }\n",
        );
        let plan = plan(&c, &catalog()).expect("plan");
        let parent = mask_of(&plan, 0);
        let child = mask_of(&plan, 1);
        assert_eq!(parent["columns"]["customer_id"], child["columns"]["customer_id"]);
        assert_eq!(child["columns"]["customer_id"]["domain"], "ff1:public.customer.customer_id");
        assert!(child["columns"].get("note").is_none());
        assert_eq!(plan.tables[1].rules.get("customer_id").map(String::as_str), Some("ff1"));
        assert!(plan.tables[2].mask.is_none(), "payment references rental_id, which is not masked");
        assert!(plan.needs_key());
    }

    #[test]
    fn rules_propagate_through_chains_of_foreign_keys() {
        let c = config("[[table]]\nmatch = 'public.rental'\nmask = { rental_id = 'ff1' }\n");
        let plan = plan(&c, &catalog()).expect("plan");
        assert_eq!(mask_of(&plan, 2)["columns"]["rental_id"]["domain"], "ff1:public.rental.rental_id");
    }

    #[test]
    fn unknown_rules_and_columns_are_errors_naming_table_and_column() {
        let err = plan(&config("[[table]]\nmatch = 'public.customer'\nmask = { email = 'emale' }\n"), &catalog())
            .expect_err("unknown rule");
        assert!(err.to_string().contains("public.customer column email: unknown rule 'emale'"), "{err}");
        let err = plan(&config("[[table]]\nmatch = 'public.customer'\nmask = { emial = 'email' }\n"), &catalog())
            .expect_err("no column");
        assert!(err.to_string().contains("public.customer has no column 'emial'"), "{err}");
    }

    #[test]
    fn non_unique_rules_on_unique_columns_need_allow_collisions() {
        let c = "[[table]]\nmatch = 'public.customer'\nmask = { customer_id = 'digits' }\n";
        let err = plan(&config(c), &catalog()).expect_err("collisions");
        assert!(
            err.to_string().contains("customer_id: rule 'digits' may turn distinct values into duplicates"),
            "{err}"
        );
        plan(&config(&format!("{c}allow_collisions = ['customer_id']\n")), &catalog()).expect("allowed");
        let truncated =
            "[[table]]\nmatch = 'public.customer'\nmask = { customer_id = { rule = 'hash', length = 4 } }\n";
        assert!(plan(&config(truncated), &catalog()).is_err(), "a truncated hash may collide");
    }

    #[test]
    fn unmapped_fail_lists_every_column_without_a_rule() {
        let c = config(
            "[mask]\nunmapped = 'fail'\n[[table]]\nmatch = 'public.customer'\nmask = { email = 'email' }\nkeep = ['store_id']\n",
        );
        let err = plan(&c, &catalog()).expect_err("unmapped");
        assert!(
            err.to_string()
                .contains("public.customer has unmapped columns with unmapped = \"fail\": customer_id, name"),
            "{err}"
        );
    }

    #[test]
    fn a_conflicting_rule_on_a_foreign_key_is_an_error() {
        let c = config(
            "[[table]]\nmatch = 'public.customer'\nmask = { customer_id = 'ff1' }\n[[table]]\nmatch = 'public.rental'\nmask = { customer_id = 'hash' }\n",
        );
        let err = plan(&c, &catalog()).expect_err("conflict");
        assert!(err.to_string().contains("public.rental column customer_id: its rule conflicts"), "{err}");
    }

    #[test]
    fn samples_follow_foreign_keys_when_asked_and_filters_warn() {
        let c = config("[[table]]\nmatch = 'public.customer'\nsample = 0.5\nfollow_fks = true\n");
        let plan_ = plan(&c, &catalog()).expect("plan");
        let child: Value =
            serde_json::from_str(plan_.tables[1].filter.as_deref().expect("child sampled")).expect("json");
        assert_eq!(child["domain"], "sample:public.customer");
        assert_eq!(child["row_key"], json!(["customer_id"]));
        let c = config("[[table]]\nmatch = 'public.customer'\nfilter = \"store_id = '1'\"\n");
        let plan_ = plan(&c, &catalog()).expect("plan");
        assert!(plan_.warnings.iter().any(|w| w.contains("public.rental")), "{:?}", plan_.warnings);
        assert!(plan_.tables[1].filter.is_none());
        assert!(!plan_.needs_key(), "a plain filter needs no key");
        assert!(plan(&config("[[table]]\nmatch = 'public.customer'\nsample = 1.5\n"), &catalog()).is_err());
    }
}
