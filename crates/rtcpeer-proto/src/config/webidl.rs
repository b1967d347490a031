//! WebIDL conversions (WebIDL §3.2) applied to JSON values, so loosely-typed browser-style
//! input (`RTCConfiguration`, `AlgorithmIdentifier` as JSON) converts exactly as in a browser.

use serde_json::Value;

use crate::error::{Error, Result};

/// JS `ToString` of a JSON value (ECMA-262 §7.1.17), as WebIDL `DOMString` conversion does.
pub(crate) fn to_dom_string(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_to_string(n),
        Value::String(s) => s.clone(),
        // Array.prototype.toString joins the elements' strings with ',' (null becomes "").
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Null => String::new(),
                other => to_dom_string(other),
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".to_owned(),
    }
}

fn number_to_string(n: &serde_json::Number) -> String {
    if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 1e21) {
        // Integral values print without a fraction, as JS does (2048, not 2048.0).
        format!("{f:.0}")
    } else {
        n.to_string()
    }
}

/// JS `ToNumber` of a JSON value (ECMA-262 §7.1.4); NaN where JS would give NaN.
pub(crate) fn to_number(v: &Value) -> f64 {
    match v {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => string_to_number(s),
        Value::Array(_) => string_to_number(&to_dom_string(v)),
        Value::Object(_) => f64::NAN,
    }
}

/// JS `StringToNumber` (ECMA-262 §7.1.4.1.1): decimal or 0x/0o/0b literals, whitespace trimmed.
fn string_to_number(s: &str) -> f64 {
    let t = s.trim();
    if t.is_empty() {
        return 0.0;
    }
    match t {
        "Infinity" | "+Infinity" => return f64::INFINITY,
        "-Infinity" => return f64::NEG_INFINITY,
        _ => {}
    }
    let radix = match t.get(..2) {
        Some("0x" | "0X") => Some(16),
        Some("0o" | "0O") => Some(8),
        Some("0b" | "0B") => Some(2),
        _ => None,
    };
    if let Some(radix) = radix {
        let digits = &t[2..];
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return f64::NAN;
        }
        return digits.chars().fold(0.0, |acc, c| {
            acc * f64::from(radix) + f64::from(c.to_digit(radix).unwrap_or(0))
        });
    }
    // Rust accepts "inf"/"nan"/"infinity", JS does not: only digits, sign, '.', and exponent.
    if !t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return f64::NAN;
    }
    t.parse::<f64>().unwrap_or(f64::NAN)
}

/// WebIDL `ConvertToInt` with `[EnforceRange]` for an unsigned type whose maximum is `max`
/// (WebIDL §3.2.4.8): non-finite → TypeError, truncate toward zero, out of range → TypeError.
pub(crate) fn enforce_range_unsigned(v: &Value, max: u64, what: &str) -> Result<u64> {
    let x = to_number(v);
    if !x.is_finite() {
        return Err(Error::type_error(format!("{what} is not a finite number")));
    }
    let x = x.trunc();
    // `max` is at most 2^53 - 1 for every caller, so the f64 comparison is exact.
    if x < 0.0 || x > max as f64 {
        return Err(Error::type_error(format!(
            "{what} is outside the range 0..={max}"
        )));
    }
    Ok(x as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn to_number_follows_js() {
        assert_eq!(to_number(&json!(null)), 0.0);
        assert_eq!(to_number(&json!(true)), 1.0);
        assert_eq!(to_number(&json!(" 12 ")), 12.0);
        assert_eq!(to_number(&json!("")), 0.0);
        assert_eq!(to_number(&json!("0x10")), 16.0);
        assert_eq!(to_number(&json!([])), 0.0);
        assert_eq!(to_number(&json!([7])), 7.0);
        assert!(to_number(&json!("invalid")).is_nan());
        assert!(to_number(&json!("inf")).is_nan());
        assert!(to_number(&json!([1, 2])).is_nan());
        assert!(to_number(&json!({})).is_nan());
    }

    #[test]
    fn to_dom_string_follows_js() {
        assert_eq!(to_dom_string(&json!(null)), "null");
        assert_eq!(to_dom_string(&json!(2048)), "2048");
        assert_eq!(to_dom_string(&json!(1.5)), "1.5");
        assert_eq!(to_dom_string(&json!(["a", null, 1])), "a,,1");
        assert_eq!(to_dom_string(&json!({})), "[object Object]");
    }

    #[test]
    fn enforce_range_truncates_and_rejects() {
        assert_eq!(enforce_range_unsigned(&json!(2.9), 255, "x").unwrap(), 2);
        assert_eq!(enforce_range_unsigned(&json!(-0.5), 255, "x").unwrap(), 0);
        assert_eq!(enforce_range_unsigned(&json!(255), 255, "x").unwrap(), 255);
        for bad in [json!(256), json!(-1), json!("x"), json!({})] {
            let e = enforce_range_unsigned(&bad, 255, "x").unwrap_err();
            assert_eq!(e.name(), "TypeError", "{bad}");
        }
    }
}
