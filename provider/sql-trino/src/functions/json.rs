//! JSON functions (Trino docs: functions/json.md): `json_parse`, `json_format`,
//! `json_extract` / `json_extract_scalar` with Trino's JSONPath subset (`$`, `.key`,
//! `["key"]`, `[n]`), `json_array_*`, `json_size`, `is_json_scalar`.
//!
//! JSON is read with its own small parser that keeps object order and the text of numbers:
//! `json_parse` (like a JSON literal) sorts object keys and writes numbers as Java's
//! `BigDecimal` does, `json_extract_scalar` returns a number's text as written, and
//! `json_extract` keeps the input's order (Trino copies the input).

use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::ScalarUDF;

use super::rows::{self, i64_at, str_at};
use super::{Arg, Call, Func, args, exec_err, ret_bool, ret_i64, ret_json, ret_utf8};

pub(super) fn functions() -> Vec<ScalarUDF> {
    use Arg::*;
    vec![
        Func::new("json_parse", args(&[Str]), ret_json, |c| {
            rows::json(c, |r| match str_at(c.arg(0), r) {
                None => Ok(None),
                Some(text) => {
                    let value = parse(text).map_err(|e| {
                        exec_err(format!("Cannot convert value to JSON: '{text}': {e}"))
                    })?;
                    Ok(Some(value.canonical()))
                }
            })
        }),
        Func::new("json_format", args(&[JsonOrStr]), ret_utf8, |c| {
            rows::utf8(c, |r| Ok(str_at(c.arg(0), r).map(str::to_string)))
        }),
        Func::new("json_extract", args(&[JsonOrStr, Str]), ret_json, |c| {
            rows::json(c, |r| {
                let Some(node) = extract(c, r)? else {
                    return Ok(None);
                };
                if node.has_float() {
                    return Err(exec_err(
                        "json_extract() of a value containing a decimal number is not supported on the embedded engine; use json_extract_scalar",
                    ));
                }
                Ok(Some(node.write(false)))
            })
        }),
        Func::new("json_extract_scalar", args(&[JsonOrStr, Str]), ret_utf8, |c| {
            rows::utf8(c, |r| {
                Ok(extract(c, r)?.and_then(|node| match node {
                    Json::String(s) => Some(s),
                    Json::Number(n) => Some(n),
                    Json::Bool(b) => Some(b.to_string()),
                    _ => None,
                }))
            })
        }),
        Func::new("json_array_length", args(&[JsonOrStr]), ret_i64, |c| {
            rows::i64s(c, |r| {
                Ok(str_at(c.arg(0), r)
                    .and_then(|t| parse(t).ok())
                    .and_then(|v| match v {
                        Json::Array(items) => Some(items.len() as i64),
                        _ => None,
                    }))
            })
        }),
        Func::new("json_array_get", args(&[JsonOrStr, Int]), ret_json, |c| {
            rows::json(c, |r| {
                let (Some(text), Some(index)) = (str_at(c.arg(0), r), i64_at(c.arg(1), r)) else {
                    return Ok(None);
                };
                let Ok(Json::Array(items)) = parse(text) else {
                    return Ok(None);
                };
                let at = if index < 0 { items.len() as i64 + index } else { index };
                // A string element comes back as its text, without quotes (as in Trino).
                Ok(usize::try_from(at)
                    .ok()
                    .and_then(|i| items.get(i))
                    .filter(|v| !matches!(v, Json::Null))
                    .map(|v| match v {
                        Json::String(s) => s.clone(),
                        other => other.write(false),
                    }))
            })
        }),
        Func::new("json_array_contains", args(&[JsonOrStr, Any]), ret_bool, |c| {
            let needle = c.arg(1);
            rows::bools(c, |r| {
                let Some(text) = str_at(c.arg(0), r) else {
                    return Ok(None);
                };
                let Ok(Json::Array(items)) = parse(text) else {
                    return Ok(None);
                };
                let value = ScalarValue::try_from_array(needle, r)?;
                if value.is_null() {
                    return Ok(None);
                }
                Ok(Some(items.iter().any(|item| matches_scalar(item, &value))))
            })
        }),
        Func::new("json_size", args(&[JsonOrStr, Str]), ret_i64, |c| {
            rows::i64s(c, |r| {
                Ok(extract(c, r)?.map(|node| match node {
                    Json::Array(items) => items.len() as i64,
                    Json::Object(entries) => entries.len() as i64,
                    _ => 0,
                }))
            })
        }),
        Func::new("is_json_scalar", args(&[JsonOrStr]), ret_bool, |c| {
            rows::bools(c, |r| match str_at(c.arg(0), r) {
                None => Ok(None),
                Some(text) => {
                    let value = parse(text)
                        .map_err(|e| exec_err(format!("Invalid JSON value: {text}: {e}")))?;
                    Ok(Some(!matches!(value, Json::Array(_) | Json::Object(_))))
                }
            })
        }),
    ]
    .into_iter()
    .map(Func::udf)
    .collect()
}

