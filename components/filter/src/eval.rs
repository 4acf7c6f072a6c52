//! Checking a parsed filter against the table, and evaluating it on rows.
//!
//! Each comparison is typed by its column's kind:
//! - integer and decimal: numerically and exactly, on the decimal text
//!   (no f64 rounding); `NaN` sorts above every number, as in PostgreSQL;
//! - float: as f64 (`NaN` above every number);
//! - boolean: `f` < `t`; literals `true`/`false` (or `'t'`, `'f'`);
//! - everything else (text, dates, timestamps, uuid, ...): byte-wise on the
//!   engine's canonical text, i.e. C collation. Dates and timestamps written
//!   in that form (`date '2024-01-31'`, `timestamp '2024-01-31 10:00:00+00'`
//!   for a timestamptz in a UTC session) compare chronologically; a literal
//!   in another form (no `+00`, a `T`) compares as the text it is.
//!
//! NULL follows SQL: a comparison with NULL is unknown, `not unknown` is
//! unknown, `false and unknown` is false, `true or unknown` is true, and
//! the row is kept only when the whole filter is true.

use std::cmp::Ordering;

use sluice_sdk::{BatchView, ColumnKind, StageError, Table};

use crate::compare::{Num, bool_rank, compare, test};
use crate::lex::{CmpOp, error};
use crate::parse::{Expr, Lit, Operand};

/// How values of a comparison are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Decimal,
    Float,
    Bool,
    Text,
}

impl Class {
    fn of(kind: ColumnKind) -> Class {
        match kind {
            ColumnKind::Integer | ColumnKind::Decimal => Class::Decimal,
            ColumnKind::Float => Class::Float,
            ColumnKind::Boolean => Class::Bool,
            _ => Class::Text,
        }
    }
}

/// A side of a compiled comparison.
#[derive(Clone, Debug)]
pub enum Value {
    Column(usize),
    /// A literal, already in the canonical text of its class (`t`/`f` for
    /// booleans).
    Lit(String),
}

/// A filter checked against a table, ready to run on its batches.
#[derive(Clone, Debug)]
pub enum Node {
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Const(Option<bool>),
    Cmp { left: Value, op: CmpOp, right: Value, class: Class },
    IsNull { column: usize, negated: bool },
    In { column: usize, list: Vec<String>, negated: bool, class: Class },
    Truth(usize),
}

/// Checks `expr` against `table`: columns exist, literals fit the columns
/// they meet.
pub fn compile(expr: &Expr, table: &Table) -> Result<Node, StageError> {
    Ok(match expr {
        Expr::And(a, b) => Node::And(Box::new(compile(a, table)?), Box::new(compile(b, table)?)),
        Expr::Or(a, b) => Node::Or(Box::new(compile(a, table)?), Box::new(compile(b, table)?)),
        Expr::Not(a) => Node::Not(Box::new(compile(a, table)?)),
        Expr::Cmp { left, op, right } => compile_cmp(left, *op, right, table)?,
        Expr::IsNull { operand: Operand::Lit(..), negated } => Node::Const(Some(*negated)),
        Expr::IsNull { operand: Operand::Column { name, quoted, col }, negated } => {
            Node::IsNull { column: find(table, name, *quoted, *col)?, negated: *negated }
        }
        Expr::In { operand, list, negated } => {
            let (column, class) = match operand {
                Operand::Column { name, quoted, col } => {
                    let i = find(table, name, *quoted, *col)?;
                    (i, Class::of(table.columns[i].kind))
                }
                Operand::Lit(_, col) => return Err(error(format!("'in' needs a column on its left, at column {col}"))),
            };
            let list = list
                .iter()
                .map(|(lit, col)| literal(lit, *col, class, &table.columns[column].name))
                .collect::<Result<_, _>>()?;
            Node::In { column, list, negated: *negated, class }
        }
        Expr::Truth(Operand::Lit(Lit::Bool(b), _)) => Node::Const(Some(*b)),
        Expr::Truth(Operand::Lit(lit, col)) => {
            return Err(error(format!("{} at column {col} is not a condition", lit.describe())));
        }
        Expr::Truth(Operand::Column { name, quoted, col }) => {
            let i = find(table, name, *quoted, *col)?;
            if table.columns[i].kind != ColumnKind::Boolean {
                return Err(error(format!("column `{name}` at column {col} is not boolean: compare it to a value")));
            }
            Node::Truth(i)
        }
    })
}

fn compile_cmp(left: &Operand, op: CmpOp, right: &Operand, table: &Table) -> Result<Node, StageError> {
    let side = |o: &Operand| -> Result<Option<(usize, Class)>, StageError> {
        match o {
            Operand::Column { name, quoted, col } => {
                let i = find(table, name, *quoted, *col)?;
                Ok(Some((i, Class::of(table.columns[i].kind))))
            }
            Operand::Lit(..) => Ok(None),
        }
    };
    let (l, r) = (side(left)?, side(right)?);
    let class = match (l, r) {
        (Some((_, a)), Some((_, b))) if a == b => a,
        (Some((_, Class::Decimal | Class::Float)), Some((_, Class::Decimal | Class::Float))) => Class::Float,
        (Some((i, _)), Some((j, _))) => {
            let (a, b) = (&table.columns[i], &table.columns[j]);
            return Err(error(format!(
                "cannot compare column `{}` with column `{}`: their types differ",
                a.name, b.name
            )));
        }
        (Some((_, c)), None) | (None, Some((_, c))) => c,
        (None, None) => literal_class(left, right)?,
    };
    let value = |o: &Operand, other: Option<(usize, Class)>| -> Result<Value, StageError> {
        match o {
            Operand::Column { .. } => Ok(Value::Column(side(o)?.map_or(0, |(i, _)| i))),
            Operand::Lit(lit, col) => {
                let against = other.map_or("a literal", |(i, _)| table.columns[i].name.as_str());
                literal(lit, *col, class, against).map(Value::Lit)
            }
        }
    };
    let (left, right) = (value(left, r)?, value(right, l)?);
    if let (Value::Lit(a), Value::Lit(b)) = (&left, &right) {
        return Ok(Node::Const(Some(test(op, compare(class, a.as_bytes(), b.as_bytes())?))));
    }
    Ok(Node::Cmp { left, op, right, class })
}

