//! Column-major batches: what crosses into a component.
//!
//! Each column is three flat buffers (data, offsets, null bitmap) so a batch
//! crosses the wasm boundary as a few memcpys rather than one allocation per
//! value. Value `i` is `data[offsets[i]..offsets[i+1]]`; bit `i % 8` of
//! `nulls[i / 8]` set means NULL; an empty bitmap means no NULLs.

/// One column's values for every row of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnData {
    /// Concatenated value bytes.
    pub data: Vec<u8>,
    /// `rows + 1` ascending offsets into `data`, starting at 0.
    pub offsets: Vec<u32>,
    /// Null bitmap, empty or `ceil(rows / 8)` bytes.
    pub nulls: Vec<u8>,
    /// Per-row storage class (`i`, `r`, `t`, `b`, `n`) for engines whose
    /// values carry their own type (SQLite); empty otherwise.
    pub types: Vec<u8>,
}

impl ColumnData {
    /// An empty column ready for `push`.
    pub fn new() -> Self {
        ColumnData { data: Vec::new(), offsets: vec![0], nulls: Vec::new(), types: Vec::new() }
    }

    /// An empty column with room for as many bytes and values as `other`
    /// holds, so a batch that follows a similar one does not regrow.
    pub fn with_capacity_of(other: &ColumnData) -> Self {
        let mut offsets = Vec::with_capacity(other.offsets.len());
        offsets.push(0);
        ColumnData {
            data: Vec::with_capacity(other.data.len()),
            offsets,
            nulls: Vec::new(),
            types: Vec::with_capacity(other.types.len()),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// True when no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a value (None = NULL).
    pub fn push(&mut self, value: Option<&[u8]>) {
        let row = self.len();
        match value {
            Some(bytes) => self.data.extend_from_slice(bytes),
            None => self.set_null(row),
        }
        self.offsets.push(self.data.len() as u32);
    }

    /// Appends the bytes that the hex digits `hex` spell; false (and
    /// nothing appended) when it is not an even number of hex digits.
    pub fn push_hex(&mut self, hex: &[u8]) -> bool {
        let start = self.data.len();
        if !hex.len().is_multiple_of(2) {
            return false;
        }
        self.data.resize(start + hex.len() / 2, 0);
        if hex::decode_to_slice(hex, &mut self.data[start..]).is_err() {
            self.data.truncate(start);
            return false;
        }
        self.offsets.push(self.data.len() as u32);
        true
    }

    /// Appends a value with its storage class (see `types`); every value
    /// of a typed column must be pushed this way.
    pub fn push_typed(&mut self, value: Option<&[u8]>, class: u8) {
        self.types.push(if value.is_some() { class } else { b'n' });
        self.push(value);
    }

    /// Row `i`'s storage class, when the column has them.
    pub fn value_type(&self, i: usize) -> Option<u8> {
        self.types.get(i).copied()
    }

    /// Marks row `row` NULL; the bitmap grows on first use.
    fn set_null(&mut self, row: usize) {
        let needed = row / 8 + 1;
        if self.nulls.len() < needed {
            self.nulls.resize(needed, 0);
        }
        self.nulls[row / 8] |= 1 << (row % 8);
    }

    /// Pads the bitmap to `ceil(len / 8)` bytes when it is in use.
    pub fn seal(&mut self) {
        if !self.nulls.is_empty() {
            self.nulls.resize(self.len().div_ceil(8), 0);
        }
    }

    /// Whether row `i` is NULL.
    pub fn is_null(&self, i: usize) -> bool {
        self.nulls.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0)
    }

    /// Value of row `i` (None for NULL). Call only on a validated column.
    pub fn value(&self, i: usize) -> Option<&[u8]> {
        if self.is_null(i) {
            return None;
        }
        Some(&self.data[self.offsets[i] as usize..self.offsets[i + 1] as usize])
    }

    /// Checks the invariants for `rows` rows; the message says what is wrong.
    pub fn validate(&self, rows: usize) -> Result<(), String> {
        if self.offsets.len() != rows + 1 {
            return Err(format!("{} offsets for {rows} rows (expected {})", self.offsets.len(), rows + 1));
        }
        if self.offsets[0] != 0 {
            return Err(format!("first offset is {}, not 0", self.offsets[0]));
        }
        if self.offsets.windows(2).any(|w| w[0] > w[1]) {
            return Err("offsets are not ascending".into());
        }
        if *self.offsets.last().unwrap_or(&0) as usize != self.data.len() {
            return Err(format!(
                "last offset {} does not match {} data bytes",
                self.offsets.last().unwrap_or(&0),
                self.data.len()
            ));
        }
        if !self.nulls.is_empty() && self.nulls.len() != rows.div_ceil(8) {
            return Err(format!("null bitmap has {} bytes for {rows} rows", self.nulls.len()));
        }
        if !self.types.is_empty() && self.types.len() != rows {
            return Err(format!("{} value types for {rows} rows", self.types.len()));
        }
        if (0..rows).any(|i| self.is_null(i) && self.offsets[i] != self.offsets[i + 1]) {
            return Err("a NULL value has bytes".into());
        }
        Ok(())
    }
}

/// A slice of a table's rows, column-major.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// Row count.
    pub rows: u32,
    /// One entry per column.
    pub columns: Vec<ColumnData>,
}

