//! The `json` rule: other rules applied at paths inside json/jsonb values.
//!
//! A path is `$` followed by `.key`, `[N]` (array index) or `[*]` (every
//! element), e.g. `$.contact.email` or `$.items[*].sku`. Paths that do not
//! exist in a value, and JSON `null`s, are left alone. What sits at a path
//! is masked as text: a string as its content, a number as its digits (an
//! integer for `noise`/`ff1`, otherwise a float), `true`/`false`, or an
//! object/array as its compact JSON. The result goes back as a number when
//! the value was a number and the result is one, as `null` for rule `null`,
//! and as a string otherwise. The value is re-serialized compactly with its
//! object keys sorted (serde_json's ordered map would seed a hasher from
//! `wasi:random`, which traps here): the same JSON for a `jsonb` column,
//! which orders keys itself, and for a `json` column equal in meaning but
//! not in text. Numbers keep their exact digits.

use serde_json::Value;
use sluice_sdk::{ColumnKind, StageError};

use crate::apply::{Cache, Out, Target, apply as apply_rule};
use crate::fit::Limits;
use crate::rule::{JsonRule, Params, bad, parse};

/// A parsed path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    /// As written, for messages and default domains.
    pub text: String,
    steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
    All,
}

impl Path {
    pub fn parse(text: &str) -> Result<Path, String> {
        let rest = text.strip_prefix('$').ok_or("a json path starts with `$`")?;
        let mut steps = Vec::new();
        let mut rest = rest;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                if end == 0 {
                    return Err(format!("empty key in json path `{text}`"));
                }
                steps.push(Step::Key(after[..end].to_owned()));
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let (inside, tail) =
                    after.split_once(']').ok_or_else(|| format!("unclosed `[` in json path `{text}`"))?;
                steps.push(match inside {
                    "*" => Step::All,
                    n => Step::Index(
                        n.parse().map_err(|_| format!("`[{n}]` in json path `{text}` is not `[*]` or an index"))?,
                    ),
                });
                rest = tail;
            } else {
                return Err(format!("json path `{text}`: expected `.key`, `[N]` or `[*]` at `{rest}`"));
            }
        }
        Ok(Path { text: text.to_owned(), steps })
    }

    /// Every value at this path in `doc`, tagged with `row`.
    fn collect<'v>(&self, doc: &'v mut Value, row: usize, out: &mut Vec<(usize, &'v mut Value)>) {
        fn walk<'v>(v: &'v mut Value, steps: &[Step], row: usize, out: &mut Vec<(usize, &'v mut Value)>) {
            let Some((step, rest)) = steps.split_first() else {
                out.push((row, v));
                return;
            };
            match (step, v) {
                (Step::Key(k), Value::Object(map)) => {
                    if let Some(child) = map.get_mut(k) {
                        walk(child, rest, row, out);
                    }
                }
                (Step::Index(i), Value::Array(items)) => {
                    if let Some(child) = items.get_mut(*i) {
                        walk(child, rest, row, out);
                    }
                }
                (Step::All, Value::Array(items)) => {
                    for child in items {
                        walk(child, rest, row, out);
                    }
                }
                _ => {}
            }
        }
        walk(doc, &self.steps, row, out);
    }
}

/// Parses the `paths` parameter: `{"$.a.b": rule, ...}`, each rule given
/// like a column's (name or object), except `json` itself.
pub fn parse_paths(params: &mut Params<'_>) -> Result<Vec<JsonRule>, StageError> {
    let at = params.at;
    let paths = match params.take("paths") {
        Some(Value::Object(map)) if !map.is_empty() => map,
        Some(Value::Object(_)) => return Err(bad(at, "json `paths` is empty")),
        Some(_) => return Err(bad(at, "json `paths` must be an object of path = rule")),
        None => return Err(bad(at, "rule json needs `paths`")),
    };
    paths
        .iter()
        .map(|(text, spec)| {
            let path = Path::parse(text).map_err(|e| bad(at, e))?;
            let inner = format!("{at} {text}");
            let parsed = parse(spec, &inner, true)?;
            let domain = parsed.domain.unwrap_or_else(|| format!("{}:{at}:{text}", parsed.name));
            Ok(JsonRule { path, rule: parsed.rule, domain })
        })
        .collect()
}

/// How a value found at a path is handed to its rule.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Text,
    Integer,
    Float,
}

