//! cty values as Terraform exchanges them: a type-directed msgpack codec (what Terraform sends and
//! what we always answer with) and a JSON decoder (stored state is JSON).
//!
//! Decoding needs the type: msgpack cannot tell a list from a set or a map from an object, and
//! objects must be written with every attribute present.

use std::collections::BTreeMap;
use std::fmt;

mod json;
mod msgpack;
mod serde;

pub use self::serde::{Maybe, ValueError, from_value, to_value};
pub use json::{from_json, to_json_text};
pub use msgpack::{from_msgpack, to_msgpack};

/// A cty type, as written in schema `type` bytes (`"string"`, `["list","string"]`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    Bool,
    Number,
    String,
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
}

impl Type {
    pub fn list(element: Type) -> Type {
        Type::List(Box::new(element))
    }
    pub fn set(element: Type) -> Type {
        Type::Set(Box::new(element))
    }
    pub fn map(element: Type) -> Type {
        Type::Map(Box::new(element))
    }
    pub fn object<'a>(attributes: impl IntoIterator<Item = (&'a str, Type)>) -> Type {
        Type::Object(
            attributes
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    /// The cty type JSON, as in schema attributes and dynamic values.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{Value as J, json};
        match self {
            Type::Bool => J::from("bool"),
            Type::Number => J::from("number"),
            Type::String => J::from("string"),
            Type::Dynamic => J::from("dynamic"),
            Type::List(t) => json!(["list", t.to_json()]),
            Type::Set(t) => json!(["set", t.to_json()]),
            Type::Map(t) => json!(["map", t.to_json()]),
            Type::Object(attrs) => {
                let attrs: serde_json::Map<String, J> = attrs
                    .iter()
                    .map(|(k, t)| (k.clone(), t.to_json()))
                    .collect();
                json!(["object", attrs])
            }
            Type::Tuple(ts) => json!(["tuple", ts.iter().map(Type::to_json).collect::<Vec<_>>()]),
        }
    }

    pub fn to_json_bytes(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }

    pub fn from_json(json: &serde_json::Value) -> Result<Type, DecodeError> {
        use serde_json::Value as J;
        let bad = || DecodeError::new(format!("not a cty type: {json}"));
        match json {
            J::String(s) => match s.as_str() {
                "bool" => Ok(Type::Bool),
                "number" => Ok(Type::Number),
                "string" => Ok(Type::String),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(bad()),
            },
            J::Array(parts) => {
                let kind = parts.first().and_then(J::as_str).ok_or_else(bad)?;
                let arg = parts.get(1).ok_or_else(bad)?;
                match kind {
                    "list" => Ok(Type::list(Type::from_json(arg)?)),
                    "set" => Ok(Type::set(Type::from_json(arg)?)),
                    "map" => Ok(Type::map(Type::from_json(arg)?)),
                    // A third element lists optional attributes; it only matters for conversion
                    // of user input, which Terraform has already done.
                    "object" => {
                        let attrs = arg.as_object().ok_or_else(bad)?;
                        let mut out = BTreeMap::new();
                        for (k, v) in attrs {
                            out.insert(k.clone(), Type::from_json(v)?);
                        }
                        Ok(Type::Object(out))
                    }
                    "tuple" => {
                        let elems = arg.as_array().ok_or_else(bad)?;
                        Ok(Type::Tuple(
                            elems
                                .iter()
                                .map(Type::from_json)
                                .collect::<Result<_, _>>()?,
                        ))
                    }
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }
}

/// A cty number without precision loss: what fits goes as an integer or an exact float, the rest
/// stays the decimal text Terraform sent.
#[derive(Debug, Clone)]
pub enum Number {
    Int(i64),
    Float(f64),
    Decimal(String),
}

impl Number {
    /// Canonical decimal text, used for equality: `1`, `1.0` and `"1"` are the same number.
    pub fn canonical(&self) -> String {
        match self {
            Number::Int(i) => i.to_string(),
            Number::Float(f) => canonical_float(*f),
            Number::Decimal(s) => canonical_decimal(s),
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(*i),
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
                Some(*f as i64)
            }
            Number::Float(_) => None,
            Number::Decimal(s) => canonical_decimal(s).parse().ok(),
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Number::Int(i) => Some(*i as f64),
            Number::Float(f) => Some(*f),
            Number::Decimal(s) => s.parse().ok(),
        }
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        self.canonical() == other.canonical()
    }
}

fn canonical_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 9.2e18 {
        (f as i64).to_string()
    } else {
        // Rust prints the shortest text that round-trips, without an exponent.
        format!("{f}")
    }
}

/// Normalises decimal text: no `+`, no leading zeros, no trailing fractional zeros, exponent
/// folded in. Text that is not a decimal is returned unchanged (it then only equals itself).
pub(crate) fn canonical_decimal(text: &str) -> String {
    let s = text.trim();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => match s[i + 1..].parse::<i64>() {
            Ok(e) => (&s[..i], e),
            Err(_) => return text.to_string(),
        },
        None => (s, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty()
        || !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
        || exponent.abs() > 10_000
    {
        return text.to_string();
    }
    let digits: String = format!("{int_part}{frac_part}");
    let point = int_part.len() as i64 + exponent;
    let (int_digits, frac_digits) = if point <= 0 {
        (
            String::new(),
            format!("{}{}", "0".repeat((-point) as usize), digits),
        )
    } else if point as usize >= digits.len() {
        (
            format!("{}{}", digits, "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        (
            digits[..point as usize].to_string(),
            digits[point as usize..].to_string(),
        )
    };
    let int_digits = int_digits.trim_start_matches('0');
    let frac_digits = frac_digits.trim_end_matches('0');
    let body = match (int_digits.is_empty(), frac_digits.is_empty()) {
        (true, true) => return "0".to_string(),
        (false, true) => int_digits.to_string(),
        (true, false) => format!("0.{frac_digits}"),
        (false, false) => format!("{int_digits}.{frac_digits}"),
    };
    if negative { format!("-{body}") } else { body }
}

/// A value not known until apply. Terraform may refine it (ext type 12: nullness, string prefix,
/// number and length bounds); we keep whatever it sent and echo it back unchanged.
#[derive(Debug, Clone, Default)]
pub struct Unknown {
    pub(crate) raw: Option<(i8, Vec<u8>)>,
}

impl PartialEq for Unknown {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// A cty value. Lists, sets and tuples share `List`; maps and objects share `Map`: the type,
/// always at hand when encoding, says which.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Unknown(Unknown),
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// A value of a `dynamic` attribute, with the concrete type Terraform gave it.
    Dynamic(Type, Box<Value>),
}

pub(crate) static NULL: Value = Value::Null;

impl Value {
    pub fn unknown() -> Value {
        Value::Unknown(Unknown::default())
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown(_))
    }

    /// True when neither the value nor anything inside it is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::List(items) => items.iter().all(Value::is_wholly_known),
            Value::Map(items) => items.values().all(Value::is_wholly_known),
            Value::Dynamic(_, v) => v.is_wholly_known(),
            _ => true,
        }
    }

    /// An attribute of an object (or a map element); null when absent or when self is not a map.
    pub fn get(&self, key: &str) -> &Value {
        match self {
            Value::Map(m) => m.get(key).unwrap_or(&NULL),
            Value::Dynamic(_, v) => v.get(key),
            _ => &NULL,
        }
    }

    /// Sets an attribute; turns a null into an empty object first.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        if !matches!(self, Value::Map(_)) {
            *self = Value::Map(BTreeMap::new());
        }
        if let Value::Map(m) = self {
            m.insert(key.to_string(), value.into());
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// A known map of strings (null → empty). Unknown or non-string elements are left out.
    pub fn string_map(&self) -> BTreeMap<String, String> {
        self.as_map()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A known list of strings (null → empty).
    pub fn string_list(&self) -> Vec<String> {
        self.as_list()
            .map(|l| {
                l.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn object<K: Into<String>>(attributes: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(attributes.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A string, or null for None.
    pub fn opt_string(s: Option<impl Into<String>>) -> Value {
        s.map_or(Value::Null, |s| Value::String(s.into()))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Value::String(s.clone())
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Number(Number::Int(i))
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Number(Number::Float(f))
    }
}
impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::List(items)
    }
}
impl From<Vec<String>> for Value {
    fn from(items: Vec<String>) -> Self {
        Value::List(items.into_iter().map(Value::String).collect())
    }
}
impl From<BTreeMap<String, String>> for Value {
    fn from(m: BTreeMap<String, String>) -> Self {
        Value::Map(m.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
    }
}
impl From<BTreeMap<String, Value>> for Value {
    fn from(m: BTreeMap<String, Value>) -> Self {
        Value::Map(m)
    }
}

/// Why bytes could not be read as a value of the expected type; `path` says where.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError {
    pub message: String,
    pub path: Vec<String>,
}

impl DecodeError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        DecodeError {
            message: message.into(),
            path: Vec::new(),
        }
    }
    pub(crate) fn at(mut self, step: impl Into<String>) -> Self {
        self.path.insert(0, step.into());
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{} (at {})", self.message, self.path.join(""))
        }
    }
}

impl std::error::Error for DecodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj_type() -> Type {
        Type::object([
            ("name", Type::String),
            ("count", Type::Number),
            ("tags", Type::map(Type::String)),
            ("ids", Type::set(Type::Number)),
            ("flag", Type::Bool),
        ])
    }

    #[test]
    fn object_round_trips_with_every_attribute_present() {
        let mut v = Value::Null;
        v.set("name", "x");
        v.set("count", 3i64);
        let bytes = to_msgpack(&obj_type(), &v).unwrap();
        let back = from_msgpack(&obj_type(), &bytes).unwrap();
        assert_eq!(back.get("name").as_str(), Some("x"));
        assert!(back.get("tags").is_null());
        assert_eq!(
            back.as_map().unwrap().len(),
            5,
            "absent attributes come back as null"
        );
    }

    #[test]
    fn go_cty_unknown_and_refined_unknown_decode() {
        // d4 00 00 = plain unknown; c7 ... 0c = refined unknown (ext 12) with {1: false}.
        assert!(
            from_msgpack(&Type::String, &[0xd4, 0, 0])
                .unwrap()
                .is_unknown()
        );
        let refined = [0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc2];
        let v = from_msgpack(&Type::String, &refined).unwrap();
        assert!(v.is_unknown());
        assert_eq!(
            to_msgpack(&Type::String, &v).unwrap(),
            refined,
            "refinement echoed back"
        );
        assert_eq!(
            to_msgpack(&Type::String, &Value::unknown()).unwrap(),
            [0xd4, 0, 0]
        );
    }

    #[test]
    fn numbers_keep_precision() {
        let big = "123456789012345678901234567890.5";
        let v = from_msgpack(
            &Type::Number,
            &to_msgpack(&Type::Number, &Value::Number(Number::Decimal(big.into()))).unwrap(),
        )
        .unwrap();
        assert_eq!(v, Value::Number(Number::Decimal(big.into())));
        assert_eq!(
            to_msgpack(&Type::Number, &Value::from(1.5f64)).unwrap(),
            [0xa3, b'1', b'.', b'5'],
            "numbers go as decimal text, parsed like numbers in state"
        );
        assert_eq!(
            to_msgpack(&Type::Number, &Value::from(2.0f64)).unwrap(),
            [0xa1, b'2'],
            "integral floats as whole numbers"
        );
        assert_eq!(
            from_msgpack(
                &Type::Number,
                &to_msgpack(&Type::Number, &Value::from(-7i64)).unwrap()
            )
            .unwrap(),
            Value::from(-7i64)
        );
        let u = [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(
            from_msgpack(&Type::Number, &u).unwrap(),
            Value::Number(Number::Decimal(u64::MAX.to_string()))
        );
        assert_eq!(Number::Decimal("1.50e1".into()), Number::Int(15));
        assert_eq!(Number::Decimal("-0.0100".into()).canonical(), "-0.01");
    }

    #[test]
    fn dynamic_values_carry_their_type() {
        let v = Value::Dynamic(
            Type::list(Type::String),
            Box::new(Value::from(vec!["a".to_string()])),
        );
        let bytes = to_msgpack(&Type::Dynamic, &v).unwrap();
        assert_eq!(from_msgpack(&Type::Dynamic, &bytes).unwrap(), v);
        let json = br#"{"value":["a"],"type":["list","string"]}"#;
        assert_eq!(from_json(&Type::Dynamic, json).unwrap(), v);
    }

    #[test]
    fn json_state_drops_removed_attributes_and_keeps_big_numbers() {
        let json = br#"{"name":"db","count":12345678901234567890123,"gone":"x","tags":{"a":"b"},"ids":[1,2.5e3],"flag":true}"#;
        let v = from_json(&obj_type(), json).unwrap();
        assert_eq!(
            v.get("count"),
            &Value::Number(Number::Decimal("12345678901234567890123".into()))
        );
        assert_eq!(v.get("ids").as_list().unwrap()[1], Value::from(2500i64));
        assert!(v.get("gone").is_null());
        assert_eq!(
            v.get("tags").string_map().get("a").map(String::as_str),
            Some("b")
        );
    }

    #[test]
    fn json_text_round_trips_with_sorted_keys() {
        let json = br#"{"tags":{"b":"2","a":"q\"uote"},"name":"db","count":12345678901234567890123,"ids":[1,2],"flag":false}"#;
        let v = from_json(&obj_type(), json).unwrap();
        let text = to_json_text(&v).unwrap();
        assert_eq!(
            text,
            r#"{"count":12345678901234567890123,"flag":false,"ids":[1,2],"name":"db","tags":{"a":"q\"uote","b":"2"}}"#
        );
        assert_eq!(from_json(&obj_type(), text.as_bytes()).unwrap(), v);
        let mut partly = v.clone();
        partly.set("name", Value::unknown());
        assert_eq!(to_json_text(&partly), None);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert!(from_msgpack(&Type::String, &[0xdb, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(from_msgpack(&obj_type(), &[0x81, 0xa1, b'z', 0xc0]).is_err());
        assert!(from_json(&obj_type(), b"{\"name\": ").is_err());
        assert!(from_json(&Type::String, &[b'['; 10_000]).is_err());
    }
}
