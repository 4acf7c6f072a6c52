//! Keyed primitives computed by the host: the `sluice:pipeline/keyed` import
//! of the `row-transform` world, wrapped for convenience.
//!
//! The masking key stays in the host. A component hands the host a whole
//! column of items per call (never one call per value) and gets back HMAC
//! digests or FF1 ciphertexts. `domain` separates uses: the same item under
//! two domains gives unrelated outputs, and two columns that must map equal
//! values to equal outputs (a key and the foreign keys that reference it)
//! share one domain.
//!
//! What a component may rely on:
//! - [`hmac()`] is HMAC-SHA-256 under the run's key of the domain and the item:
//!   deterministic, and unrelated for another key or domain.
//! - [`ff1_encrypt`] is deterministic and a bijection on numeral strings of
//!   one `(domain, radix, length)`; the output has the input's length. Every
//!   item needs at least 2 numerals and `radix ^ length >= 1_000_000`.
//!
//! Host errors (no masking key, bad arguments) come back as
//! [`StageError::Failed`] carrying the host's message.
//!
//! **Native builds** (`cfg(not(target_arch = "wasm32"))`, i.e. unit tests)
//! have no host. There both functions run a deterministic stand-in with a
//! fixed, public test key: HMAC-SHA-256 framed like the host's, and a
//! 10-round Feistel permutation instead of FF1. It has the properties above
//! and nothing more; it is for tests only and never protects data.

use crate::StageError;

/// Length of one HMAC-SHA-256 digest.
pub const DIGEST_LEN: usize = 32;

/// Smallest `radix ^ length` FF1 accepts (NIST SP 800-38G rev. 1).
pub const FF1_MIN_DOMAIN: u64 = 1_000_000;

/// Items the host takes in one call at most.
pub const MAX_ITEMS: usize = 65_536;
/// Bytes one `hmac` host call takes at most (and so one item's most).
pub const MAX_HMAC_BYTES: usize = 64 << 20;
/// Numerals one `ff1-encrypt` host call takes at most.
pub const MAX_FF1_NUMERALS: usize = 1 << 20;
/// Numerals of one FF1 item at most (FF1's cost grows with the square of
/// the length; identifiers are short).
pub const MAX_FF1_ITEM: usize = 256;

/// HMAC-SHA-256 under the run's masking key of `domain` and each item, in
/// as few host calls as the host's limits allow (one for a batch). Returns
/// one digest per item, in order. An item over [`MAX_HMAC_BYTES`] fails.
pub fn hmac<'a>(domain: &str, items: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<[u8; DIGEST_LEN]>, StageError> {
    let mut digests = Vec::new();
    let mut data = Vec::new();
    let mut offsets = vec![0u32];
    for item in items {
        if item.len() > MAX_HMAC_BYTES {
            return Err(StageError::failed(format!(
                "keyed hmac (domain `{domain}`): a value of {} bytes is over the limit of {MAX_HMAC_BYTES} bytes",
                item.len()
            )));
        }
        if offsets.len() > MAX_ITEMS || data.len() + item.len() > MAX_HMAC_BYTES {
            hmac_call(domain, &data, &offsets, &mut digests)?;
            data.clear();
            offsets.truncate(1);
        }
        data.extend_from_slice(item);
        offsets.push(offset(data.len())?);
    }
    hmac_call(domain, &data, &offsets, &mut digests)?;
    Ok(digests)
}

/// One `hmac` host call, its digests appended to `out`.
fn hmac_call(domain: &str, data: &[u8], offsets: &[u32], out: &mut Vec<[u8; DIGEST_LEN]>) -> Result<(), StageError> {
    let count = offsets.len() - 1;
    if count == 0 {
        return Ok(());
    }
    let flat = imp::hmac(domain, data, offsets).map_err(|e| host_error("hmac", domain, e))?;
    if flat.len() != count * DIGEST_LEN {
        return Err(StageError::failed(format!(
            "keyed hmac returned {} bytes for {count} items, expected {}",
            flat.len(),
            count * DIGEST_LEN
        )));
    }
    out.extend(flat.chunks_exact(DIGEST_LEN).map(|c| {
        let mut digest = [0u8; DIGEST_LEN];
        digest.copy_from_slice(c);
        digest
    }));
    Ok(())
}

/// FF1 encryption (tweak = `domain`) of each numeral string, each numeral
/// `< radix`, in as few host calls as the host's limits allow. Returns one
/// string per item, each as long as its input. An item over
/// [`MAX_FF1_ITEM`] numerals fails, naming the domain (the column).
pub fn ff1_encrypt(domain: &str, radix: u32, items: &[Vec<u16>]) -> Result<Vec<Vec<u16>>, StageError> {
    if let Some(long) = items.iter().find(|i| i.len() > MAX_FF1_ITEM) {
        return Err(StageError::failed(format!(
            "keyed ff1 (domain `{domain}`): a value of {} numerals is over FF1's limit of {MAX_FF1_ITEM}",
            long.len()
        )));
    }
    let mut out = Vec::with_capacity(items.len());
    let mut rest = items;
    while !rest.is_empty() {
        let (mut n, mut numerals) = (0, 0);
        while n < rest.len() && n < MAX_ITEMS && numerals + rest[n].len() <= MAX_FF1_NUMERALS {
            numerals += rest[n].len();
            n += 1;
        }
        let (group, tail) = rest.split_at(n);
        ff1_call(domain, radix, group, &mut out)?;
        rest = tail;
    }
    Ok(out)
}

