//! Map functions (Trino docs: functions/map.md).

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::array::{ArrayRef, MapArray, StructArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::ScalarUDF;

use super::array::{list_at, list_of, make_list};
use super::rows;
use super::{Arg, Call, Func, args, args_var, exec_err};

pub(super) fn functions() -> Vec<ScalarUDF> {
    use Arg::*;
    vec![
        Func::new("map", args(&[Any, Any]), map_of_lists_type, |c| {
            let (kt, vt) = key_value_types(c.ret)?;
            rows::scalars(c, |r| {
                let (Some(keys), Some(values)) = (list_at(c.arg(0), r)?, list_at(c.arg(1), r)?) else {
                    return Ok(None);
                };
                if keys.len() != values.len() {
                    return Err(exec_err("Key and value arrays must be the same length"));
                }
                check_keys(&keys)?;
                map_scalar(&keys, &values, &kt, &vt).map(Some)
            })
        }),
        Func::new("map_from_entries", args(&[Any]), entries_type, |c| {
            let (kt, vt) = key_value_types(c.ret)?;
            rows::scalars(c, |r| {
                let Some(entries) = list_at(c.arg(0), r)? else {
                    return Ok(None);
                };
                let mut keys = Vec::new();
                let mut values = Vec::new();
                for e in entries {
                    let ScalarValue::Struct(s) = e else {
                        return Err(exec_err("map entry cannot be null"));
                    };
                    if s.is_null(0) {
                        return Err(exec_err("map entry cannot be null"));
                    }
                    keys.push(ScalarValue::try_from_array(s.column(0), 0)?);
                    values.push(ScalarValue::try_from_array(s.column(1), 0)?);
                }
                check_keys(&keys)?;
                map_scalar(&keys, &values, &kt, &vt).map(Some)
            })
        }),
        Func::new("map_keys", args(&[Any]), |t, _| Ok(list_of(&key_value_types(&t[0])?.0)), |c| {
            map_part(c, 0)
        }),
        Func::new("map_values", args(&[Any]), |t, _| Ok(list_of(&key_value_types(&t[0])?.1)), |c| {
            map_part(c, 1)
        }),
        Func::new("map_concat", args_var(&[Any], Any), |t, _| {
            key_value_types(&t[0])?;
            if t.iter().any(|x| *x != t[0]) {
                return Err(DataFusionError::Plan("map_concat() of maps of different types is not supported on the embedded engine".into()));
            }
            Ok(t[0].clone())
        }, |c| {
            let (kt, vt) = key_value_types(c.ret)?;
            rows::scalars(c, |r| {
                let mut keys: Vec<ScalarValue> = Vec::new();
                let mut values: Vec<ScalarValue> = Vec::new();
                for a in &c.args {
                    let Some((ks, vs)) = entries_at(a, r)? else {
                        return Ok(None);
                    };
                    for (k, v) in ks.into_iter().zip(vs) {
                        match keys.iter().position(|x| *x == k) {
                            Some(i) => values[i] = v,
                            None => {
                                keys.push(k);
                                values.push(v);
                            }
                        }
                    }
                }
                map_scalar(&keys, &values, &kt, &vt).map(Some)
            })
        }),
        Func::new("split_to_map", args(&[Str, Str, Str]), |_, _| Ok(map_type(&DataType::Utf8, &DataType::Utf8)), |c| {
            rows::scalars(c, |r| {
                let Some(entries) = split_entries(c, r)? else {
                    return Ok(None);
                };
                let mut keys: Vec<ScalarValue> = Vec::new();
                let mut values = Vec::new();
                for (key, value) in entries {
                    let key = ScalarValue::from(key);
                    if keys.contains(&key) {
                        return Err(exec_err(format!("Duplicate keys ({key}) are not allowed")));
                    }
                    keys.push(key);
                    values.push(ScalarValue::from(value));
                }
                map_scalar(&keys, &values, &DataType::Utf8, &DataType::Utf8).map(Some)
            })
        }),
        Func::new("split_to_multimap", args(&[Str, Str, Str]), |_, _| Ok(map_type(&DataType::Utf8, &list_of(&DataType::Utf8))), |c| {
            rows::scalars(c, |r| {
                let Some(entries) = split_entries(c, r)? else {
                    return Ok(None);
                };
                // Keys in the order they first appear, each with its values in input order.
                let mut keys: Vec<ScalarValue> = Vec::new();
                let mut values: Vec<Vec<ScalarValue>> = Vec::new();
                for (key, value) in entries {
                    let key = ScalarValue::from(key);
                    let at = match keys.iter().position(|k| *k == key) {
                        Some(at) => at,
                        None => {
                            keys.push(key);
                            values.push(Vec::new());
                            keys.len() - 1
                        }
                    };
                    values[at].push(ScalarValue::from(value));
                }
                let lists: Vec<ScalarValue> = values.iter().map(|v| make_list(v, &DataType::Utf8)).collect();
                map_scalar(&keys, &lists, &DataType::Utf8, &list_of(&DataType::Utf8)).map(Some)
            })
        }),
    ]
    .into_iter()
    .map(Func::udf)
    .collect()
}

/// The `(key, value)` entries of `split_to_map(string, entry_delimiter, key_value_delimiter)`
/// at `row`, as Trino splits them: each entry up to the next entry delimiter (a trailing one
/// ends the string), the key-value delimiter exactly once in each; `None` when an argument is
/// NULL.
fn split_entries(c: &Call, row: usize) -> Result<Option<Vec<(String, String)>>> {
    let (Some(text), Some(entry_delimiter), Some(kv_delimiter)) = (
        rows::str_at(c.arg(0), row),
        rows::str_at(c.arg(1), row),
        rows::str_at(c.arg(2), row),
    ) else {
        return Ok(None);
    };
    if entry_delimiter.is_empty() {
        return Err(exec_err("entryDelimiter is empty"));
    }
    if kv_delimiter.is_empty() {
        return Err(exec_err("keyValueDelimiter is empty"));
    }
    if entry_delimiter == kv_delimiter {
        return Err(exec_err(
            "entryDelimiter and keyValueDelimiter must not be the same",
        ));
    }
    let mut entries = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let end = text[start..]
            .find(entry_delimiter)
            .map_or(text.len(), |at| start + at);
        let entry = &text[start..end];
        let bad = || {
            exec_err(format!(
                "Key-value delimiter must appear exactly once in each entry. Bad input: '{entry}'"
            ))
        };
        let (key, value) = entry.split_once(kv_delimiter).ok_or_else(bad)?;
        if value.contains(kv_delimiter) {
            return Err(bad());
        }
        entries.push((key.to_string(), value.to_string()));
        start = end + entry_delimiter.len();
    }
    Ok(Some(entries))
}