impl Class {
    fn of(v: &Value) -> Class {
        match v {
            Value::Number(n) if n.to_string().parse::<i128>().is_ok() => Class::Integer,
            Value::Number(_) => Class::Float,
            _ => Class::Text,
        }
    }

    fn kind(self) -> ColumnKind {
        match self {
            Class::Text => ColumnKind::Text,
            Class::Integer => ColumnKind::Integer,
            Class::Float => ColumnKind::Float,
        }
    }
}

pub fn apply(
    rules: &[JsonRule],
    t: &Target<'_>,
    items: &[&[u8]],
    seeds: &[&[u8]],
    cache: &mut Cache,
) -> Result<Out, StageError> {
    let mut docs = items
        .iter()
        .map(|item| {
            serde_json::from_slice::<Value>(item)
                .map_err(|e| StageError::invalid_input(format!("{}: a value is not valid json: {e}", t.label)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for rule in rules {
        let label = format!("{} {}", t.label, rule.path.text);
        let mut found = Vec::new();
        for (row, doc) in docs.iter_mut().enumerate() {
            rule.path.collect(doc, row, &mut found);
        }
        found.retain(|(_, v)| !v.is_null());
        // Classes are fixed before anything is masked, so a value a pass
        // rewrote is never picked up by a later pass.
        let classes: Vec<Class> = found.iter().map(|(_, v)| Class::of(v)).collect();
        // One batch per class, so each rule still makes one host call per
        // class of value rather than one per value.
        for class in [Class::Text, Class::Integer, Class::Float] {
            let (rows, texts): (Vec<usize>, Vec<String>) = found
                .iter()
                .zip(&classes)
                .filter(|(_, c)| **c == class)
                .map(|((row, v), _)| {
                    let text = match &**v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (*row, text)
                })
                .unzip();
            if rows.is_empty() {
                continue;
            }
            let inner = Target { label: &label, domain: &rule.domain, kind: class.kind(), limits: Limits::default() };
            let inputs: Vec<&[u8]> = texts.iter().map(|s| s.as_bytes()).collect();
            let row_seeds: Vec<&[u8]> = rows.iter().map(|&r| seeds.get(r).copied().unwrap_or_default()).collect();
            let masked = apply_rule(&rule.rule, &inner, &inputs, &row_seeds, cache)?;
            let mut masked = masked.into_iter();
            for ((_, v), _) in found.iter_mut().zip(&classes).filter(|(_, c)| **c == class) {
                **v = to_json(masked.next().flatten(), class != Class::Text)?;
            }
        }
    }
    docs.iter()
        .map(|doc| {
            serde_json::to_vec(doc)
                .map(Some)
                .map_err(|e| StageError::failed(format!("{}: cannot write json: {e}", t.label)))
        })
        .collect()
}

fn to_json(masked: Option<Vec<u8>>, was_number: bool) -> Result<Value, StageError> {
    let Some(bytes) = masked else { return Ok(Value::Null) };
    let text = String::from_utf8(bytes).map_err(|_| StageError::failed("a masked json value is not UTF-8"))?;
    if was_number && let Ok(n @ Value::Number(_)) = serde_json::from_str::<Value>(&text) {
        return Ok(n);
    }
    Ok(Value::String(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_keys_indexes_and_wildcards() {
        let p = Path::parse("$.items[*].email").expect("path");
        assert_eq!(p.steps, vec![Step::Key("items".into()), Step::All, Step::Key("email".into())]);
        assert_eq!(Path::parse("$[2]").expect("path").steps, vec![Step::Index(2)]);
        assert!(Path::parse("$").expect("root").steps.is_empty());
        for bad in ["a.b", "$.", "$..a", "$[x]", "$[1", "$a"] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn collect_finds_every_match_and_skips_missing_paths() {
        let mut doc: Value =
            serde_json::from_str(r#"{"items":[{"email":"a"},{"x":1},{"email":"b"}],"email":"c"}"#).expect("json");
        let path = Path::parse("$.items[*].email").expect("path");
        let mut found = Vec::new();
        path.collect(&mut doc, 3, &mut found);
        let got: Vec<(usize, String)> = found.iter().map(|(r, v)| (*r, v.to_string())).collect();
        assert_eq!(got, vec![(3, "\"a\"".to_owned()), (3, "\"b\"".to_owned())]);
        let mut none = Vec::new();
        Path::parse("$.nope.deeper").expect("path").collect(&mut doc, 0, &mut none);
        assert!(none.is_empty());
    }
}
