//! serde between [`Value`] and Rust types, so a provider reads and writes its resources as
//! `#[derive(Deserialize, Serialize)]` structs instead of attributes by string name.
//!
//! Objects map to structs (attribute = field), lists and sets to `Vec`, maps to `BTreeMap`,
//! null to `None`. A value that may be unknown — anything in a plan — is read into
//! [`Maybe<T>`], which keeps null, unknown and known apart; reading an unknown value into
//! any other type is an error that names the attribute.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};
use serde::{Deserialize, Deserializer, Serializer};

use super::{Number, Value};

/// The newtype name [`Maybe`] deserializes through, so the value deserializer can tell it apart.
const MAYBE: &str = "$tfplugin::Maybe";
/// The unit struct an unknown [`Maybe`] serializes as, and the text an unknown value reads as
/// where serde buffers values (`#[serde(flatten)]`).
const UNKNOWN: &str = "$tfplugin::Unknown";

/// A value that is null, not known until apply (in whole or in part), or known.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Maybe<T> {
    #[default]
    Null,
    Unknown,
    Known(T),
}

impl<T> Maybe<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Maybe::Known(value) => Some(value),
            _ => None,
        }
    }

    pub fn into_known(self) -> Option<T> {
        match self {
            Maybe::Known(value) => Some(value),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Maybe::Null)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Maybe::Unknown)
    }

    /// Null for `None`, known for `Some`.
    pub fn from_option(value: Option<T>) -> Self {
        value.map_or(Maybe::Null, Maybe::Known)
    }
}

impl<T> From<T> for Maybe<T> {
    fn from(value: T) -> Self {
        Maybe::Known(value)
    }
}

impl<T: Serialize> Serialize for Maybe<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Maybe::Null => serializer.serialize_none(),
            Maybe::Unknown => serializer.serialize_unit_struct(UNKNOWN),
            Maybe::Known(value) => serializer.serialize_some(value),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Maybe<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MaybeVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: DeserializeOwned> Visitor<'de> for MaybeVisitor<T> {
            type Value = Maybe<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value, null or unknown")
            }
            fn visit_none<E>(self) -> Result<Maybe<T>, E> {
                Ok(Maybe::Null)
            }
            fn visit_unit<E>(self) -> Result<Maybe<T>, E> {
                Ok(Maybe::Unknown)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Maybe<T>, D::Error> {
                T::deserialize(d).map(Maybe::Known)
            }
            /// From a buffer (`#[serde(flatten)]`): read the value, then decide.
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<Maybe<T>, D::Error> {
                // The buffer's newtype around an unknown value is this one.
                let value = match Value::deserialize(d)? {
                    Value::String(s) if s == UNKNOWN => Value::unknown(),
                    other => other,
                };
                if value.is_null() {
                    Ok(Maybe::Null)
                } else if !value.is_wholly_known() {
                    Ok(Maybe::Unknown)
                } else {
                    T::deserialize(&value)
                        .map(Maybe::Known)
                        .map_err(de::Error::custom)
                }
            }
        }
        deserializer.deserialize_newtype_struct(MAYBE, MaybeVisitor(std::marker::PhantomData))
    }
}

/// Why a value does not fit a Rust type (or the other way round); `path` names the attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    pub path: Vec<String>,
    pub message: String,
}

impl ValueError {
    fn at(mut self, step: String) -> Self {
        self.path.insert(0, step);
        self
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path.join("."), self.message)
        }
    }
}

impl std::error::Error for ValueError {}

impl de::Error for ValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ValueError {
            path: Vec::new(),
            message: msg.to_string(),
        }
    }
}

impl ser::Error for ValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        de::Error::custom(msg)
    }
}

/// Reads a value into `T`.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, ValueError> {
    T::deserialize(value)
}

/// Writes `T` as a value.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, ValueError> {
    value.serialize(ValueSerializer)
}

// ---- deserializing --------------------------------------------------------------------------

/// Any value serde can describe, as a [`Value`]: what [`Maybe`] reads from serde's buffers.
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(AnyValue)
    }
}

struct AnyValue;

impl<'de> Visitor<'de> for AnyValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Terraform value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(Number::Int(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(match i64::try_from(v) {
            Ok(i) => Number::Int(i),
            Err(_) => Number::Decimal(v.to_string()),
        }))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Number(Number::Float(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    /// An unknown value, as [`Unknown`](UnknownMarker) presented it.
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) if s == UNKNOWN => Value::unknown(),
            other => other,
        })
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = BTreeMap::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            entries.insert(key, value);
        }
        Ok(Value::Map(entries))
    }
}

/// How an unknown value shows itself to a visitor that is not [`Maybe`]'s: a newtype around
/// [`UNKNOWN`]. serde's buffers keep it, so `Maybe` still reads it as unknown; any other type
/// refuses it (see `unknown_error`).
struct UnknownMarker;

