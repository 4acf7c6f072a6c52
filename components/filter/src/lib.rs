//! `filter`: the row transform that keeps the rows matching a SQL-like
//! condition and a deterministic, keyed sample. Columns pass through
//! unchanged; only rows are dropped.
//!
//! # Config
//!
//! The host builds this JSON from the user's TOML and passes it to `start`:
//!
//! ```json
//! { "filter": "amount > 5 and customer_id is not null",
//!   "sample": 0.25, "row_key": ["payment_id"], "domain": "sample:public.payment" }
//! ```
//!
//! Every key is optional; an empty config keeps every row. Unknown keys are
//! an `invalid-config`.
//! - `filter`: the condition, see below. A row is kept when it is true;
//!   false or unknown (NULL) drops it, as in SQL `WHERE`.
//! - `sample`: a fraction in `[0, 1]`. A row is kept iff
//!   `u64::from_be_bytes(hmac(domain, key)[..8]) < sample * 2^64`, where
//!   `key` is the row's `row_key` values joined by the byte 0x1f (NULL as
//!   nothing) and `hmac` is the host's keyed HMAC-SHA-256
//!   ([`sluice_sdk::keyed::hmac`]). The same key gives the same sample in
//!   every dump; a child table keeps exactly the rows whose parent was kept
//!   by hashing its foreign-key columns under the parent's domain.
//! - `row_key`: the columns hashed for `sample`, default every column in
//!   table order (pass the primary key).
//! - `domain`: default `sample:<schema>.<table>`.
//!
//! Rows must pass both the filter and the sample; only rows that pass the
//! filter are hashed.
//!
//! # The filter language
//!
//! ```text
//! amount > 5 and customer_id is not null
//! (rating in ('G', 'PG') or length >= 120) and not special_features is null
//! last_update < timestamp '2006-02-15 10:00:00+00' or "Mixed Case" <> 'x'
//! ```
//!
//! - Columns: bare names (matched as written, then lower-cased) or
//!   `"double quoted"` (exact, `""` for a quote).
//! - Literals: integers and decimals (`-5`, `4.99`), `'strings'` (`''` for a
//!   quote), `true`, `false`, `date 'YYYY-MM-DD'`, `timestamp '...'`.
//! - Operators: `= != <> < <= > >=`, `is null`, `is not null`, `in (...)`,
//!   `not in (...)`, `and`, `or`, `not`, parentheses; `not` binds tighter
//!   than `and`, which binds tighter than `or`. Keywords are
//!   case-insensitive. A boolean column alone is a condition.
//! - Typing: see [`eval`] — numbers compare exactly, text and timestamps
//!   compare as the engine's canonical text.
//!
//! A syntax error, an unknown column or a literal that cannot meet its
//! column (`amount > 'abc'`) is an `invalid-config` saying what was
//! expected and at which character column, e.g.
//! `filter: expected a value after '>', found the end of the filter at column 9`.

mod compare;
pub mod eval;
mod lex;
pub mod parse;

use serde_json::{Map, Value};
use sluice_sdk::{Batch, Column, RowTransform, StageError, Table, keyed};

use crate::eval::Node;

/// One chunk's filter.
pub struct Filter {
    width: usize,
    condition: Option<Node>,
    sample: Option<Sample>,
}

/// The sampling half of the config.
struct Sample {
    /// Keep iff the digest's first 8 bytes, as a big-endian u64, are below
    /// this; `2^64` keeps everything.
    threshold: u128,
    row_key: Vec<usize>,
    domain: String,
}

const KEYS: &str = "filter, sample, row_key, domain";

