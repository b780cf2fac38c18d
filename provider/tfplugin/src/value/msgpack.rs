//! The msgpack codec: what Terraform sends and what we always answer with. Decoding needs the
//! type: msgpack cannot tell a list from a set or a map from an object, and objects must be
//! written with every attribute present.

use std::collections::BTreeMap;

use super::{DecodeError, NULL, Number, Type, Unknown, Value, canonical_decimal};

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