impl<'de> Deserializer<'de> for UnknownMarker {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_borrowed_str(UNKNOWN)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

fn unknown_error() -> ValueError {
    de::Error::custom("the value is not known until apply")
}

impl<'de> Deserializer<'de> for &'de Value {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_unit(),
            // Only serde's buffers ask for any value where a value is unknown.
            Value::Unknown(_) => visitor
                .visit_newtype_struct(UnknownMarker)
                .map_err(|_| unknown_error()),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match n {
                Number::Int(i) => visitor.visit_i64(*i),
                other => match other.as_i64() {
                    Some(i) => visitor.visit_i64(i),
                    None => visitor.visit_f64(other.as_f64().unwrap_or(f64::NAN)),
                },
            },
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::List(items) => visitor.visit_seq(Seq {
                items: items.iter().enumerate(),
            }),
            Value::Map(entries) => visitor.visit_map(Map {
                entries: entries.iter(),
                value: None,
            }),
            Value::Dynamic(_, inner) => inner.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_none(),
            Value::Unknown(_) => Err(unknown_error()),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        if name == MAYBE {
            // Known means wholly known: a list with one unknown element is unknown as a whole.
            match self {
                Value::Null => visitor.visit_none(),
                _ if !self.is_wholly_known() => visitor.visit_unit(),
                _ => visitor.visit_some(self),
            }
        } else {
            visitor.visit_newtype_struct(self)
        }
    }

    /// Enums are strings (`#[serde(rename_all = "snake_case")]` unit variants).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Unknown(_) => Err(unknown_error()),
            other => Err(de::Error::custom(format!(
                "expected a string, got {other:?}"
            ))),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

struct Seq<'de> {
    items: std::iter::Enumerate<std::slice::Iter<'de, Value>>,
}

impl<'de> de::SeqAccess<'de> for Seq<'de> {
    type Error = ValueError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ValueError> {
        match self.items.next() {
            Some((i, item)) => seed
                .deserialize(item)
                .map(Some)
                .map_err(|e| e.at(format!("[{i}]"))),
            None => Ok(None),
        }
    }
}

struct Map<'de> {
    entries: std::collections::btree_map::Iter<'de, String, Value>,
    value: Option<(&'de str, &'de Value)>,
}

impl<'de> de::MapAccess<'de> for Map<'de> {
    type Error = ValueError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueError> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some((key, value));
                seed.deserialize(de::value::BorrowedStrDeserializer::new(key))
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ValueError> {
        let (key, value) = self
            .value
            .take()
            .ok_or_else(|| <ValueError as de::Error>::custom("a map value without its key"))?;
        seed.deserialize(value).map_err(|e| e.at(key.to_string()))
    }
}

// ---- serializing ----------------------------------------------------------------------------

struct ValueSerializer;

fn int(i: i64) -> Result<Value, ValueError> {
    Ok(Value::Number(Number::Int(i)))
}

impl Serializer for ValueSerializer {
    type Ok = Value;
    type Error = ValueError;
    type SerializeSeq = SeqSerializer;
    type SerializeTuple = SeqSerializer;
    type SerializeTupleStruct = SeqSerializer;
    type SerializeTupleVariant = ser::Impossible<Value, ValueError>;
    type SerializeMap = MapSerializer;
    type SerializeStruct = MapSerializer;
    type SerializeStructVariant = ser::Impossible<Value, ValueError>;

