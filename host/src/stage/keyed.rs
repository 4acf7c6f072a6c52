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

    /// HMAC-SHA-256 of `domain ‖ 0x00 ‖ item` for each item.
    pub fn hmac(&self, domain: &str, data: &[u8], offsets: &[u32]) -> Result<Vec<u8>, String> {
        let items = items(data.len(), offsets)?;
        let mut base = HmacSha256::new_from_slice(&self.hmac).map_err(|e| e.to_string())?;
        base.update(domain.as_bytes());
        base.update(&[0]);
        let mut out = Vec::with_capacity(items.len() * 32);
        for (start, end) in items {
            let mut mac = base.clone();
            mac.update(&data[start..end]);
            out.extend_from_slice(&mac.finalize().into_bytes());
        }
        Ok(out)
    }

    /// FF1 (AES-256) of each numeral string, tweak = `domain`.
    pub fn ff1_encrypt(&self, domain: &str, radix: u32, numerals: &[u16], offsets: &[u32]) -> Result<Vec<u16>, String> {
        let items = items(numerals.len(), offsets)?;
        let ff1 = FF1::<Aes256>::new(&self.ff1, radix).map_err(|e| format!("ff1: {e}"))?;
        let mut out = Vec::with_capacity(numerals.len());
        for (i, (start, end)) in items.into_iter().enumerate() {
            let input = FlexibleNumeralString::from(numerals[start..end].to_vec());
            let encrypted =
                ff1.encrypt(domain.as_bytes(), &input).map_err(|e| format!("ff1 item {i} of {}: {e}", end - start))?;
            out.extend(Vec::<u16>::from(encrypted));
        }
        Ok(out)
    }
}

fn derive(secret: &[u8], label: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// Checks `offsets` against a buffer of `len` items; returns the ranges.
fn items(len: usize, offsets: &[u32]) -> Result<Vec<(usize, usize)>, String> {
    if offsets.first().is_some_and(|&o| o != 0) || offsets.last().map_or(len != 0, |&o| o as usize != len) {
        return Err(format!("offsets do not span the {len} items given"));
    }
    offsets
        .windows(2)
        .map(
            |w| if w[0] <= w[1] { Ok((w[0] as usize, w[1] as usize)) } else { Err("offsets are not ascending".into()) },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &str) -> MaskKey {
        MaskKey::from_secret(secret.as_bytes()).expect("key")
    }

    #[test]
    fn hmac_depends_on_key_domain_and_item() {
        let a = key("0123456789abcdef-one");
        let b = key("0123456789abcdef-two");
        let one = a.hmac("email", b"x@y.z", &[0, 5]).expect("hmac");
        assert_eq!(one.len(), 32);
        assert_eq!(one, a.hmac("email", b"x@y.z", &[0, 5]).expect("hmac"));
        assert_ne!(one, b.hmac("email", b"x@y.z", &[0, 5]).expect("hmac"));
        assert_ne!(one, a.hmac("name", b"x@y.z", &[0, 5]).expect("hmac"));
        let two = a.hmac("email", b"x@y.zx@y.z", &[0, 5, 10]).expect("hmac");
        assert_eq!(&two[..32], &one[..]);
        assert_eq!(&two[32..], &one[..]);
        assert!(a.hmac("email", b"abc", &[0, 4]).is_err());
    }

    #[test]
    fn ff1_is_a_keyed_bijection_on_six_digit_strings() {
        let k = key("0123456789abcdef-one");
        let inputs: Vec<u16> = (0..2000u32)
            .flat_map(|n| format!("{n:06}").bytes().map(|b| u16::from(b - b'0')).collect::<Vec<_>>())
            .collect();
        let offsets: Vec<u32> = (0..=2000u32).map(|i| i * 6).collect();
        let out = k.ff1_encrypt("ff1:t.id", 10, &inputs, &offsets).expect("ff1");
        let mut seen: Vec<&[u16]> = out.chunks(6).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 2000, "outputs collide");
        assert_ne!(out, inputs);
        assert_ne!(out, key("0123456789abcdef-two").ff1_encrypt("ff1:t.id", 10, &inputs, &offsets).expect("ff1"));
        assert!(k.ff1_encrypt("d", 10, &[1, 2, 3], &[0, 3]).is_err(), "10^3 is below NIST's minimum domain");
    }

    #[test]
    fn the_key_never_prints() {
        assert_eq!(format!("{:?}", key("0123456789abcdef-secret")), "MaskKey(***)");
    }
}
