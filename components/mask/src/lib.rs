//! `mask`: the row transform that replaces personal data with keyed,
//! deterministic stand-ins. It keeps every column (same names, order and
//! types) and every row; only the values of the configured columns change.
//! NULL stays NULL under every rule.
//!
//! Every keyed rule gets its material from the host's `keyed` import
//! ([`sluice_sdk::keyed`]): HMAC-SHA-256 and FF1 under the run's masking
//! key, which never enters this component. The same key, domain and input
//! always give the same output, so two dumps are identical; another key
//! gives other outputs. Each rule makes one host call per column of a batch.
//!
//! # Config
//!
//! The host builds this JSON from the user's TOML and passes it to `start`:
//!
//! ```json
//! { "columns": { "email":       {"rule": "email", "domain": "email:public.customer.email"},
//!                "customer_id": {"rule": "ff1", "min": 1, "max": 999999},
//!                "phone":       "digits" },
//!   "keep": ["store_id"], "unmapped": "keep", "row_key": ["customer_id"] }
//! ```
//!
//! - `columns`: column name (as the table spells it) → rule. A rule is an
//!   object with `rule`, an optional `domain` and the rule's parameters, or
//!   just the rule's name when it takes none. `domain` defaults to
//!   `<rule>:<schema>.<table>.<column>`; give two columns the same domain
//!   (a key and the foreign keys that reference it) to map equal values to
//!   equal outputs.
//! - `keep`: columns passed through on purpose.
//! - `unmapped`: `"keep"` (default) passes other columns through; `"fail"`
//!   refuses the table unless every column is in `columns` or `keep`.
//! - `row_key`: the columns that identify a row (the primary key); they
//!   seed `noise`. Without them `noise` depends on the value alone.
//!
//! Unknown keys, unknown rules, unknown or mistyped parameters, columns that
//! do not exist and rules that do not fit a column's type are
//! `invalid-config` errors naming the column. An empty config masks nothing.
//!
//! # Rules
//!
//! | rule | parameters | columns | output |
//! |---|---|---|---|
//! | `null` | | nullable | NULL |
//! | `const` | `value`: string, number or boolean (required) | any | the value |
//! | `redact` | `token` (default `"REDACTED"`) *or* `keep_first`, `keep_last`: n, `char` (default `"*"`) | text | the token; or the value with every character but the first/last n replaced by `char` (whole value replaced when it has no more than first + last characters) |
//! | `email` | `keep_domain`: bool (default false) | text | `u` + 12 base32 characters of the HMAC + `@example.com` (or `@` the original domain) |
//! | `first_name`, `last_name`, `full_name` | | text | a keyed pick from 200 given names / 210 surnames ([`names`]); full = first + `" "` + last |
//! | `digits` | `luhn`: bool (default false) | text | every ASCII digit replaced by a keyed digit, other characters kept; with `luhn` the last digit is the Luhn check digit of the others |
//! | `hash` | `format`: `"hex"` (default) or `"base32"`; `length`: n (default full: 64 hex, 52 base32) | text, binary | the keyed HMAC-SHA-256 of the value |
//! | `ff1` | `min`, `max`: integers (together, required on integer columns) | integer, text | integer columns: a bijection of `[min, max]` (values outside are `invalid-input`); text columns: the digits encrypted as one numeral string, other characters kept (see [`ff1`]) |
//! | `noise` | `bound` (required): a number for integer/float/decimal columns, or `"30d"` / `"12h"` / `"15m"` / `"3600s"` for date/timestamp columns | number, date, timestamp | the value moved uniformly within `[-bound, +bound]`, seeded by HMAC(domain, row key ‖ value); integers stay integers, decimals keep their scale, dates move by whole days (see [`noise`]) |
//! | `json` | `paths`: `{"$.a.b": rule, "$.items[*].email": rule}` | json, jsonb | the value with each path masked by its rule (see [`json`]) |
//!
//! Where the column's SQL type limits length (`varchar(n)`), a `const`,
//! `redact` token, `email` or `hash` longer than `n` is an `invalid-config`;
//! names are cut to fit. `noise` clamps to the range of `smallint`/
//! `integer`/`bigint` and `numeric(p, s)`.
//!
//! # Unique-preserving rules
//!
//! [`unique_preserving`] says which rules map distinct values to distinct
//! outputs, so that a masked primary key or unique column stays unique:
//! `ff1` (a bijection, and foreign keys that share its domain still join)
//! and `hash` at full length (collision-resistant). Every other rule can map
//! two values to one. The host keeps its own copy of this table to refuse
//! non-unique-preserving rules on uniquely indexed columns.

