//! The core's JSON: a small reader for the few answer shapes it reads (grant, route,
//! error body, claims, snapshot, endpoints, the model hint) and a writer for the two
//! bodies and the snapshot it writes. No value tree and no `core::fmt`: each shape reads
//! straight into its own typed fields, which keeps the wasm build small.
//!
//! The reader accepts exactly RFC 8259 JSON and agrees with `serde_json` (the
//! `json_differential` fuzz target compares them), with these deliberate differences:
//! a document whose top level is an array is never read as a struct (serde accepts
//! `[…]` for a struct's fields in order), and a number's `f64` may differ from serde's in
//! the last bits. Like serde, it refuses numbers too large for an `f64`, nesting deeper
//! than 128, a key read twice, control characters in strings and lone surrogate escapes
//! in the strings it keeps; ignored strings are only checked for UTF-8 and surrogates in
//! [`Reader::strict`] mode (serde's `Value`), not in struct mode (serde's derive).

#[allow(unused_imports)]
use crate::prelude::*;
/// Deepest nesting read (serde_json's limit).
const MAX_DEPTH: u32 = 128;

/// A JSON number, as serde_json keeps it: an integer that fits, or else an `f64`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Num {
    /// A non-negative integer literal that fits a `u64`.
    U(u64),
    /// A negative integer literal that fits an `i64`.
    I(i64),
    /// Anything else (a fraction, an exponent, `-0`, a larger integer).
    F(f64),
}

impl Num {
    /// The value as an `f64` (serde's `as_f64`).
    pub(crate) fn f64(self) -> f64 {
        match self {
            Num::U(u) => u as f64,
            Num::I(i) => i as f64,
            Num::F(f) => f,
        }
    }
}

/// A value read without a type known in advance (serde's `Value`, only as far as the
/// core looks into it).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Any {
    /// `null` never gets here: an optional field that is `null` is `None`.
    Str(String),
    /// A number.
    Num(Num),
    /// An array: its string items (other items are checked, then dropped).
    Arr(Vec<String>),
    /// `true`, `false` or an object.
    Other,
}

impl Any {
    /// The number, as an `f64`, when this is a number.
    pub(crate) fn f64(&self) -> Option<f64> {
        match self {
            Any::Num(n) => Some(n.f64()),
            _ => None,
        }
    }
}

/// A cursor over one JSON document.
pub(crate) struct Reader<'a> {
    b: &'a [u8],
    i: usize,
    depth: u32,
    /// Check every string, kept or not (UTF-8, surrogate escapes), as serde does when it
    /// reads a whole `Value`; otherwise only the strings kept are checked, as serde's
    /// derive does.
    pub(crate) strict: bool,
}

impl<'a> Reader<'a> {
    /// Reads `b` as one value with `f`, then nothing but whitespace.
    pub(crate) fn document<T>(
        b: &'a [u8],
        strict: bool,
        f: impl FnOnce(&mut Reader<'a>) -> Option<T>,
    ) -> Option<T> {
        let mut r = Reader {
            b,
            i: 0,
            depth: 0,
            strict,
        };
        let v = f(&mut r)?;
        r.peek().is_none().then_some(v)
    }

    /// The byte offset of the next byte not read (after whitespace, once peeked).
    pub(crate) fn pos(&self) -> usize {
        self.i
    }

    /// The source between two offsets (both at value boundaries).
    pub(crate) fn source(&self, from: usize, to: usize) -> &'a [u8] {
        self.b.get(from..to).unwrap_or_default()
    }

