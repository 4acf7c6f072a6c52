//! Hostile: calls the `keyed` host import directly (not through the SDK,
//! which keeps within the host's limits), picking the attack by the name
//! of its table:
//! - `flood`: one `hmac` call with 12 million empty items (48 MiB of
//!   offsets, most of the guest's 64 MiB), which once made the host copy
//!   the offsets and allocate 16 bytes of ranges and 32 bytes of digest per
//!   item;
//! - `domain_flood`: one `hmac` call whose domain is 40 MiB of text;
//! - `long_ff1`: one FF1 item of a million numerals (FF1's cost grows with
//!   the square of the length: hours);
//! - `ff1_loop`: full-size FF1 calls (4,096 items of 256 numerals) forever,
//!   ignoring every error, so only the CPU limit can stop it;
//! - anything else: passes the batch through.

use sluice_sdk::bindings::row_transform::sluice::pipeline::keyed;
use sluice_sdk::{Batch, Column, RowTransform, StageError, Table};

pub struct Keyed {
    attack: String,
}

impl RowTransform for Keyed {
    fn start(table: &Table, _config: &str) -> Result<(Self, Vec<Column>), StageError> {
        Ok((Keyed { attack: table.name.clone() }, table.columns.clone()))
    }

    fn transform(&mut self, input: Batch) -> Result<Batch, StageError> {
        match self.attack.as_str() {
            "flood" => {
                let offsets = vec![0u32; 12 << 20];
                let result = keyed::hmac("flood", &[], &offsets);
                Err(StageError::failed(format!("the flood came back: {:?}", result.map(|d| d.len()))))
            }
            "domain_flood" => {
                let domain = "d".repeat(40 << 20);
                let result = keyed::hmac(&domain, b"a", &[0, 1]);
                Err(StageError::failed(format!("the domain flood came back: {:?}", result.map(|d| d.len()))))
            }
            "long_ff1" => {
                let numerals = vec![7u16; 1_000_000];
                let result = keyed::ff1_encrypt("long", 10, &numerals, &[0, 1_000_000]);
                Err(StageError::failed(format!("the long item came back: {:?}", result.map(|d| d.len()))))
            }
            "ff1_loop" => {
                let numerals = vec![3u16; 4096 * 256];
                let offsets: Vec<u32> = (0..=4096).map(|i| i * 256).collect();
                loop {
                    let _ = std::hint::black_box(keyed::ff1_encrypt("loop", 10, &numerals, &offsets));
                }
            }
            _ => Ok(input),
        }
    }
}

sluice_sdk::export_row_transform!(Keyed);
