//! Trino's type names and how they map onto Arrow types.
//!
//! Arrow has no per-value time zone and no timestamp precision, so the mapping is chosen so that
//! every Trino type the layer accepts has exactly one Arrow type and back: `timestamp(p)` for
//! p = 0, 3, 6, 9 is the Arrow timestamp of that unit; the other precisions (1, 2, 4, 5, 7, 8)
//! are a struct of one field named `__trino_timestamp(p)` holding the timestamp in the next
//! finer unit, so that the precision is part of the type and no operation can lose it (one that
//! does not know the struct fails instead of answering with other digits). `json` is a
//! `LargeUtf8` (no other path produces that type here), a `timestamp with time zone` carries
//! one zone for its column.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, Fields, TimeUnit};

/// A Trino type the embedded engine can represent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TrinoType {
    Boolean,
    TinyInt,
    SmallInt,
    Integer,
    BigInt,
    Real,
    Double,
    Decimal(u8, i8),
    Varchar,
    /// `varchar(n)`: only a cast target (a value of it is a plain varchar).
    BoundedVarchar(u32),
    Varbinary,
    Json,
    Date,
    /// Precision 0 to 9.
    Timestamp(u8),
    /// Precision and zone (`UTC`, `+05:00`, `America/New_York`); `None` until a value fixes it.
    TimestampTz(u8, Option<String>),
    Array(Box<TrinoType>),
    Map(Box<TrinoType>, Box<TrinoType>),
    Row(Vec<(String, TrinoType)>),
    /// The type of a bare NULL.
    Unknown,
}

impl TrinoType {
    pub(crate) fn to_arrow(&self) -> DataType {
        match self {
            TrinoType::Boolean => DataType::Boolean,
            TrinoType::TinyInt => DataType::Int8,
            TrinoType::SmallInt => DataType::Int16,
            TrinoType::Integer => DataType::Int32,
            TrinoType::BigInt => DataType::Int64,
            TrinoType::Real => DataType::Float32,
            TrinoType::Double => DataType::Float64,
            TrinoType::Decimal(p, s) => DataType::Decimal128(*p, *s),
            TrinoType::Varchar | TrinoType::BoundedVarchar(_) => DataType::Utf8,
            TrinoType::Varbinary => DataType::Binary,
            TrinoType::Json => DataType::LargeUtf8,
            TrinoType::Date => DataType::Date32,
            TrinoType::Timestamp(_) | TrinoType::TimestampTz(..) => {
                let storage = self.storage_arrow();
                match self.precision() {
                    Some(p @ (1 | 2 | 4 | 5 | 7 | 8)) => precision_struct(p, storage),
                    _ => storage,
                }
            }
            TrinoType::Array(element) => {
                DataType::List(Arc::new(Field::new("item", element.to_arrow(), true)))
            }
            TrinoType::Map(key, value) => {
                let entries = Fields::from(vec![
                    Field::new("key", key.to_arrow(), false),
                    Field::new("value", value.to_arrow(), true),
                ]);
                DataType::Map(
                    Arc::new(Field::new("entries", DataType::Struct(entries), false)),
                    false,
                )
            }
            TrinoType::Row(fields) => DataType::Struct(
                fields
                    .iter()
                    .map(|(name, t)| Field::new(name, t.to_arrow(), true))
                    .collect(),
            ),
            TrinoType::Unknown => DataType::Null,
        }
    }

