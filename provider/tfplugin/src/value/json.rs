//! The JSON decoder: stored state (`raw_state.json`) and JSON-encoded DynamicValues. An own
//! reader, so numbers keep their exact text.

use std::collections::BTreeMap;

use super::{DecodeError, Number, Type, Value};

/// Decodes JSON as a value of `ty`. Object attributes the type does not have are dropped, so state
/// written by an older schema still loads.
pub fn from_json(ty: &Type, bytes: &[u8]) -> Result<Value, DecodeError> {
    let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::new("JSON is not UTF-8"))?;
    let mut parser = JsonParser { text, pos: 0 };
    parser.skip_ws();
    if parser.pos == text.len() {
        return Ok(Value::Null);
    }
    let json = parser.value(0)?;
    parser.skip_ws();
    if parser.pos != text.len() {
        return Err(DecodeError::new(format!(
            "unexpected JSON text at byte {}",
            parser.pos
        )));
    }
    json_to_value(ty, json)
}

/// Encodes a wholly known value as compact JSON text, object keys sorted (so the same value
/// is always the same text: a provider storing values as JSON strings in state compares them
/// as text). `None` when anything inside is unknown; a dynamic value is encoded as its value.
pub fn to_json_text(value: &Value) -> Option<String> {
    let mut out = String::new();
    write_json(value, &mut out).then_some(out)
}

fn write_json(value: &Value, out: &mut String) -> bool {
    match value {
        Value::Null => out.push_str("null"),
        Value::Unknown(_) => return false,
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.canonical()),
        Value::String(s) => out.push_str(&serde_json::Value::from(s.as_str()).to_string()),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !write_json(item, out) {
                    return false;
                }
            }
            out.push(']');
        }
        Value::Map(items) => {
            out.push('{');
            for (i, (key, item)) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::from(key.as_str()).to_string());
                out.push(':');
                if !write_json(item, out) {
                    return false;
                }
            }
            out.push('}');
        }
        Value::Dynamic(_, inner) => return write_json(inner, out),
    }
    true
}

enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

fn json_to_value(ty: &Type, json: Json) -> Result<Value, DecodeError> {
    let expected = |found: &str| {
        Err(DecodeError::new(format!(
            "expected {}, found JSON {found}",
            ty.to_json()
        )))
    };
    if let Json::Null = json {
        return Ok(Value::Null);
    }
    match (ty, json) {
        (Type::Dynamic, Json::Object(fields)) => {
            let mut type_json = None;
            let mut value_json = None;
            for (k, v) in fields {
                match k.as_str() {
                    "type" => type_json = Some(v),
                    "value" => value_json = Some(v),
                    _ => {}
                }
            }
            let inner_ty = match type_json {
                Some(t) => Type::from_json(&json_to_serde(t))?,
                None => return expected("a dynamic value without \"type\""),
            };
            let inner = json_to_value(&inner_ty, value_json.unwrap_or(Json::Null))?;
            Ok(Value::Dynamic(inner_ty, Box::new(inner)))
        }
        (Type::Bool, Json::Bool(b)) => Ok(Value::Bool(b)),
        (Type::Number, Json::Number(n)) => Ok(Value::Number(match n.parse::<i64>() {
            Ok(i) => Number::Int(i),
            Err(_) => Number::Decimal(n),
        })),
        (Type::String, Json::String(s)) => Ok(Value::String(s)),
        (Type::List(t) | Type::Set(t), Json::Array(items)) => Ok(Value::List(
            items
                .into_iter()
                .enumerate()
                .map(|(i, j)| json_to_value(t, j).map_err(|e| e.at(format!("[{i}]"))))
                .collect::<Result<_, _>>()?,
        )),
        (Type::Tuple(ts), Json::Array(items)) if ts.len() == items.len() => Ok(Value::List(
            ts.iter()
                .zip(items)
                .enumerate()
                .map(|(i, (t, j))| json_to_value(t, j).map_err(|e| e.at(format!("[{i}]"))))
                .collect::<Result<_, _>>()?,
        )),
        (Type::Map(t), Json::Object(fields)) => Ok(Value::Map(
            fields
                .into_iter()
                .map(|(k, j)| {
                    let v = json_to_value(t, j).map_err(|e| e.at(format!("[{k:?}]")))?;
                    Ok((k, v))
                })
                .collect::<Result<_, DecodeError>>()?,
        )),
        (Type::Object(attrs), Json::Object(fields)) => {
            let mut items: BTreeMap<String, Value> =
                attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
            for (k, j) in fields {
                if let Some(t) = attrs.get(&k) {
                    let v = json_to_value(t, j).map_err(|e| e.at(format!(".{k}")))?;
                    items.insert(k, v);
                }
            }
            Ok(Value::Map(items))
        }
        (_, Json::Bool(_)) => expected("bool"),
        (_, Json::Number(_)) => expected("number"),
        (_, Json::String(_)) => expected("string"),
        (_, Json::Array(_)) => expected("array"),
        (_, Json::Object(_)) => expected("object"),
        (_, Json::Null) => Ok(Value::Null),
    }
}

