//! Casts between JSON and SQL values: `CAST(json AS T)` (arrays, maps and rows from JSON
//! arrays and objects) and `CAST(x AS json)`.

use std::sync::Arc;

use datafusion::arrow::array::StructArray;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::Result;

use super::super::exec_err;
use super::{int_scalar, java_parse_double};
use crate::render;
use crate::types::TrinoType;

pub(crate) fn parse_json(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| exec_err(format!("Cannot convert value to JSON: '{text}': {e}")))
}

pub(super) fn json_to_scalar(
    value: &serde_json::Value,
    to: &TrinoType,
) -> Result<Option<ScalarValue>> {
    use serde_json::Value as J;
    let bad = || exec_err(format!("Cannot cast '{value}' to {to}"));
    if value.is_null() {
        return Ok(None);
    }
    Ok(Some(match to {
        TrinoType::Boolean => match value {
            J::Bool(b) => ScalarValue::Boolean(Some(*b)),
            J::String(s) => match s.as_str() {
                "true" => ScalarValue::Boolean(Some(true)),
                "false" => ScalarValue::Boolean(Some(false)),
                _ => return Err(bad()),
            },
            J::Number(n) => ScalarValue::Boolean(Some(n.as_f64().ok_or_else(bad)? != 0.0)),
            _ => return Err(bad()),
        },
        TrinoType::Integer | TrinoType::BigInt => {
            let v = match value {
                J::Number(n) => match n.as_i64() {
                    Some(i) => i,
                    None => {
                        let f = n.as_f64().ok_or_else(bad)?;
                        f.round() as i64
                    }
                },
                J::String(s) => s.trim().parse().map_err(|_| bad())?,
                J::Bool(b) => i64::from(*b),
                _ => return Err(bad()),
            };
            int_scalar(v, to)?.ok_or_else(bad)?
        }
        TrinoType::Double => ScalarValue::Float64(Some(match value {
            J::Number(n) => n.as_f64().ok_or_else(bad)?,
            J::String(s) => java_parse_double(s.trim()).ok_or_else(bad)?,
            J::Bool(b) => f64::from(u8::from(*b)),
            _ => return Err(bad()),
        })),
        TrinoType::Varchar => ScalarValue::Utf8(Some(match value {
            J::String(s) => s.clone(),
            J::Number(n) => n.to_string(),
            J::Bool(b) => b.to_string(),
            _ => return Err(bad()),
        })),
        TrinoType::Json => ScalarValue::LargeUtf8(Some(value.to_string())),
        TrinoType::Array(element) => {
            let J::Array(items) = value else {
                return Err(bad());
            };
            let element_type = element.to_arrow();
            let null = ScalarValue::try_from(&element_type)?;
            let values = items
                .iter()
                .map(|i| Ok(json_to_scalar(i, element)?.unwrap_or_else(|| null.clone())))
                .collect::<Result<Vec<_>>>()?;
            ScalarValue::List(ScalarValue::new_list_nullable(&values, &element_type))
        }
        TrinoType::Map(_, v) => {
            let J::Object(entries) = value else {
                return Err(bad());
            };
            let keys: Vec<ScalarValue> = entries
                .keys()
                .map(|k| ScalarValue::Utf8(Some(k.clone())))
                .collect();
            let value_type = v.to_arrow();
            let null = ScalarValue::try_from(&value_type)?;
            let values = entries
                .values()
                .map(|i| Ok(json_to_scalar(i, v)?.unwrap_or_else(|| null.clone())))
                .collect::<Result<Vec<_>>>()?;
            crate::functions::map::map_scalar(&keys, &values, &DataType::Utf8, &value_type)?
        }
        // A JSON array fills the fields by position; an object by name, matched without case,
        // keys the row does not have ignored and fields without a key NULL.
        TrinoType::Row(fields) => {
            let values: Vec<Option<&J>> = match value {
                J::Array(items) if items.len() == fields.len() => items.iter().map(Some).collect(),
                J::Object(entries) if fields.iter().all(|(name, _)| !name.is_empty()) => fields
                    .iter()
                    .map(|(name, _)| {
                        let mut found =
                            entries.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name));
                        match (found.next(), found.next()) {
                            (_, Some(_)) => Err(exec_err(format!(
                                "Cannot cast to {to}. Duplicate field: {name}"
                            ))),
                            (one, None) => Ok(one.map(|(_, v)| v)),
                        }
                    })
                    .collect::<Result<_>>()?,
                _ => return Err(bad()),
            };
            let columns = fields
                .iter()
                .zip(values)
                .map(|((_, t), v)| {
                    let arrow = t.to_arrow();
                    let scalar = match v {
                        Some(v) => json_to_scalar(v, t)?,
                        None => None,
                    };
                    scalar
                        .unwrap_or(ScalarValue::try_from(&arrow)?)
                        .to_array_of_size(1)
                })
                .collect::<Result<Vec<_>>>()?;
            let DataType::Struct(arrow_fields) = to.to_arrow() else {
                unreachable!("a row is an Arrow struct");
            };
            ScalarValue::Struct(Arc::new(StructArray::try_new(arrow_fields, columns, None)?))
        }
        _ => return Err(bad()),
    }))
}

/// A value as JSON (`cast(x AS json)`).
pub(crate) fn scalar_to_json(value: &ScalarValue) -> Result<serde_json::Value> {
    use serde_json::Value as J;
    if value.is_null() {
        return Ok(J::Null);
    }
    Ok(match value {
        ScalarValue::Boolean(Some(b)) => J::Bool(*b),
        ScalarValue::Int8(Some(v)) => J::from(*v),
        ScalarValue::Int16(Some(v)) => J::from(*v),
        ScalarValue::Int32(Some(v)) => J::from(*v),
        ScalarValue::Int64(Some(v)) => J::from(*v),
        ScalarValue::Float64(Some(v)) => J::from(*v),
        ScalarValue::Utf8(Some(s)) => J::String(s.clone()),
        ScalarValue::LargeUtf8(Some(s)) => parse_json(s)?,
        ScalarValue::Decimal128(Some(v), _, s) => {
            serde_json::from_str(&render::decimal_text(*v, *s))
                .map_err(|e| exec_err(e.to_string()))?
        }
        ScalarValue::List(list) => {
            let values = list.value(0);
            J::Array(
                (0..values.len())
                    .map(|i| scalar_to_json(&ScalarValue::try_from_array(&values, i)?))
                    .collect::<Result<Vec<_>>>()?,
            )
        }
        other => {
            return Err(exec_err(format!(
                "cast of {} to json is not supported on the embedded engine",
                other.data_type()
            )));
        }
    })
}
