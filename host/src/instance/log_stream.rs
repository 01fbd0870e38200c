//! The CloudWatch names of an instance: Lambda's log stream name, built on
//! every instantiation, and the clock helpers it needs.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Lambda's log stream name: `YYYY/MM/DD/[version]` plus a random id.
///
/// Built on every instantiation, so it is assembled piece by piece: the
/// `format!` machinery (padding, `Display` for the id) would be a twentieth of
/// `instantiate`.
pub(super) fn log_stream_name(version: &str) -> Arc<str> {
    let (y, m, d) = civil_date(unix_ms(SystemTime::now()) / 86_400_000);
    let mut id = uuid::Uuid::encode_buffer();
    let id = uuid::Uuid::new_v4().simple().encode_lower(&mut id);
    let mut name = String::with_capacity(13 + version.len() + id.len());
    push_digits(&mut name, y, 4);
    name.push('/');
    push_digits(&mut name, m, 2);
    name.push('/');
    push_digits(&mut name, d, 2);
    name.push_str("/[");
    name.push_str(version);
    name.push(']');
    name.push_str(id);
    name.into()
}

/// Appends the last `width` decimal digits of `n`, zero-padded.
fn push_digits(out: &mut String, n: u64, width: u32) {
    for place in (0..width).rev() {
        let digit = (n / 10u64.pow(place) % 10) as u8;
        out.push(char::from(b'0' + digit));
    }
}

/// The proleptic Gregorian date of a day number since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`), without formatting a whole timestamp.
fn civil_date(days: u64) -> (u64, u64, u64) {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as u64, m as u64, d as u64)
}

/// Milliseconds since the Unix epoch (0 before it).
#[inline]
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::{civil_date, log_stream_name, push_digits};

    #[test]
    fn civil_date_matches_the_calendar() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(20_782), (2026, 11, 25));
    }

    #[test]
    fn digits_are_zero_padded() {
        let mut out = String::new();
        push_digits(&mut out, 7, 2);
        push_digits(&mut out, 2026, 4);
        push_digits(&mut out, 31, 2);
        assert_eq!(out, "07202631");
    }

    #[test]
    fn log_stream_names_have_lambdas_shape() {
        let name = log_stream_name("$LATEST");
        let (date, id) = name.split_once("/[$LATEST]").unwrap();
        let parts: Vec<&str> = date.split('/').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [4, 2, 2]);
        assert!(parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())));
        assert_eq!(id.len(), 32);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(
            name,
            log_stream_name("$LATEST"),
            "each instance has its own id"
        );
    }
}