/// One `ff1-encrypt` host call, its strings appended to `out`.
fn ff1_call(domain: &str, radix: u32, items: &[Vec<u16>], out: &mut Vec<Vec<u16>>) -> Result<(), StageError> {
    let mut numerals = Vec::with_capacity(items.iter().map(Vec::len).sum());
    let mut offsets = Vec::with_capacity(items.len() + 1);
    offsets.push(0u32);
    for item in items {
        numerals.extend_from_slice(item);
        offsets.push(offset(numerals.len())?);
    }
    let flat = imp::ff1_encrypt(domain, radix, &numerals, &offsets).map_err(|e| host_error("ff1", domain, e))?;
    if flat.len() != numerals.len() {
        return Err(StageError::failed(format!(
            "keyed ff1 returned {} numerals for {} given",
            flat.len(),
            numerals.len()
        )));
    }
    let mut rest = flat.as_slice();
    for item in items {
        let (head, tail) = rest.split_at(item.len());
        out.push(head.to_vec());
        rest = tail;
    }
    Ok(())
}

fn offset(len: usize) -> Result<u32, StageError> {
    u32::try_from(len).map_err(|_| StageError::failed("keyed call over 4 GiB"))
}

fn host_error(call: &str, domain: &str, message: String) -> StageError {
    StageError::failed(format!("keyed {call} (domain `{domain}`): {message}"))
}

#[cfg(target_arch = "wasm32")]
mod imp {
    pub use crate::bindings::row_transform::sluice::pipeline::keyed::{ff1_encrypt, hmac};
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    //! Test-only stand-in for the host (see the module docs). The key is
    //! public: nothing computed here protects anything.

    use super::FF1_MIN_DOMAIN;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    type HmacSha256 = Hmac<Sha256>;

    const TEST_KEY: &[u8] = b"sluice-sdk native stand-in key, public, tests only";
    const ROUNDS: u8 = 10;

    fn mac() -> HmacSha256 {
        HmacSha256::new_from_slice(TEST_KEY).expect("HMAC takes any key length")
    }

    fn ranges(len: usize, offsets: &[u32]) -> Result<Vec<(usize, usize)>, String> {
        if offsets.first() != Some(&0) || offsets.last().map(|&o| o as usize) != Some(len) {
            return Err(format!("offsets do not span the {len} items given"));
        }
        offsets
            .windows(2)
            .map(|w| {
                if w[0] <= w[1] { Ok((w[0] as usize, w[1] as usize)) } else { Err("offsets are not ascending".into()) }
            })
            .collect()
    }

    /// Same framing as the host: HMAC(key, domain ‖ 0x00 ‖ item).
    pub fn hmac(domain: &str, data: &[u8], offsets: &[u32]) -> Result<Vec<u8>, String> {
        let mut base = mac();
        base.update(domain.as_bytes());
        base.update(&[0]);
        let mut out = Vec::new();
        for (start, end) in ranges(data.len(), offsets)? {
            let mut m = base.clone();
            m.update(&data[start..end]);
            out.extend_from_slice(&m.finalize().into_bytes());
        }
        Ok(out)
    }

    /// A balanced Feistel network over the numerals (FF1's shape with an
    /// HMAC round function): halves `A` (`u` numerals) and `B` (`v`), and
    /// each round `A, B = B, (A + F(B)) mod radix^m` computed numeral-wise
    /// with carries, which is invertible, so the whole is a bijection.
    pub fn ff1_encrypt(domain: &str, radix: u32, numerals: &[u16], offsets: &[u32]) -> Result<Vec<u16>, String> {
        if !(2..=65536).contains(&radix) {
            return Err(format!("radix {radix} is outside 2..=65536"));
        }
        let mut out = Vec::with_capacity(numerals.len());
        for (i, (start, end)) in ranges(numerals.len(), offsets)?.into_iter().enumerate() {
            let item = &numerals[start..end];
            let n = item.len();
            let domain_size = (0..n).try_fold(1u64, |acc, _| acc.checked_mul(u64::from(radix)));
            if n < 2 || domain_size.is_some_and(|d| d < FF1_MIN_DOMAIN) {
                return Err(format!("ff1 item {i} of {n}: radix^length is below 1000000 or length below 2"));
            }
            if let Some(bad) = item.iter().find(|&&x| u32::from(x) >= radix) {
                return Err(format!("ff1 item {i}: numeral {bad} is not below radix {radix}"));
            }
            let u = n / 2;
            let mut a = item[..u].to_vec();
            let mut b = item[u..].to_vec();
            for round in 0..ROUNDS {
                let f = round_function(domain, radix, n, round, &b, a.len());
                // Numerals are most significant first; add from the right.
                let mut carry = 0u32;
                for j in (0..a.len()).rev() {
                    let sum = u32::from(a[j]) + u32::from(f[j]) + carry;
                    a[j] = (sum % radix) as u16;
                    carry = sum / radix;
                }
                std::mem::swap(&mut a, &mut b);
            }
            // After an even number of rounds the halves are back in place.
            out.extend_from_slice(&a);
            out.extend_from_slice(&b);
        }
        Ok(out)
    }

