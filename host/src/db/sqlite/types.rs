//! SQLite declared types → column kinds, by the affinity rules of
//! <https://www.sqlite.org/datatype3.html#determination_of_column_affinity>.

use crate::catalog::ColumnKind;

/// The kind of a column with this declared type. Values keep their own
/// storage class in the batch whatever the kind says; the kind tells
/// components what the column usually holds.
pub fn kind(declared: &str) -> ColumnKind {
    let t = declared.to_ascii_uppercase();
    // Date and time names first: by affinity they are NUMERIC, but the
    // values applications store there are ISO text.
    if t.contains("TIMESTAMP") || t.contains("DATETIME") {
        return ColumnKind::Timestamp;
    }
    if t == "DATE" {
        return ColumnKind::Date;
    }
    if t == "TIME" {
        return ColumnKind::Time;
    }
    if t.contains("BOOL") {
        return ColumnKind::Integer;
    }
    if t.contains("INT") {
        ColumnKind::Integer
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        ColumnKind::Text
    } else if t.contains("BLOB") || t.is_empty() {
        ColumnKind::Binary
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        ColumnKind::Float
    } else if t.contains("JSON") {
        ColumnKind::Json
    } else {
        ColumnKind::Decimal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinity_rules_pick_the_kind() {
        for (declared, expected) in [
            ("INTEGER", ColumnKind::Integer),
            ("bigint unsigned", ColumnKind::Integer),
            ("VARCHAR(20)", ColumnKind::Text),
            ("CHARINT", ColumnKind::Integer), // INT wins, as in SQLite
            ("", ColumnKind::Binary),
            ("BLOB", ColumnKind::Binary),
            ("DOUBLE PRECISION", ColumnKind::Float),
            ("NUMERIC(10,2)", ColumnKind::Decimal),
            ("DATETIME", ColumnKind::Timestamp),
            ("date", ColumnKind::Date),
            ("BOOLEAN", ColumnKind::Integer),
            ("FLOATING POINT", ColumnKind::Integer), // contains INT: INTEGER affinity
        ] {
            assert_eq!(kind(declared), expected, "{declared}");
        }
    }
}
