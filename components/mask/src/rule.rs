//! Rules and their parameters, as parsed from a rule object of the config
//! (which columns each fits is [`crate::fit`]). Parsing is strict: an
//! unknown rule, an unknown parameter or a parameter of the wrong type is an
//! `invalid-config` naming the column.

use serde_json::{Map, Value};
use sluice_sdk::StageError;

use crate::json::Path;
use crate::noise::Decimal;

/// Every rule name, for messages.
pub const RULES: &str = "null, const, redact, email, first_name, last_name, full_name, digits, hash, ff1, noise, json";

/// One masking rule with its parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// Every value becomes NULL.
    Null,
    /// Every non-NULL value becomes this text.
    Const(String),
    /// A fixed token, or the value with its middle characters replaced.
    Redact(Redact),
    /// `u<12 base32 chars>@example.com`, or `@` the original domain.
    Email { keep_domain: bool },
    /// A keyed pick from [`crate::names::FIRST_NAMES`].
    FirstName,
    /// A keyed pick from [`crate::names::LAST_NAMES`].
    LastName,
    /// First name, a space, last name.
    FullName,
    /// Every ASCII digit replaced by a keyed digit, optionally ending in a
    /// Luhn check digit.
    Digits { luhn: bool },
    /// The keyed HMAC of the value as text.
    Hash { format: HashFormat, length: Option<usize> },
    /// Format-preserving encryption: of an integer within `range`, or of the
    /// digits of a string.
    Ff1 { range: Option<(i128, i128)> },
    /// A keyed, row-seeded shift within a bound.
    Noise(Bound),
    /// Rules applied at paths inside a json value.
    Json(Vec<JsonRule>),
}

/// The two forms of `redact`.
#[derive(Clone, Debug, PartialEq)]
pub enum Redact {
    /// The whole value becomes the token.
    Token(String),
    /// Keep `first` and `last` characters, replace each one between by `fill`.
    Keep { first: usize, last: usize, fill: char },
}

/// Text form of `hash`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashFormat {
    /// 64 lowercase hex digits.
    Hex,
    /// 52 lowercase RFC 4648 base32 characters, no padding.
    Base32,
}

/// How far `noise` may move a value.
#[derive(Clone, Debug, PartialEq)]
pub enum Bound {
    /// For numbers: uniform in `[-bound, +bound]`.
    Number(Decimal),
    /// For dates and timestamps: whole days in `[-n, +n]`.
    Days(i64),
    /// For timestamps: seconds in `[-n, +n]`.
    Seconds(i64),
}

/// One `json` path and what to do there.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonRule {
    pub path: Path,
    pub rule: Rule,
    pub domain: String,
}

/// A parsed rule object: the rule, its name and its explicit domain.
pub struct Parsed {
    pub rule: Rule,
    pub name: &'static str,
    pub domain: Option<String>,
}

impl Rule {
    /// Whether the rule maps distinct inputs to distinct outputs, so a
    /// unique or primary key stays unique (see [`crate::unique_preserving`]).
    pub fn unique_preserving(&self) -> bool {
        match self {
            Rule::Ff1 { .. } => true,
            Rule::Hash { length, .. } => length.is_none(),
            _ => false,
        }
    }

    /// Whether the rule reads the row key (only `noise` is seeded by it).
    pub fn needs_row_key(&self) -> bool {
        match self {
            Rule::Noise(_) => true,
            Rule::Json(rules) => rules.iter().any(|r| r.rule.needs_row_key()),
            _ => false,
        }
    }
}

/// Parses a rule given as `"name"` or `{"rule": "name", ...params}`. `at`
/// names the column (and path) in messages. `nested` is true inside `json`.
pub fn parse(spec: &Value, at: &str, nested: bool) -> Result<Parsed, StageError> {
    let mut params = match spec {
        Value::String(name) => {
            let mut map = Map::new();
            map.insert("rule".into(), Value::String(name.clone()));
            Params { at, map }
        }
        Value::Object(map) => Params { at, map: map.clone() },
        _ => return Err(bad(at, "a rule must be a rule name or an object with a `rule` key")),
    };
    let name = params.str("rule")?.ok_or_else(|| bad(at, "the rule object has no `rule` key"))?;
    let domain = params.str("domain")?;
    if domain.as_deref() == Some("") {
        return Err(bad(at, "`domain` is empty"));
    }
    let (name, rule, known): (&'static str, Rule, &[&str]) = match name.as_str() {
        "null" => ("null", Rule::Null, &[]),
        "const" => {
            let value = match params.take("value") {
                Some(Value::String(s)) => s,
                Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
                Some(_) => return Err(bad(at, "const `value` must be a string, number or boolean")),
                None => return Err(bad(at, "rule const needs a `value`")),
            };
            ("const", Rule::Const(value), &["value"])
        }
        "redact" => ("redact", parse_redact(&mut params)?, &["token", "keep_first", "keep_last", "char"]),
        "email" => {
            let keep_domain = params.bool("keep_domain")?.unwrap_or(false);
            ("email", Rule::Email { keep_domain }, &["keep_domain"])
        }
        "first_name" => ("first_name", Rule::FirstName, &[]),
        "last_name" => ("last_name", Rule::LastName, &[]),
        "full_name" => ("full_name", Rule::FullName, &[]),
        "digits" => ("digits", Rule::Digits { luhn: params.bool("luhn")?.unwrap_or(false) }, &["luhn"]),
        "hash" => ("hash", parse_hash(&mut params)?, &["format", "length"]),
        "ff1" => {
            let range = match (params.int("min")?, params.int("max")?) {
                (Some(min), Some(max)) if min <= max => Some((min, max)),
                (Some(min), Some(max)) => return Err(bad(at, format!("ff1 min {min} is above max {max}"))),
                (None, None) => None,
                _ => return Err(bad(at, "ff1 needs both `min` and `max`, or neither")),
            };
            ("ff1", Rule::Ff1 { range }, &["min", "max"])
        }
        "noise" => ("noise", Rule::Noise(parse_bound(&mut params)?), &["bound"]),
        "json" if nested => return Err(bad(at, "a json rule cannot be nested in another")),
        "json" => ("json", Rule::Json(crate::json::parse_paths(&mut params)?), &["paths"]),
        other => return Err(bad(at, format!("unknown rule `{other}` (rules: {RULES})"))),
    };
    params.finish(name, known)?;
    Ok(Parsed { rule, name, domain })
}

