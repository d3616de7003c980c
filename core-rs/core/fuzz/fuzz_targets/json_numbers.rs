#![no_main]
//! The wide-integer scan behind payedge.stripe_compat: never a panic, and the
//! same answer as serde_json's own reading, which (like orjson) keeps integers
//! inside [-2^63, 2^64 - 1] and turns wider ones into floats (`-0` aside).
use libfuzzer_sys::fuzz_target;
use payedge_core::json_numbers::has_wide_integer;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let wide = has_wide_integer(data);
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    // with no '.', 'e' or 'E' anywhere, every float serde_json made was a wide integer
    if !data.iter().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        assert_eq!(wide, has_float(&value), "disagrees with serde_json");
    }
    // digits inside a string never count
    let mut wrapped = b"[\"123456789012345678901234567890\",".to_vec();
    wrapped.extend_from_slice(data);
    wrapped.push(b']');
    assert_eq!(has_wide_integer(&wrapped), wide);
});

/// A float serde_json made from an integer literal: one outside the 64-bit range
/// (serde_json also reads `-0` as the float -0.0, which orjson keeps as the int 0).
fn has_float(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0) && n.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}
