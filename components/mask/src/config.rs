//! The config JSON of `mask` (see the crate docs), checked against the
//! table at `start`: every mistake is an `invalid-config` that names the
//! column, before any row is read.

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use sluice_sdk::{ColumnKind, StageError, Table};

use crate::fit::{Limits, check_column};
use crate::rule::{Rule, parse};

/// What to do with columns that have no rule and are not in `keep`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unmapped {
    /// Pass them through unchanged.
    Keep,
    /// Refuse the table.
    Fail,
}

/// A masked column.
#[derive(Debug)]
pub struct ColumnPlan {
    pub index: usize,
    /// `schema.table.column`.
    pub label: String,
    pub rule: Rule,
    pub domain: String,
    pub kind: ColumnKind,
    pub limits: Limits,
}

/// The checked config.
#[derive(Debug)]
pub struct Plan {
    pub columns: Vec<ColumnPlan>,
    pub row_key: Vec<usize>,
}

const KEYS: &str = "columns, keep, unmapped, row_key";

pub fn parse_config(table: &Table, config: &str) -> Result<Plan, StageError> {
    let qualified = table.qualified_name();
    let invalid = |m: String| StageError::invalid_config(format!("mask config for {qualified}: {m}"));
    let mut top: Map<String, Value> = match config.trim() {
        "" => Map::new(),
        text => match serde_json::from_str(text) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(invalid("the config must be a JSON object".into())),
            Err(e) => return Err(invalid(format!("not valid JSON: {e}"))),
        },
    };
    let index_of = |name: &str| {
        table.column_index(name).ok_or_else(|| {
            let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
            invalid(format!("no column `{name}` (columns: {})", names.join(", ")))
        })
    };
    let names = |key: &str, value: Option<Value>| -> Result<Vec<String>, StageError> {
        match value {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    other => Err(invalid(format!("`{key}` must list column names, not {other}"))),
                })
                .collect(),
            Some(other) => Err(invalid(format!("`{key}` must be an array of column names, not {other}"))),
        }
    };

    let rules = match top.remove("columns") {
        None => Map::new(),
        Some(Value::Object(map)) => map,
        Some(other) => return Err(invalid(format!("`columns` must be an object of column = rule, not {other}"))),
    };
    let keep = names("keep", top.remove("keep"))?;
    let row_key = names("row_key", top.remove("row_key"))?;
    let unmapped = match top.remove("unmapped") {
        None => Unmapped::Keep,
        Some(Value::String(s)) if s == "keep" => Unmapped::Keep,
        Some(Value::String(s)) if s == "fail" => Unmapped::Fail,
        Some(other) => return Err(invalid(format!("`unmapped` must be \"keep\" or \"fail\", not {other}"))),
    };
    if let Some(unknown) = top.keys().next() {
        return Err(invalid(format!("unknown key `{unknown}` (keys: {KEYS})")));
    }

    let mut columns = Vec::with_capacity(rules.len());
    for (name, spec) in &rules {
        let index = index_of(name)?;
        let column = &table.columns[index];
        let label = format!("{qualified}.{name}");
        let parsed = parse(spec, &label, false)?;
        let limits = Limits::of(&column.sql_type);
        check_column(&parsed.rule, column, &limits).map_err(|m| StageError::invalid_config(format!("{label}: {m}")))?;
        let domain = parsed.domain.unwrap_or_else(|| format!("{}:{label}", parsed.name));
        columns.push(ColumnPlan { index, label, rule: parsed.rule, domain, kind: column.kind, limits });
    }
    let mut covered: BTreeSet<usize> = columns.iter().map(|c| c.index).collect();
    for name in &keep {
        if rules.contains_key(name) {
            return Err(invalid(format!("column `{name}` is both masked (columns) and kept (keep)")));
        }
        covered.insert(index_of(name)?);
    }
    if unmapped == Unmapped::Fail {
        let missing: Vec<&str> = table
            .columns
            .iter()
            .enumerate()
            .filter(|(i, _)| !covered.contains(i))
            .map(|(_, c)| c.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(invalid(format!(
                "unmapped = \"fail\" and no rule or keep for column{} {}",
                if missing.len() > 1 { "s" } else { "" },
                missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let row_key = row_key.iter().map(|name| index_of(name)).collect::<Result<Vec<_>, _>>()?;
    Ok(Plan { columns, row_key })
}