/// The node at the call's JSONPath; `None` for NULL arguments, malformed JSON or a missing path.
fn extract(c: &Call, r: usize) -> Result<Option<Json>> {
    let (Some(text), Some(path)) = (str_at(c.arg(0), r), str_at(c.arg(1), r)) else {
        return Ok(None);
    };
    let steps = parse_path(path)?;
    let Ok(mut node) = parse(text) else {
        return Ok(None);
    };
    for step in steps {
        node = match (node, step) {
            (Json::Object(entries), Step::Key(key)) => {
                match entries.into_iter().find(|(k, _)| *k == key) {
                    Some((_, v)) => v,
                    None => return Ok(None),
                }
            }
            (Json::Array(items), Step::Index(i)) => match items.into_iter().nth(i) {
                Some(v) => v,
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
    }
    Ok(Some(node))
}

/// Trino compares a JSON number with a number of the same kind only: an integer needle
/// matches integer elements, a double needle matches decimal elements.
fn matches_scalar(item: &Json, value: &ScalarValue) -> bool {
    let is_float = |n: &str| n.contains(['.', 'e', 'E']);
    match (item, value) {
        (Json::Bool(b), ScalarValue::Boolean(Some(v))) => b == v,
        (Json::String(s), ScalarValue::Utf8(Some(v))) => s == v,
        (Json::Number(n), ScalarValue::Int64(Some(v))) if !is_float(n) => {
            n.parse::<i64>().ok() == Some(*v)
        }
        (Json::Number(n), ScalarValue::Int32(Some(v))) if !is_float(n) => {
            n.parse::<i64>().ok() == Some(i64::from(*v))
        }
        (Json::Number(n), ScalarValue::Float64(Some(v))) if is_float(n) => {
            n.parse::<f64>().ok().filter(|f| f.is_finite()) == Some(*v)
        }
        (Json::Number(n), ScalarValue::Decimal128(Some(v), _, s)) if is_float(n) => {
            n.parse::<f64>().ok().filter(|f| f.is_finite())
                == Some(*v as f64 / 10f64.powi(i32::from(*s)))
        }
        _ => false,
    }
}

#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Trino's JSONPath for the `json_*` functions: `$` then `.key`, `["key"]`, `[n]`.
fn parse_path(path: &str) -> Result<Vec<Step>> {
    let bad = || exec_err(format!("Invalid JSON path: '{path}'"));
    let chars: Vec<char> = path.trim().chars().collect();
    if chars.first() != Some(&'$') {
        return Err(bad());
    }
    let mut steps = Vec::new();
    let mut i = 1;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && chars[j] != '.' && chars[j] != '[' {
                    j += 1;
                }
                let key: String = chars[start..j].iter().collect();
                if key.is_empty() || key == "*" {
                    return Err(bad());
                }
                steps.push(Step::Key(key));
                i = j;
            }
            '[' => {
                let close = chars[i..].iter().position(|c| *c == ']').ok_or_else(bad)? + i;
                let inner: String = chars[i + 1..close].iter().collect();
                let inner = inner.trim();
                if let Some(quoted) = inner
                    .strip_prefix('"')
                    .and_then(|s| s.strip_suffix('"'))
                    .or_else(|| inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
                {
                    steps.push(Step::Key(quoted.to_string()));
                } else {
                    steps.push(Step::Index(inner.parse().map_err(|_| bad())?));
                }
                i = close + 1;
            }
            _ => return Err(bad()),
        }
    }
    Ok(steps)
}

/// A JSON value with object order and number text kept.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn has_float(&self) -> bool {
        match self {
            Json::Number(n) => n.contains(['.', 'e', 'E']),
            Json::Array(items) => items.iter().any(Json::has_float),
            Json::Object(entries) => entries.iter().any(|(_, v)| v.has_float()),
            _ => false,
        }
    }

    /// Compact text; `canonical` sorts keys and writes numbers as `BigDecimal` does.
    fn write(&self, canonical: bool) -> String {
        let mut out = String::new();
        self.write_to(&mut out, canonical);
        out
    }

    fn canonical(&self) -> String {
        self.write(true)
    }

    fn write_to(&self, out: &mut String, canonical: bool) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(&if canonical {
                big_decimal_text(n)
            } else {
                n.clone()
            }),
            Json::String(s) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_to(out, canonical);
                }
                out.push(']');
            }
            Json::Object(entries) => {
                let mut refs: Vec<&(String, Json)> = entries.iter().collect();
                if canonical {
                    refs.sort_by(|a, b| a.0.cmp(&b.0));
                }
                out.push('{');
                for (i, (k, v)) in refs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(k.clone()).to_string());
                    out.push(':');
                    v.write_to(out, canonical);
                }
                out.push('}');
            }
        }
    }
}

