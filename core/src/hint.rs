//! The model routing hint, read from an app call's body: one rule for every binding.

use crate::http::MAX_CORE_BODY;
use crate::json::{Any, Reader};
#[allow(unused_imports)]
use crate::prelude::*;

/// Longest model name used as a hint (the same bound [`CallSpec`](crate::CallSpec) checks).
const MAX_MODEL: usize = 256;

/// The routing hint of an app call's body: the top-level `"model"` string of a JSON
/// object body of at most 64 KiB (1 to 256 bytes of UTF-8), or `None` (not JSON, not an
/// object, no string `model`, too large). Bindings pass the body as they send it and never
/// look into it themselves.
pub fn model_hint(body: &[u8]) -> Option<String> {
    if body.len() > MAX_CORE_BODY {
        return None;
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' {
        return None;
    }
    let mut model = None;
    Reader::document(body, false, |r| {
        r.fields(&["model"], &mut |_, r| {
            model = r.any()?;
            Some(())
        })
    })?;
    match model? {
        Any::Str(m) if !m.is_empty() && m.len() <= MAX_MODEL => Some(m),
        _ => None,
    }
}
