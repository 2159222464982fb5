//! `parse_http_date` and `parse_retry_after` over arbitrary text and clocks: never a
//! panic; a date is within years 1970..=9999.
#![no_main]

use libfuzzer_sys::fuzz_target;
use polargrid_core::{parse_http_date, parse_retry_after, Timestamp};

/// 9999-12-31T23:59:60Z in milliseconds.
const MAX_DATE_MS: u64 = 253_402_300_800_000;

fuzz_target!(|data: &[u8]| {
    let (now, text) = match data.split_first_chunk::<8>() {
        Some((n, rest)) => (u64::from_le_bytes(*n), rest),
        None => (0, data),
    };
    let Ok(s) = std::str::from_utf8(text) else {
        return;
    };
    if let Some(t) = parse_http_date(s) {
        assert!(
            t.as_millis() <= MAX_DATE_MS,
            "date beyond 9999: {s:?} -> {t:?}"
        );
    }
    let _ = parse_retry_after(s, Timestamp(now));
    let _ = parse_retry_after(s, Timestamp(u64::MAX));
    let _ = parse_retry_after(s, Timestamp(0));
});
