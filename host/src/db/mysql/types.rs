//! MySQL/MariaDB column types → column kinds, and the select expression
//! that reads a column's value exactly over the text protocol.

use crate::catalog::ColumnKind;

/// The kind of a column with this `DATA_TYPE`; `binary` says whether it has
/// no character set (BINARY, VARBINARY, BLOBs: raw bytes).
pub fn kind(data_type: &str, binary: bool) -> ColumnKind {
    match data_type {
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year" | "bit" => ColumnKind::Integer,
        "decimal" | "numeric" => ColumnKind::Decimal,
        "float" | "double" | "real" => ColumnKind::Float,
        "date" => ColumnKind::Date,
        "time" => ColumnKind::Time,
        "datetime" | "timestamp" => ColumnKind::Timestamp,
        "json" => ColumnKind::Json,
        "uuid" => ColumnKind::Uuid,
        "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring" | "multipolygon"
        | "geometrycollection" => ColumnKind::Binary,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => ColumnKind::Binary,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set" if !binary => {
            ColumnKind::Text
        }
        _ if binary && !matches!(data_type, "inet4" | "inet6") => ColumnKind::Binary,
        _ => ColumnKind::Other,
    }
}

/// What to select for a column so its text form round-trips: FLOAT prints
/// only 6 digits over the text protocol (a DOUBLE cast prints every one),
/// BIT arrives as raw bytes (its number is what INSERT takes back).
pub fn select_expr(quoted: &str, data_type: &str) -> String {
    match data_type {
        "float" => format!("CAST({quoted} AS DOUBLE)"),
        "bit" => format!("CAST({quoted} AS UNSIGNED)"),
        _ => quoted.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_type_and_charset() {
        assert_eq!(kind("bigint", false), ColumnKind::Integer);
        assert_eq!(kind("varchar", false), ColumnKind::Text);
        assert_eq!(kind("varbinary", true), ColumnKind::Binary);
        assert_eq!(kind("longblob", true), ColumnKind::Binary);
        assert_eq!(kind("point", true), ColumnKind::Binary);
        assert_eq!(kind("inet6", true), ColumnKind::Other);
        assert_eq!(kind("enum", false), ColumnKind::Text);
        assert_eq!(select_expr("`f`", "float"), "CAST(`f` AS DOUBLE)");
        assert_eq!(select_expr("`b`", "bit"), "CAST(`b` AS UNSIGNED)");
        assert_eq!(select_expr("`t`", "text"), "`t`");
    }
}
