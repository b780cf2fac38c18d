//! Trino's function library as DataFusion UDFs: one `Func` value per function (name, accepted
//! argument types, result type, evaluation), grouped by Trino's documentation chapters.

mod aggregate;
mod array;
mod cast;
mod datetime;
mod format;
mod json;
pub(crate) mod lambda;
mod map;
mod math;
mod percentile;
mod regexp;
mod row_type;
pub(crate) mod rows;
mod string;
mod url;

use std::any::Any;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    AggregateUDF, ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, Volatility,
};

use crate::dialect;
use crate::types::{TrinoType, with_precision, wrapped_timestamp};

pub(crate) use cast::{parse_target, parse_timestamp_text, timestamp_values};
pub(crate) use row_type::{contains_row, field_udf, is_row};

/// What an argument position accepts, and the type the value is converted to before the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arg {
    /// varchar (NULL literal allowed).
    Str,
    /// Any integer type, as bigint.
    Int,
    /// Any number, as double.
    Double,
    /// boolean.
    Bool,
    /// varbinary.
    Bytes,
    /// json or varchar (json_extract and friends accept both).
    JsonOrStr,
    /// Anything, unchanged.
    Any,
}

/// Argument types accepted by a function: fixed positions, then optional ones, then an
/// optional repeated tail.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Args {
    pub required: &'static [Arg],
    pub optional: &'static [Arg],
    pub variadic: Option<Arg>,
}

pub(crate) const fn args(required: &'static [Arg]) -> Args {
    Args {
        required,
        optional: &[],
        variadic: None,
    }
}

pub(crate) const fn args_opt(required: &'static [Arg], optional: &'static [Arg]) -> Args {
    Args {
        required,
        optional,
        variadic: None,
    }
}

pub(crate) const fn args_var(required: &'static [Arg], variadic: Arg) -> Args {
    Args {
        required,
        optional: &[],
        variadic: Some(variadic),
    }
}

pub(crate) type ReturnFn = fn(&[DataType], &[Option<&ScalarValue>]) -> Result<DataType>;
pub(crate) type EvalFn = fn(&Call) -> Result<ArrayRef>;

/// One invocation's evaluated arguments.
pub(crate) struct Call<'a> {
    pub args: Vec<ArrayRef>,
    pub rows: usize,
    pub ret: &'a DataType,
}

impl Call<'_> {
    pub(crate) fn arg(&self, i: usize) -> &ArrayRef {
        &self.args[i]
    }
}

/// A Trino scalar function.
#[derive(Debug)]
pub(crate) struct Func {
    name: &'static str,
    args: Args,
    signature: Signature,
    ret: ReturnFn,
    eval: EvalFn,
}

impl Func {
    pub(crate) fn new(name: &'static str, args: Args, ret: ReturnFn, eval: EvalFn) -> Self {
        Self::with_volatility(name, args, ret, eval, Volatility::Immutable)
    }

    pub(crate) fn with_volatility(
        name: &'static str,
        args: Args,
        ret: ReturnFn,
        eval: EvalFn,
        volatility: Volatility,
    ) -> Self {
        Self {
            name,
            args,
            signature: Signature::user_defined(volatility),
            ret,
            eval,
        }
    }

    pub(crate) fn udf(self) -> ScalarUDF {
        ScalarUDF::new_from_impl(self)
    }
}

impl PartialEq for Func {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for Func {}
impl Hash for Func {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for Func {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if let Some(p) = arg_types
            .iter()
            .find_map(|t| wrapped_timestamp(t).map(|(p, _)| p))
            && precision_use(self.name) == PrecisionUse::Refused
        {
            return Err(DataFusionError::Plan(format!(
                "{}() of a timestamp({p}) is not supported on the embedded engine (cast it to timestamp(3), (6) or (9) first)",
                self.name
            )));
        }
        coerce(self.name, &self.args, arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.result_type(arg_types, &[])
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let data_type = self.result_type(&types, args.scalar_arguments)?;
        Ok(Arc::new(Field::new(self.name, data_type, true)))
    }

