//! The crypto behind the `keyed` host import (hosted in `sandbox.rs`):
//! HMAC-SHA-256 and FF1 under the run's masking key. The key lives only here, in host memory: components send values and
//! receive digests or ciphertexts, so no guest can read or leak it.
//!
//! Two subkeys are derived from the secret with HMAC (one per primitive), so
//! an HMAC output never doubles as FF1 key material.

use aes::Aes256;
use fpe::ff1::{FF1, FlexibleNumeralString};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Instant;

type HmacSha256 = Hmac<Sha256>;

/// The masking secret, as derived subkeys. `Debug` never shows it.
#[derive(Clone)]
pub struct MaskKey {
    hmac: [u8; 32],
    ff1: [u8; 32],
}

impl std::fmt::Debug for MaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MaskKey(***)")
    }
}

impl MaskKey {
    /// Derives the subkeys from the secret text (at least 16 bytes).
    pub fn from_secret(secret: &[u8]) -> anyhow::Result<Self> {
        if secret.len() < 16 {
            anyhow::bail!("the masking key is shorter than 16 bytes");
        }
        Ok(MaskKey { hmac: derive(secret, b"sluice keyed hmac v1"), ff1: derive(secret, b"sluice keyed ff1 v1") })
    }

    /// A keyed digest that tells two keys apart without revealing either
    /// (16 hex digits of an HMAC under a subkey of its own), so a resumed
    /// dump can refuse a different key.
    pub fn fingerprint(&self) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.hmac).expect("HMAC takes any key length");
        mac.update(b"sluice key fingerprint v1");
        hex::encode(&mac.finalize().into_bytes()[..8])
    }

    /// HMAC-SHA-256 of `domain ‖ 0x00 ‖ item` for each item. Fails,
    /// before allocating, over [`MAX_ITEMS`] items or [`MAX_HMAC_BYTES`]
    /// bytes, and stops once `deadline` (the call's CPU deadline) passes.
    pub fn hmac(&self, domain: &str, data: &[u8], offsets: &[u32], deadline: Instant) -> Result<Vec<u8>, String> {
        let count = items(data.len(), offsets)?;
        if data.len() > MAX_HMAC_BYTES {
            return Err(format!(
                "{} bytes in one call, over the limit of {MAX_HMAC_BYTES} bytes per call (split the column)",
                data.len()
            ));
        }
        let mut base = HmacSha256::new_from_slice(&self.hmac).map_err(|e| e.to_string())?;
        base.update(domain.as_bytes());
        base.update(&[0]);
        let mut out = Vec::with_capacity(count * 32);
        for (i, w) in offsets.windows(2).enumerate() {
            in_time(deadline, i, count)?;
            let mut mac = base.clone();
            mac.update(&data[w[0] as usize..w[1] as usize]);
            out.extend_from_slice(&mac.finalize().into_bytes());
        }
        Ok(out)
    }

    /// FF1 (AES-256) of each numeral string, tweak = `domain`. Fails, before
    /// allocating, over [`MAX_ITEMS`] items, [`MAX_FF1_NUMERALS`] numerals or
    /// an item over [`MAX_FF1_ITEM`] numerals, and stops once `deadline`
    /// passes.
    pub fn ff1_encrypt(
        &self,
        domain: &str,
        radix: u32,
        numerals: &[u16],
        offsets: &[u32],
        deadline: Instant,
    ) -> Result<Vec<u16>, String> {
        let count = items(numerals.len(), offsets)?;
        if numerals.len() > MAX_FF1_NUMERALS {
            return Err(format!(
                "{} numerals in one call, over the limit of {MAX_FF1_NUMERALS} per call (split the column)",
                numerals.len()
            ));
        }
        if let Some((i, w)) = offsets.windows(2).enumerate().find(|(_, w)| (w[1] - w[0]) as usize > MAX_FF1_ITEM) {
            return Err(format!("item {i} has {} numerals, over FF1's limit of {MAX_FF1_ITEM} per item", w[1] - w[0]));
        }
        let ff1 = FF1::<Aes256>::new(&self.ff1, radix).map_err(|e| format!("ff1: {e}"))?;
        let mut out = Vec::with_capacity(numerals.len());
        for (i, w) in offsets.windows(2).enumerate() {
            in_time(deadline, i, count)?;
            let (start, end) = (w[0] as usize, w[1] as usize);
            let input = FlexibleNumeralString::from(numerals[start..end].to_vec());
            let encrypted =
                ff1.encrypt(domain.as_bytes(), &input).map_err(|e| format!("ff1 item {i} of {}: {e}", end - start))?;
            out.extend(Vec::<u16>::from(encrypted));
        }
        Ok(out)
    }
}

/// Items one `keyed` call takes at most (a batch holds at most 4,096 rows).
pub const MAX_ITEMS: usize = 65_536;
/// Bytes one `hmac` call takes at most (about 0.2 s of HMAC-SHA-256 here).
pub const MAX_HMAC_BYTES: usize = 64 << 20;
/// Numerals one `ff1-encrypt` call takes at most.
pub const MAX_FF1_NUMERALS: usize = 1 << 20;
/// Numerals of one FF1 item at most. FF1's cost grows with the square of
/// the length (measured: 30 µs for 128 numerals, 80 µs for 256, 0.8 ms for
/// 1,024, 13 ms for 4,096); NIST SP 800-38G allows far longer strings, but
/// what masking encrypts (identifiers, account and phone numbers) is short.
/// A full call of 256-numeral items costs about 0.3 s.
pub const MAX_FF1_ITEM: usize = 256;

