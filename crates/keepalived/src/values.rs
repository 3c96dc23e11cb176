//! Scalar values shared by the typed layer and the writer: seconds and booleans.

use std::time::Duration;

/// Parses keepalived's `<TIMER>`: decimal seconds with up to microsecond resolution
/// (`3`, `0.5`, `.25`, `2.71828`). Digits beyond the sixth decimal are truncated, as
/// keepalived stores microseconds.
pub(crate) fn parse_seconds(s: &str) -> Result<Duration, String> {
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (s, None),
    };
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole)
        || !frac.is_none_or(digits)
        || (whole.is_empty() && frac.unwrap_or("").is_empty())
    {
        return Err("not a number of seconds".to_owned());
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| "too large".to_owned())?
    };
    if secs > u64::from(u32::MAX) {
        return Err("too large".to_owned());
    }
    let mut micros: u32 = 0;
    let frac = frac.unwrap_or("");
    for i in 0..6 {
        let digit = frac.as_bytes().get(i).map_or(0, |b| u32::from(b - b'0'));
        micros = micros * 10 + digit;
    }
    Ok(Duration::new(secs, micros * 1000))
}

/// Parses whole seconds (for keywords keepalived reads as integers).
pub(crate) fn parse_whole_seconds(s: &str) -> Result<Duration, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a whole number of seconds".to_owned());
    }
    let secs: u32 = s.parse().map_err(|_| "too large".to_owned())?;
    Ok(Duration::from_secs(u64::from(secs)))
}

/// Renders seconds the way [`parse_seconds`] reads them: `3`, `0.5`, `1.000001`.
/// Sub-microsecond parts are dropped.
pub(crate) fn format_seconds(d: Duration) -> String {
    let micros = d.subsec_micros();
    if micros == 0 {
        return d.as_secs().to_string();
    }
    let frac = format!("{micros:06}");
    format!("{}.{}", d.as_secs(), frac.trim_end_matches('0'))
}

/// keepalived's `<BOOL>`: on|off|true|false|yes|no.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_seconds(".25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_seconds("1."), Ok(Duration::from_secs(1)));
        assert_eq!(
            parse_seconds("2.718281828"),
            Ok(Duration::from_micros(2_718_281))
        );
        for bad in ["", ".", "-1", "1e3", "1.2.3", "abc", "99999999999"] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
        assert!(parse_whole_seconds("1.5").is_err());
        assert_eq!(parse_whole_seconds("10"), Ok(Duration::from_secs(10)));
    }

    #[test]
    fn format_round_trips() {
        for d in [
            Duration::ZERO,
            Duration::from_secs(7),
            Duration::from_millis(1500),
            Duration::from_micros(1_000_001),
        ] {
            assert_eq!(parse_seconds(&format_seconds(d)), Ok(d));
        }
        assert_eq!(format_seconds(Duration::from_millis(1500)), "1.5");
    }
}