    /// Trino reads the clock once per query: every `now()` of a query is the query's start
    /// (evaluated per call site, two `now()` could differ by a millisecond).
    fn simplify(
        &self,
        args: Vec<datafusion::logical_expr::Expr>,
        info: &datafusion::logical_expr::simplify::SimplifyContext,
    ) -> Result<datafusion::logical_expr::simplify::ExprSimplifyResult> {
        use datafusion::logical_expr::simplify::ExprSimplifyResult;
        let zone = match self.name {
            "now" | "current_timestamp" => Some("UTC".to_string()),
            "localtimestamp" => None,
            _ => return Ok(ExprSimplifyResult::Original(args)),
        };
        let Some(start) = info.query_execution_start_time() else {
            return Ok(ExprSimplifyResult::Original(args));
        };
        Ok(ExprSimplifyResult::Simplified(
            datafusion::logical_expr::Expr::Literal(
                cast::timestamp_scalar(
                    start.timestamp_millis(),
                    datafusion::arrow::datatypes::TimeUnit::Millisecond,
                    zone,
                ),
                None,
            ),
        ))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = if all_scalar { 1 } else { args.number_rows };
        // An empty batch (a filter or a CASE branch no row takes): no values to compute, and
        // the functions that read a constant argument at row 0 would find none.
        if rows == 0 {
            return Ok(ColumnarValue::Array(
                datafusion::arrow::array::new_empty_array(args.return_field.data_type()),
            ));
        }
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        // A result of precision 1, 2, 4, 5, 7 or 8 is computed in its storage unit, then
        // wrapped (casts build it themselves).
        let ret = args.return_field.data_type();
        let wrapped =
            wrapped_timestamp(ret).filter(|_| precision_use(self.name) != PrecisionUse::Native);
        let call = Call {
            args: arrays,
            rows,
            ret: wrapped.as_ref().map(|(_, storage)| storage).unwrap_or(ret),
        };
        let out = (self.eval)(&call)?;
        let out = match wrapped {
            Some((p, _)) => with_precision(out, p),
            None => out,
        };
        if all_scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

impl Func {
    /// The result type; functions that read timestamps through their storage see the storage
    /// types, and those that keep the precision return it.
    fn result_type(
        &self,
        types: &[DataType],
        scalars: &[Option<&ScalarValue>],
    ) -> Result<DataType> {
        let usage = precision_use(self.name);
        if usage == PrecisionUse::Native {
            return (self.ret)(types, scalars);
        }
        let precision = types
            .iter()
            .find_map(|t| wrapped_timestamp(t).map(|(p, _)| p));
        let storage: Vec<DataType> = types
            .iter()
            .map(|t| {
                wrapped_timestamp(t)
                    .map(|(_, s)| s)
                    .unwrap_or_else(|| t.clone())
            })
            .collect();
        let ret = (self.ret)(&storage, scalars)?;
        match (precision, usage, TrinoType::from_arrow(&ret)) {
            (Some(p), PrecisionUse::Keeps, Some(TrinoType::Timestamp(_))) => {
                Ok(TrinoType::Timestamp(p).to_arrow())
            }
            (Some(p), PrecisionUse::Keeps, Some(TrinoType::TimestampTz(_, zone))) => {
                Ok(TrinoType::TimestampTz(p, zone).to_arrow())
            }
            (Some(p), _, Some(TrinoType::Timestamp(_) | TrinoType::TimestampTz(..))) => {
                Err(DataFusionError::Plan(format!(
                    "{}() of a timestamp({p}) is not supported on the embedded engine",
                    self.name
                )))
            }
            _ => Ok(ret),
        }
    }
}

/// How a function treats timestamps of precision 1, 2, 4, 5, 7 or 8 (kept in a precision
/// struct, see `types.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrecisionUse {
    /// Reads the precision struct itself (casts, `typeof`).
    Native,
    /// Reads the values and the precision through `Temporal`/`timestamp_storage`; its result
    /// is not a timestamp.
    Reads,
    /// As `Reads`, and returns a timestamp of the argument's precision (as in Trino).
    Keeps,
    /// Anything else: refused when planned.
    Refused,
}

fn precision_use(name: &str) -> PrecisionUse {
    match name {
        dialect::CAST | dialect::TRY_CAST | "typeof" => PrecisionUse::Native,
        "date_add" | "date_trunc" | "at_timezone" | "with_timezone" => PrecisionUse::Keeps,
        "date_diff" | "date_format" | "format_datetime" | "to_iso8601" | "to_unixtime"
        | "last_day_of_month" | "date" | "year" | "quarter" | "month" | "week" | "week_of_year"
        | "day" | "day_of_month" | "day_of_week" | "dow" | "day_of_year" | "doy"
        | "year_of_week" | "yow" | "hour" | "minute" | "second" | "millisecond"
        | "timezone_hour" | "timezone_minute" | "format" => PrecisionUse::Reads,
        _ => PrecisionUse::Refused,
    }
}

fn coerce(name: &str, spec: &Args, types: &[DataType]) -> Result<Vec<DataType>> {
    let max = spec.required.len() + spec.optional.len();
    if types.len() < spec.required.len() || (spec.variadic.is_none() && types.len() > max) {
        return Err(DataFusionError::Plan(format!(
            "{name}() does not take {} arguments",
            types.len()
        )));
    }
    types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let want = spec
                .required
                .iter()
                .chain(spec.optional)
                .nth(i)
                .copied()
                .or(spec.variadic)
                .unwrap_or(Arg::Any);
            coerce_one(name, want, t)
        })
        .collect()
}

fn coerce_one(name: &str, want: Arg, t: &DataType) -> Result<DataType> {
    let ok = match want {
        Arg::Any => return Ok(t.clone()),
        Arg::Str => match t {
            DataType::Utf8 | DataType::Utf8View | DataType::Null => Some(DataType::Utf8),
            _ => None,
        },
        Arg::JsonOrStr => match t {
            DataType::Utf8 | DataType::Utf8View | DataType::Null => Some(DataType::Utf8),
            DataType::LargeUtf8 => Some(DataType::LargeUtf8),
            _ => None,
        },
        Arg::Int => match t {
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Null => Some(DataType::Int64),
            _ => None,
        },
        Arg::Double => match t {
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal128(..)
            | DataType::Null => Some(DataType::Float64),
            _ => None,
        },
        Arg::Bool => match t {
            DataType::Boolean | DataType::Null => Some(DataType::Boolean),
            _ => None,
        },
        Arg::Bytes => match t {
            DataType::Binary | DataType::BinaryView | DataType::LargeBinary | DataType::Null => {
                Some(DataType::Binary)
            }
            _ => None,
        },
    };
    ok.ok_or_else(|| {
        DataFusionError::Plan(format!(
            "{name}() does not accept an argument of type {}",
            trino_name(t)
        ))
    })
}

/// Trino's name of an Arrow type, for messages.
pub(crate) fn trino_name(t: &DataType) -> String {
    TrinoType::from_arrow(t)
        .map(|t| t.to_string())
        .unwrap_or_else(|| t.to_string())
}

/// The Trino type of an argument, or a planning error naming the Arrow type.
pub(crate) fn trino_type(t: &DataType) -> Result<TrinoType> {
    TrinoType::from_arrow(t).ok_or_else(|| {
        DataFusionError::Plan(format!(
            "values of type {t} are not supported on the embedded engine"
        ))
    })
}

/// Result type helpers.
pub(crate) fn ret_utf8(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Utf8)
}
pub(crate) fn ret_i64(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Int64)
}
pub(crate) fn ret_f64(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Float64)
}
pub(crate) fn ret_bool(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Boolean)
}
pub(crate) fn ret_json(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::LargeUtf8)
}
pub(crate) fn ret_binary(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::Binary)
}
pub(crate) fn ret_str_array(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(TrinoType::Array(Box::new(TrinoType::Varchar)).to_arrow())
}