fn check_keys(keys: &[ScalarValue]) -> Result<()> {
    for (i, k) in keys.iter().enumerate() {
        if k.is_null() {
            return Err(exec_err("map key cannot be null"));
        }
        if keys[..i].contains(k) {
            return Err(exec_err(format!(
                "Duplicate map keys ({k}) are not allowed"
            )));
        }
    }
    Ok(())
}

/// Key and value types of a map type.
pub(crate) fn key_value_types(t: &DataType) -> Result<(DataType, DataType)> {
    match t {
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                Ok((kv[0].data_type().clone(), kv[1].data_type().clone()))
            }
            _ => Err(exec_err("malformed map type")),
        },
        other => Err(DataFusionError::Plan(format!(
            "expected a map, got {}",
            super::trino_name(other)
        ))),
    }
}

fn map_of_lists_type(t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    match (&t[0], &t[1]) {
        (DataType::List(k), DataType::List(v)) => Ok(map_type(k.data_type(), v.data_type())),
        _ => Err(DataFusionError::Plan(
            "map() takes an array of keys and an array of values".into(),
        )),
    }
}

fn entries_type(t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    match &t[0] {
        DataType::List(f) => match f.data_type() {
            DataType::Struct(fields) if fields.len() == 2 => {
                Ok(map_type(fields[0].data_type(), fields[1].data_type()))
            }
            _ => Err(DataFusionError::Plan(
                "map_from_entries() takes an array of two-field rows".into(),
            )),
        },
        _ => Err(DataFusionError::Plan(
            "map_from_entries() takes an array of two-field rows".into(),
        )),
    }
}

/// Keys and values of the map at `row`.
pub(crate) fn entries_at(
    array: &ArrayRef,
    row: usize,
) -> Result<Option<(Vec<ScalarValue>, Vec<ScalarValue>)>> {
    if array.is_null(row) {
        return Ok(None);
    }
    let entries = array.as_map().value(row);
    let keys = (0..entries.len())
        .map(|i| ScalarValue::try_from_array(entries.column(0), i))
        .collect::<Result<Vec<_>>>()?;
    let values = (0..entries.len())
        .map(|i| ScalarValue::try_from_array(entries.column(1), i))
        .collect::<Result<Vec<_>>>()?;
    Ok(Some((keys, values)))
}

fn map_part(c: &Call, part: usize) -> Result<ArrayRef> {
    let (kt, vt) = key_value_types(c.arg(0).data_type())?;
    let element = if part == 0 { kt } else { vt };
    rows::scalars(c, |r| {
        Ok(entries_at(c.arg(0), r)?
            .map(|(k, v)| make_list(if part == 0 { &k } else { &v }, &element)))
    })
}

/// Arrow's type of `map(K, V)`.
pub(crate) fn map_type(key: &DataType, value: &DataType) -> DataType {
    let entries = Fields::from(vec![
        Field::new("key", key.clone(), false),
        Field::new("value", value.clone(), true),
    ]);
    DataType::Map(
        Arc::new(Field::new("entries", DataType::Struct(entries), false)),
        false,
    )
}

/// One map value from its keys and values.
pub(crate) fn map_scalar(
    keys: &[ScalarValue],
    values: &[ScalarValue],
    key_type: &DataType,
    value_type: &DataType,
) -> Result<ScalarValue> {
    let DataType::Map(entries_field, _) = map_type(key_type, value_type) else {
        unreachable!("map_type builds a map");
    };
    let DataType::Struct(fields) = entries_field.data_type().clone() else {
        unreachable!("map entries are a struct");
    };
    let key_array: ArrayRef = if keys.is_empty() {
        datafusion::arrow::array::new_empty_array(key_type)
    } else {
        ScalarValue::iter_to_array(keys.iter().cloned())?
    };
    let value_array: ArrayRef = if values.is_empty() {
        datafusion::arrow::array::new_empty_array(value_type)
    } else {
        ScalarValue::iter_to_array(values.iter().cloned())?
    };
    let key_array = datafusion::arrow::compute::cast(&key_array, key_type)?;
    let value_array = datafusion::arrow::compute::cast(&value_array, value_type)?;
    let entries = StructArray::try_new(fields, vec![key_array, value_array], None)?;
    let offsets = OffsetBuffer::new(vec![0i32, keys.len() as i32].into());
    let map = MapArray::try_new(entries_field, offsets, entries, None, false)?;
    Ok(ScalarValue::Map(Arc::new(map)))
}
