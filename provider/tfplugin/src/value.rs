//! cty values as Terraform exchanges them: a type-directed msgpack codec (what Terraform sends and
//! what we always answer with) and a JSON decoder (stored state is JSON).
//!
//! Decoding needs the type: msgpack cannot tell a list from a set or a map from an object, and
//! objects must be written with every attribute present.

use std::collections::BTreeMap;
use std::fmt;

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
fn canonical_decimal(text: &str) -> String {
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
    raw: Option<(i8, Vec<u8>)>,
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

static NULL: Value = Value::Null;

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
    fn new(message: impl Into<String>) -> Self {
        DecodeError {
            message: message.into(),
            path: Vec::new(),
        }
    }
    fn at(mut self, step: impl Into<String>) -> Self {
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

// ---------------------------------------------------------------------------------------------
// msgpack

/// Encodes `value` as msgpack for `ty`. Objects get every attribute of the type (null where the
/// value has none), as Terraform requires.
pub fn to_msgpack(ty: &Type, value: &Value) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(64);
    write_value(&mut out, ty, value)?;
    Ok(out)
}

/// Decodes msgpack bytes as a value of `ty`. Empty input is null.
pub fn from_msgpack(ty: &Type, bytes: &[u8]) -> Result<Value, DecodeError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let mut reader = Reader { bytes, pos: 0 };
    let value = reader.value(ty)?;
    if reader.pos != bytes.len() {
        return Err(DecodeError::new(format!(
            "{} trailing bytes after the value",
            bytes.len() - reader.pos
        )));
    }
    Ok(value)
}

fn write_value(out: &mut Vec<u8>, ty: &Type, value: &Value) -> Result<(), DecodeError> {
    let mismatch = |what: &str| {
        Err(DecodeError::new(format!(
            "cannot encode {what} as {}",
            ty.to_json()
        )))
    };
    match (ty, value) {
        (_, Value::Null) => out.push(0xc0),
        (_, Value::Unknown(u)) => match &u.raw {
            Some((code, data)) => write_ext(out, *code, data),
            None => out.extend_from_slice(&[0xd4, 0, 0]),
        },
        (Type::Dynamic, Value::Dynamic(inner_ty, inner)) => {
            write_array_len(out, 2);
            write_bin(out, &inner_ty.to_json_bytes());
            write_value(out, inner_ty, inner)?;
        }
        (Type::Dynamic, v) => {
            let inferred = infer_type(v);
            write_array_len(out, 2);
            write_bin(out, &inferred.to_json_bytes());
            write_value(out, &inferred, v)?;
        }
        (_, Value::Dynamic(_, inner)) => write_value(out, ty, inner)?,
        (Type::Bool, Value::Bool(b)) => out.push(if *b { 0xc3 } else { 0xc2 }),
        (Type::Number, Value::Number(n)) => write_number(out, n),
        (Type::String, Value::String(s)) => write_str(out, s),
        (Type::List(t) | Type::Set(t), Value::List(items)) => {
            write_array_len(out, items.len());
            for (i, item) in items.iter().enumerate() {
                write_value(out, t, item).map_err(|e| e.at(format!("[{i}]")))?;
            }
        }
        (Type::Tuple(ts), Value::List(items)) => {
            if ts.len() != items.len() {
                return mismatch(&format!("a tuple of {} elements", items.len()));
            }
            write_array_len(out, items.len());
            for (i, (t, item)) in ts.iter().zip(items).enumerate() {
                write_value(out, t, item).map_err(|e| e.at(format!("[{i}]")))?;
            }
        }
        (Type::Map(t), Value::Map(items)) => {
            write_map_len(out, items.len());
            for (k, v) in items {
                write_str(out, k);
                write_value(out, t, v).map_err(|e| e.at(format!("[{k:?}]")))?;
            }
        }
        (Type::Object(attrs), Value::Map(items)) => {
            if let Some(extra) = items.keys().find(|k| !attrs.contains_key(*k)) {
                return mismatch(&format!("an object with attribute {extra:?}"));
            }
            write_map_len(out, attrs.len());
            for (k, t) in attrs {
                write_str(out, k);
                write_value(out, t, items.get(k).unwrap_or(&NULL))
                    .map_err(|e| e.at(format!(".{k}")))?;
            }
        }
        (_, Value::Bool(_)) => return mismatch("a bool"),
        (_, Value::Number(_)) => return mismatch("a number"),
        (_, Value::String(_)) => return mismatch("a string"),
        (_, Value::List(_)) => return mismatch("a list"),
        (_, Value::Map(_)) => return mismatch("a map"),
    }
    Ok(())
}