    fn serialize_bool(self, v: bool) -> Result<Value, ValueError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, ValueError> {
        int(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<Value, ValueError> {
        int(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<Value, ValueError> {
        int(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<Value, ValueError> {
        int(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Value, ValueError> {
        int(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<Value, ValueError> {
        int(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<Value, ValueError> {
        int(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<Value, ValueError> {
        match i64::try_from(v) {
            Ok(i) => int(i),
            Err(_) => Ok(Value::Number(Number::Decimal(v.to_string()))),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<Value, ValueError> {
        Ok(Value::Number(Number::Float(v.into())))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, ValueError> {
        Ok(Value::Number(Number::Float(v)))
    }
    fn serialize_char(self, v: char) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Value, ValueError> {
        Err(ser::Error::custom("bytes have no Terraform type"))
    }
    fn serialize_none(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, ValueError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<Value, ValueError> {
        Ok(if name == UNKNOWN {
            Value::unknown()
        } else {
            Value::Null
        })
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, ValueError> {
        Ok(Value::String(variant.to_string()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, ValueError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        _value: &T,
    ) -> Result<Value, ValueError> {
        Err(ser::Error::custom(format!(
            "{name}::{variant}: enums with data have no Terraform type"
        )))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSerializer, ValueError> {
        Ok(SeqSerializer(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSerializer, ValueError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqSerializer, ValueError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, ValueError> {
        Err(ser::Error::custom(format!(
            "{name}::{variant}: enums with data have no Terraform type"
        )))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapSerializer, ValueError> {
        Ok(MapSerializer {
            entries: BTreeMap::new(),
            key: None,
        })
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<MapSerializer, ValueError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, ValueError> {
        Err(ser::Error::custom(format!(
            "{name}::{variant}: enums with data have no Terraform type"
        )))
    }
}

struct SeqSerializer(Vec<Value>);

impl ser::SerializeSeq for SeqSerializer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.0.push(to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::List(self.0))
    }
}

impl ser::SerializeTuple for SeqSerializer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, ValueError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqSerializer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, ValueError> {
        ser::SerializeSeq::end(self)
    }
}

struct MapSerializer {
    entries: BTreeMap<String, Value>,
    key: Option<String>,
}

impl ser::SerializeMap for MapSerializer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ValueError> {
        match to_value(key)? {
            Value::String(key) => {
                self.key = Some(key);
                Ok(())
            }
            other => Err(ser::Error::custom(format!(
                "map keys must be strings, not {other:?}"
            ))),
        }
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| <ValueError as ser::Error>::custom("a map value without its key"))?;
        let value = to_value(value).map_err(|e| e.at(key.clone()))?;
        self.entries.insert(key, value);
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Map(self.entries))
    }
}

impl ser::SerializeStruct for MapSerializer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ValueError> {
        let value = to_value(value).map_err(|e| e.at(key.to_string()))?;
        self.entries.insert(key.to_string(), value);
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Map(self.entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, ::serde::Deserialize, ::serde::Serialize)]
    #[serde(rename_all = "snake_case")]
    enum State {
        Enabled,
        Disabled,
    }

    #[derive(Debug, PartialEq, ::serde::Deserialize, ::serde::Serialize)]
    struct Model {
        name: String,
        description: Option<String>,
        arn: Maybe<String>,
        count: Maybe<i64>,
        state: State,
        tags: Maybe<BTreeMap<String, String>>,
        items: Vec<String>,
    }

    fn value() -> Value {
        Value::object([
            ("name", Value::from("a")),
            ("description", Value::Null),
            ("arn", Value::unknown()),
            ("count", Value::from(3)),
            ("state", Value::from("disabled")),
            ("tags", Value::Null),
            ("items", Value::from(vec!["x".to_string()])),
        ])
    }

    #[test]
    fn objects_read_into_structs_keeping_null_and_unknown_apart() {
        let model: Model = from_value(&value()).unwrap();
        assert_eq!(
            model,
            Model {
                name: "a".into(),
                description: None,
                arn: Maybe::Unknown,
                count: Maybe::Known(3),
                state: State::Disabled,
                tags: Maybe::Null,
                items: vec!["x".into()],
            }
        );
        assert_eq!(to_value(&model).unwrap(), value());
        let _ = State::Enabled;
    }

    #[test]
    fn an_unknown_where_a_known_value_is_needed_names_the_attribute() {
        let mut v = value();
        v.set("name", Value::unknown());
        let err = from_value::<Model>(&v).unwrap_err();
        assert_eq!(err.path, vec!["name".to_string()]);
        assert!(err.to_string().contains("not known until apply"), "{err}");
        v.set("name", Value::from("a"));
        v.set("items", Value::List(vec![Value::from("x"), Value::from(1)]));
        let err = from_value::<Model>(&v).unwrap_err();
        assert_eq!(err.to_string().split(':').next(), Some("items.[1]"));
    }

    #[derive(Debug, PartialEq, ::serde::Deserialize, ::serde::Serialize)]
    struct Inner {
        arn: Maybe<String>,
        count: Maybe<i64>,
    }

    #[derive(Debug, PartialEq, ::serde::Deserialize, ::serde::Serialize)]
    struct Outer {
        name: String,
        #[serde(flatten)]
        inner: Inner,
    }

    #[test]
    fn flattened_groups_keep_null_and_unknown_apart() {
        let value = Value::object([
            ("name", Value::from("a")),
            ("arn", Value::unknown()),
            ("count", Value::Null),
        ]);
        let outer: Outer = from_value(&value).unwrap();
        assert_eq!(outer.inner.arn, Maybe::Unknown);
        assert_eq!(outer.inner.count, Maybe::Null);
        assert_eq!(to_value(&outer).unwrap(), value);
        let known = Value::object([
            ("name", Value::from("a")),
            ("arn", Value::from("x")),
            ("count", Value::from(2)),
        ]);
        let outer: Outer = from_value(&known).unwrap();
        assert_eq!(outer.inner.count, Maybe::Known(2));
    }

    #[test]
    fn numbers_read_as_integers_or_floats() {
        assert_eq!(from_value::<i64>(&Value::from(2.0)).unwrap(), 2);
        assert_eq!(from_value::<f64>(&Value::from(2.5)).unwrap(), 2.5);
        assert!(from_value::<i32>(&Value::from(1e12)).is_err());
        assert_eq!(to_value(&7u8).unwrap(), Value::from(7));
    }
}