    /// The Trino type of an Arrow type, `None` for types Trino has no name for here.
    pub(crate) fn from_arrow(data_type: &DataType) -> Option<TrinoType> {
        Some(match data_type {
            DataType::Boolean => TrinoType::Boolean,
            DataType::Int8 => TrinoType::TinyInt,
            DataType::Int16 => TrinoType::SmallInt,
            DataType::Int32 => TrinoType::Integer,
            DataType::Int64 => TrinoType::BigInt,
            DataType::Float32 => TrinoType::Real,
            DataType::Float64 => TrinoType::Double,
            DataType::Decimal128(p, s) => TrinoType::Decimal(*p, *s),
            DataType::Utf8 | DataType::Utf8View => TrinoType::Varchar,
            DataType::LargeUtf8 => TrinoType::Json,
            DataType::Binary | DataType::BinaryView | DataType::LargeBinary => TrinoType::Varbinary,
            DataType::Date32 => TrinoType::Date,
            DataType::Timestamp(unit, None) => TrinoType::Timestamp(precision_of(unit)),
            DataType::Timestamp(unit, Some(zone)) => {
                TrinoType::TimestampTz(precision_of(unit), Some(zone.to_string()))
            }
            DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) => {
                TrinoType::Array(Box::new(TrinoType::from_arrow(f.data_type())?))
            }
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => TrinoType::Map(
                    Box::new(TrinoType::from_arrow(kv[0].data_type())?),
                    Box::new(TrinoType::from_arrow(kv[1].data_type())?),
                ),
                _ => return None,
            },
            DataType::Struct(_) if wrapped_timestamp(data_type).is_some() => {
                let (p, inner) = wrapped_timestamp(data_type)?;
                match inner {
                    DataType::Timestamp(_, None) => TrinoType::Timestamp(p),
                    DataType::Timestamp(_, Some(zone)) => {
                        TrinoType::TimestampTz(p, Some(zone.to_string()))
                    }
                    _ => return None,
                }
            }
            DataType::Struct(fields) => TrinoType::Row(
                fields
                    .iter()
                    .map(|f| Some((f.name().clone(), TrinoType::from_arrow(f.data_type())?)))
                    .collect::<Option<Vec<_>>>()?,
            ),
            DataType::Null => TrinoType::Unknown,
            _ => return None,
        })
    }

    /// Parses a Trino type as written in SQL (`array(row(a integer, b varchar))`,
    /// `timestamp(3) with time zone`, `decimal(10, 2)`, `varchar(20)`).
    pub(crate) fn parse(text: &str) -> Result<TrinoType, String> {
        let tokens = tokenize(text)?;
        let mut parser = TypeParser { tokens, at: 0 };
        let parsed = parser.parse_type()?;
        if parser.at != parser.tokens.len() {
            return Err(format!(
                "unexpected '{}' in type {text}",
                parser.tokens[parser.at]
            ));
        }
        Ok(parsed)
    }

    /// The Arrow type a timestamp's values are kept in (its unit, without the precision
    /// wrapper); other types are their own storage.
    pub(crate) fn storage_arrow(&self) -> DataType {
        match self {
            TrinoType::Timestamp(p) => DataType::Timestamp(unit_of(*p), None),
            TrinoType::TimestampTz(p, zone) => DataType::Timestamp(
                unit_of(*p),
                Some(Arc::from(zone.as_deref().unwrap_or("UTC"))),
            ),
            other => other.to_arrow(),
        }
    }

    /// The precision of a timestamp type.
    pub(crate) fn precision(&self) -> Option<u8> {
        match self {
            TrinoType::Timestamp(p) | TrinoType::TimestampTz(p, _) => Some(*p),
            _ => None,
        }
    }

    pub(crate) fn is_numeric(&self) -> bool {
        matches!(
            self,
            TrinoType::TinyInt
                | TrinoType::SmallInt
                | TrinoType::Integer
                | TrinoType::BigInt
                | TrinoType::Real
                | TrinoType::Double
                | TrinoType::Decimal(..)
        )
    }
}

pub(crate) fn unit_of(precision: u8) -> TimeUnit {
    match precision {
        0 => TimeUnit::Second,
        1..=3 => TimeUnit::Millisecond,
        4..=6 => TimeUnit::Microsecond,
        _ => TimeUnit::Nanosecond,
    }
}

const PRECISION_FIELD: &str = "__trino_timestamp";

/// The struct that carries a timestamp of precision 1, 2, 4, 5, 7 or 8.
fn precision_struct(p: u8, storage: DataType) -> DataType {
    DataType::Struct(Fields::from(vec![Field::new(
        format!("{PRECISION_FIELD}({p})"),
        storage,
        true,
    )]))
}

/// The precision and the storage type of a timestamp kept in a precision struct.
pub(crate) fn wrapped_timestamp(data_type: &DataType) -> Option<(u8, DataType)> {
    let DataType::Struct(fields) = data_type else {
        return None;
    };
    let [field] = fields.iter().collect::<Vec<_>>()[..] else {
        return None;
    };
    let p: u8 = field
        .name()
        .strip_prefix(PRECISION_FIELD)?
        .strip_prefix('(')?
        .strip_suffix(')')?
        .parse()
        .ok()?;
    matches!(field.data_type(), DataType::Timestamp(..)).then(|| (p, field.data_type().clone()))
}

