//! The `noise` rule: moves numbers, dates and timestamps by a keyed amount
//! within a bound. The amount comes from HMAC(domain, row key ‖ 0x1e ‖
//! value), so a repeated dump is stable, yet two rows holding the same value
//! move differently and averaging many rows does not recover the original.
//!
//! Values keep their text form: integers stay integers, decimals keep their
//! scale, dates and timestamps keep PostgreSQL's ISO layout
//! (`YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS[.ffffff][+TZ]`; a `T` separator, as
//! in json, is kept too). The calendar arithmetic is written out here
//! (Howard Hinnant's days-from-civil) rather than pulled from chrono or
//! time: it is thirty lines, and the guest stays small.

use sluice_sdk::{ColumnKind, StageError, keyed};

use crate::apply::{Out, Target, text};
use crate::rule::Bound;

/// A decimal number: `units / 10^scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decimal {
    pub units: i128,
    pub scale: u32,
}

/// More fraction digits than any PostgreSQL numeric we can hold in i128.
const MAX_SCALE: u32 = 38;

impl Decimal {
    /// Parses `-12.50`, `3`, `1e3`, `2.5E-2`; `None` for anything else or
    /// a number too long for 38 digits.
    pub fn parse(s: &str) -> Option<Decimal> {
        let (mantissa, exp) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
            None => (s, 0),
        };
        let (neg, digits) = match mantissa.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() && frac.is_empty() || !(int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())) {
            return None;
        }
        let mut units: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            units = units.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        }
        let mut scale = i64::try_from(frac.len()).ok()? - i64::from(exp);
        while scale < 0 {
            units = units.checked_mul(10)?;
            scale += 1;
        }
        let scale = u32::try_from(scale).ok().filter(|&s| s <= MAX_SCALE)?;
        Some(Decimal { units: if neg { -units } else { units }, scale })
    }

    /// The value in units of `10^-scale`, truncated toward zero.
    pub fn at_scale(&self, scale: u32) -> i128 {
        if scale >= self.scale {
            10i128.checked_pow(scale - self.scale).and_then(|f| self.units.checked_mul(f)).unwrap_or(i128::MAX)
        } else {
            self.units / 10i128.pow(self.scale - scale)
        }
    }

    /// The whole part, truncated toward zero.
    pub fn floor(&self) -> i128 {
        self.at_scale(0)
    }

    pub fn to_f64(self) -> f64 {
        self.units as f64 / 10f64.powi(self.scale as i32)
    }

    /// `units / 10^scale` written with exactly `scale` fraction digits.
    pub fn format(units: i128, scale: u32) -> String {
        let digits = units.unsigned_abs().to_string();
        let sign = if units < 0 { "-" } else { "" };
        if scale == 0 {
            return format!("{sign}{digits}");
        }
        let scale = scale as usize;
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        format!("{sign}{int}.{frac}")
    }
}

/// Bound on any shift, so `2 * bound + 1` always fits.
const MAX_SHIFT: i128 = 1 << 100;

/// A keyed, uniform integer in `[-bound, bound]`.
fn uniform(digest: &[u8; 32], bound: i128) -> i128 {
    let bound = bound.clamp(0, MAX_SHIFT);
    let mut r = [0u8; 16];
    r.copy_from_slice(&digest[..16]);
    let span = (2 * bound + 1) as u128;
    (u128::from_be_bytes(r) % span) as i128 - bound
}

/// A keyed, uniform float in `[0, 1)`.
fn unit(digest: &[u8; 32]) -> f64 {
    let mut r = [0u8; 8];
    r.copy_from_slice(&digest[16..24]);
    (u64::from_be_bytes(r) >> 11) as f64 / (1u64 << 53) as f64
}

/// Applies `noise` to the non-NULL `items`; `seeds[i]` is item `i`'s row
/// key (empty when there is none).
pub fn apply(bound: &Bound, t: &Target<'_>, items: &[&[u8]], seeds: &[&[u8]]) -> Result<Out, StageError> {
    let material: Vec<Vec<u8>> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let seed = seeds.get(i).copied().unwrap_or_default();
            let mut m = Vec::with_capacity(seed.len() + 1 + item.len());
            m.extend_from_slice(seed);
            m.push(0x1e);
            m.extend_from_slice(item);
            m
        })
        .collect();
    let digests = keyed::hmac(t.domain, material.iter().map(Vec::as_slice))?;
    items
        .iter()
        .zip(&digests)
        .map(|(item, digest)| {
            let value = text(t, item)?;
            let shifted = shift(bound, t, value, digest)?;
            Ok(Some(shifted.into_bytes()))
        })
        .collect()
}

