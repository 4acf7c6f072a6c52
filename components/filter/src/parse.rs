//! The filter grammar, parsed by hand: a dozen rules of recursive descent
//! are smaller than any parser crate's wasm and give exactly the messages
//! we want ("expected a value after '>' at column 9").
//!
//! ```text
//! or        := and ("or" and)*
//! and       := not ("and" not)*
//! not       := "not" not | predicate
//! predicate := "(" or ")"
//!            | operand ( cmp operand
//!                      | "is" ["not"] "null"
//!                      | ["not"] "in" "(" literal ("," literal)* ")" )?
//! operand   := column | literal
//! column    := name | "quoted name"
//! literal   := number | 'string' | true | false | date 'YYYY-MM-DD' | timestamp '...'
//! cmp       := = | != | <> | < | <= | > | >=
//! ```
//!
//! Keywords are case-insensitive. `date` and `timestamp` are keywords only
//! before a string, so a column may be called `date`; other keywords used
//! as column names need double quotes.

use sluice_sdk::StageError;

use crate::lex::{CmpOp, Tok, Token, error, tokens};

/// A parsed filter, not yet checked against the table.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp {
        left: Operand,
        op: CmpOp,
        right: Operand,
    },
    IsNull {
        operand: Operand,
        negated: bool,
    },
    In {
        operand: Operand,
        list: Vec<(Lit, usize)>,
        negated: bool,
    },
    /// A bare operand used as a condition: a boolean column, `true`, `false`.
    Truth(Operand),
}

/// One side of a comparison, with the column it was written at.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Column { name: String, quoted: bool, col: usize },
    Lit(Lit, usize),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    /// Digits as written, with an optional `-` and `.`.
    Number(String),
    Str(String),
    Bool(bool),
    Date(String),
    Timestamp(String),
}

impl Lit {
    pub fn describe(&self) -> String {
        match self {
            Lit::Number(n) => n.clone(),
            Lit::Str(s) => format!("'{s}'"),
            Lit::Bool(b) => b.to_string(),
            Lit::Date(d) => format!("date '{d}'"),
            Lit::Timestamp(t) => format!("timestamp '{t}'"),
        }
    }
}

