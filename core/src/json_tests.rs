#![allow(clippy::unwrap_used)]

use super::*;

fn num(s: &str) -> Option<Num> {
    Reader::document(s.as_bytes(), false, Reader::number)
}

fn valid(s: &str) -> bool {
    Reader::document(s.as_bytes(), false, Reader::skip).is_some()
}

fn valid_strict(s: &str) -> bool {
    Reader::document(s.as_bytes(), true, Reader::skip).is_some()
}

#[test]
fn documents_serde_accepts_are_accepted_and_the_rest_refused_alike() {
    let docs = [
        "{}",
        "[]",
        " { \"a\" : [1, -2.5e3, true, false, null, \"x\"] } ",
        "{\"a\":{\"b\":{\"c\":[[]]}}}",
        "\"\\u00e9\\ud83d\\ude00\\n\\/\"",
        "-0",
        "0.5",
        "1E+2",
        "123456789012345678901234567890",
        "{\"a\":1,}",
        "[1,]",
        "[,1]",
        "{,}",
        "{\"a\" 1}",
        "{1:2}",
        "01",
        "1.",
        ".5",
        "-",
        "1e",
        "1e+",
        "+1",
        "tru",
        "nul",
        "NaN",
        "\"a\tb\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"abc",
        "[1] [2]",
        "0e99999",
        "1e-400",
        "",
        " ",
        "{\"a\":1}x",
        "\u{a0}1",
    ];
    for d in docs {
        let serde = serde_json::from_str::<serde_json::Value>(d).is_ok();
        assert_eq!(
            valid_strict(d),
            serde,
            "strict reader disagrees with serde on {d:?}"
        );
        assert_eq!(valid(d), serde, "reader disagrees with serde on {d:?}");
    }
}

#[test]
fn nesting_deeper_than_serde_allows_is_refused() {
    let ok = "[".repeat(128) + &"]".repeat(128);
    let deep = "[".repeat(129) + &"]".repeat(129);
    assert!(valid(&ok));
    assert!(!valid(&deep));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&deep).is_ok(),
        valid(&deep)
    );
}

#[test]
fn many_siblings_do_not_add_up_to_depth() {
    let wide = "[".to_string() + &"[{\"a\":[]}],".repeat(300) + "[]]";
    assert!(valid(&wide));
    assert!(serde_json::from_str::<serde_json::Value>(&wide).is_ok());
}

#[test]
fn numbers_read_as_serde_keeps_them() {
    assert_eq!(num("0"), Some(Num::U(0)));
    assert_eq!(num("18446744073709551615"), Some(Num::U(u64::MAX)));
    assert_eq!(
        num("18446744073709551616"),
        Some(Num::F(18446744073709551616.0))
    );
    assert_eq!(num("-9223372036854775808"), Some(Num::I(i64::MIN)));
    assert_eq!(
        num("-9223372036854775809"),
        Some(Num::F(-9223372036854775809.0))
    );
    assert_eq!(num("-5"), Some(Num::I(-5)));
    assert_eq!(num("-0"), Some(Num::F(-0.0)));
    assert_eq!(num("1.0"), Some(Num::F(1.0)));
    assert_eq!(num("1700000000.5"), Some(Num::F(1_700_000_000.5)));
    assert_eq!(num("2.5e-3"), Some(Num::F(0.0025)));
    assert_eq!(num("36e2"), Some(Num::F(3600.0)));
    assert_eq!(num("1e400"), Some(Num::F(f64::INFINITY)));
    // Too large for an f64: refused where a value is read (serde's `Value`), skipped
    // where it is ignored (serde's derive).
    let big = r#"{"a":1e400}"#;
    assert!(valid(big));
    assert!(!valid_strict(big));
    assert!(serde_json::from_str::<serde_json::Value>(big).is_err());
    assert_eq!(num("0e400"), Some(Num::F(0.0)));
    assert_eq!(num("1e-400"), Some(Num::F(0.0)));
    let long = "0.".to_string() + &"3".repeat(40);
    let f = num(&long).unwrap().f64();
    assert!((f - 1.0 / 3.0).abs() < 1e-15, "{f}");
}

#[test]
fn strings_decode_escapes_and_refuse_lone_surrogates_when_kept() {
    let s = |d: &str| Reader::document(d.as_bytes(), false, Reader::string);
    assert_eq!(
        s(r#""a\"b\\c\/d\b\f\n\r\t""#).unwrap(),
        "a\"b\\c/d\u{8}\u{c}\n\r\t"
    );
    assert_eq!(s(r#""\u00e9\ud83d\ude00""#).unwrap(), "é😀");
    assert_eq!(s(r#""\ud83d""#), None);
    assert_eq!(s(r#""\ude00""#), None);
    assert_eq!(s(r#""\ud83d\u0041""#), None);
    // Ignored strings need only four hex digits (serde's derive), kept ones are checked.
    assert!(valid(r#"{"x":"\ud83d"}"#));
    assert!(!valid_strict(r#"{"x":"\ud83d"}"#));
    let bad_utf8 = b"{\"x\":\"\xff\"}";
    assert!(Reader::document(bad_utf8, false, Reader::skip).is_some());
    assert!(Reader::document(bad_utf8, true, Reader::skip).is_none());
}

#[test]
fn fields_read_the_named_members_skip_others_and_refuse_a_repeated_one() {
    let read = |d: &str| {
        let mut got = Vec::new();
        Reader::document(d.as_bytes(), false, |r| {
            r.fields(&["a", "b"], &mut |i, r| {
                got.push((i, r.any()?));
                Some(())
            })
        })
        .map(|()| got)
    };
    assert_eq!(
        read(r#"{"z":[{"q":1}],"b":"x","a":[1,"y",null]}"#).unwrap(),
        vec![
            (1, Some(Any::Str("x".into()))),
            (0, Some(Any::Arr(vec!["y".into()])))
        ]
    );
    assert_eq!(read(r#"{"a":null}"#).unwrap(), vec![(0, None)]);
    assert_eq!(
        read(r#"{"\u0061":true}"#).unwrap(),
        vec![(0, Some(Any::Other))]
    );
    assert_eq!(read(r#"{"a":1,"a":1}"#), None);
    assert_eq!(read(r#"{"b":1,"a":2,"b":1}"#), None);
    assert_eq!(read(r#"{"z":1,"z":1}"#).unwrap(), vec![]);
    assert_eq!(read("[1]"), None);
    assert_eq!(read(r#"{"a":1"#), None);
}

#[test]
fn written_strings_read_back_as_serde_reads_them() {
    for s in ["plain", "q\"b\\s/", "\u{0}\u{1f}\n\t\u{7f}", "é😀", ""] {
        let mut out = String::new();
        push_str(&mut out, s);
        assert_eq!(out, serde_json::to_string(s).unwrap());
        assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
    }
}

#[test]
fn decimals_are_written_without_fmt() {
    let mut s = String::new();
    push_decimal(&mut s, 0);
    s.push(' ');
    push_decimal(&mut s, u64::MAX);
    s.push(' ');
    push_signed(&mut s, i64::MIN);
    s.push(' ');
    push_signed(&mut s, 42);
    assert_eq!(s, "0 18446744073709551615 -9223372036854775808 42");
}

#[test]
fn hex_is_written_without_fmt_upper_for_escapes_lower_for_ids() {
    let mut s = String::new();
    push_hex(&mut s, 0x2f, 2);
    push_hex(&mut s, 0xdead_beef, 16);
    push_hex(&mut s, 0xab, 8);
    assert_eq!(s, "2F00000000deadbeef000000ab");
}