/// The type of a value written into a `dynamic` attribute without one.
fn infer_type(value: &Value) -> Type {
    match value {
        Value::Null | Value::Unknown(_) => Type::Dynamic,
        Value::Bool(_) => Type::Bool,
        Value::Number(_) => Type::Number,
        Value::String(_) => Type::String,
        Value::List(items) => Type::Tuple(items.iter().map(infer_type).collect()),
        Value::Map(items) => Type::Object(
            items
                .iter()
                .map(|(k, v)| (k.clone(), infer_type(v)))
                .collect(),
        ),
        Value::Dynamic(t, _) => t.clone(),
    }
}

/// Numbers go as their decimal text, which Terraform parses exactly as it parses the numbers of
/// stored state (cty `ParseNumberVal`). Sent as msgpack ints or floats they decode into values
/// of another precision: equal, but not identical — and Terraform 1.10/1.11 compares refreshed
/// and stored state objects with `reflect.DeepEqual`, so every `plan -refresh-only` of a resource
/// with a number attribute looked applyable (exit code 2 with "No changes";
/// hashicorp/terraform#36403).
fn write_number(out: &mut Vec<u8>, n: &Number) {
    write_str(out, &n.canonical())
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= u8::MAX as usize {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= u16::MAX as usize {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s.as_bytes());
}

fn write_bin(out: &mut Vec<u8>, b: &[u8]) {
    let len = b.len();
    if len <= u8::MAX as usize {
        out.extend_from_slice(&[0xc4, len as u8]);
    } else if len <= u16::MAX as usize {
        out.push(0xc5);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xc6);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(b);
}

fn write_array_len(out: &mut Vec<u8>, len: usize) {
    if len < 16 {
        out.push(0x90 | len as u8);
    } else if len <= u16::MAX as usize {
        out.push(0xdc);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdd);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn write_map_len(out: &mut Vec<u8>, len: usize) {
    if len < 16 {
        out.push(0x80 | len as u8);
    } else if len <= u16::MAX as usize {
        out.push(0xde);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdf);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn write_ext(out: &mut Vec<u8>, code: i8, data: &[u8]) {
    match data.len() {
        1 => out.push(0xd4),
        2 => out.push(0xd5),
        4 => out.push(0xd6),
        8 => out.push(0xd7),
        16 => out.push(0xd8),
        len if len <= u8::MAX as usize => out.extend_from_slice(&[0xc7, len as u8]),
        len if len <= u16::MAX as usize => {
            out.push(0xc8);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(0xc9);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
    out.push(code as u8);
    out.extend_from_slice(data);
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

/// What one msgpack item is, before the expected type interprets it.
enum Item<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(&'a [u8]),
    Array(usize),
    Map(usize),
    Ext(i8, &'a [u8]),
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len());
        match end {
            Some(end) => {
                let slice = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(slice)
            }
            None => Err(DecodeError::new(
                "msgpack input ends in the middle of a value",
            )),
        }
    }

    fn be(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn item(&mut self) -> Result<Item<'a>, DecodeError> {
        let marker = self.take(1)?[0];
        Ok(match marker {
            0x00..=0x7f => Item::Int(i64::from(marker)),
            0x80..=0x8f => Item::Map(usize::from(marker & 0x0f)),
            0x90..=0x9f => Item::Array(usize::from(marker & 0x0f)),
            0xa0..=0xbf => Item::Str(self.take(usize::from(marker & 0x1f))?),
            0xc0 => Item::Nil,
            0xc2 => Item::Bool(false),
            0xc3 => Item::Bool(true),
            0xc4 | 0xd9 => {
                let n = self.be(1)? as usize;
                Item::Str(self.take(n)?)
            }
            0xc5 | 0xda => {
                let n = self.be(2)? as usize;
                Item::Str(self.take(n)?)
            }
            0xc6 | 0xdb => {
                let n = self.be(4)? as usize;
                Item::Str(self.take(n)?)
            }
            0xc7..=0xc9 => {
                let n = self.be(1 << (marker - 0xc7))? as usize;
                let code = self.take(1)?[0] as i8;
                Item::Ext(code, self.take(n)?)
            }
            0xca => Item::Float(f64::from(f32::from_bits(self.be(4)? as u32))),
            0xcb => Item::Float(f64::from_bits(self.be(8)?)),
            0xcc..=0xcf => Item::Uint(self.be(1 << (marker - 0xcc))?),
            0xd0 => Item::Int(i64::from(self.be(1)? as u8 as i8)),
            0xd1 => Item::Int(i64::from(self.be(2)? as u16 as i16)),
            0xd2 => Item::Int(i64::from(self.be(4)? as u32 as i32)),
            0xd3 => Item::Int(self.be(8)? as i64),
            0xd4..=0xd8 => {
                let code = self.take(1)?[0] as i8;
                Item::Ext(code, self.take(1 << (marker - 0xd4))?)
            }
            0xdc => Item::Array(self.be(2)? as usize),
            0xdd => Item::Array(self.be(4)? as usize),
            0xde => Item::Map(self.be(2)? as usize),
            0xdf => Item::Map(self.be(4)? as usize),
            0xe0..=0xff => Item::Int(i64::from(marker as i8)),
            0xc1 => return Err(DecodeError::new("invalid msgpack marker 0xc1")),
        })
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        match self.item()? {
            Item::Str(b) => String::from_utf8(b.to_vec())
                .map_err(|_| DecodeError::new("string is not valid UTF-8")),
            _ => Err(DecodeError::new("expected a string")),
        }
    }

    fn value(&mut self, ty: &Type) -> Result<Value, DecodeError> {
        let item = self.item()?;
        let expected = |what: &str| {
            Err(DecodeError::new(format!(
                "expected {}, found {what}",
                ty.to_json()
            )))
        };
        match item {
            Item::Nil => return Ok(Value::Null),
            Item::Ext(code, data) => {
                return Ok(Value::Unknown(Unknown {
                    raw: Some((code, data.to_vec())),
                }));
            }
            _ => {}
        }
        match ty {
            Type::Dynamic => {
                let Item::Array(2) = item else {
                    return expected("something other than a [type, value] pair");
                };
                let type_bytes = match self.item()? {
                    Item::Str(b) => b,
                    _ => return expected("a dynamic value without type JSON"),
                };
                let type_json: serde_json::Value = serde_json::from_slice(type_bytes)
                    .map_err(|e| DecodeError::new(format!("dynamic type JSON: {e}")))?;
                let inner_ty = Type::from_json(&type_json)?;
                let inner = self.value(&inner_ty)?;
                Ok(Value::Dynamic(inner_ty, Box::new(inner)))
            }
            Type::Bool => match item {
                Item::Bool(b) => Ok(Value::Bool(b)),
                _ => expected("another kind of value"),
            },
            Type::Number => match item {
                Item::Int(i) => Ok(Value::Number(Number::Int(i))),
                Item::Uint(u) => Ok(Value::Number(match i64::try_from(u) {
                    Ok(i) => Number::Int(i),
                    Err(_) => Number::Decimal(u.to_string()),
                })),
                Item::Float(f) => Ok(Value::Number(Number::Float(f))),
                Item::Str(b) => {
                    let text = std::str::from_utf8(b)
                        .map_err(|_| DecodeError::new("number text is not UTF-8"))?;
                    if canonical_decimal(text) == text.trim() || text.parse::<f64>().is_ok() {
                        Ok(Value::Number(Number::Decimal(text.to_string())))
                    } else {
                        Err(DecodeError::new(format!("{text:?} is not a number")))
                    }
                }
                _ => expected("another kind of value"),
            },
            Type::String => match item {
                Item::Str(b) => String::from_utf8(b.to_vec())
                    .map(Value::String)
                    .map_err(|_| DecodeError::new("string is not valid UTF-8")),
                _ => expected("another kind of value"),
            },
            Type::List(t) | Type::Set(t) => {
                let Item::Array(n) = item else {
                    return expected("something other than an array");
                };
                let mut items = Vec::with_capacity(n.min(1024));
                for i in 0..n {
                    items.push(self.value(t).map_err(|e| e.at(format!("[{i}]")))?);
                }
                Ok(Value::List(items))
            }
            Type::Tuple(ts) => {
                let Item::Array(n) = item else {
                    return expected("something other than an array");
                };
                if n != ts.len() {
                    return expected(&format!("{n} elements"));
                }
                let mut items = Vec::with_capacity(n);
                for (i, t) in ts.iter().enumerate() {
                    items.push(self.value(t).map_err(|e| e.at(format!("[{i}]")))?);
                }
                Ok(Value::List(items))
            }
            Type::Map(t) => {
                let Item::Map(n) = item else {
                    return expected("something other than a map");
                };
                let mut items = BTreeMap::new();
                for _ in 0..n {
                    let key = self.string()?;
                    let v = self.value(t).map_err(|e| e.at(format!("[{key:?}]")))?;
                    items.insert(key, v);
                }
                Ok(Value::Map(items))
            }
            Type::Object(attrs) => {
                let Item::Map(n) = item else {
                    return expected("something other than a map");
                };
                let mut items = BTreeMap::new();
                for _ in 0..n {
                    let key = self.string()?;
                    let t = attrs
                        .get(&key)
                        .ok_or_else(|| DecodeError::new(format!("unexpected attribute {key:?}")))?;
                    let v = self.value(t).map_err(|e| e.at(format!(".{key}")))?;
                    items.insert(key, v);
                }
                for k in attrs.keys() {
                    items.entry(k.clone()).or_insert(Value::Null);
                }
                Ok(Value::Map(items))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON (stored state). Own reader so numbers keep their exact text.

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
    fn malformed_input_is_an_error_not_a_panic() {
        assert!(from_msgpack(&Type::String, &[0xdb, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(from_msgpack(&obj_type(), &[0x81, 0xa1, b'z', 0xc0]).is_err());
        assert!(from_json(&obj_type(), b"{\"name\": ").is_err());
        assert!(from_json(&Type::String, &[b'['; 10_000]).is_err());
    }
}