fn shift(bound: &Bound, t: &Target<'_>, value: &str, digest: &[u8; 32]) -> Result<String, StageError> {
    use ColumnKind as K;
    let unusable = |what: &str| {
        StageError::invalid_input(format!("{}: cannot add noise to {}: {what}", t.label, crate::apply::quote(value)))
    };
    match (bound, t.kind) {
        (Bound::Number(b), K::Integer) => {
            let v: i128 = value.trim().parse().map_err(|_| unusable("not an integer"))?;
            let (lo, hi) = t.limits.int_range.unwrap_or((i128::MIN / 2, i128::MAX / 2));
            let moved = v.saturating_add(uniform(digest, b.floor()));
            Ok(moved.clamp(lo, hi).to_string())
        }
        (Bound::Number(b), K::Decimal) => {
            if is_special(value) {
                return Ok(value.to_owned());
            }
            let v = Decimal::parse(value.trim()).ok_or_else(|| unusable("not a decimal of at most 38 digits"))?;
            let mut moved = v.units.saturating_add(uniform(digest, b.at_scale(v.scale)));
            // numeric(p, s) holds |x| < 10^(p - s), i.e. |units| < 10^p.
            if let Some((p, s)) = t.limits.numeric
                && s == v.scale
                && let Some(max) = 10i128.checked_pow(p)
            {
                moved = moved.clamp(-(max - 1), max - 1);
            }
            Ok(Decimal::format(moved, v.scale))
        }
        (Bound::Number(b), K::Float) => {
            if is_special(value) {
                return Ok(value.to_owned());
            }
            let v: f64 = value.trim().parse().map_err(|_| unusable("not a number"))?;
            let moved = v + (2.0 * unit(digest) - 1.0) * b.to_f64();
            Ok(format!("{moved}"))
        }
        (Bound::Number(_), _) => Err(unusable("a numeric noise bound needs a number")),
        (Bound::Days(n), K::Date | K::Timestamp | K::TimestampTz | K::Text) => {
            if is_special(value) {
                return Ok(value.to_owned());
            }
            let stamp = Stamp::parse(value).ok_or_else(|| unusable("not an ISO date or timestamp"))?;
            Ok(stamp.shifted(i64::try_from(uniform(digest, i128::from(*n))).unwrap_or(0) * 86_400))
        }
        (Bound::Seconds(n), K::Date | K::Timestamp | K::TimestampTz | K::Text) => {
            if is_special(value) {
                return Ok(value.to_owned());
            }
            let stamp = Stamp::parse(value).ok_or_else(|| unusable("not an ISO date or timestamp"))?;
            Ok(stamp.shifted(i64::try_from(uniform(digest, i128::from(*n))).unwrap_or(0)))
        }
        (Bound::Days(_) | Bound::Seconds(_), _) => Err(unusable("a duration noise bound needs a date or timestamp")),
    }
}

/// `NaN`, `Infinity`, `-Infinity`, `infinity`: left as they are.
fn is_special(value: &str) -> bool {
    let v = value.trim().trim_start_matches(['-', '+']);
    v.eq_ignore_ascii_case("nan") || v.eq_ignore_ascii_case("infinity") || v.eq_ignore_ascii_case("inf")
}

/// A date, or a date and a time of day, and whatever text follows the
/// seconds (fraction, time zone), kept verbatim.
#[derive(Debug, PartialEq, Eq)]
struct Stamp<'a> {
    days: i64,
    /// Separator and seconds of the day, for timestamps.
    time: Option<(char, i64)>,
    rest: &'a str,
}

/// 0001-01-01: earlier dates need PostgreSQL's ` BC` suffix; shifts stop here.
const FIRST_DAY: i64 = -719_162;

