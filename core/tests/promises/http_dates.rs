//! HTTP dates (`Date`, and `Retry-After` given as a date) read to the second, in all
//! three forms RFC 9110 lets a server send, for every day from 1970 to 9999; anything
//! else is no date at all. Checked against the test harness's own formatter, which
//! computes the calendar the other way round (days → date).

use polargrid_core::{parse_http_date, parse_retry_after, Timestamp};

use crate::support::http_date;

use core::time::Duration;

const DAY_S: u64 = 86_400;
/// 9999-12-31T23:59:59Z.
const LAST_S: u64 = 253_402_300_799;

/// The same instant in the obsolete RFC 850 form (two-digit year), from an IMF-fixdate.
fn rfc850(imf: &str) -> String {
    let p: Vec<&str> = imf.split(' ').collect();
    let yy = &p[3][2..];
    format!("{}day, {}-{}-{} {} GMT", &p[0][..3], p[1], p[2], yy, p[4])
}

/// The same instant in asctime form (`Sun Nov  6 08:49:37 1994`), from an IMF-fixdate.
fn asctime(imf: &str) -> String {
    let p: Vec<&str> = imf.split(' ').collect();
    let day: u32 = p[1].parse().unwrap();
    format!("{} {} {day:>2} {} {}", &p[0][..3], p[2], p[4], p[3])
}

fn secs(s: &str) -> Option<u64> {
    parse_http_date(s).map(|t| t.as_millis() / 1000)
}

#[test]
fn imf_fixdates_read_back_to_the_second_from_1970_to_9999() {
    // A stride that is not a whole number of days walks every month, weekday and time.
    let stride = 17 * DAY_S + 3_601 + 61;
    let mut t = 0;
    while t <= LAST_S {
        let imf = http_date(t * 1000);
        assert_eq!(secs(&imf), Some(t), "{imf}");
        t += stride;
    }
    assert_eq!(secs(&http_date(LAST_S * 1000)), Some(LAST_S));
}

#[test]
fn month_ends_and_leap_days_read_back_exactly() {
    // Leap years (1972, 2000, 2024, 2400, 9996) and century years that are not (2100).
    for year_start in [
        63_072_000u64,   // 1972-01-01
        946_684_800,     // 2000-01-01
        1_704_067_200,   // 2024-01-01
        4_102_444_800,   // 2100-01-01
        13_569_465_600,  // 2400-01-01
        253_276_070_400, // 9996-01-01
    ] {
        for day in 0..367 {
            for t in [
                year_start + day * DAY_S,
                year_start + day * DAY_S + DAY_S - 1,
            ] {
                let imf = http_date(t * 1000);
                assert_eq!(secs(&imf), Some(t), "{imf}");
                assert_eq!(secs(&asctime(&imf)), Some(t), "{}", asctime(&imf));
            }
        }
    }
    assert_eq!(secs("Thu, 29 Feb 2024 12:00:00 GMT"), Some(1_709_208_000));
    assert_eq!(secs("Fri, 01 Mar 2024 00:00:00 GMT"), Some(1_709_251_200));
}

#[test]
fn rfc850_two_digit_years_mean_1970_to_2069() {
    for (imf, want) in [
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0u64),
        ("Fri, 31 Dec 1999 23:59:59 GMT", 946_684_799),
        ("Sat, 01 Jan 2000 00:00:00 GMT", 946_684_800),
        ("Tue, 31 Dec 2069 23:59:59 GMT", 3_155_759_999),
        ("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777),
    ] {
        assert_eq!(secs(imf), Some(want), "{imf}");
        assert_eq!(secs(&rfc850(imf)), Some(want), "{}", rfc850(imf));
    }
    assert_eq!(secs("Sunday, 06-Nov-1994 08:49:37 GMT"), Some(784_111_777));
    // Only two digits are a two-digit year: year 100 is year 100 (before 1970: no date),
    // never 2000.
    assert_eq!(secs("Saturday, 01-Jan-100 00:00:00 GMT"), None);
}

#[test]
fn asctime_dates_read_back_across_the_range() {
    let stride = 97 * DAY_S + 7_261;
    let mut t = 0;
    while t <= LAST_S {
        let a = asctime(&http_date(t * 1000));
        assert_eq!(secs(&a), Some(t), "{a}");
        t += stride;
    }
}

#[test]
fn each_field_is_read_up_to_its_limit_and_no_further() {
    let ok = [
        ("Thu, 31 Dec 2026 00:00:00 GMT", 1_798_675_200u64),
        ("Thu, 31 Dec 2026 23:00:00 GMT", 1_798_758_000),
        ("Thu, 31 Dec 2026 00:59:00 GMT", 1_798_678_740),
        // A leap second is the next second.
        ("Thu, 31 Dec 2026 23:59:60 GMT", 1_798_761_600),
        ("Fri, 01 Jan 9999 00:00:00 GMT", 253_370_764_800),
        ("thu, 31 dec 2026 00:00:00 GMT", 1_798_675_200),
    ];
    for (s, want) in ok {
        assert_eq!(secs(s), Some(want), "{s}");
    }
    for bad in [
        "Thu, 32 Dec 2026 00:00:00 GMT",
        "Thu, 00 Dec 2026 00:00:00 GMT",
        "Thu, 31 Dec 2026 24:00:00 GMT",
        "Thu, 31 Dec 2026 00:60:00 GMT",
        "Thu, 31 Dec 2026 00:00:61 GMT",
        "Thu, 31 Dec 2026 00:00:00:00 GMT",
        "Wed, 31 Dec 1969 23:59:59 GMT",
        "Fri, 01 Jan 10000 00:00:00 GMT",
        "Thu, 31 Dez 2026 00:00:00 GMT",
        "Thu, 31 Dec 2026 00:00:00 UTC",
        "Thu, 31 Dec 2026 00:00 GMT",
        "Thu, 31 Dec 2026 GMT",
        "Thu, 31 Déc 2026 00:00:00 GMT",
        // Header values are ASCII: even a weekday the reader skips must be.
        "Thü, 31 Dec 2026 00:00:00 GMT",
        "Thursday, 31-Dec-26 00:00:00 UTC",
    ] {
        assert_eq!(parse_http_date(bad), None, "{bad}");
    }
}

#[test]
fn date_padded_to_64_characters_is_read_and_one_more_is_not() {
    let padded = |n: usize| format!("Thu,{}31 Dec 2026 00:00:00 GMT", " ".repeat(n - 28));
    assert_eq!(padded(64).len(), 64);
    assert_eq!(secs(&padded(64)), Some(1_798_675_200));
    assert_eq!(secs(&format!("  {}  ", padded(64))), Some(1_798_675_200));
    assert_eq!(parse_http_date(&padded(65)), None);
}

#[test]
fn retry_after_is_delta_seconds_or_a_date_counted_from_the_servers_now() {
    let now = Timestamp::from_secs(1_798_675_200);
    assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("90", now), Some(Duration::from_secs(90)));
    assert_eq!(
        parse_retry_after("Thu, 31 Dec 2026 00:01:30 GMT", now),
        Some(Duration::from_secs(90))
    );
    // An absurd number of seconds saturates instead of overflowing milliseconds.
    let huge = parse_retry_after("18446744073709551615", now).unwrap();
    assert_eq!(huge, Duration::from_secs(u64::MAX / 1000));
    for bad in ["", " ", "1.5", "+3", "3s", "0x10"] {
        assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
    }
}