fn json_to_serde(json: Json) -> serde_json::Value {
    use serde_json::Value as J;
    match json {
        Json::Null => J::Null,
        Json::Bool(b) => J::Bool(b),
        Json::Number(n) => serde_json::from_str(&n).unwrap_or(J::String(n)),
        Json::String(s) => J::String(s),
        Json::Array(items) => J::Array(items.into_iter().map(json_to_serde).collect()),
        Json::Object(fields) => J::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k, json_to_serde(v)))
                .collect(),
        ),
    }
}

struct JsonParser<'a> {
    text: &'a str,
    pos: usize,
}

/// Deeper nesting than this is refused rather than risking the stack.
const MAX_JSON_DEPTH: usize = 512;

impl JsonParser<'_> {
    fn err(&self, what: &str) -> DecodeError {
        DecodeError::new(format!("invalid JSON at byte {}: {what}", self.pos))
    }

    fn skip_ws(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start_matches([' ', '\t', '\n', '\r']).len();
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, DecodeError> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.err("unknown literal"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, DecodeError> {
        if depth > MAX_JSON_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        self.skip_ws();
        match self.peek() {
            None => Err(self.err("unexpected end")),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'"') => Ok(Json::String(self.string()?)),
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(self.err("expected , or ]")),
                    }
                }
            }
            Some(b'{') => {
                self.pos += 1;
                let mut fields = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(Json::Object(fields));
                }
                loop {
                    self.skip_ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.err("expected a key"));
                    }
                    let key = self.string()?;
                    self.skip_ws();
                    if self.peek() != Some(b':') {
                        return Err(self.err("expected :"));
                    }
                    self.pos += 1;
                    fields.push((key, self.value(depth + 1)?));
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Json::Object(fields));
                        }
                        _ => return Err(self.err("expected , or }")),
                    }
                }
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.peek() {
                    self.pos += 1;
                }
                let text = &self.text[start..self.pos];
                if text.parse::<f64>().is_err() {
                    return Err(self.err("invalid number"));
                }
                Ok(Json::Number(text.to_string()))
            }
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let Some(i) = rest.find(['"', '\\']) else {
                return Err(self.err("unterminated string"));
            };
            out.push_str(&rest[..i]);
            self.pos += i;
            if self.peek() == Some(b'"') {
                self.pos += 1;
                return Ok(out);
            }
            self.pos += 1; // backslash
            let escaped = self.peek().ok_or_else(|| self.err("unterminated escape"))?;
            self.pos += 1;
            match escaped {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let high = self.hex4()?;
                    let c = if (0xd800..0xdc00).contains(&high) {
                        if !self.text[self.pos..].starts_with("\\u") {
                            return Err(self.err("lone surrogate"));
                        }
                        self.pos += 2;
                        let low = self.hex4()?;
                        if !(0xdc00..0xe000).contains(&low) {
                            return Err(self.err("bad surrogate pair"));
                        }
                        char::from_u32(0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00))
                    } else {
                        char::from_u32(high)
                    };
                    out.push(c.ok_or_else(|| self.err("invalid \\u escape"))?);
                }
                _ => return Err(self.err("invalid escape")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, DecodeError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("short \\u"))?;
        let v = u32::from_str_radix(digits, 16).map_err(|_| self.err("bad \\u digits"))?;
        self.pos += 4;
        Ok(v)
    }
}