    /// `m` numerals `< radix` derived from the round, the tweak and `b`.
    fn round_function(domain: &str, radix: u32, n: usize, round: u8, b: &[u16], m: usize) -> Vec<u16> {
        let mut base = mac();
        base.update(b"feistel\0");
        base.update(domain.as_bytes());
        base.update(&[0]);
        base.update(&radix.to_be_bytes());
        base.update(&(n as u64).to_be_bytes());
        base.update(&[round]);
        for x in b {
            base.update(&x.to_be_bytes());
        }
        let mut f = Vec::with_capacity(m);
        let mut block = 0u32;
        while f.len() < m {
            let mut h = base.clone();
            h.update(&block.to_be_bytes());
            let bytes = h.finalize().into_bytes();
            for pair in bytes.chunks_exact(4) {
                let word = u32::from_be_bytes([pair[0], pair[1], pair[2], pair[3]]);
                if f.len() < m {
                    f.push((word % radix) as u16);
                }
            }
            block += 1;
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_is_deterministic_per_domain_and_item() {
        let one = hmac("d1", [&b"a"[..], b"b", b"a"]).expect("hmac");
        assert_eq!(one.len(), 3);
        assert_eq!(one[0], one[2]);
        assert_ne!(one[0], one[1]);
        let other = hmac("d2", [&b"a"[..]]).expect("hmac");
        assert_ne!(one[0], other[0]);
        assert!(hmac("d1", std::iter::empty()).expect("hmac").is_empty());
    }

    #[test]
    fn columns_over_the_hosts_limits_split_into_calls_that_give_the_same_outputs() {
        let values: Vec<Vec<u8>> = (0..MAX_ITEMS as u32 + 7).map(|n| n.to_be_bytes().to_vec()).collect();
        let all = hmac("d", values.iter().map(Vec::as_slice)).expect("hmac");
        assert_eq!(all.len(), values.len());
        let tail = hmac("d", values[MAX_ITEMS..].iter().map(Vec::as_slice)).expect("hmac");
        assert_eq!(&all[MAX_ITEMS..], &tail[..]);
        let items: Vec<Vec<u16>> = (0..MAX_FF1_NUMERALS / 200 + 3).map(|n| vec![(n % 10) as u16; 200]).collect();
        let out = ff1_encrypt("t", 10, &items).expect("ff1");
        assert_eq!(out.len(), items.len());
        assert_eq!(out.last(), ff1_encrypt("t", 10, &items[items.len() - 1..]).expect("ff1").first());
        let error = ff1_encrypt("ff1:public.t.id", 10, &[vec![1; MAX_FF1_ITEM + 1]]).expect_err("too long");
        assert!(error.to_string().contains("`ff1:public.t.id`"), "{error}");
        assert!(error.to_string().contains("257 numerals is over FF1's limit of 256"), "{error}");
    }

    #[test]
    fn ff1_stand_in_is_a_bijection_that_keeps_lengths() {
        let items: Vec<Vec<u16>> =
            (0..3000u32).map(|n| format!("{n:06}").bytes().map(|b| u16::from(b - b'0')).collect()).collect();
        let out = ff1_encrypt("t", 10, &items).expect("ff1");
        assert!(out.iter().all(|o| o.len() == 6 && o.iter().all(|&d| d < 10)));
        let mut sorted = out.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), items.len(), "outputs collide");
        assert_ne!(out, items);
        assert_eq!(out, ff1_encrypt("t", 10, &items).expect("ff1"));
        assert_ne!(out, ff1_encrypt("u", 10, &items).expect("ff1"));
    }

    #[test]
    fn ff1_stand_in_enforces_the_hosts_preconditions() {
        assert!(matches!(ff1_encrypt("t", 10, &[vec![1, 2, 3]]), Err(StageError::Failed(_))));
        assert!(ff1_encrypt("t", 10, &[vec![1, 2, 3, 4, 5, 10]]).is_err());
        assert!(ff1_encrypt("t", 1000, &[vec![1, 999]]).is_ok());
        assert!(ff1_encrypt("t", 10, &[]).expect("empty").is_empty());
    }
}
