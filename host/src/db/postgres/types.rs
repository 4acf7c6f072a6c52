//! PostgreSQL types → sluice column kinds.

use crate::catalog::ColumnKind;

/// The kind of a column from its base type's name and `typcategory`.
pub fn column_kind(base_type: &str, category: &str) -> ColumnKind {
    match (base_type, category) {
        ("bytea", _) => ColumnKind::Binary,
        ("bool", _) => ColumnKind::Boolean,
        ("int2" | "int4" | "int8" | "oid", _) => ColumnKind::Integer,
        ("float4" | "float8", _) => ColumnKind::Float,
        ("numeric" | "money", _) => ColumnKind::Decimal,
        ("date", _) => ColumnKind::Date,
        ("time" | "timetz", _) => ColumnKind::Time,
        ("timestamp", _) => ColumnKind::Timestamp,
        ("timestamptz", _) => ColumnKind::TimestampTz,
        ("interval", _) => ColumnKind::Interval,
        ("uuid", _) => ColumnKind::Uuid,
        ("json" | "jsonb", _) => ColumnKind::Json,
        (_, "A") => ColumnKind::Array,
        (_, "S") => ColumnKind::Text,
        _ => ColumnKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_base_types_and_categories() {
        assert_eq!(column_kind("bytea", "U"), ColumnKind::Binary);
        assert_eq!(column_kind("varchar", "S"), ColumnKind::Text);
        assert_eq!(column_kind("_int4", "A"), ColumnKind::Array);
        assert_eq!(column_kind("tsvector", "U"), ColumnKind::Other);
        assert_eq!(column_kind("timestamptz", "D"), ColumnKind::TimestampTz);
    }
}