/// Parses a whole filter expression.
pub fn parse(text: &str) -> Result<Expr, StageError> {
    let tokens = tokens(text)?;
    let mut p = Parser { tokens, at: 0 };
    let expr = p.or("")?;
    let next = p.peek();
    if next.tok != Tok::End {
        return Err(error(format!(
            "expected 'and', 'or' or the end of the filter, found {} at column {}",
            next.describe(),
            next.col
        )));
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn peek2(&self) -> &Token {
        &self.tokens[(self.at + 1).min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::End {
            self.at += 1;
        }
        t
    }

    /// `after` names what came before, for "expected ... after 'and'".
    fn or(&mut self, after: &str) -> Result<Expr, StageError> {
        let mut left = self.and(after)?;
        while self.peek().is("or") {
            self.next();
            left = Expr::Or(Box::new(left), Box::new(self.and("'or'")?));
        }
        Ok(left)
    }

    fn and(&mut self, after: &str) -> Result<Expr, StageError> {
        let mut left = self.not(after)?;
        while self.peek().is("and") {
            self.next();
            left = Expr::And(Box::new(left), Box::new(self.not("'and'")?));
        }
        Ok(left)
    }

    fn not(&mut self, after: &str) -> Result<Expr, StageError> {
        // `not in` belongs to a predicate; a leading `not` negates.
        if self.peek().is("not") {
            self.next();
            return Ok(Expr::Not(Box::new(self.not("'not'")?)));
        }
        self.predicate(after)
    }

    fn predicate(&mut self, after: &str) -> Result<Expr, StageError> {
        if self.peek().tok == Tok::LParen {
            let open = self.next();
            let inner = self.or("'('")?;
            let close = self.next();
            if close.tok != Tok::RParen {
                return Err(error(format!(
                    "expected ')' to close the '(' at column {}, found {} at column {}",
                    open.col,
                    close.describe(),
                    close.col
                )));
            }
            return Ok(inner);
        }
        let operand = self.operand().map_err(|found| {
            let after = if after.is_empty() { String::new() } else { format!(" after {after}") };
            error(format!("expected a condition{after}, found {} at column {}", found.describe(), found.col))
        })?;
        let next = self.peek().clone();
        match &next.tok {
            Tok::Op(op, text) => {
                self.next();
                let right = self.operand().map_err(|found| {
                    error(format!(
                        "expected a value after '{text}', found {} at column {}",
                        found.describe(),
                        found.col
                    ))
                })?;
                Ok(Expr::Cmp { left: operand, op: *op, right })
            }
            _ if next.is("is") => {
                self.next();
                let negated = self.peek().is("not");
                if negated {
                    self.next();
                }
                let null = self.next();
                if !null.is("null") {
                    let what = if negated { "'null' after 'is not'" } else { "'null' or 'not null' after 'is'" };
                    return Err(error(format!("expected {what}, found {} at column {}", null.describe(), null.col)));
                }
                Ok(Expr::IsNull { operand, negated })
            }
            _ if next.is("in") || (next.is("not") && self.peek2().is("in")) => {
                let negated = next.is("not");
                if negated {
                    self.next();
                }
                self.next();
                let list = self.in_list()?;
                Ok(Expr::In { operand, list, negated })
            }
            _ => Ok(Expr::Truth(operand)),
        }
    }

    fn in_list(&mut self) -> Result<Vec<(Lit, usize)>, StageError> {
        let open = self.next();
        if open.tok != Tok::LParen {
            return Err(error(format!("expected '(' after 'in', found {} at column {}", open.describe(), open.col)));
        }
        let mut list = Vec::new();
        loop {
            match self.operand() {
                Ok(Operand::Lit(lit, col)) => list.push((lit, col)),
                Ok(Operand::Column { col, .. }) => {
                    return Err(error(format!("expected a literal in the 'in' list, found a column at column {col}")));
                }
                Err(found) => {
                    return Err(error(format!(
                        "expected a literal in the 'in' list, found {} at column {}",
                        found.describe(),
                        found.col
                    )));
                }
            }
            let sep = self.next();
            match sep.tok {
                Tok::Comma => continue,
                Tok::RParen => return Ok(list),
                _ => {
                    return Err(error(format!(
                        "expected ',' or ')' in the 'in' list, found {} at column {}",
                        sep.describe(),
                        sep.col
                    )));
                }
            }
        }
    }

    /// An operand, or the token found instead (not consumed).
    fn operand(&mut self) -> Result<Operand, Token> {
        let t = self.peek().clone();
        let col = t.col;
        let operand = match &t.tok {
            Tok::Number(n) => Operand::Lit(Lit::Number(n.clone()), col),
            Tok::Str(s) => Operand::Lit(Lit::Str(s.clone()), col),
            Tok::Quoted(name) => Operand::Column { name: name.clone(), quoted: true, col },
            Tok::Word(_) if t.is("true") => Operand::Lit(Lit::Bool(true), col),
            Tok::Word(_) if t.is("false") => Operand::Lit(Lit::Bool(false), col),
            Tok::Word(_) if (t.is("date") || t.is("timestamp")) && matches!(self.peek2().tok, Tok::Str(_)) => {
                self.next();
                let Tok::Str(s) = self.peek().tok.clone() else { unreachable!("checked by peek2") };
                if t.is("date") { Operand::Lit(Lit::Date(s), col) } else { Operand::Lit(Lit::Timestamp(s), col) }
            }
            Tok::Word(w) if !is_reserved(w) => Operand::Column { name: w.clone(), quoted: false, col },
            _ => return Err(t),
        };
        self.next();
        Ok(operand)
    }
}

/// Words that cannot be bare column names.
fn is_reserved(word: &str) -> bool {
    ["and", "or", "not", "is", "null", "in", "true", "false"].iter().any(|k| word.eq_ignore_ascii_case(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, c: usize) -> Operand {
        Operand::Column { name: name.into(), quoted: false, col: c }
    }

    fn num(n: &str, c: usize) -> Operand {
        Operand::Lit(Lit::Number(n.into()), c)
    }

    #[test]
    fn and_binds_tighter_than_or_and_not_tighter_than_and() {
        let e = parse("a = 1 or b = 2 and not c = 3").expect("parse");
        let a = Expr::Cmp { left: col("a", 1), op: CmpOp::Eq, right: num("1", 5) };
        let b = Expr::Cmp { left: col("b", 10), op: CmpOp::Eq, right: num("2", 14) };
        let c = Expr::Cmp { left: col("c", 24), op: CmpOp::Eq, right: num("3", 28) };
        assert_eq!(e, Expr::Or(Box::new(a), Box::new(Expr::And(Box::new(b), Box::new(Expr::Not(Box::new(c)))))));
    }

    #[test]
    fn parentheses_group() {
        let e = parse("(a OR b) AND c").expect("parse");
        let Expr::And(left, _) = e else { panic!("and at the top: {e:?}") };
        assert!(matches!(*left, Expr::Or(..)));
    }

    #[test]
    fn predicates_parse() {
        assert!(matches!(parse("x IS NULL").expect("p"), Expr::IsNull { negated: false, .. }));
        assert!(matches!(parse("x is not null").expect("p"), Expr::IsNull { negated: true, .. }));
        let Expr::In { list, negated, .. } = parse("x not in (1, 'a', true, date '2024-01-01')").expect("p") else {
            panic!("in")
        };
        assert!(negated);
        assert_eq!(list.len(), 4);
        assert_eq!(list[3].0, Lit::Date("2024-01-01".into()));
        assert!(matches!(parse("active").expect("p"), Expr::Truth(_)));
        assert!(matches!(parse("not active").expect("p"), Expr::Not(_)));
        assert!(matches!(
            parse("date > date '2024-01-01'").expect("p"),
            Expr::Cmp { left: Operand::Column { .. }, .. }
        ));
        assert!(matches!(
            parse("\"not\" = 1").expect("p"),
            Expr::Cmp { left: Operand::Column { quoted: true, .. }, .. }
        ));
        let e = parse("ts >= timestamp '2024-01-01 00:00:00+00'").expect("p");
        assert!(matches!(e, Expr::Cmp { right: Operand::Lit(Lit::Timestamp(_), 7), .. }), "{e:?}");
    }

    #[test]
    fn errors_say_what_was_expected_and_where() {
        for (text, message) in [
            ("amount >", "filter: expected a value after '>', found the end of the filter at column 9"),
            ("amount > and", "filter: expected a value after '>', found 'and' at column 10"),
            ("a = 1 and", "filter: expected a condition after 'and', found the end of the filter at column 10"),
            ("", "filter: expected a condition, found the end of the filter at column 1"),
            ("(a = 1", "filter: expected ')' to close the '(' at column 1, found the end of the filter at column 7"),
            ("a = 1 b", "filter: expected 'and', 'or' or the end of the filter, found 'b' at column 7"),
            ("a is 1", "filter: expected 'null' or 'not null' after 'is', found '1' at column 6"),
            ("a in 1", "filter: expected '(' after 'in', found '1' at column 6"),
            ("a in (1 2)", "filter: expected ',' or ')' in the 'in' list, found '2' at column 9"),
            ("a in (b)", "filter: expected a literal in the 'in' list, found a column at column 7"),
            ("not", "filter: expected a condition after 'not', found the end of the filter at column 4"),
        ] {
            let err = parse(text).expect_err(text);
            assert!(matches!(err, StageError::InvalidConfig(_)));
            assert_eq!(err.message(), message, "{text}");
        }
    }
}
