//! dbt-athena's `AthenaColumn`, as `adapter.get_columns_in_relation` returns it, for a column
//! of a relation the project builds (see [`super::catalog`]).
//!
//! Its `dtype` is the type Glue stores, as dbt-athena reads it from Glue: for an mdw table (an
//! Iceberg table) the one mdwc knows it will have, for a source the one Glue has
//! ([`crate::warehouse`]): `bigint`, `string`, `decimal(10,2)`, `array<string>`… and everything
//! else follows from it as in dbt-athena 1.11's `AthenaColumn` and dbt-core's `Column` — note
//! that Glue's `int` is not `is_integer()` there, and a `decimal(p,s)` is not `is_numeric()`.
//!
//! A model's column types are not known before it is built: reading one (`data_type`,
//! `is_string()`, writing the column out) fails the node, since guessing a type could turn a
//! branch the other way.

use std::sync::Arc;

use minijinja::value::{Object, ValueKind, from_args};
use minijinja::{Error, State, Value};

use super::context::RenderNode;
use super::functions::error_with_help;
use super::objects::lock;
use crate::warehouse::TableType;

#[derive(Debug)]
pub(crate) struct Column {
    pub(crate) name: String,
    /// Glue's type, when known before the build.
    pub(crate) dtype: Option<String>,
    pub(crate) table_type: TableType,
    /// The relation, for messages.
    pub(crate) relation: String,
    pub(crate) node: Arc<RenderNode>,
}

/// The type predicates of dbt-core's `Column` with dbt-athena's overrides, on a lower-cased
/// `dtype`.
fn is_string(dtype: &str) -> bool {
    matches!(dtype, "varchar" | "string")
}

fn is_float(dtype: &str) -> bool {
    matches!(
        dtype,
        "real" | "float4" | "float" | "double precision" | "float8" | "double"
    )
}

fn is_integer(dtype: &str) -> bool {
    matches!(
        dtype,
        "smallint"
            | "integer"
            | "bigint"
            | "smallserial"
            | "serial"
            | "bigserial"
            | "int2"
            | "int4"
            | "int8"
            | "serial2"
            | "serial4"
            | "serial8"
    )
}

fn is_numeric(dtype: &str) -> bool {
    matches!(dtype, "numeric" | "decimal")
}

fn is_binary(dtype: &str) -> bool {
    matches!(dtype, "binary" | "varbinary")
}

fn is_array(dtype: &str) -> bool {
    dtype.starts_with("array")
}

/// `array<inner>` or `array(inner)` → `inner`, as `AthenaColumn.array_inner_type`.
fn array_inner(dtype: &str) -> &str {
    let inner = dtype
        .strip_prefix("array<")
        .and_then(|r| r.strip_suffix('>'))
        .or_else(|| {
            dtype
                .strip_prefix("array(")
                .and_then(|r| r.strip_suffix(')'))
        });
    inner.unwrap_or(dtype)
}

/// `AthenaColumn.data_type`. An array's element is typed as a column of no table (so its
/// timestamps are `timestamp`, as dbt-athena's default `TableType.TABLE` has them).
fn data_type(dtype: &str, iceberg: bool) -> String {
    let lowered = dtype.to_lowercase();
    if is_string(&lowered) {
        // char_size is never known from Glue: string_size() is 0.
        "varchar".to_string()
    } else if is_numeric(&lowered) {
        // numeric_type(dtype, None, None): the dtype itself.
        dtype.to_string()
    } else if is_binary(&lowered) {
        "varbinary".to_string()
    } else if lowered == "timestamp" {
        if iceberg { "timestamp(6)" } else { "timestamp" }.to_string()
    } else if is_array(&lowered) {
        format!("array({})", data_type(array_inner(dtype), false))
    } else {
        dtype.to_string()
    }
}

/// The class methods of dbt-athena's `AthenaColumn`, which need no column: called on a
/// column or on `api.Column`. `None` for any other method.
pub(crate) fn class_method(method: &str, args: &[Value]) -> Result<Option<Value>, Error> {
    Ok(Some(match method {
        // AthenaColumn.TYPE_LABELS: STRING and TEXT are VARCHAR.
        "translate_type" => {
            let (dtype,): (String,) = from_args(args)?;
            Value::from(match dtype.to_uppercase().as_str() {
                "STRING" | "TEXT" => "VARCHAR".to_string(),
                _ => dtype,
            })
        }
        "numeric_type" => {
            let (dtype, precision, scale): (String, Value, Value) = from_args(args)?;
            Value::from(if precision.is_none() || scale.is_none() {
                dtype
            } else {
                format!("{dtype}({precision},{scale})")
            })
        }
        "string_type" => {
            let (size,): (i64,) = from_args(args)?;
            Value::from(if size > 0 {
                format!("varchar({size})")
            } else {
                "varchar".to_string()
            })
        }
        "binary_type" => Value::from("varbinary"),
        "array_type" => {
            let (inner,): (String,) = from_args(args)?;
            Value::from(format!("array({inner})"))
        }
        _ => return Ok(None),
    }))
}

impl Column {
    fn iceberg(&self) -> bool {
        self.table_type == TableType::Iceberg
    }

    fn type_unknown_message(&self, what: &str) -> String {
        format!(
            "{what} of column '{}' of {}: mdwc knows the names of a model's columns before it is built, not their types",
            self.name, self.relation
        )
    }