/// The first argument's string value of a constant argument, for result types that depend on it.
pub(crate) fn scalar_str<'a>(scalars: &[Option<&'a ScalarValue>], i: usize) -> Option<&'a str> {
    match scalars.get(i).copied().flatten() {
        Some(ScalarValue::Utf8(Some(s)))
        | Some(ScalarValue::LargeUtf8(Some(s)))
        | Some(ScalarValue::Utf8View(Some(s))) => Some(s.as_str()),
        _ => None,
    }
}

pub(crate) fn exec_err(message: impl Into<String>) -> DataFusionError {
    DataFusionError::Execution(message.into())
}

/// Whether every argument is non-NULL at `row` (most Trino functions return NULL otherwise).
pub(crate) fn all_valid(args: &[ArrayRef], row: usize) -> bool {
    args.iter().all(|a| a.is_valid(row))
}

/// Every scalar function of the layer (Trino's names; some replace DataFusion built-ins).
pub(crate) fn scalar_functions() -> Vec<ScalarUDF> {
    let mut all = Vec::new();
    all.extend(string::functions());
    all.extend(format::functions());
    all.extend(regexp::functions());
    all.extend(math::functions());
    all.extend(datetime::functions());
    all.extend(json::functions());
    all.extend(array::functions());
    all.extend(map::functions());
    all.extend(row_type::functions());
    all.extend(url::functions());
    all.extend(cast::functions());
    all
}

/// Every aggregate function of the layer.
pub(crate) fn aggregate_functions() -> Vec<AggregateUDF> {
    let mut all = aggregate::functions();
    all.push(percentile::function());
    all
}

/// Names of the lambda functions (`transform(array, x -> ...)`), planned per call site.
pub(crate) fn lambda_function_names() -> &'static [&'static str] {
    lambda::NAMES
}
