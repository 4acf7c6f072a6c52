//! Which tables a command works on: include/exclude globs on `schema.table`.

use globset::{GlobBuilder, GlobMatcher};

/// A glob on `schema.table` (`*` any run of characters, `?` one character).
#[derive(Debug, Clone)]
pub struct Glob {
    text: String,
    matcher: GlobMatcher,
}

impl Glob {
    /// Compiles a glob; an error names the pattern.
    pub fn new(text: &str) -> anyhow::Result<Self> {
        if text.is_empty() {
            anyhow::bail!("empty glob: expected a pattern on schema.table such as 'public.*'");
        }
        let glob = GlobBuilder::new(text)
            .literal_separator(false)
            .backslash_escape(true)
            .build()
            .map_err(|e| anyhow::anyhow!("invalid glob '{text}': {e}"))?;
        Ok(Glob { text: text.to_owned(), matcher: glob.compile_matcher() })
    }

    /// Whether `schema.table` matches.
    pub fn matches(&self, schema: &str, table: &str) -> bool {
        self.matcher.is_match(format!("{schema}.{table}"))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Include and exclude globs. No include means every table.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    include: Vec<Glob>,
    exclude: Vec<Glob>,
}

impl Selection {
    /// Compiles include and exclude patterns.
    pub fn new<'a>(
        include: impl IntoIterator<Item = &'a String>,
        exclude: impl IntoIterator<Item = &'a String>,
    ) -> anyhow::Result<Self> {
        Ok(Selection {
            include: include.into_iter().map(|g| Glob::new(g)).collect::<Result<_, _>>()?,
            exclude: exclude.into_iter().map(|g| Glob::new(g)).collect::<Result<_, _>>()?,
        })
    }

    /// Whether `schema.table` is selected.
    pub fn selects(&self, schema: &str, table: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|g| g.matches(schema, table)))
            && !self.exclude.iter().any(|g| g.matches(schema, table))
    }

    /// True when neither include nor exclude was given.
    pub fn is_everything(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// The globs, as a resume compares them: `include a.*, b.t; exclude
    /// a.log`, empty for everything.
    pub fn describe(&self) -> String {
        let list = |globs: &[Glob]| globs.iter().map(Glob::as_str).collect::<Vec<_>>().join(", ");
        let mut parts = Vec::new();
        if !self.include.is_empty() {
            parts.push(format!("include {}", list(&self.include)));
        }
        if !self.exclude.is_empty() {
            parts.push(format!("exclude {}", list(&self.exclude)));
        }
        parts.join("; ")
    }

    /// True when include globs were given.
    pub fn has_include(&self) -> bool {
        !self.include.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(include: &[&str], exclude: &[&str]) -> Selection {
        let inc: Vec<String> = include.iter().map(|s| s.to_string()).collect();
        let exc: Vec<String> = exclude.iter().map(|s| s.to_string()).collect();
        Selection::new(&inc, &exc).expect("valid globs")
    }

    #[test]
    fn include_and_exclude_globs_combine() {
        let s = sel(&["public.*"], &["*.audit_*"]);
        assert!(s.selects("public", "film"));
        assert!(!s.selects("public", "audit_log"));
        assert!(!s.selects("other", "film"));
        assert!(sel(&[], &[]).selects("any", "thing"));
    }

    #[test]
    fn question_mark_matches_one_character_and_dots_are_literal() {
        let s = sel(&["public.t?"], &[]);
        assert!(s.selects("public", "t1"));
        assert!(!s.selects("public", "t12"));
        assert!(!sel(&["public.film"], &[]).selects("publicXfilm", ""));
    }
}
