//! Timestamps: both logs write UTC as `YYYY-MM-DDTHH:MM:SS.mmmZ`; OCSF JSON has milliseconds
//! since the epoch. Everything here is milliseconds since the epoch, UTC.

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Parses `2026-05-06T17:02:00.000Z` (fraction optional, `Z` or `+00:00`); `None` otherwise.
pub fn parse_iso(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: core::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b' '))
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut ms = 0;
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        let f = frac.get(..digits)?;
        ms = f.get(..digits.min(3))?.parse::<i64>().ok()? * [100, 10, 1][digits.min(3) - 1];
        rest = frac.get(digits..)?;
    }
    if !matches!(rest, "Z" | "+00:00" | "") {
        return None;
    }
    Some(((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60_000 + sec * 1000 + ms)
}

/// Formats milliseconds since the epoch as `2026-05-06T17:02:00.000Z`.
pub fn format_iso(ms: i64) -> String {
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, f) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:03}Z")
}

/// The UTC date of a time, `YYYY-MM-DD`: the part of OpenShell's daily file names.
pub fn date_of(ms: i64) -> String {
    format_iso(ms).get(..10).unwrap_or_default().to_string()
}

/// `--since`: an ISO time, or a duration back from `now_ms` (`90s`, `10m`, `2h`, `1d`).
pub fn parse_since(s: &str, now_ms: i64) -> Option<i64> {
    if let Some(t) = parse_iso(s) {
        return Some(t);
    }
    let unit = match s.bytes().last()? {
        b's' => 1000,
        b'm' => 60_000,
        b'h' => 3_600_000,
        b'd' => 86_400_000,
        _ => return None,
    };
    let n: i64 = s.get(..s.len() - 1)?.parse().ok()?;
    Some(now_ms - n.checked_mul(unit)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times_round_trip() {
        let t = parse_iso("2026-05-06T17:02:00.200Z").unwrap();
        assert_eq!(t, 1_778_086_920_200);
        assert_eq!(format_iso(t), "2026-05-06T17:02:00.200Z");
        assert_eq!(parse_iso("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso("2024-02-29T23:59:59.5Z"), Some(1_709_251_199_500));
        assert_eq!(format_iso(1_709_251_199_500), "2024-02-29T23:59:59.500Z");
        assert_eq!(date_of(t), "2026-05-06");
        for bad in [
            "",
            "2026-05-06",
            "2026-13-01T00:00:00Z",
            "yesterday",
            "2026-05-06T17:02:00+02:00",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad}");
        }
    }

    #[test]
    fn since_takes_a_time_or_a_duration_back() {
        assert_eq!(parse_since("10m", 1_000_000), Some(400_000));
        assert_eq!(parse_since("2h", 10_000_000), Some(2_800_000));
        assert_eq!(parse_since("1970-01-01T00:00:01Z", 5), Some(1000));
        assert_eq!(parse_since("soon", 5), None);
        assert_eq!(parse_since("m", 5), None);
    }
}
