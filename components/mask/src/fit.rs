//! Which rules fit which columns: the limits a column's SQL type sets
//! (`varchar(n)`, integer widths, `numeric(p, s)`) and the kinds each rule
//! can write, checked at `start` so a mask never produces values the
//! restore would reject.

use sluice_sdk::{Column, ColumnKind};

use crate::noise::Decimal;
use crate::rule::{Bound, Redact, Rule};

/// What the catalog's SQL type says about the values a column accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// `character varying(n)` / `character(n)`: at most `n` characters.
    pub max_chars: Option<usize>,
    /// `smallint`, `integer`, `bigint`: the value range.
    pub int_range: Option<(i128, i128)>,
    /// `numeric(p, s)`: precision and scale.
    pub numeric: Option<(u32, u32)>,
}

impl Limits {
    /// Reads the limits off a PostgreSQL type name as the catalog prints it.
    pub fn of(sql_type: &str) -> Limits {
        let t = sql_type.trim().to_ascii_lowercase();
        let args = |t: &str| -> Vec<u32> {
            t.split_once('(')
                .and_then(|(_, rest)| rest.strip_suffix(')'))
                .map(|a| a.split(',').filter_map(|x| x.trim().parse().ok()).collect())
                .unwrap_or_default()
        };
        let mut limits = Limits::default();
        let base = t.split('(').next().unwrap_or("").trim();
        match base {
            "character varying" | "varchar" | "character" | "char" | "bpchar" => {
                limits.max_chars = args(&t).first().map(|&n| n as usize);
            }
            "smallint" | "int2" => limits.int_range = Some((i16::MIN.into(), i16::MAX.into())),
            "integer" | "int" | "int4" => limits.int_range = Some((i32::MIN.into(), i32::MAX.into())),
            "bigint" | "int8" => limits.int_range = Some((i64::MIN.into(), i64::MAX.into())),
            "numeric" | "decimal" => {
                if let [p, rest @ ..] = args(&t).as_slice() {
                    limits.numeric = Some((*p, rest.first().copied().unwrap_or(0)));
                }
            }
            _ => {}
        }
        limits
    }
}

/// Checks that `rule` can write values `column` accepts; the message says
/// why not.
pub fn check_column(rule: &Rule, column: &Column, limits: &Limits) -> Result<(), String> {
    use ColumnKind as K;
    let kind = column.kind;
    let textual = matches!(kind, K::Text | K::Other);
    let fits = |what: &str, chars: usize| match limits.max_chars {
        Some(max) if chars > max => {
            Err(format!("{what} is {chars} characters but the column ({}) holds at most {max}", column.sql_type))
        }
        _ => Ok(()),
    };
    let name = |k: ColumnKind| format!("{k:?}").to_lowercase();
    let only = |rule: &str, kinds: &str| Err(format!("rule {rule} applies to {kinds} columns, not {}", name(kind)));
    match rule {
        Rule::Null if !column.nullable => Err("rule null on a NOT NULL column would fail the restore".into()),
        Rule::Null => Ok(()),
        Rule::Const(v) => {
            let valid = match kind {
                K::Integer => v.trim().parse::<i128>().is_ok(),
                K::Decimal => {
                    Decimal::parse(v.trim()).is_some() || matches!(v.trim(), "NaN" | "Infinity" | "-Infinity")
                }
                K::Float => v.trim().parse::<f64>().is_ok(),
                K::Boolean => matches!(v.trim().to_ascii_lowercase().as_str(), "t" | "f" | "true" | "false"),
                _ => true,
            };
            if !valid {
                return Err(format!("the const value {v:?} is not a valid {} value", column.sql_type));
            }
            fits("the const value", v.chars().count())
        }
        Rule::Redact(r) if textual => match r {
            Redact::Token(t) => fits("the redact token", t.chars().count()),
            Redact::Keep { .. } => Ok(()),
        },
        Rule::Redact(_) => only("redact", "text"),
        Rule::Email { keep_domain } if textual => {
            if *keep_domain {
                Ok(())
            } else {
                fits("a masked email", crate::apply::EMAIL_LEN)
            }
        }
        Rule::Email { .. } => only("email", "text"),
        Rule::FirstName | Rule::LastName | Rule::FullName if textual => Ok(()),
        Rule::FirstName | Rule::LastName | Rule::FullName => only("first_name/last_name/full_name", "text"),
        Rule::Digits { .. } if textual => Ok(()),
        Rule::Digits { .. } => only("digits", "text"),
        Rule::Hash { format, length } if textual || kind == K::Binary => {
            fits("the hash", length.unwrap_or(crate::apply::hash_len(*format)))
        }
        Rule::Hash { .. } => only("hash", "text or binary"),
        Rule::Ff1 { range: Some((min, max)) } if kind == K::Integer => match limits.int_range {
            Some((lo, hi)) if *min < lo || *max > hi => {
                Err(format!("ff1 range [{min}, {max}] does not fit the column's type {}", column.sql_type))
            }
            _ => Ok(()),
        },
        Rule::Ff1 { range: Some(_) } => Err(format!("ff1 `min`/`max` apply to integer columns, not {}", name(kind))),
        Rule::Ff1 { range: None } if textual => Ok(()),
        Rule::Ff1 { range: None } if kind == K::Integer => {
            Err("ff1 on an integer column needs `min` and `max` (the range the values and their masks stay in)".into())
        }
        Rule::Ff1 { range: None } => only("ff1", "integer (with min/max) or text"),
        Rule::Noise(Bound::Number(d)) => match kind {
            K::Integer if d.floor() < 1 => Err("a noise bound below 1 would leave integers unchanged".into()),
            K::Integer | K::Float | K::Decimal => Ok(()),
            K::Date | K::Timestamp | K::TimestampTz => {
                Err("noise on dates and timestamps needs a duration bound like \"30d\"".into())
            }
            _ => only("noise", "number, date or timestamp"),
        },
        Rule::Noise(Bound::Days(_)) => match kind {
            K::Date | K::Timestamp | K::TimestampTz => Ok(()),
            K::Integer | K::Float | K::Decimal => Err("noise on numbers needs a numeric bound".into()),
            _ => only("noise", "number, date or timestamp"),
        },
        Rule::Noise(Bound::Seconds(_)) => match kind {
            K::Timestamp | K::TimestampTz => Ok(()),
            K::Date => Err("noise on a date column moves whole days: use a bound like \"30d\"".into()),
            K::Integer | K::Float | K::Decimal => Err("noise on numbers needs a numeric bound".into()),
            _ => only("noise", "number, date or timestamp"),
        },
        Rule::Json(_) if kind == K::Json => Ok(()),
        Rule::Json(_) => only("json", "json/jsonb"),
    }
}
