//! Trino's `ROW` values: the `row(a, b, …)` constructor and `r[i]` field access.
//!
//! A row is an Arrow struct. `row(…)` fields have no name in Trino (`row(integer, varchar)`):
//! they are structs with fields named "" here, which only `r[i]` reads, and which a table
//! cannot store (the engine refuses them when it writes). `CAST(… AS ROW(x integer, …))`
//! names them (`cast/mod.rs`); `r.x` on a named row is DataFusion's own field access.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::ScalarUDF;

use super::{Arg, Call, Func, args_var, exec_err, rows};
use crate::types::wrapped_timestamp;

pub(super) fn functions() -> Vec<ScalarUDF> {
    vec![
        Func::new("row", args_var(&[Arg::Any], Arg::Any), row_type, build_row).udf(),
        field_udf(),
        Func::new(
            "__trino_unnest_flat",
            args_var(&[Arg::Any], Arg::Any),
            flat_type,
            flatten,
        )
        .udf(),
    ]
}

/// `__trino_unnest_flat(elements…, width)`: the columns an UNNEST of arrays of rows gives, as
/// one row — every element's fields in order (an element that is not a row is one field); the
/// UNNEST named `width` columns for them.
fn flat_type(types: &[DataType], scalars: &[Option<&ScalarValue>]) -> Result<DataType> {
    let (elements, _) = types.split_at(types.len() - 1);
    let fields: Vec<DataType> = elements
        .iter()
        .flat_map(|t| match t {
            DataType::Struct(fields) if is_row(t) => {
                fields.iter().map(|f| f.data_type().clone()).collect()
            }
            other => vec![other.clone()],
        })
        .collect();
    let width = match scalars.last().copied().flatten() {
        Some(ScalarValue::Int64(Some(w))) => *w as usize,
        Some(ScalarValue::Int32(Some(w))) => *w as usize,
        _ => return Err(exec_err("UNNEST's column count must be a constant")),
    };
    if fields.len() != width {
        return Err(DataFusionError::Plan(format!(
            "UNNEST names {width} columns, but its arrays give {} (each field of a row is a column)",
            fields.len()
        )));
    }
    Ok(DataType::Struct(anonymous_fields(&fields)))
}

fn flatten(c: &Call) -> Result<ArrayRef> {
    let DataType::Struct(fields) = c.ret else {
        return Err(exec_err("UNNEST's fields are a struct"));
    };
    let (elements, _) = c.args.split_at(c.args.len() - 1);
    let mut columns = Vec::with_capacity(fields.len());
    for element in elements {
        if !is_row(element.data_type()) {
            columns.push(element.clone());
            continue;
        }
        let row = element.as_struct();
        // A NULL element (padding, or a NULL row) gives NULL fields, whatever its children hold.
        let missing = datafusion::arrow::compute::is_null(row)?;
        for child in row.columns() {
            columns.push(datafusion::arrow::compute::nullif(child, &missing)?);
        }
    }
    Ok(Arc::new(StructArray::try_new(
        fields.clone(),
        columns,
        None,
    )?))
}

fn row_type(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Struct(anonymous_fields(types)))
}

fn anonymous_fields(types: &[DataType]) -> Fields {
    types
        .iter()
        .map(|t| Field::new("", t.clone(), true))
        .collect()
}

fn build_row(c: &Call) -> Result<ArrayRef> {
    let DataType::Struct(fields) = c.ret else {
        return Err(exec_err("row() builds a struct"));
    };
    Ok(Arc::new(StructArray::try_new(
        fields.clone(),
        c.args.clone(),
        None,
    )?))
}

/// Whether `t` is a row (a struct that is not a timestamp's precision wrapper).
pub(crate) fn is_row(t: &DataType) -> bool {
    matches!(t, DataType::Struct(_)) && wrapped_timestamp(t).is_none()
}