fn parse_redact(params: &mut Params<'_>) -> Result<Rule, StageError> {
    let token = params.str("token")?;
    let first = params.usize("keep_first")?;
    let last = params.usize("keep_last")?;
    let fill = match params.str("char")? {
        None => None,
        Some(s) => {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some(c),
                _ => return Err(bad(params.at, format!("redact `char` must be one character, not {s:?}"))),
            }
        }
    };
    let keep = first.is_some() || last.is_some() || fill.is_some();
    match (token, keep) {
        (Some(_), true) => {
            Err(bad(params.at, "redact takes either `token` or `keep_first`/`keep_last`/`char`, not both"))
        }
        (token, false) => Ok(Rule::Redact(Redact::Token(token.unwrap_or_else(|| "REDACTED".into())))),
        (None, true) => Ok(Rule::Redact(Redact::Keep {
            first: first.unwrap_or(0),
            last: last.unwrap_or(0),
            fill: fill.unwrap_or('*'),
        })),
    }
}

fn parse_hash(params: &mut Params<'_>) -> Result<Rule, StageError> {
    let format = match params.str("format")?.as_deref() {
        None | Some("hex") => HashFormat::Hex,
        Some("base32") => HashFormat::Base32,
        Some(other) => {
            return Err(bad(params.at, format!("hash `format` must be \"hex\" or \"base32\", not {other:?}")));
        }
    };
    let full = crate::apply::hash_len(format);
    let length = params.usize("length")?;
    if let Some(n) = length
        && !(1..=full).contains(&n)
    {
        return Err(bad(params.at, format!("hash `length` must be between 1 and {full}, not {n}")));
    }
    // A `length` equal to the full length is the full hash.
    Ok(Rule::Hash { format, length: length.filter(|&n| n < full) })
}

fn parse_bound(params: &mut Params<'_>) -> Result<Bound, StageError> {
    let at = params.at;
    match params.take("bound") {
        None => Err(bad(at, "rule noise needs a `bound`")),
        Some(Value::Number(n)) => {
            let text = n.to_string();
            let d = Decimal::parse(&text)
                .filter(|d| d.units > 0)
                .ok_or_else(|| bad(at, format!("noise `bound` must be a positive number, not {text}")))?;
            Ok(Bound::Number(d))
        }
        Some(Value::String(s)) => parse_duration(&s).ok_or_else(|| {
            bad(at, format!("noise `bound` {s:?} is not a duration like \"30d\", \"12h\", \"15m\" or \"3600s\""))
        }),
        Some(_) => Err(bad(at, "noise `bound` must be a number, or a duration string like \"30d\"")),
    }
}

/// `30d`, `12h`, `15m`, `3600s`: a positive whole count and a unit.
fn parse_duration(s: &str) -> Option<Bound> {
    let unit = s.chars().last()?;
    let count: i64 = s[..s.len() - unit.len_utf8()].parse().ok().filter(|&n| n > 0 && n <= 1_000_000_000)?;
    match unit {
        'd' => Some(Bound::Days(count)),
        'h' => Some(Bound::Seconds(count * 3600)),
        'm' => Some(Bound::Seconds(count * 60)),
        's' => Some(Bound::Seconds(count)),
        _ => None,
    }
}

/// The parameters of one rule object, taken one by one; whatever is left
/// at [`Params::finish`] is an unknown parameter.
pub struct Params<'a> {
    pub at: &'a str,
    map: Map<String, Value>,
}

impl Params<'_> {
    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key)
    }

    fn typed<T>(
        &mut self,
        key: &str,
        what: &str,
        f: impl FnOnce(&Value) -> Option<T>,
    ) -> Result<Option<T>, StageError> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => f(&v).map(Some).ok_or_else(|| bad(self.at, format!("`{key}` must be {what}, not {v}"))),
        }
    }

    pub fn str(&mut self, key: &str) -> Result<Option<String>, StageError> {
        self.typed(key, "a string", |v| v.as_str().map(str::to_owned))
    }

    fn bool(&mut self, key: &str) -> Result<Option<bool>, StageError> {
        self.typed(key, "true or false", Value::as_bool)
    }

    fn usize(&mut self, key: &str) -> Result<Option<usize>, StageError> {
        self.typed(key, "a whole number >= 0", |v| v.as_u64().and_then(|n| usize::try_from(n).ok()))
    }

    fn int(&mut self, key: &str) -> Result<Option<i128>, StageError> {
        self.typed(key, "a whole number", |v| v.as_i64().map(i128::from))
    }

    fn finish(self, rule: &str, known: &[&str]) -> Result<(), StageError> {
        let Some(unknown) = self.map.keys().next() else { return Ok(()) };
        let mut takes: Vec<&str> = known.to_vec();
        takes.push("domain");
        Err(bad(self.at, format!("rule {rule} has no parameter `{unknown}` (it takes: {})", takes.join(", "))))
    }
}

/// An `invalid-config` about `at`.
pub fn bad(at: &str, message: impl std::fmt::Display) -> StageError {
    StageError::invalid_config(format!("{at}: {message}"))
}
