//! The server's own message in an error is kept to 200 bytes, cut on a character
//! boundary and marked with `…` when cut; a message of 200 bytes or less is kept whole.

use crate::support::T0;
use polargrid_core::{classify_response, Credential, HttpResponse, Stage, Timestamp};

fn message(text: &str) -> String {
    let body = serde_json::json!({ "message": text }).to_string();
    let resp = HttpResponse::new(500).with_body(body);
    classify_response(Stage::Call, Credential::Jwt, &resp, Timestamp(T0), &[])
        .server_message
        .expect("a message")
}

#[test]
fn message_of_200_bytes_is_kept_whole() {
    let m = "m".repeat(200);
    assert_eq!(message(&m), m);
}

#[test]
fn message_of_201_bytes_is_cut_to_200_and_marked() {
    let m = "m".repeat(201);
    assert_eq!(message(&m), format!("{}…", "m".repeat(200)));
}

#[test]
fn long_non_ascii_message_is_cut_back_to_the_last_whole_character() {
    // Byte 200 falls inside a two-byte `é`: the cut steps back to byte 199.
    let m = format!("x{}", "é".repeat(150));
    assert_eq!(message(&m), format!("x{}…", "é".repeat(99)));
    // Four-byte characters: byte 200 falls one byte into the 50th crab.
    let m = format!("abc{}", "🦀".repeat(100));
    assert_eq!(message(&m), format!("abc{}…", "🦀".repeat(49)));
}

#[test]
fn message_with_a_cut_character_in_a_code_suffix_is_still_valid_text() {
    let body = serde_json::json!({ "detail": "é".repeat(150), "code": "over_limit" });
    let resp = HttpResponse::new(429).with_body(body.to_string());
    let e = classify_response(Stage::Call, Credential::Jwt, &resp, Timestamp(T0), &[]);
    let m = e.server_message.unwrap();
    assert_eq!(m, format!("{}…", "é".repeat(100)));
}