    /// The next byte that is not whitespace, not consumed.
    pub(crate) fn peek(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn next(&mut self) -> Option<u8> {
        let c = *self.b.get(self.i)?;
        self.i += 1;
        Some(c)
    }

    /// Reads an object, calling `f` with each key and the reader at its value, which `f`
    /// must read or skip. Keys are decoded only when `keys` (else `f` gets `""`).
    pub(crate) fn object(
        &mut self,
        keys: bool,
        f: &mut dyn FnMut(&str, &mut Reader<'a>) -> Option<()>,
    ) -> Option<()> {
        self.seq(b'{', b'}', &mut |r| {
            let key = if keys {
                r.string()?
            } else {
                r.skip_string()?;
                String::new()
            };
            if !r.eat(b':') {
                return None;
            }
            f(&key, r)
        })
    }

    /// Reads an array, calling `f` at each item, which `f` must read or skip.
    pub(crate) fn array(&mut self, f: &mut dyn FnMut(&mut Reader<'a>) -> Option<()>) -> Option<()> {
        self.seq(b'[', b']', f)
    }

    fn seq(
        &mut self,
        open: u8,
        close: u8,
        f: &mut dyn FnMut(&mut Reader<'a>) -> Option<()>,
    ) -> Option<()> {
        if !self.eat(open) || self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        if !self.eat(close) {
            loop {
                if open == b'{' && self.peek() != Some(b'"') {
                    return None;
                }
                f(self)?;
                if self.eat(close) {
                    break;
                }
                if !self.eat(b',') {
                    return None;
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// Reads the members of an object whose keys are `names` (others skipped): `f` gets
    /// each one's index in `names` and must read its value. A name read twice is an
    /// error, as with serde's derive.
    pub(crate) fn fields(
        &mut self,
        names: &[&str],
        f: &mut dyn FnMut(usize, &mut Reader<'a>) -> Option<()>,
    ) -> Option<()> {
        let mut seen = 0u32;
        self.object(true, &mut |k, r| match names.iter().position(|n| *n == k) {
            Some(i) if seen & (1 << i) == 0 => {
                seen |= 1 << i;
                f(i, r)
            }
            Some(_) => None,
            None => r.skip(),
        })
    }

    /// Skips one value, checking its syntax.
    pub(crate) fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'{' => self.object(false, &mut |_, r| r.skip()),
            b'[' => self.array(&mut |r| r.skip()),
            b'"' => self.skip_string(),
            b'-' | b'0'..=b'9' if self.strict => self.finite().map(drop),
            b'-' | b'0'..=b'9' => self.number().map(drop),
            _ => self.literal().map(drop),
        }
    }

    /// `true`, `false` or `null`: `Some(true)` for `null`.
    fn literal(&mut self) -> Option<bool> {
        self.peek();
        let rest = self.b.get(self.i..)?;
        for (word, null) in [(&b"null"[..], true), (b"true", false), (b"false", false)] {
            if rest.starts_with(word) {
                self.i += word.len();
                return Some(null);
            }
        }
        None
    }

    /// Consumes `null` if it is next.
    pub(crate) fn null(&mut self) -> bool {
        self.peek() == Some(b'n') && self.literal().is_some()
    }

    /// `null`, or else a value read by `f`.
    pub(crate) fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.null() {
            Some(None)
        } else {
            f(self).map(Some)
        }
    }

    /// A value of any type, checked as serde's `Value` is (strictly); `None` for `null`.
    pub(crate) fn any(&mut self) -> Option<Option<Any>> {
        let strict = core::mem::replace(&mut self.strict, true);
        let v = match self.peek()? {
            b'"' => self.string().map(|s| Some(Any::Str(s))),
            b'-' | b'0'..=b'9' => self.finite().map(|n| Some(Any::Num(n))),
            b'[' => {
                let mut items = Vec::new();
                self.array(&mut |r| {
                    if r.peek() == Some(b'"') {
                        items.push(r.string()?);
                        Some(())
                    } else {
                        r.skip()
                    }
                })
                .map(|()| Some(Any::Arr(items)))
            }
            b'{' => self.skip().map(|()| Some(Any::Other)),
            _ => self.literal().map(|null| (!null).then_some(Any::Other)),
        };
        self.strict = strict;
        v
    }

    /// A string, decoded.
    pub(crate) fn string(&mut self) -> Option<String> {
        let mut out = Vec::new();
        self.string_into(Some(&mut out))?;
        String::from_utf8(out).ok()
    }

    fn skip_string(&mut self) -> Option<()> {
        if self.strict {
            self.string().map(drop)
        } else {
            self.string_into(None)
        }
    }

    /// Reads a string into `out`; with no `out`, only its syntax is checked (and `\u`
    /// escapes need only be four hex digits, as serde's `ignore_str`).
    fn string_into(&mut self, mut out: Option<&mut Vec<u8>>) -> Option<()> {
        if !self.eat(b'"') {
            return None;
        }
        loop {
            let c = self.next()?;
            let ch = match c {
                b'"' => return Some(()),
                0..=0x1f => return None,
                b'\\' => match self.next()? {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    b'u' => {
                        let hi = self.hex4()?;
                        if out.is_none() {
                            continue;
                        }
                        let code = if (0xd800..0xdc00).contains(&hi) {
                            if self.next()? != b'\\' || self.next()? != b'u' {
                                return None;
                            }
                            let lo = self.hex4()?;
                            if !(0xdc00..0xe000).contains(&lo) {
                                return None;
                            }
                            0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                        } else {
                            hi
                        };
                        char::from_u32(code)?
                    }
                    _ => return None,
                },
                _ => {
                    if let Some(o) = out.as_deref_mut() {
                        o.push(c);
                    }
                    continue;
                }
            };
            if let Some(o) = out.as_deref_mut() {
                let mut buf = [0u8; 4];
                o.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut v = 0;
        for _ in 0..4 {
            v = v * 16 + char::from(self.next()?).to_digit(16)?;
        }
        Some(v)
    }

    /// A number, as serde_json reads it; out of `f64` range it is an infinite `F`.
    pub(crate) fn number(&mut self) -> Option<Num> {
        self.peek();
        let neg = self.b.get(self.i) == Some(&b'-');
        if neg {
            self.i += 1;
        }
        let mut mant: u64 = 0;
        let mut exp: i64 = 0;
        // Whether digits were dropped from `mant` (the integer does not fit a u64).
        let mut big = false;
        let mut float = false;
        let digits =
            |r: &mut Self, mant: &mut u64, after_point: bool, exp: &mut i64, big: &mut bool| {
                let start = r.i;
                while let Some(d @ b'0'..=b'9') = r.b.get(r.i).copied() {
                    r.i += 1;
                    match mant
                        .checked_mul(10)
                        .and_then(|m| m.checked_add(u64::from(d - b'0')))
                    {
                        Some(m) => {
                            *mant = m;
                            if after_point {
                                *exp -= 1;
                            }
                        }
                        None => {
                            *big = true;
                            if !after_point {
                                *exp += 1;
                            }
                        }
                    }
                }
                r.i > start
            };
        if self.b.get(self.i) == Some(&b'0') {
            self.i += 1;
        } else if !digits(self, &mut mant, false, &mut exp, &mut big) {
            return None;
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            float = true;
            if !digits(self, &mut mant, true, &mut exp, &mut big) {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            float = true;
            let eneg = match self.b.get(self.i) {
                Some(b'-') => {
                    self.i += 1;
                    true
                }
                Some(b'+') => {
                    self.i += 1;
                    false
                }
                _ => false,
            };
            let mut e: i64 = 0;
            let start = self.i;
            while let Some(d @ b'0'..=b'9') = self.b.get(self.i).copied() {
                self.i += 1;
                e = (e * 10 + i64::from(d - b'0')).min(1 << 40);
            }
            if self.i == start {
                return None;
            }
            exp += if eneg { -e } else { e };
        }
        if !float && !big {
            return Some(match (neg, mant) {
                (false, m) => Num::U(m),
                (true, m @ 1..=0x8000_0000_0000_0000) => Num::I((m as i64).wrapping_neg()),
                (true, m) => Num::F(-(m as f64)),
            });
        }
        let mut f = mant as f64;
        while exp > 0 && f.is_finite() && f != 0.0 {
            let k = exp.min(22);
            f *= pow10(k);
            exp -= k;
        }
        while exp < 0 && f != 0.0 {
            let k = (-exp).min(22);
            f /= pow10(k);
            exp += k;
        }
        Some(Num::F(if neg { -f } else { f }))
    }

    /// A number that fits an `f64` (serde refuses larger ones wherever it reads a value;
    /// it skips them unread in ignored fields).
    fn finite(&mut self) -> Option<Num> {
        self.number().filter(|n| n.f64().is_finite())
    }
}

/// `10^k` for `k <= 22`, exactly (every power up to 1e22 is an exact `f64`).
fn pow10(k: i64) -> f64 {
    (0..k).fold(1.0, |p, _| p * 10.0)
}

/// Appends `s` as a JSON string, escaped as serde_json escapes it.
pub(crate) fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                for d in [c as u32 >> 4, c as u32 & 15] {
                    out.push(char::from_digit(d, 16).unwrap_or('0'));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `n` in decimal (no `core::fmt`).
pub fn push_decimal(out: &mut String, n: u64) {
    // Written backwards into a buffer and appended in one go (a URL's port is written
    // once per request: one push per digit, and a call per digit, showed).
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // (ASCII digits: always UTF-8.)
    out.push_str(core::str::from_utf8(&buf[i..]).unwrap_or_default());
}

/// Appends the low `digits` hex digits of `n`, uppercase for `digits == 2` (a percent
/// escape), lowercase otherwise (ids).
pub(crate) fn push_hex(out: &mut String, n: u64, digits: u32) {
    // Written into a buffer and appended in one go (a request id is 24 digits: one push
    // per char was measurable in the wasm build).
    let table: &[u8; 16] = if digits == 2 {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let digits = digits.min(16) as usize;
    let mut buf = [0u8; 16];
    fill_hex(&mut buf[..digits], n, table);
    out.push_str(core::str::from_utf8(&buf[..digits]).unwrap_or(""));
}

/// Writes the low `out.len()` (at most 16) lowercase hex digits of `n` into `out`.
pub(crate) fn write_hex(out: &mut [u8], n: u64) {
    fill_hex(out, n, b"0123456789abcdef");
}

/// The low `out.len()` (at most 16) hex digits of `n`, most significant first, from `table`.
fn fill_hex(out: &mut [u8], n: u64, table: &[u8; 16]) {
    let digits = out.len().min(16);
    for (i, b) in out.iter_mut().take(digits).enumerate() {
        let shift = 4 * (digits - 1 - i);
        *b = table[((n >> shift) & 15) as usize];
    }
}

/// Appends a signed `n` in decimal.
pub(crate) fn push_signed(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_decimal(out, n.unsigned_abs());
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
