//! Row-at-a-time builders: most Trino functions here are evaluated value by value, which keeps
//! each one a few lines and its NULL handling explicit.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanBuilder, Float64Builder, Int64Builder,
    LargeStringBuilder, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result;

use super::Call;

pub(crate) fn utf8(call: &Call, f: impl Fn(usize) -> Result<Option<String>>) -> Result<ArrayRef> {
    let mut b = StringBuilder::new();
    for row in 0..call.rows {
        b.append_option(f(row)?);
    }
    Ok(Arc::new(b.finish()))
}

pub(crate) fn json(call: &Call, f: impl Fn(usize) -> Result<Option<String>>) -> Result<ArrayRef> {
    let mut b = LargeStringBuilder::new();
    for row in 0..call.rows {
        b.append_option(f(row)?);
    }
    Ok(Arc::new(b.finish()))
}

pub(crate) fn i64s(call: &Call, f: impl Fn(usize) -> Result<Option<i64>>) -> Result<ArrayRef> {
    let mut b = Int64Builder::new();
    for row in 0..call.rows {
        b.append_option(f(row)?);
    }
    Ok(Arc::new(b.finish()))
}

pub(crate) fn f64s(call: &Call, f: impl Fn(usize) -> Result<Option<f64>>) -> Result<ArrayRef> {
    let mut b = Float64Builder::new();
    for row in 0..call.rows {
        b.append_option(f(row)?);
    }
    Ok(Arc::new(b.finish()))
}

pub(crate) fn bools(call: &Call, f: impl Fn(usize) -> Result<Option<bool>>) -> Result<ArrayRef> {
    let mut b = BooleanBuilder::new();
    for row in 0..call.rows {
        b.append_option(f(row)?);
    }
    Ok(Arc::new(b.finish()))
}

pub(crate) fn binary(
    call: &Call,
    f: impl Fn(usize) -> Result<Option<Vec<u8>>>,
) -> Result<ArrayRef> {
    let mut b = BinaryBuilder::new();
    for row in 0..call.rows {
        b.append_option(f(row)?);
    }
    Ok(Arc::new(b.finish()))
}

/// Values of any type, built from scalars (for functions over arrays, maps and rows).
pub(crate) fn scalars(
    call: &Call,
    f: impl Fn(usize) -> Result<Option<ScalarValue>>,
) -> Result<ArrayRef> {
    let null = ScalarValue::try_from(call.ret)?;
    let values = (0..call.rows)
        .map(|row| Ok(f(row)?.unwrap_or_else(|| null.clone())))
        .collect::<Result<Vec<_>>>()?;
    if values.is_empty() {
        return Ok(datafusion::arrow::array::new_empty_array(call.ret));
    }
    let array = ScalarValue::iter_to_array(values)?;
    if array.data_type() == call.ret {
        Ok(array)
    } else {
        Ok(datafusion::arrow::compute::cast(&array, call.ret)?)
    }
}

/// The string at `row` of a varchar (or json) argument; `None` for NULL.
pub(crate) fn str_at(array: &ArrayRef, row: usize) -> Option<&str> {
    if row >= array.len() || array.is_null(row) {
        return None;
    }
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => Some(array.as_string::<i64>().value(row)),
        DataType::Utf8View => Some(array.as_string_view().value(row)),
        _ => None,
    }
}

pub(crate) fn i64_at(array: &ArrayRef, row: usize) -> Option<i64> {
    if row >= array.len() || array.is_null(row) || array.data_type() != &DataType::Int64 {
        return None;
    }
    Some(array.as_primitive::<Int64Type>().value(row))
}

pub(crate) fn f64_at(array: &ArrayRef, row: usize) -> Option<f64> {
    if row >= array.len() || array.is_null(row) || array.data_type() != &DataType::Float64 {
        return None;
    }
    Some(array.as_primitive::<Float64Type>().value(row))
}

pub(crate) fn bytes_at(array: &ArrayRef, row: usize) -> Option<&[u8]> {
    if row >= array.len() || array.is_null(row) {
        return None;
    }
    match array.data_type() {
        DataType::Binary => Some(array.as_binary::<i32>().value(row)),
        DataType::LargeBinary => Some(array.as_binary::<i64>().value(row)),
        DataType::BinaryView => Some(array.as_binary_view().value(row)),
        _ => None,
    }
}