/// Whether values of `t` hold a row anywhere (a row, an array of rows, a map of them).
pub(crate) fn contains_row(t: &DataType) -> bool {
    match t {
        DataType::List(f) | DataType::LargeList(f) => contains_row(f.data_type()),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) => kv.iter().any(|f| contains_row(f.data_type())),
            _ => false,
        },
        other => is_row(other),
    }
}

/// The type of `r[i]`: Trino requires a constant index between 1 and the row's width.
pub(crate) fn field_type(row: &DataType, index: Option<&ScalarValue>) -> Result<DataType> {
    let DataType::Struct(fields) = row else {
        return Err(exec_err("not a row"));
    };
    let at = constant_index(index, fields.len())?;
    Ok(fields[at].data_type().clone())
}

/// `r[i]` for every row: the field's value, NULL where the row is NULL.
pub(crate) fn field_values(c: &Call) -> Result<ArrayRef> {
    if c.rows == 0 {
        return Ok(datafusion::arrow::array::new_empty_array(c.ret));
    }
    let row = c.arg(0).as_struct();
    let index = ScalarValue::try_from_array(c.arg(1), 0)?;
    let at = constant_index(Some(&index), row.num_columns())?;
    column_of(c, at)
}

/// The field at `at` of the row argument, NULL where the row is NULL.
fn column_of(c: &Call, at: usize) -> Result<ArrayRef> {
    let row = c.arg(0).as_struct();
    let column = row.column(at);
    rows::scalars(c, |r| {
        if row.is_null(r) {
            return Ok(None);
        }
        Ok(Some(ScalarValue::try_from_array(column, r)?))
    })
}

/// `__trino_field(r, 'name')`: `r.name` of a row. Anything but a row is refused when planned —
/// DataFusion's own field access would read a map's key (Trino fails: not a row).
pub(crate) fn field_udf() -> ScalarUDF {
    Func::new(
        "__trino_field",
        super::args(&[Arg::Any, Arg::Str]),
        named_field_type,
        |c| {
            if c.rows == 0 {
                return Ok(datafusion::arrow::array::new_empty_array(c.ret));
            }
            let name = ScalarValue::try_from_array(c.arg(1), 0)?.to_string();
            let DataType::Struct(fields) = c.arg(0).data_type() else {
                return Err(exec_err("not a row"));
            };
            let at = field_position(fields, &name)?;
            column_of(c, at)
        },
    )
    .udf()
}

fn named_field_type(types: &[DataType], scalars: &[Option<&ScalarValue>]) -> Result<DataType> {
    let name = super::scalar_str(scalars, 1)
        .ok_or_else(|| DataFusionError::Plan("a row's field name must be a constant".into()))?;
    match &types[0] {
        DataType::Struct(fields) if is_row(&types[0]) => {
            Ok(fields[field_position(fields, name)?].data_type().clone())
        }
        other => Err(DataFusionError::Plan(format!(
            "a value of type {} has no field {name}: `.{name}` reads a field of a row (a map's value is m['{name}'])",
            super::trino_name(other)
        ))),
    }
}

/// A field by name, without case (Trino's names are case-insensitive).
fn field_position(fields: &Fields, name: &str) -> Result<usize> {
    fields
        .iter()
        .position(|f| f.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| DataFusionError::Plan(format!("the row has no field {name}")))
}

fn constant_index(index: Option<&ScalarValue>, width: usize) -> Result<usize> {
    let i = match index {
        Some(ScalarValue::Int8(Some(i))) => i64::from(*i),
        Some(ScalarValue::Int16(Some(i))) => i64::from(*i),
        Some(ScalarValue::Int32(Some(i))) => i64::from(*i),
        Some(ScalarValue::Int64(Some(i))) => *i,
        _ => {
            return Err(DataFusionError::Plan(
                "a row's subscript must be a constant integer (r[1], r[2], …)".into(),
            ));
        }
    };
    if i < 1 || i as usize > width {
        return Err(DataFusionError::Plan(format!(
            "Invalid subscript index: {i}; the row has {width} fields"
        )));
    }
    Ok(i as usize - 1)
}