/// The timestamp values of an array and their precision: a precision struct's field, or the
/// array itself (precision of its unit).
pub(crate) fn timestamp_storage(array: &ArrayRef) -> (ArrayRef, Option<u8>) {
    match wrapped_timestamp(array.data_type()) {
        Some((p, _)) => (array.as_struct().column(0).clone(), Some(p)),
        None => {
            let p = match array.data_type() {
                DataType::Timestamp(unit, _) => Some(precision_of(unit)),
                _ => None,
            };
            (array.clone(), p)
        }
    }
}

/// Wraps timestamp values (in the unit of `p`) in the type of precision `p`.
pub(crate) fn with_precision(storage: ArrayRef, p: u8) -> ArrayRef {
    if matches!(p, 0 | 3 | 6 | 9) {
        return storage;
    }
    let DataType::Struct(fields) = precision_struct(p, storage.data_type().clone()) else {
        unreachable!("precision_struct builds a struct");
    };
    let nulls = storage.logical_nulls();
    Arc::new(StructArray::new(fields, vec![storage], nulls))
}

pub(crate) fn precision_of(unit: &TimeUnit) -> u8 {
    match unit {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 3,
        TimeUnit::Microsecond => 6,
        TimeUnit::Nanosecond => 9,
    }
}

impl fmt::Display for TrinoType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrinoType::Boolean => f.write_str("boolean"),
            TrinoType::TinyInt => f.write_str("tinyint"),
            TrinoType::SmallInt => f.write_str("smallint"),
            TrinoType::Integer => f.write_str("integer"),
            TrinoType::BigInt => f.write_str("bigint"),
            TrinoType::Real => f.write_str("real"),
            TrinoType::Double => f.write_str("double"),
            TrinoType::Decimal(p, s) => write!(f, "decimal({p},{s})"),
            TrinoType::Varchar => f.write_str("varchar"),
            TrinoType::BoundedVarchar(n) => write!(f, "varchar({n})"),
            TrinoType::Varbinary => f.write_str("varbinary"),
            TrinoType::Json => f.write_str("json"),
            TrinoType::Date => f.write_str("date"),
            TrinoType::Timestamp(p) => write!(f, "timestamp({p})"),
            TrinoType::TimestampTz(p, _) => write!(f, "timestamp({p}) with time zone"),
            TrinoType::Array(e) => write!(f, "array({e})"),
            TrinoType::Map(k, v) => write!(f, "map({k}, {v})"),
            TrinoType::Row(fields) => {
                f.write_str("row(")?;
                for (i, (name, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if name.is_empty() {
                        write!(f, "{t}")?;
                    } else {
                        write!(f, "{name} {t}")?;
                    }
                }
                f.write_str(")")
            }
            TrinoType::Unknown => f.write_str("unknown"),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' || c == ')' || c == ',' {
            tokens.push(c.to_string());
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut word = String::from("\"");
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        word.push('"');
                    }
                    Some('"') => break,
                    Some(other) => word.push(other),
                    None => return Err(format!("unterminated quoted name in type {text}")),
                }
            }
            tokens.push(word);
        } else if c.is_alphanumeric() || c == '_' {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_alphanumeric() || c == '_' {
                    word.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            tokens.push(word);
        } else {
            return Err(format!("unexpected '{c}' in type {text}"));
        }
    }
    Ok(tokens)
}

struct TypeParser {
    tokens: Vec<String>,
    at: usize,
}

impl TypeParser {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn next(&mut self) -> Result<String, String> {
        let token = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or_else(|| "the type ends too early".to_string())?;
        self.at += 1;
        Ok(token)
    }

    fn expect(&mut self, want: &str) -> Result<(), String> {
        let got = self.next()?;
        if got.eq_ignore_ascii_case(want) {
            Ok(())
        } else {
            Err(format!("expected '{want}' in type, found '{got}'"))
        }
    }