impl Batch {
    /// An empty batch with `columns` empty columns.
    pub fn with_columns(columns: usize) -> Self {
        Batch { rows: 0, columns: (0..columns).map(|_| ColumnData::new()).collect() }
    }

    /// Pads every column's null bitmap (see [`ColumnData::seal`]).
    pub fn sealed(mut self) -> Self {
        self.columns.iter_mut().for_each(ColumnData::seal);
        self
    }

    /// Total value bytes, a measure of the batch's size.
    pub fn data_bytes(&self) -> usize {
        self.columns.iter().map(|c| c.data.len() + c.offsets.len() * 4).sum()
    }

    /// Checks the shape against `columns` expected columns.
    pub fn validate(&self, columns: usize) -> Result<(), String> {
        if self.columns.len() != columns {
            return Err(format!("batch has {} columns, expected {columns}", self.columns.len()));
        }
        for (i, column) in self.columns.iter().enumerate() {
            column.validate(self.rows as usize).map_err(|e| format!("column {i}: {e}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_values_and_nulls_read_back() {
        let mut c = ColumnData::new();
        let values: Vec<Option<&[u8]>> =
            vec![Some(b"a"), None, Some(b""), Some(b"\0\xff"), None, None, None, None, Some(b"z")];
        for v in &values {
            c.push(*v);
        }
        c.seal();
        c.validate(values.len()).expect("valid");
        assert_eq!(c.nulls.len(), 2);
        for (i, v) in values.iter().enumerate() {
            assert_eq!(c.value(i), *v, "row {i}");
        }
        assert!(!c.is_null(2), "empty string is not NULL");
    }

    #[test]
    fn hex_values_decode_and_bad_hex_appends_nothing() {
        let mut c = ColumnData::new();
        assert!(c.push_hex(b"00fFa1"));
        assert!(!c.push_hex(b"0"), "odd length");
        assert!(!c.push_hex(b"0g"), "not a digit");
        assert!(c.push_hex(b""));
        c.validate(2).expect("valid");
        assert_eq!(c.value(0), Some(&b"\0\xff\xa1"[..]));
        assert_eq!(c.value(1), Some(&b""[..]));
    }

    #[test]
    fn a_column_without_nulls_has_an_empty_bitmap() {
        let mut c = ColumnData::new();
        c.push(Some(b"x"));
        c.seal();
        assert!(c.nulls.is_empty());
        c.validate(1).expect("valid");
    }

    #[test]
    fn malformed_columns_are_rejected() {
        let bad_offsets = ColumnData { data: b"abc".to_vec(), offsets: vec![0, 5], ..Default::default() };
        assert!(bad_offsets.validate(1).is_err());
        let descending =
            ColumnData { data: b"abc".to_vec(), offsets: vec![0, 2, 1, 3], nulls: vec![], ..Default::default() };
        assert!(descending.validate(3).is_err());
        let short_bitmap = ColumnData { data: vec![], offsets: vec![0; 10], nulls: vec![1], ..Default::default() };
        assert!(short_bitmap.validate(9).is_err());
        let wrong_rows = ColumnData { data: vec![], offsets: vec![0, 0], nulls: vec![], ..Default::default() };
        assert!(wrong_rows.validate(2).is_err());
        let null_with_bytes =
            ColumnData { data: b"a".to_vec(), offsets: vec![0, 1], nulls: vec![1], ..Default::default() };
        assert!(null_with_bytes.validate(1).is_err());
        let short_types = ColumnData { data: vec![], offsets: vec![0, 0], nulls: vec![], types: vec![] };
        assert!(short_types.validate(1).is_ok(), "no types at all is fine");
        let wrong_types = ColumnData { types: vec![b'i', b'i'], ..short_types };
        assert!(wrong_types.validate(1).is_err());
    }
}