    fn type_unknown(&self, what: &str) -> Error {
        error_with_help(
            self.type_unknown_message(what),
            "cast the column in SQL instead of reading its type, or keep this node in dbt",
        )
    }

    /// The type, or an error saying that reading `what` needs it.
    fn dtype(&self, what: &str) -> Result<String, Error> {
        self.dtype
            .as_ref()
            .map(|d| d.to_lowercase())
            .ok_or_else(|| self.type_unknown(what))
    }

    /// Records a read of the unknown type from an attribute (which cannot fail): it fails the
    /// render.
    fn record_unknown(&self, what: &str) -> Value {
        lock(&self.node.captured)
            .unknown_types
            .push(self.type_unknown_message(what));
        Value::from(())
    }

    fn runtime_error(message: &str) -> Error {
        error_with_help(
            message.to_string(),
            "this is dbt-athena's error for this column type",
        )
    }
}

impl Object for Column {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        match key {
            "name" | "column" => Some(Value::from(self.name.clone())),
            "quoted" => Some(Value::from(format!("\"{}\"", self.name))),
            "quoted_hive" => Some(Value::from(format!("`{}`", self.name))),
            // Glue has no sizes: dbt-athena's columns have none either.
            "char_size" | "numeric_precision" | "numeric_scale" if self.dtype.is_some() => {
                Some(Value::from(()))
            }
            "dtype" => Some(match &self.dtype {
                Some(dtype) => Value::from(dtype.clone()),
                None => self.record_unknown("`dtype`"),
            }),
            "data_type" | "expanded_data_type" => Some(match &self.dtype {
                Some(dtype) => Value::from(data_type(dtype, self.iceberg())),
                None => self.record_unknown(&format!("`{key}`")),
            }),
            "char_size" | "numeric_precision" | "numeric_scale" => {
                Some(self.record_unknown(&format!("`{key}`")))
            }
            _ => None,
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        if let Some(answer) = class_method(method, args)? {
            return Ok(answer);
        }
        let call = format!("{method}()");
        let answer = match method {
            "timestamp_type" => Value::from(if self.iceberg() {
                "timestamp(6)"
            } else {
                "timestamp"
            }),
            "is_iceberg" => Value::from(self.iceberg()),
            "is_string" => Value::from(is_string(&self.dtype(&call)?)),
            "is_float" => Value::from(is_float(&self.dtype(&call)?)),
            "is_integer" => Value::from(is_integer(&self.dtype(&call)?)),
            "is_numeric" => Value::from(is_numeric(&self.dtype(&call)?)),
            "is_number" => {
                let dtype = self.dtype(&call)?;
                Value::from(is_integer(&dtype) || is_numeric(&dtype) || is_float(&dtype))
            }
            "is_binary" => Value::from(is_binary(&self.dtype(&call)?)),
            "is_timestamp" => Value::from(self.dtype(&call)? == "timestamp"),
            "is_array" => Value::from(is_array(&self.dtype(&call)?)),
            "string_size" => {
                if !is_string(&self.dtype(&call)?) {
                    return Err(Self::runtime_error(
                        "Called string_size() on non-string field!",
                    ));
                }
                Value::from(0)
            }
            "array_inner_type" => {
                let dtype = self.dtype(&call)?;
                if !is_array(&dtype) {
                    return Err(Self::runtime_error(
                        "Called array_inner_type() on non-array field!",
                    ));
                }
                let original = self.dtype.clone().unwrap_or_default();
                Value::from(array_inner(&original).to_string())
            }
            "can_expand_to" => {
                let (other,): (Value,) = from_args(args)?;
                let Some(other) = other.downcast_object_ref::<Column>() else {
                    return Err(error_with_help(
                        format!("can_expand_to() expects a column, got {other}"),
                        "pass a column from adapter.get_columns_in_relation",
                    ));
                };
                // Not a string, or both sizes 0 (Glue has none): never.
                if is_string(&self.dtype(&call)?) {
                    other.dtype(&call)?;
                }
                Value::from(false)
            }
            "literal" => {
                let (value,): (Value,) = from_args(args)?;
                let dtype = self.dtype(&call)?;
                let original = self.dtype.clone().unwrap_or(dtype);
                // Python's str() of the value.
                let shown = match value.kind() {
                    ValueKind::None | ValueKind::Undefined => "None".to_string(),
                    ValueKind::Bool if value.is_true() => "True".to_string(),
                    ValueKind::Bool => "False".to_string(),
                    _ => value.to_string(),
                };
                Value::from(format!("{shown}::{}", data_type(&original, self.iceberg())))
            }
            _ => {
                return Err(error_with_help(
                    format!("AthenaColumn has no method {method}()"),
                    "see dbt-athena's AthenaColumn for the methods a column has",
                ));
            }
        };
        Ok(answer)
    }

    /// dbt writes a column as its dataclass repr.
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.dtype {
            Some(dtype) => write!(
                f,
                "AthenaColumn(column='{}', dtype='{dtype}', char_size=None, numeric_precision=None, numeric_scale=None, table_type={})",
                self.name,
                self.table_type.repr()
            ),
            None => {
                self.record_unknown("writing out");
                write!(f, "AthenaColumn(column='{}')", self.name)
            }
        }
    }
}