    fn keyword(&mut self, want: &str) -> bool {
        if self.peek().is_some_and(|t| t.eq_ignore_ascii_case(want)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn number(&mut self) -> Result<u32, String> {
        let token = self.next()?;
        token
            .parse()
            .map_err(|_| format!("expected a number in type, found '{token}'"))
    }

    fn optional_length(&mut self) -> Result<Option<u32>, String> {
        if self.peek() == Some("(") {
            self.at += 1;
            let n = self.number()?;
            self.expect(")")?;
            Ok(Some(n))
        } else {
            Ok(None)
        }
    }

    /// One field of `row(…)`: `name type`, or a bare `type` (an anonymous field, named "" as
    /// Trino leaves it unnamed: `row(double)`, `row(x integer, varchar)`).
    fn row_field(&mut self) -> Result<(String, TrinoType), String> {
        let start = self.at;
        if let Ok(anonymous) = self.parse_type()
            && matches!(self.peek(), Some(",") | Some(")"))
        {
            return Ok((String::new(), anonymous));
        }
        self.at = start;
        let name = self.next()?;
        let name = match name.strip_prefix('"') {
            Some(quoted) => quoted.to_string(),
            None => name.to_ascii_lowercase(),
        };
        Ok((name, self.parse_type()?))
    }

    fn parse_type(&mut self) -> Result<TrinoType, String> {
        let name = self.next()?.to_ascii_lowercase();
        Ok(match name.as_str() {
            "boolean" => TrinoType::Boolean,
            "tinyint" => TrinoType::TinyInt,
            "smallint" => TrinoType::SmallInt,
            "integer" | "int" => TrinoType::Integer,
            "bigint" => TrinoType::BigInt,
            "real" => TrinoType::Real,
            "double" => {
                self.keyword("precision");
                TrinoType::Double
            }
            "decimal" | "numeric" => {
                if self.peek() == Some("(") {
                    self.at += 1;
                    let p = self.number()?;
                    let s = if self.peek() == Some(",") {
                        self.at += 1;
                        self.number()?
                    } else {
                        0
                    };
                    self.expect(")")?;
                    if !(1..=38).contains(&p) || s > p {
                        return Err(format!("decimal({p},{s}) is not a valid Trino type"));
                    }
                    TrinoType::Decimal(p as u8, s as i8)
                } else {
                    TrinoType::Decimal(38, 0)
                }
            }
            "varchar" => match self.optional_length()? {
                Some(n) => TrinoType::BoundedVarchar(n),
                None => TrinoType::Varchar,
            },
            "char" => {
                return Err(
                    "char(n) is not supported on the embedded engine; use varchar".to_string(),
                );
            }
            "varbinary" => TrinoType::Varbinary,
            "json" => TrinoType::Json,
            "date" => TrinoType::Date,
            "timestamp" => {
                let p = self.optional_length()?.unwrap_or(3);
                if p > 9 {
                    return Err(format!(
                        "timestamp({p}) is not supported on the embedded engine (precisions up to 9 are: Arrow keeps nanoseconds)"
                    ));
                }
                if self.keyword("with") {
                    self.expect("time")?;
                    self.expect("zone")?;
                    TrinoType::TimestampTz(p as u8, None)
                } else {
                    if self.keyword("without") {
                        self.expect("time")?;
                        self.expect("zone")?;
                    }
                    TrinoType::Timestamp(p as u8)
                }
            }
            "array" => {
                self.expect("(")?;
                let element = self.parse_type()?;
                self.expect(")")?;
                TrinoType::Array(Box::new(element))
            }
            "map" => {
                self.expect("(")?;
                let key = self.parse_type()?;
                self.expect(",")?;
                let value = self.parse_type()?;
                self.expect(")")?;
                TrinoType::Map(Box::new(key), Box::new(value))
            }
            "row" => {
                self.expect("(")?;
                let mut fields = Vec::new();
                loop {
                    fields.push(self.row_field()?);
                    if self.peek() == Some(",") {
                        self.at += 1;
                    } else {
                        break;
                    }
                }
                self.expect(")")?;
                TrinoType::Row(fields)
            }
            other => {
                return Err(format!(
                    "type {other} is not supported on the embedded engine"
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_nested_types() {
        for text in [
            "array(row(a integer, b varchar))",
            "map(varchar, array(bigint))",
            "decimal(10,2)",
            "timestamp(6) with time zone",
            "row(double)",
            "row(x integer, varchar)",
            "row(date date, timestamp timestamp(3))",
        ] {
            assert_eq!(TrinoType::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(
            TrinoType::parse("DECIMAL(10, 2)").unwrap().to_string(),
            "decimal(10,2)"
        );
        assert!(TrinoType::parse("timestamp(12)").is_err());
        let t = TrinoType::parse("timestamp(2) with time zone").unwrap();
        assert_eq!(
            TrinoType::from_arrow(&TrinoType::TimestampTz(2, Some("UTC".into())).to_arrow()),
            Some(TrinoType::TimestampTz(2, Some("UTC".into())))
        );
        assert_eq!(t.precision(), Some(2));
        assert!(TrinoType::parse("array(integer").is_err());
    }
}