/// The class of a comparison between two literals.
fn literal_class(a: &Operand, b: &Operand) -> Result<Class, StageError> {
    match (a, b) {
        (Operand::Lit(Lit::Number(_), _), Operand::Lit(Lit::Number(_), _)) => Ok(Class::Decimal),
        (Operand::Lit(Lit::Bool(_), _), Operand::Lit(Lit::Bool(_), _)) => Ok(Class::Bool),
        (Operand::Lit(Lit::Number(_) | Lit::Bool(_), col), _)
        | (_, Operand::Lit(Lit::Number(_) | Lit::Bool(_), col)) => {
            Err(error(format!("cannot compare literals of different types at column {col}")))
        }
        _ => Ok(Class::Text),
    }
}

/// Resolves a column name: a quoted name exactly; a bare name exactly,
/// else lower-cased (as PostgreSQL folds unquoted names).
fn find(table: &Table, name: &str, quoted: bool, col: usize) -> Result<usize, StageError> {
    table
        .column_index(name)
        .or_else(|| if quoted { None } else { table.column_index(&name.to_lowercase()) })
        .ok_or_else(|| error(format!("no column `{name}` in {} (at column {col})", table.qualified_name())))
}

/// A literal as the canonical text of `class`; `against` names what it is
/// compared with, for messages.
fn literal(lit: &Lit, col: usize, class: Class, against: &str) -> Result<String, StageError> {
    let mismatch = |what: &str| {
        error(format!("{} at column {col} cannot be compared with `{against}`, which is {what}", lit.describe()))
    };
    match (class, lit) {
        (Class::Decimal | Class::Float, Lit::Number(n) | Lit::Str(n)) => {
            if class == Class::Decimal && Num::parse(n.trim()).is_none()
                || class == Class::Float && n.trim().parse::<f64>().is_err()
            {
                return Err(mismatch("a number"));
            }
            Ok(n.trim().to_owned())
        }
        (Class::Decimal | Class::Float, _) => Err(mismatch("a number")),
        (Class::Bool, Lit::Bool(b)) => Ok(if *b { "t" } else { "f" }.to_owned()),
        (Class::Bool, Lit::Str(s)) => match s.to_ascii_lowercase().as_str() {
            "t" | "true" => Ok("t".into()),
            "f" | "false" => Ok("f".into()),
            _ => Err(mismatch("boolean")),
        },
        (Class::Bool, _) => Err(mismatch("boolean")),
        (Class::Text, Lit::Str(s)) => Ok(s.clone()),
        (Class::Text, Lit::Date(d)) => {
            if !is_date(d) {
                return Err(error(format!("date '{d}' at column {col} is not YYYY-MM-DD")));
            }
            Ok(d.clone())
        }
        (Class::Text, Lit::Timestamp(t)) => {
            if !t.get(..10).is_some_and(is_date) || t.len() > 10 && !t[10..].starts_with([' ', 'T']) {
                return Err(error(format!("timestamp '{t}' at column {col} does not start with YYYY-MM-DD")));
            }
            Ok(t.clone())
        }
        (Class::Text, Lit::Number(_) | Lit::Bool(_)) => Err(mismatch("text: quote the value")),
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10 && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
}

impl Node {
    /// The filter's value on `row`: `Some(true)` keeps it.
    pub fn eval(&self, batch: &BatchView<'_>, row: usize) -> Result<Option<bool>, StageError> {
        Ok(match self {
            Node::And(a, b) => match a.eval(batch, row)? {
                Some(false) => Some(false),
                x => match (x, b.eval(batch, row)?) {
                    (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                },
            },
            Node::Or(a, b) => match a.eval(batch, row)? {
                Some(true) => Some(true),
                x => match (x, b.eval(batch, row)?) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                },
            },
            Node::Not(a) => a.eval(batch, row)?.map(|b| !b),
            Node::Const(c) => *c,
            Node::Cmp { left, op, right, class } => {
                fn get<'v>(v: &'v Value, batch: &BatchView<'v>, row: usize) -> Option<&'v [u8]> {
                    match v {
                        Value::Column(i) => batch.column(*i).value(row),
                        Value::Lit(s) => Some(s.as_bytes()),
                    }
                }
                match (get(left, batch, row), get(right, batch, row)) {
                    (Some(a), Some(b)) => Some(test(*op, compare(*class, a, b)?)),
                    _ => None,
                }
            }
            Node::IsNull { column, negated } => Some(batch.column(*column).is_null(row) != *negated),
            Node::In { column, list, negated, class } => match batch.column(*column).value(row) {
                None => None,
                Some(v) => {
                    let mut found = false;
                    for item in list {
                        if compare(*class, v, item.as_bytes())? == Ordering::Equal {
                            found = true;
                            break;
                        }
                    }
                    Some(found != *negated)
                }
            },
            Node::Truth(column) => {
                batch.column(*column).value(row).map(|v| v.first().is_some_and(|&c| bool_rank(c) == 1))
            }
        })
    }
}
