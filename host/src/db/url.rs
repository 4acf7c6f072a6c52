//! Engine names and database URLs: which engine a URL names, and a URL
//! that never shows its password. A leaf every engine folder imports.

use anyhow::bail;

use crate::format::Format;

/// Which engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
    /// SQLite.
    Sqlite,
}

impl Engine {
    /// The engine's name as people write it.
    pub fn label(self) -> &'static str {
        match self {
            Engine::Postgres => "PostgreSQL",
            Engine::Mysql => "MySQL",
            Engine::Sqlite => "SQLite",
        }
    }

    /// The format a source engine dumps to unless told otherwise: COPY
    /// text for PostgreSQL, INSERT statements (which keep SQLite's
    /// per-value storage classes) for the others.
    pub fn default_format(self) -> Format {
        match self {
            Engine::Postgres => Format::Copy,
            Engine::Mysql | Engine::Sqlite => Format::Sql,
        }
    }

    /// Fails when this engine cannot dump to `format`.
    pub fn check_format(self, format: Format) -> anyhow::Result<()> {
        match (self, format) {
            (_, Format::Jsonl | Format::Sql)
            | (Engine::Postgres, Format::Copy | Format::Csv)
            | (Engine::Mysql | Engine::Sqlite, Format::Csv)
            | (Engine::Mysql, Format::Tsv) => Ok(()),
            (_, other) => {
                let (owner, formats) = match (other, self) {
                    (Format::Copy, Engine::Mysql) => ("PostgreSQL", "sql, tsv, csv or jsonl"),
                    (Format::Copy, _) => ("PostgreSQL", "sql, csv or jsonl"),
                    (_, Engine::Postgres) => ("MySQL/MariaDB", "copy, csv, sql or jsonl"),
                    _ => ("MySQL/MariaDB", "sql, csv or jsonl"),
                };
                bail!("--format {} is for {owner} sources; {} sources dump as {formats}", other.name(), self.label())
            }
        }
    }
}

/// A parsed database URL. Its `Debug` and `Display` never show the password.
#[derive(Clone)]
pub struct DbUrl {
    engine: Engine,
    url: url::Url,
}

impl DbUrl {
    /// Parses `postgres://…`, `mysql://…`, `mariadb://…` or `sqlite://…`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let url =
            url::Url::parse(text).map_err(|e| anyhow::anyhow!("invalid database URL '{}': {e}", redact_url(text)))?;
        let engine = match url.scheme() {
            "postgres" | "postgresql" => Engine::Postgres,
            "mysql" | "mariadb" => Engine::Mysql,
            "sqlite" => Engine::Sqlite,
            other => bail!(
                "unsupported database URL scheme '{other}' (expected postgres://, mysql://, mariadb:// or sqlite://)"
            ),
        };
        Ok(DbUrl { engine, url })
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The full URL, password included: only for drivers, never for messages.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The parsed URL.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// Database name from the path (the file path for SQLite).
    pub fn database(&self) -> String {
        match self.engine {
            Engine::Sqlite => self.sqlite_path(),
            _ => self.url.path().trim_start_matches('/').to_owned(),
        }
    }

    /// Where the server is, for messages: `PostgreSQL at 127.0.0.1:5432`
    /// (never a user or password), `SQLite file data.db`.
    pub fn server_label(&self) -> String {
        match self.engine {
            Engine::Sqlite => format!("SQLite file {}", self.sqlite_path()),
            engine => {
                let host = self.url.host_str().unwrap_or("localhost");
                let port = self.url.port().unwrap_or(match engine {
                    Engine::Postgres => 5432,
                    _ => 3306,
                });
                format!("{} at {host}:{port}", engine.label())
            }
        }
    }

    /// The file a `sqlite://` URL names: `sqlite://dir/file.db` is relative
    /// to the working directory, `sqlite:///abs/file.db` absolute.
    pub fn sqlite_path(&self) -> String {
        let text = self.url.as_str();
        let rest = text.strip_prefix("sqlite://").unwrap_or(text);
        let rest = rest.split(['?', '#']).next().unwrap_or(rest);
        // The URL parser escapes spaces and the like as `%XX`.
        percent_encoding::percent_decode_str(rest).decode_utf8_lossy().into_owned()
    }
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DbUrl({})", redact_url(self.url.as_str()))
    }
}

impl std::fmt::Display for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(self.url.as_str()))
    }
}

/// Replaces the password of a URL with `***` (and drops secret query
/// parameters), so it can appear in a message or a manifest.
pub fn redact_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let secret = k.to_ascii_lowercase().contains("pass") || k.to_ascii_lowercase().contains("key");
                    (k.into_owned(), if secret { "***".to_owned() } else { v.into_owned() })
                })
                .collect();
            if !pairs.is_empty() {
                url.query_pairs_mut().clear().extend_pairs(pairs);
            }
            url.to_string()
        }
        Err(_) => "<unparseable URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_urls_never_show_the_password() {
        let shown = redact_url("postgres://bob:s3cr3t@db:5432/app?sslpassword=x2&sslmode=require");
        assert!(!shown.contains("s3cr3t") && !shown.contains("x2"), "{shown}");
        assert!(shown.contains("bob") && shown.contains("sslmode=require"), "{shown}");
        let url = DbUrl::parse("postgres://bob:s3cr3t@db/app").expect("valid");
        assert!(!format!("{url:?} {url}").contains("s3cr3t"));
        assert!(!redact_url("not a url s3cr3t").contains("s3cr3t"));
    }
}