impl RowTransform for Filter {
    fn start(table: &Table, config: &str) -> Result<(Self, Vec<Column>), StageError> {
        let qualified = table.qualified_name();
        let invalid = |m: String| StageError::invalid_config(format!("filter config for {qualified}: {m}"));
        let mut top: Map<String, Value> = match config.trim() {
            "" => Map::new(),
            text => match serde_json::from_str(text) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err(invalid("the config must be a JSON object".into())),
                Err(e) => return Err(invalid(format!("not valid JSON: {e}"))),
            },
        };
        let condition = match top.remove("filter") {
            None => None,
            Some(Value::String(text)) => Some(eval::compile(&parse::parse(&text)?, table)?),
            Some(other) => return Err(invalid(format!("`filter` must be a string, not {other}"))),
        };
        let fraction = match top.remove("sample") {
            None => None,
            Some(v) => match v.as_f64() {
                Some(f) if (0.0..=1.0).contains(&f) => Some(f),
                _ => return Err(invalid(format!("`sample` must be a number from 0 to 1, not {v}"))),
            },
        };
        let row_key = match top.remove("row_key") {
            None => None,
            Some(Value::Array(names)) => Some(
                names
                    .iter()
                    .map(|n| {
                        let name =
                            n.as_str().ok_or_else(|| invalid(format!("`row_key` must list column names, not {n}")))?;
                        table.column_index(name).ok_or_else(|| invalid(format!("no column `{name}` for `row_key`")))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(other) => return Err(invalid(format!("`row_key` must be an array of column names, not {other}"))),
        };
        let domain = match top.remove("domain") {
            None => format!("sample:{qualified}"),
            Some(Value::String(d)) if !d.is_empty() => d,
            Some(other) => return Err(invalid(format!("`domain` must be a non-empty string, not {other}"))),
        };
        if let Some(unknown) = top.keys().next() {
            return Err(invalid(format!("unknown key `{unknown}` (keys: {KEYS})")));
        }
        let sample = fraction.map(|f| Sample {
            threshold: threshold(f),
            row_key: row_key.filter(|k| !k.is_empty()).unwrap_or_else(|| (0..table.columns.len()).collect()),
            domain,
        });
        Ok((Filter { width: table.columns.len(), condition, sample }, table.columns.clone()))
    }

    fn transform(&mut self, input: Batch) -> Result<Batch, StageError> {
        let view = input.view()?.expect_columns(self.width)?;
        let mut keep = vec![true; view.rows()];
        if let Some(condition) = &self.condition {
            for (row, k) in keep.iter_mut().enumerate() {
                *k = condition.eval(&view, row)? == Some(true);
            }
        }
        if let Some(sample) = &self.sample {
            let rows: Vec<usize> = (0..view.rows()).filter(|&r| keep[r]).collect();
            let keys: Vec<Vec<u8>> = rows.iter().map(|&r| row_key(&view, &sample.row_key, r)).collect();
            let digests = keyed::hmac(&sample.domain, keys.iter().map(Vec::as_slice))?;
            for (&row, digest) in rows.iter().zip(&digests) {
                keep[row] = sampled(digest, sample.threshold);
            }
        }
        drop(view);
        if keep.iter().all(|&k| k) {
            return Ok(input);
        }
        input.select_rows(&keep)
    }
}

/// `fraction * 2^64`, the bound the first 8 digest bytes must stay under.
fn threshold(fraction: f64) -> u128 {
    // Exact for 0 and 1; otherwise the product's f64 rounding is far below
    // one part in 2^50 of the fraction.
    (fraction * 18_446_744_073_709_551_616.0) as u128
}

fn sampled(digest: &[u8; 32], threshold: u128) -> bool {
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u128::from(u64::from_be_bytes(first)) < threshold
}

/// The values of `columns` in `row`, joined by 0x1f, NULL as nothing.
fn row_key(view: &sluice_sdk::BatchView<'_>, columns: &[usize], row: usize) -> Vec<u8> {
    let mut key = Vec::new();
    for (n, &i) in columns.iter().enumerate() {
        if n > 0 {
            key.push(0x1f);
        }
        key.extend_from_slice(view.column(i).value(row).unwrap_or_default());
    }
    key
}

sluice_sdk::export_row_transform!(Filter);

#[cfg(test)]
mod tests;