impl<'a> Stamp<'a> {
    fn parse(s: &'a str) -> Option<Stamp<'a>> {
        let (year, s) = s.split_once('-').filter(|(y, _)| y.len() >= 4)?;
        let year: i64 = digits(year)?;
        let month: u32 = digits(s.get(..2)?).filter(|m| (1..=12).contains(m))?;
        let day: u32 = digits(s.get(3..5)?).filter(|d| (1..=31).contains(d))?;
        if s.as_bytes().get(2) != Some(&b'-') {
            return None;
        }
        let days = days_from_civil(year, month, day);
        let s = &s[5..];
        if s.is_empty() {
            return Some(Stamp { days, time: None, rest: s });
        }
        let sep = s.chars().next().filter(|&c| c == ' ' || c == 'T')?;
        let t = s.get(1..9).filter(|t| t.is_ascii())?;
        let (h, m, sec): (i64, i64, i64) = (digits(&t[..2])?, digits(&t[3..5])?, digits(&t[6..8])?);
        if &t[2..3] != ":" || &t[5..6] != ":" || h > 24 || m > 59 || sec > 60 {
            return None;
        }
        let rest = &s[9..];
        // ` BC` dates count years backwards; shifting them is not worth it.
        if rest.contains("BC") {
            return None;
        }
        Some(Stamp { days, time: Some((sep, h * 3600 + m * 60 + sec)), rest })
    }

    /// The stamp moved by `seconds` (whole days for a plain date), in the
    /// same layout.
    fn shifted(&self, seconds: i64) -> String {
        let (days, time) = match self.time {
            None => (self.days + seconds.div_euclid(86_400), None),
            Some((sep, sod)) => {
                let total = sod + seconds;
                (self.days + total.div_euclid(86_400), Some((sep, total.rem_euclid(86_400))))
            }
        };
        let (days, time) = if days < FIRST_DAY { (FIRST_DAY, time.map(|(sep, _)| (sep, 0))) } else { (days, time) };
        let (y, m, d) = civil_from_days(days);
        let mut out = format!("{y:04}-{m:02}-{d:02}");
        if let Some((sep, sod)) = time {
            out.push_str(&format!("{sep}{:02}:{:02}:{:02}", sod / 3600, sod / 60 % 60, sod % 60));
        }
        out.push_str(self.rest);
        out
    }
}

fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let (m, d) = (i64::from(m), i64::from(d));
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_and_format_exactly() {
        assert_eq!(Decimal::parse("-12.50"), Some(Decimal { units: -1250, scale: 2 }));
        assert_eq!(Decimal::parse("3"), Some(Decimal { units: 3, scale: 0 }));
        assert_eq!(Decimal::parse("1e3"), Some(Decimal { units: 1000, scale: 0 }));
        assert_eq!(Decimal::parse("2.5E-2"), Some(Decimal { units: 25, scale: 3 }));
        assert_eq!(Decimal::parse(".5"), Some(Decimal { units: 5, scale: 1 }));
        for bad in ["", ".", "-", "1.2.3", "abc", "1e", "NaN"] {
            assert_eq!(Decimal::parse(bad), None, "{bad}");
        }
        assert_eq!(Decimal::format(-1250, 2), "-12.50");
        assert_eq!(Decimal::format(5, 3), "0.005");
        assert_eq!(Decimal::format(-5, 1), "-0.5");
        assert_eq!(Decimal::format(42, 0), "42");
        assert_eq!(Decimal { units: 2599, scale: 2 }.at_scale(1), 259);
        assert_eq!(Decimal { units: 3, scale: 0 }.at_scale(2), 300);
    }

    #[test]
    fn civil_days_round_trip_across_leap_years_and_eras() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1, 1, 1), FIRST_DAY);
        for z in (-800_000..3_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 28) + 1), (2024, 2, 29));
        assert_eq!(civil_from_days(days_from_civil(2023, 2, 28) + 1), (2023, 3, 1));
    }

    #[test]
    fn stamps_shift_and_keep_their_layout() {
        let d = Stamp::parse("2024-02-28").expect("date");
        assert_eq!(d.shifted(86_400), "2024-02-29");
        assert_eq!(d.shifted(-86_400 * 59), "2023-12-31");
        let ts = Stamp::parse("2024-12-31 23:59:30.123456+00").expect("timestamp");
        assert_eq!(ts.shifted(45), "2025-01-01 00:00:15.123456+00");
        assert_eq!(Stamp::parse("2006-02-15 09:34:33").expect("ts").shifted(-3600), "2006-02-15 08:34:33");
        assert_eq!(Stamp::parse("2020-01-01T00:00:00Z").expect("iso").shifted(-1), "2019-12-31T23:59:59Z");
        assert_eq!(Stamp::parse("0001-01-02").expect("date").shifted(-86_400 * 5), "0001-01-01");
        for bad in ["2024-13-01", "20-01-01", "2024-01-01x", "2024-01-01 10:00", "0044-03-15 BC", "x"] {
            assert_eq!(Stamp::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn uniform_stays_within_the_bound() {
        for i in 0..2000u32 {
            let mut d = [0u8; 32];
            d[..4].copy_from_slice(&i.wrapping_mul(2_654_435_761).to_be_bytes());
            d[12..16].copy_from_slice(&i.to_le_bytes());
            let x = uniform(&d, 7);
            assert!((-7..=7).contains(&x));
            assert!((0.0..1.0).contains(&unit(&d)));
        }
    }
}
