//! Ordering two values of a comparison class, given as the engine's
//! canonical text: exact decimal comparison, floats with PostgreSQL's NaN
//! rule, booleans, and bytes for everything else.

use std::cmp::Ordering;

use sluice_sdk::StageError;

use crate::eval::Class;
use crate::lex::CmpOp;

/// Whether two values ordered `ord` satisfy `op`.
pub fn test(op: CmpOp, ord: Ordering) -> bool {
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

/// A column value that does not parse as its column's kind says it should.
pub fn bad_value(class: Class) -> StageError {
    let what = match class {
        Class::Decimal | Class::Float => "a number",
        Class::Bool => "a boolean",
        Class::Text => "UTF-8 text",
    };
    StageError::invalid_input(format!("filter: a compared value is not {what}"))
}

/// Orders two values of `class` given as canonical text.
pub fn compare(class: Class, a: &[u8], b: &[u8]) -> Result<Ordering, StageError> {
    fn text(class: Class, v: &[u8]) -> Result<&str, StageError> {
        std::str::from_utf8(v).map(str::trim).map_err(|_| bad_value(class))
    }
    Ok(match class {
        Class::Text => a.cmp(b),
        Class::Bool => a.first().copied().map(bool_rank).cmp(&b.first().copied().map(bool_rank)),
        Class::Decimal => {
            let (x, y) = (Num::parse(text(class, a)?), Num::parse(text(class, b)?));
            x.ok_or_else(|| bad_value(class))?.cmp(&y.ok_or_else(|| bad_value(class))?)
        }
        Class::Float => {
            let parse = |v: &[u8]| text(class, v)?.parse::<f64>().map_err(|_| bad_value(class));
            let (x, y) = (parse(a)?, parse(b)?);
            // NaN sorts above everything and equals itself, as in PostgreSQL.
            match (x.is_nan(), y.is_nan()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            }
        }
    })
}

/// `f`/`false` before `t`/`true`.
pub fn bool_rank(first: u8) -> u8 {
    u8::from(first.eq_ignore_ascii_case(&b't'))
}

/// A number in decimal text, ordered exactly: `-Infinity` < finite <
/// `Infinity` < `NaN`.
#[derive(Debug, PartialEq, Eq)]
pub enum Num<'a> {
    NegInf,
    /// Sign, integer digits without leading zeros, fraction digits without
    /// trailing zeros; zero is never negative.
    Finite(bool, &'a [u8], &'a [u8]),
    PosInf,
    NaN,
}

impl<'a> Num<'a> {
    pub fn parse(s: &'a str) -> Option<Num<'a>> {
        match s {
            "NaN" => return Some(Num::NaN),
            "Infinity" => return Some(Num::PosInf),
            "-Infinity" => return Some(Num::NegInf),
            _ => {}
        }
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() && frac.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let int = int.trim_start_matches('0').as_bytes();
        let frac = frac.trim_end_matches('0').as_bytes();
        let zero = int.is_empty() && frac.is_empty();
        Some(Num::Finite(neg && !zero, int, frac))
    }

    fn rank(&self) -> u8 {
        match self {
            Num::NegInf => 0,
            Num::Finite(..) => 1,
            Num::PosInf => 2,
            Num::NaN => 3,
        }
    }
}

impl Ord for Num<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        let (Num::Finite(an, ai, af), Num::Finite(bn, bi, bf)) = (self, other) else {
            return self.rank().cmp(&other.rank());
        };
        let magnitude = ai.len().cmp(&bi.len()).then_with(|| ai.cmp(bi)).then_with(|| af.cmp(bf));
        match (an, bn) {
            (false, false) => magnitude,
            (true, true) => magnitude.reverse(),
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
        }
    }
}

impl PartialOrd for Num<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str) -> Num<'_> {
        Num::parse(s).expect(s)
    }

    #[test]
    fn decimals_compare_exactly() {
        let ordered = [
            "-Infinity",
            "-100",
            "-2.5",
            "-2.49999999999999999999",
            "-0.1",
            "0",
            "0.000001",
            "1",
            "1.10",
            "9.99",
            "10",
            "123456789012345678901234567890",
            "Infinity",
            "NaN",
        ];
        for w in ordered.windows(2) {
            assert!(num(w[0]) < num(w[1]), "{} < {}", w[0], w[1]);
        }
        assert_eq!(num("1.10").cmp(&num("1.1")), Ordering::Equal);
        assert_eq!(num("-0").cmp(&num("0.00")), Ordering::Equal);
        assert_eq!(num("007").cmp(&num("7")), Ordering::Equal);
        assert!(Num::parse("1e5").is_none() && Num::parse("").is_none() && Num::parse("-").is_none());
    }

    #[test]
    fn floats_put_nan_last() {
        assert_eq!(compare(Class::Float, b"NaN", b"Infinity").expect("cmp"), Ordering::Greater);
        assert_eq!(compare(Class::Float, b"1e+20", b"99").expect("cmp"), Ordering::Greater);
        assert_eq!(compare(Class::Float, b"NaN", b"NaN").expect("cmp"), Ordering::Equal);
        assert!(compare(Class::Float, b"abc", b"1").is_err());
    }
}