/// Fails once the call's CPU deadline has passed: time spent in the host
/// counts against `--cpu-limit` as the guest's own does.
/// The clock is read every 64 items (at most about 5 ms of FF1 apart), so
/// the check costs nothing measurable on the normal path.
fn in_time(deadline: Instant, done: usize, count: usize) -> Result<(), String> {
    if done.is_multiple_of(64) && Instant::now() > deadline {
        return Err(format!(
            "CPU time limit per call exceeded (--cpu-limit) inside the keyed import, after {done} of {count} items"
        ));
    }
    Ok(())
}

fn derive(secret: &[u8], label: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// Checks `offsets` against a buffer of `len` items (at most
/// [`MAX_ITEMS`] of them); returns how many items there are.
fn items(len: usize, offsets: &[u32]) -> Result<usize, String> {
    let count = offsets.len().saturating_sub(1);
    if count > MAX_ITEMS {
        return Err(format!("{count} items in one call, over the limit of {MAX_ITEMS} items per call"));
    }
    if offsets.first().is_some_and(|&o| o != 0) || offsets.last().map_or(len != 0, |&o| o as usize != len) {
        return Err(format!("offsets do not span the {len} items given"));
    }
    if offsets.windows(2).any(|w| w[0] > w[1]) {
        return Err("offsets are not ascending".into());
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &str) -> MaskKey {
        MaskKey::from_secret(secret.as_bytes()).expect("key")
    }

    fn later() -> Instant {
        Instant::now() + std::time::Duration::from_secs(60)
    }

    #[test]
    fn calls_over_a_limit_fail_naming_it_and_a_passed_deadline_stops_the_loop() {
        let k = key("0123456789abcdef-one");
        let many: Vec<u32> = (0..=MAX_ITEMS as u32 + 1).collect();
        let data = vec![0u8; many.len() - 1];
        let error = k.hmac("d", &data, &many, later()).expect_err("too many items");
        assert!(error.contains("over the limit of 65536 items per call"), "{error}");
        let long = vec![1u16; MAX_FF1_ITEM + 1];
        let error = k.ff1_encrypt("d", 10, &long, &[0, long.len() as u32], later()).expect_err("too long");
        assert!(error.contains("item 0 has 257 numerals, over FF1's limit of 256 per item"), "{error}");
        let ok = vec![1u16; MAX_FF1_ITEM];
        k.ff1_encrypt("d", 10, &ok, &[0, ok.len() as u32], later()).expect("256 numerals");
        let error = k.hmac("d", b"ab", &[0, 1, 2], Instant::now() - std::time::Duration::from_millis(1));
        assert!(error.expect_err("deadline").contains("CPU time limit per call exceeded"));
    }

    #[test]
    fn hmac_depends_on_key_domain_and_item() {
        let a = key("0123456789abcdef-one");
        let b = key("0123456789abcdef-two");
        let one = a.hmac("email", b"x@y.z", &[0, 5], later()).expect("hmac");
        assert_eq!(one.len(), 32);
        assert_eq!(one, a.hmac("email", b"x@y.z", &[0, 5], later()).expect("hmac"));
        assert_ne!(one, b.hmac("email", b"x@y.z", &[0, 5], later()).expect("hmac"));
        assert_ne!(one, a.hmac("name", b"x@y.z", &[0, 5], later()).expect("hmac"));
        let two = a.hmac("email", b"x@y.zx@y.z", &[0, 5, 10], later()).expect("hmac");
        assert_eq!(&two[..32], &one[..]);
        assert_eq!(&two[32..], &one[..]);
        assert!(a.hmac("email", b"abc", &[0, 4], later()).is_err());
    }

    #[test]
    fn ff1_is_a_keyed_bijection_on_six_digit_strings() {
        let k = key("0123456789abcdef-one");
        let inputs: Vec<u16> = (0..2000u32)
            .flat_map(|n| format!("{n:06}").bytes().map(|b| u16::from(b - b'0')).collect::<Vec<_>>())
            .collect();
        let offsets: Vec<u32> = (0..=2000u32).map(|i| i * 6).collect();
        let out = k.ff1_encrypt("ff1:t.id", 10, &inputs, &offsets, later()).expect("ff1");
        let mut seen: Vec<&[u16]> = out.chunks(6).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 2000, "outputs collide");
        assert_ne!(out, inputs);
        assert_ne!(
            out,
            key("0123456789abcdef-two").ff1_encrypt("ff1:t.id", 10, &inputs, &offsets, later()).expect("ff1")
        );
        assert!(k.ff1_encrypt("d", 10, &[1, 2, 3], &[0, 3], later()).is_err(), "10^3 is below NIST's minimum domain");
    }

    #[test]
    fn the_key_never_prints() {
        assert_eq!(format!("{:?}", key("0123456789abcdef-secret")), "MaskKey(***)");
    }
}
