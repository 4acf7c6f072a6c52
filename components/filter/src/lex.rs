//! Tokens of the filter language, each with the 1-based character column it
//! starts at, for error messages.

use sluice_sdk::StageError;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    /// A bare word: a keyword or a column name.
    Word(String),
    /// A `"double quoted"` column name (`""` is a quote).
    Quoted(String),
    /// `12`, `-3`, `4.50`.
    Number(String),
    /// A `'single quoted'` string (`''` is a quote).
    Str(String),
    LParen,
    RParen,
    Comma,
    Op(CmpOp, &'static str),
    End,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    /// 1-based character column of the token's first character.
    pub col: usize,
}

impl Token {
    /// How a message shows the token: `'>'`, `'amount'`, `end of filter`.
    pub fn describe(&self) -> String {
        match &self.tok {
            Tok::Word(w) => format!("'{w}'"),
            Tok::Quoted(q) => format!("\"{q}\""),
            Tok::Number(n) => format!("'{n}'"),
            Tok::Str(s) => format!("string '{s}'"),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Comma => "','".into(),
            Tok::Op(_, text) => format!("'{text}'"),
            Tok::End => "the end of the filter".into(),
        }
    }

    /// Whether the token is the keyword `kw` (case-insensitive, unquoted).
    pub fn is(&self, kw: &str) -> bool {
        matches!(&self.tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }
}

pub fn error(message: impl std::fmt::Display) -> StageError {
    StageError::invalid_config(format!("filter: {message}"))
}

/// Splits `text` into tokens, ending with [`Tok::End`].
pub fn tokens(text: &str) -> Result<Vec<Token>, StageError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        let start = i;
        i += 1;
        let tok = match c {
            c if c.is_whitespace() => continue,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            '=' => Tok::Op(CmpOp::Eq, "="),
            '<' | '>' | '!' => {
                let next = chars.get(i).copied();
                let (op, text) = match (c, next) {
                    ('<', Some('=')) => (CmpOp::Le, "<="),
                    ('<', Some('>')) => (CmpOp::Ne, "<>"),
                    ('>', Some('=')) => (CmpOp::Ge, ">="),
                    ('!', Some('=')) => (CmpOp::Ne, "!="),
                    ('<', _) => (CmpOp::Lt, "<"),
                    ('>', _) => (CmpOp::Gt, ">"),
                    _ => return Err(error(format!("unexpected '!' at column {col} (did you mean '!='?)"))),
                };
                i += text.len() - 1;
                Tok::Op(op, text)
            }
            '\'' | '"' => {
                let mut s = String::new();
                loop {
                    match chars.get(i) {
                        None => {
                            let what = if c == '\'' { "string" } else { "quoted name" };
                            return Err(error(format!("unterminated {what} starting at column {col}")));
                        }
                        Some(&q) if q == c && chars.get(i + 1) == Some(&c) => {
                            s.push(c);
                            i += 2;
                        }
                        Some(&q) if q == c => {
                            i += 1;
                            break;
                        }
                        Some(&other) => {
                            s.push(other);
                            i += 1;
                        }
                    }
                }
                if c == '\'' { Tok::Str(s) } else { Tok::Quoted(s) }
            }
            c if c.is_ascii_digit()
                || c == '.'
                || (c == '-' && chars.get(i).is_some_and(|n| n.is_ascii_digit() || *n == '.')) =>
            {
                while chars.get(i).is_some_and(|n| n.is_ascii_digit() || *n == '.') {
                    i += 1;
                }
                let number: String = chars[start..i].iter().collect();
                let digits = number.trim_start_matches('-');
                if digits.matches('.').count() > 1 || !digits.bytes().any(|b| b.is_ascii_digit()) {
                    return Err(error(format!("malformed number '{number}' at column {col}")));
                }
                Tok::Number(number)
            }
            c if c.is_alphabetic() || c == '_' => {
                while chars.get(i).is_some_and(|n| n.is_alphanumeric() || *n == '_' || *n == '$') {
                    i += 1;
                }
                Tok::Word(chars[start..i].iter().collect())
            }
            other => return Err(error(format!("unexpected character '{other}' at column {col}"))),
        };
        out.push(Token { tok, col });
    }
    out.push(Token { tok: Tok::End, col: chars.len() + 1 });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokens(s).expect("tokens").into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn tokens_cover_words_numbers_strings_and_operators() {
        assert_eq!(
            toks(r#"amount>=-5.25 and "Odd ""Name""" <> 'it''s'"#),
            vec![
                Tok::Word("amount".into()),
                Tok::Op(CmpOp::Ge, ">="),
                Tok::Number("-5.25".into()),
                Tok::Word("and".into()),
                Tok::Quoted("Odd \"Name\"".into()),
                Tok::Op(CmpOp::Ne, "<>"),
                Tok::Str("it's".into()),
                Tok::End,
            ]
        );
        assert_eq!(toks("a!=1")[1], Tok::Op(CmpOp::Ne, "!="));
        assert_eq!(toks("x in (1,2)").len(), 8);
    }

    #[test]
    fn token_columns_count_characters_not_bytes() {
        let t = tokens("'é' = x").expect("tokens");
        assert_eq!(t.iter().map(|t| t.col).collect::<Vec<_>>(), vec![1, 5, 7, 8]);
    }

    #[test]
    fn lexical_errors_give_the_column() {
        for (text, needle) in [
            ("a = 'open", "unterminated string starting at column 5"),
            ("\"a = 1", "unterminated quoted name starting at column 1"),
            ("a ! b", "column 3"),
            ("a = 1.2.3", "malformed number '1.2.3' at column 5"),
            ("a = #", "unexpected character '#' at column 5"),
        ] {
            let m = tokens(text).expect_err(text).message().to_owned();
            assert!(m.starts_with("filter: ") && m.contains(needle), "{text}: {m}");
        }
    }
}