/// Java's `BigDecimal.toString()` of a JSON number (integers as written, minus signs of zero
/// dropped; decimals keep their scale; exponents as `1E+2`).
fn big_decimal_text(n: &str) -> String {
    let (negative, body) = match n.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, n),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if exponent == 0 && frac.is_empty() {
        let digits = int.trim_start_matches('0');
        let digits = if digits.is_empty() { "0" } else { digits };
        return if negative && digits != "0" {
            format!("-{digits}")
        } else {
            digits.to_string()
        };
    }
    let all = format!("{int}{frac}");
    let unscaled = all.trim_start_matches('0');
    let unscaled = if unscaled.is_empty() { "0" } else { unscaled };
    let scale = frac.len() as i64 - exponent;
    crate::render::java_big_decimal(negative, unscaled, scale)
}

/// JSON's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` (any magnitude).
fn valid_number(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    let start = i;
    let n = digits(&mut i);
    if n == 0 || (n > 1 && b[start] == b'0') {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

fn parse(text: &str) -> std::result::Result<Json, String> {
    let mut p = Parser {
        chars: text.chars().collect(),
        at: 0,
    };
    p.skip_ws();
    let value = p.value()?;
    p.skip_ws();
    if p.at != p.chars.len() {
        return Err(format!("unexpected text after the value at {}", p.at));
    }
    Ok(value)
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn skip_ws(&mut self) {
        while self.at < self.chars.len() && matches!(self.chars[self.at], ' ' | '\t' | '\n' | '\r')
        {
            self.at += 1;
        }
    }

    fn expect(&mut self, word: &str) -> std::result::Result<(), String> {
        for ch in word.chars() {
            if self.chars.get(self.at) != Some(&ch) {
                return Err(format!("expected {word} at {}", self.at));
            }
            self.at += 1;
        }
        Ok(())
    }

    fn value(&mut self) -> std::result::Result<Json, String> {
        match self.chars.get(self.at) {
            None => Err("unexpected end of JSON".into()),
            Some('n') => self.expect("null").map(|_| Json::Null),
            Some('t') => self.expect("true").map(|_| Json::Bool(true)),
            Some('f') => self.expect("false").map(|_| Json::Bool(false)),
            Some('"') => self.string().map(Json::String),
            Some('[') => {
                self.at += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.chars.get(self.at) == Some(&']') {
                    self.at += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    self.skip_ws();
                    items.push(self.value()?);
                    self.skip_ws();
                    match self.chars.get(self.at) {
                        Some(',') => self.at += 1,
                        Some(']') => {
                            self.at += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(format!("expected , or ] at {}", self.at)),
                    }
                }
            }
            Some('{') => {
                self.at += 1;
                let mut entries = Vec::new();
                self.skip_ws();
                if self.chars.get(self.at) == Some(&'}') {
                    self.at += 1;
                    return Ok(Json::Object(entries));
                }
                loop {
                    self.skip_ws();
                    if self.chars.get(self.at) != Some(&'"') {
                        return Err(format!("expected a key at {}", self.at));
                    }
                    let key = self.string()?;
                    self.skip_ws();
                    self.expect(":")?;
                    self.skip_ws();
                    let value = self.value()?;
                    entries.push((key, value));
                    self.skip_ws();
                    match self.chars.get(self.at) {
                        Some(',') => self.at += 1,
                        Some('}') => {
                            self.at += 1;
                            return Ok(Json::Object(entries));
                        }
                        _ => return Err(format!("expected , or }} at {}", self.at)),
                    }
                }
            }
            Some(c) if *c == '-' || c.is_ascii_digit() => {
                let start = self.at;
                while self.at < self.chars.len()
                    && matches!(self.chars[self.at], '-' | '+' | '.' | 'e' | 'E' | '0'..='9')
                {
                    self.at += 1;
                }
                let text: String = self.chars[start..self.at].iter().collect();
                if !valid_number(&text) {
                    return Err(format!("invalid number {text}"));
                }
                Ok(Json::Number(text))
            }
            Some(c) => Err(format!("unexpected character {c} at {}", self.at)),
        }
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        let start = self.at;
        self.at += 1;
        loop {
            match self.chars.get(self.at) {
                None => return Err("unterminated string".into()),
                Some('\\') => self.at += 2,
                Some('"') => {
                    self.at += 1;
                    break;
                }
                Some(_) => self.at += 1,
            }
        }
        let raw: String = self.chars[start..self.at].iter().collect();
        serde_json::from_str::<String>(&raw).map_err(|e| e.to_string())
    }
}