mod apply;
mod config;
pub mod ff1;
mod fit;
pub mod json;
pub mod names;
pub mod noise;
mod rule;

use sluice_sdk::{Batch, Column, ColumnBuilder, RowTransform, StageError, Table};

use crate::apply::{Cache, Target};
use crate::config::{ColumnPlan, parse_config};

/// Whether the rule called `rule` maps distinct inputs to distinct outputs:
/// true for `ff1` and `hash` (only at full length: a `length` makes
/// collisions possible), false for every other rule and unknown names.
pub fn unique_preserving(rule: &str) -> bool {
    matches!(rule, "ff1" | "hash")
}

/// One chunk's masking plan.
pub struct Mask {
    width: usize,
    columns: Vec<ColumnPlan>,
    row_key: Vec<usize>,
    cache: Cache,
}

impl RowTransform for Mask {
    fn start(table: &Table, config: &str) -> Result<(Self, Vec<Column>), StageError> {
        let plan = parse_config(table, config)?;
        let mask =
            Mask { width: table.columns.len(), columns: plan.columns, row_key: plan.row_key, cache: Cache::default() };
        Ok((mask, table.columns.clone()))
    }

    fn transform(&mut self, mut input: Batch) -> Result<Batch, StageError> {
        let view = input.view()?.expect_columns(self.width)?;
        let row_keys = if self.columns.iter().any(|c| c.rule.needs_row_key()) {
            (0..view.rows()).map(|row| self.row_key_of(&view, row)).collect()
        } else {
            Vec::new()
        };
        let mut masked = Vec::with_capacity(self.columns.len());
        for plan in &self.columns {
            let values = view.column(plan.index);
            let rows: Vec<usize> = (0..values.len()).filter(|&r| !values.is_null(r)).collect();
            let items: Vec<&[u8]> = rows.iter().filter_map(|&r| values.value(r)).collect();
            let seeds: Vec<&[u8]> = rows.iter().filter_map(|&r| row_keys.get(r).map(Vec::as_slice)).collect();
            let target = Target { label: &plan.label, domain: &plan.domain, kind: plan.kind, limits: plan.limits };
            let mut out = apply::apply(&plan.rule, &target, &items, &seeds, &mut self.cache)?.into_iter();
            let mut column = ColumnBuilder::with_capacity(values.len(), values.data().len());
            for row in 0..values.len() {
                match values.is_null(row) {
                    true => column.push_null(),
                    // A masked value keeps its row's storage class (SQLite).
                    false => column.push_like(out.next().flatten().as_deref(), values.value_type(row)),
                }
            }
            masked.push((plan.index, column.finish()));
        }
        for (index, column) in masked {
            input.columns[index] = column;
        }
        Ok(input)
    }
}

impl Mask {
    /// The row-key values of `row` joined by 0x1f (NULL as nothing).
    fn row_key_of(&self, view: &sluice_sdk::BatchView<'_>, row: usize) -> Vec<u8> {
        let mut key = Vec::new();
        for (n, &i) in self.row_key.iter().enumerate() {
            if n > 0 {
                key.push(0x1f);
            }
            key.extend_from_slice(view.column(i).value(row).unwrap_or_default());
        }
        key
    }
}

sluice_sdk::export_row_transform!(Mask);

#[cfg(test)]
mod tests;
