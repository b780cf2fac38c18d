//! Map functions (Trino docs: functions/map.md).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, MapArray, StructArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::ScalarUDF;

pub(super) fn functions() -> Vec<ScalarUDF> {
    Vec::new()
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
