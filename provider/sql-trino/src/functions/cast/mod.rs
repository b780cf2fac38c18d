//! `CAST` and `TRY_CAST` with Trino's rules (`__trino_cast(value, 'type')`, written by the
//! dialect for every cast), and `typeof`.
//!
//! Arrow's casts differ from Trino's in ways that change values: double → integer truncates
//! (Trino rounds half up), numbers → varchar use other text (`1.5E0`, decimals keep their scale),
//! varchar → integer does not trim, timestamp precision is truncated (Trino rounds). Pairs
//! that are not listed in `supported` are refused when the query is planned.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListArray, StructArray};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Field, Float64Type, Int64Type, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use datafusion::arrow::util::display::FormatOptions;
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::ScalarUDF;

use super::rows::{self, str_at};
use super::{Arg, Call, Func, args, exec_err, scalar_str};
use crate::datetime_util::zone_of;
use crate::render;
use crate::types::{TrinoType, timestamp_storage, unit_of, with_precision};

mod json;
mod timestamps;
use json::json_to_scalar;
pub(crate) use json::{parse_json, scalar_to_json};
pub(crate) use timestamps::*;

pub(super) fn functions() -> Vec<ScalarUDF> {
    use Arg::*;
    vec![
        Func::new("__trino_cast", args(&[Any, Str]), cast_return, |c| {
            cast_call(c, false)
        }),
        Func::new("__trino_try_cast", args(&[Any, Str]), try_cast_return, |c| {
            cast_call(c, true)
        }),
        Func::new(
            "typeof",
            args(&[Any]),
            |types, _| {
                // Trino types string expressions as bounded varchar(n), which cannot be known
                // here: refuse rather than answer `varchar`.
                if matches!(types[0], DataType::Utf8 | DataType::Utf8View) {
                    return Err(DataFusionError::Plan(
                        "typeof() of a varchar value is not supported on the embedded engine (Trino reports its bounded length)".into(),
                    ));
                }
                super::trino_type(&types[0])?;
                Ok(DataType::Utf8)
            },
            |c| {
                let name = super::trino_name(c.arg(0).data_type());
                rows::utf8(c, |_| Ok(Some(name.clone())))
            },
        ),
    ]
    .into_iter()
    .map(Func::udf)
    .collect()
}

/// The target type of a cast call, as written in its second argument.
pub(crate) fn parse_target(text: &str) -> Result<TrinoType> {
    TrinoType::parse(text).map_err(DataFusionError::Plan)
}

fn cast_return(types: &[DataType], scalars: &[Option<&ScalarValue>]) -> Result<DataType> {
    let text = scalar_str(scalars, 1)
        .ok_or_else(|| DataFusionError::Plan("the cast's target type must be a constant".into()))?;
    let target = parse_target(text)?;
    let from = &types[0];
    let target = match target {
        TrinoType::TimestampTz(p, None) => {
            TrinoType::TimestampTz(p, Some(zone_for(from, scalars)?))
        }
        other => other,
    };
    if !supported(from, &target) {
        return Err(DataFusionError::Plan(format!(
            "cast from {} to {} is not supported on the embedded engine",
            super::trino_name(from),
            target
        )));
    }
    Ok(target.to_arrow())
}

/// `TRY_CAST` gives NULL for a value that does not cast; for a row Trino nulls the whole row
/// when one field fails, which a field-by-field cast does not give: refused.
fn try_cast_return(types: &[DataType], scalars: &[Option<&ScalarValue>]) -> Result<DataType> {
    let target = cast_return(types, scalars)?;
    if super::contains_row(&target) {
        return Err(DataFusionError::Plan(
            "TRY_CAST to a row type is not supported on the embedded engine (use CAST)".into(),
        ));
    }
    Ok(target)
}

/// The zone a `timestamp with time zone` result gets: the source's own, the zone written in a
/// literal, else the session zone (UTC, as on Athena).
fn zone_for(from: &DataType, scalars: &[Option<&ScalarValue>]) -> Result<String> {
    if let Some(TrinoType::TimestampTz(_, Some(zone))) = TrinoType::from_arrow(from) {
        return Ok(zone);
    }
    if let Some(text) = scalar_str(scalars, 0)
        && let Some((_, _, Some(zone))) = parse_timestamp_text(text)
    {
        return Ok(zone);
    }
    Ok("UTC".to_string())
}

fn supported(from: &DataType, to: &TrinoType) -> bool {
    let Some(source) = TrinoType::from_arrow(from) else {
        return false;
    };
    use TrinoType as T;
    match (&source, to) {
        (T::Unknown, _) => true,
        (a, b) if a == b => true,
        (_, T::Varchar | T::BoundedVarchar(_)) => matches!(
            source,
            T::Boolean
                | T::TinyInt
                | T::SmallInt
                | T::Integer
                | T::BigInt
                | T::Real
                | T::Double
                | T::Decimal(..)
                | T::Varchar
                | T::Json
                | T::Date
                | T::Timestamp(_)
                | T::TimestampTz(..)
        ),
        (T::Varchar, t) => matches!(
            t,
            T::Boolean
                | T::TinyInt
                | T::SmallInt
                | T::Integer
                | T::BigInt
                | T::Real
                | T::Double
                | T::Decimal(..)
                | T::Date
                | T::Timestamp(_)
                | T::TimestampTz(..)
                | T::Json
                | T::Varbinary
        ),
        (a, b) if a.is_numeric() && b.is_numeric() => true,
        (T::Boolean, b) if b.is_numeric() && !matches!(b, T::Decimal(..)) => true,
        (a, T::Boolean) if a.is_numeric() && !matches!(a, T::Decimal(..)) => true,
        (T::Date, T::Timestamp(_) | T::TimestampTz(..)) => true,
        (T::Timestamp(_) | T::TimestampTz(..), T::Date | T::Timestamp(_) | T::TimestampTz(..)) => {
            true
        }
        (T::Json, t) => json_target(t),
        (a, T::Json) => json_source(a),
        (T::Array(a), T::Array(b)) => supported(&a.to_arrow(), b),
        // Rows cast field by field, by position; the names are the target's.
        (T::Row(a), T::Row(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|((_, from), (_, to))| supported(&from.to_arrow(), to))
        }
        _ => false,
    }
}

fn json_target(t: &TrinoType) -> bool {
    use TrinoType as T;
    match t {
        T::Boolean | T::Integer | T::BigInt | T::Double | T::Varchar | T::Json => true,
        T::Array(e) => json_target(e),
        T::Map(k, v) => **k == T::Varchar && json_target(v),
        T::Row(fields) => fields.iter().all(|(_, t)| json_target(t)),
        _ => false,
    }
}

fn json_source(t: &TrinoType) -> bool {
    use TrinoType as T;
    match t {
        T::Boolean | T::TinyInt | T::SmallInt | T::Integer | T::BigInt | T::Double | T::Varchar => {
            true
        }
        T::Decimal(..) => true,
        T::Array(e) => json_source(e),
        _ => false,
    }
}

fn cast_call(c: &Call, try_cast: bool) -> Result<ArrayRef> {
    let target = TrinoType::from_arrow(c.ret)
        .ok_or_else(|| exec_err(format!("no Trino type for {}", c.ret)))?;
    // The bound of varchar(n) is not part of the Arrow type: read it from the call.
    let target = match (&target, str_at(c.arg(1), 0).map(parse_target)) {
        (TrinoType::Varchar, Some(Ok(TrinoType::BoundedVarchar(n)))) => {
            TrinoType::BoundedVarchar(n)
        }
        _ => target,
    };
    cast_array(c.arg(0), &target, try_cast)
}

/// Casts every value of `array` to `to` with Trino's rules; with `try_cast` a value that cannot
/// be cast becomes NULL instead of failing the query.
pub(crate) fn cast_array(array: &ArrayRef, to: &TrinoType, try_cast: bool) -> Result<ArrayRef> {
    if array.data_type() == &DataType::Null {
        return Ok(datafusion::arrow::array::new_null_array(
            &to.to_arrow(),
            array.len(),
        ));
    }
    let source = TrinoType::from_arrow(array.data_type())
        .ok_or_else(|| exec_err(format!("no Trino type for {}", array.data_type())))?;
    if source == *to {
        return Ok(array.clone());
    }
    let out = cast_to_storage(array, &source, to, try_cast)?;
    Ok(match to.precision() {
        Some(p) => with_precision(out, p),
        None => out,
    })
}

/// The cast's values in the storage type of `to` (a timestamp's unit, without the precision
/// wrapper).
fn cast_to_storage(
    original: &ArrayRef,
    source: &TrinoType,
    to: &TrinoType,
    try_cast: bool,
) -> Result<ArrayRef> {
    let target = to.storage_arrow();
    // Timestamps are read from their storage; their text (`cast_text`) from the original,
    // which knows the precision.
    let (array, _) = timestamp_storage(original);
    let array = &array;
    let from = array.data_type().clone();
    use TrinoType as T;
    let per_value = |f: &dyn Fn(usize) -> Result<Option<ScalarValue>>| -> Result<ArrayRef> {
        let null = ScalarValue::try_from(&target)?;
        let mut values = Vec::with_capacity(array.len());
        for row in 0..array.len() {
            let value = if array.is_null(row) {
                None
            } else {
                match f(row) {
                    Ok(v) => v,
                    Err(_) if try_cast => None,
                    Err(e) => return Err(e),
                }
            };
            values.push(value.unwrap_or_else(|| null.clone()));
        }
        if values.is_empty() {
            return Ok(datafusion::arrow::array::new_empty_array(&target));
        }
        let out = ScalarValue::iter_to_array(values)?;
        if out.data_type() == &target {
            Ok(out)
        } else {
            Ok(arrow_cast(&out, &target, false)?)
        }
    };
    match (&source, to) {
        (T::Varchar, T::Varchar) => Ok(arrow_cast(array, &target, false)?),
        (T::Varchar, T::BoundedVarchar(n)) => per_value(&|row| {
            let text = str_at(array, row).unwrap_or("");
            Ok(Some(ScalarValue::Utf8(Some(
                text.chars().take(*n as usize).collect(),
            ))))
        }),
        (T::Json, T::Varchar | T::BoundedVarchar(_)) => per_value(&|row| {
            let value = parse_json(str_at(array, row).unwrap_or(""))?;
            Ok(match value {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(ScalarValue::Utf8(Some(s))),
                serde_json::Value::Bool(b) => Some(ScalarValue::Utf8(Some(b.to_string()))),
                serde_json::Value::Number(n) => Some(ScalarValue::Utf8(Some(n.to_string()))),
                _ => return Err(exec_err("Cannot cast JSON array or object to VARCHAR")),
            })
        }),
        (_, T::Varchar | T::BoundedVarchar(_)) => per_value(&|row| {
            let text = render::cast_text(original.as_ref(), row)?.unwrap_or_default();
            if let T::BoundedVarchar(n) = to
                && text.chars().count() > *n as usize
            {
                return Err(exec_err(format!(
                    "Value {text} cannot be represented as varchar({n})"
                )));
            }
            Ok(Some(ScalarValue::Utf8(Some(text))))
        }),
        (T::Varchar, T::Varbinary) => per_value(&|row| {
            Ok(Some(ScalarValue::Binary(Some(
                str_at(array, row).unwrap_or("").as_bytes().to_vec(),
            ))))
        }),
        (T::Varchar, T::Json) => per_value(&|row| {
            let text = str_at(array, row).unwrap_or("");
            Ok(Some(ScalarValue::LargeUtf8(Some(
                serde_json::Value::String(text.to_string()).to_string(),
            ))))
        }),
        (T::Varchar, t) => {
            let t = t.clone();
            per_value(&|row| parse_text(str_at(array, row).unwrap_or(""), &t).map(Some))
        }
        (T::Json, t) => {
            let t = t.clone();
            per_value(&|row| {
                let value = parse_json(str_at(array, row).unwrap_or(""))?;
                json_to_scalar(&value, &t)
            })
        }
        (_, T::Json) => per_value(&|row| {
            let value = ScalarValue::try_from_array(array, row)?;
            Ok(Some(ScalarValue::LargeUtf8(Some(
                scalar_to_json(&value)?.to_string(),
            ))))
        }),
        (T::Double | T::Real, t @ (T::TinyInt | T::SmallInt | T::Integer | T::BigInt)) => {
            let doubles = arrow_cast(array, &DataType::Float64, false)?;
            let doubles = doubles.as_primitive::<Float64Type>();
            let t = t.clone();
            per_value(&|row| {
                let v = doubles.value(row);
                if v.is_nan() || v.is_infinite() {
                    return Err(exec_err(format!("Unable to cast {v} to {t}")));
                }
                let rounded = v.round();
                if !(-9.223372036854776e18..9.223372036854776e18).contains(&rounded) {
                    return Err(exec_err(format!("Out of range for {t}: {v}")));
                }
                int_scalar(rounded as i64, &t)
            })
        }
        (T::Double | T::Real, T::Decimal(p, s)) => {
            let doubles = arrow_cast(array, &DataType::Float64, false)?;
            let doubles = doubles.as_primitive::<Float64Type>();
            let (p, s) = (*p, *s);
            per_value(&|row| {
                let v = doubles.value(row);
                if !v.is_finite() {
                    return Err(exec_err(format!(
                        "Cannot cast DOUBLE '{v}' to DECIMAL({p}, {s})"
                    )));
                }
                let text = format!("{v}");
                decimal_from_text(&text, p, s).map(Some)
            })
        }
        (T::Decimal(_, from_s), T::Decimal(p, s)) => {
            let decimals = array.as_primitive::<Decimal128Type>();
            let (p, s, from_s) = (*p, *s, *from_s);
            per_value(&|row| {
                let v = rescale(decimals.value(row), from_s, s)?;
                check_precision(v, p, s).map(Some)
            })
        }
        (T::Decimal(_, from_s), t @ (T::TinyInt | T::SmallInt | T::Integer | T::BigInt)) => {
            let decimals = array.as_primitive::<Decimal128Type>();
            let (from_s, t) = (*from_s, t.clone());
            per_value(&|row| {
                let v = rescale(decimals.value(row), from_s, 0)?;
                let v = i64::try_from(v).map_err(|_| exec_err(format!("Out of range for {t}")))?;
                int_scalar(v, &t)
            })
        }
        (_, T::Decimal(p, s)) if source.is_numeric() || *source == T::Boolean => {
            let ints = arrow_cast(array, &DataType::Int64, false)?;
            let ints = ints.as_primitive::<Int64Type>();
            let (p, s) = (*p, *s);
            per_value(&|row| {
                let v = i128::from(ints.value(row)) * 10i128.pow(s as u32);
                check_precision(v, p, s).map(Some)
            })
        }
        (T::Timestamp(_) | T::TimestampTz(..), T::Timestamp(p)) => {
            let local = timestamp_local_nanos(array)?;
            let (p, unit) = (*p, unit_of(*p));
            per_value(&|row| {
                let nanos = local[row].ok_or_else(|| exec_err("timestamp out of range"))?;
                Ok(Some(timestamp_scalar(
                    round_to_precision(nanos, p),
                    unit,
                    None,
                )))
            })
        }
        (T::Timestamp(_), T::TimestampTz(p, zone)) => {
            // A timestamp without zone is read in the session zone (UTC on Athena).
            let local = timestamp_local_nanos(array)?;
            let (p, unit) = (*p, unit_of(*p));
            let zone_name = zone.clone().unwrap_or_else(|| "UTC".into());
            let tz = zone_of(&zone_name)?;
            per_value(&|row| {
                let nanos = local[row].ok_or_else(|| exec_err("timestamp out of range"))?;
                let utc_nanos = if zone_name == "UTC" {
                    nanos
                } else {
                    let naive = nanos_to_naive(nanos)?;
                    let instant = tz.instant(&naive)?;
                    instant
                        .timestamp_nanos_opt()
                        .ok_or_else(|| exec_err("timestamp out of range"))?
                };
                Ok(Some(timestamp_scalar(
                    round_to_precision(utc_nanos, p),
                    unit,
                    Some(zone_name.clone()),
                )))
            })
        }
        (T::TimestampTz(..), T::TimestampTz(p, zone)) => {
            let DataType::Timestamp(from_unit, _) = &from else {
                return Err(exec_err("not a timestamp"));
            };
            let (p, unit) = (*p, unit_of(*p));
            let zone = zone.clone();
            let values = timestamp_values(array)?;
            let from_unit = *from_unit;
            per_value(&|row| {
                let nanos = to_nanos(values[row], from_unit)?;
                Ok(Some(timestamp_scalar(
                    round_to_precision(nanos, p),
                    unit,
                    zone.clone(),
                )))
            })
        }
        (T::Timestamp(_) | T::TimestampTz(..), T::Date) => {
            let local = timestamp_local_nanos(array)?;
            per_value(&|row| {
                let nanos = local[row].ok_or_else(|| exec_err("timestamp out of range"))?;
                Ok(Some(ScalarValue::Date32(Some(
                    nanos.div_euclid(86_400_000_000_000) as i32,
                ))))
            })
        }
        (T::Date, T::Timestamp(_)) => Ok(arrow_cast(array, &target, false)?),
        (T::Date, T::TimestampTz(p, zone)) => {
            let as_local = arrow_cast(array, &TrinoType::Timestamp(*p).storage_arrow(), false)?;
            cast_array(
                &as_local,
                &TrinoType::TimestampTz(*p, zone.clone()),
                try_cast,
            )
        }
        (T::Array(_), T::Array(element)) => {
            let list = array.as_list::<i32>();
            let values = cast_array(list.values(), element, try_cast)?;
            let field = Arc::new(Field::new("item", values.data_type().clone(), true));
            Ok(Arc::new(ListArray::try_new(
                field,
                list.offsets().clone(),
                values,
                list.nulls().cloned(),
            )?))
        }
        (T::Row(_), T::Row(fields)) => {
            let row = array.as_struct();
            let columns = row
                .columns()
                .iter()
                .zip(fields)
                .map(|(column, (_, to))| cast_array(column, to, try_cast))
                .collect::<Result<Vec<_>>>()?;
            let DataType::Struct(names) = to.to_arrow() else {
                unreachable!("a row is an Arrow struct");
            };
            Ok(Arc::new(StructArray::try_new(
                names,
                columns,
                row.nulls().cloned(),
            )?))
        }
        _ if supported(&source.to_arrow(), to) => {
            // Integer widening and narrowing (overflow is an error), integer ↔ double/real,
            // boolean ↔ integer: Arrow's casts give Trino's values for these.
            let out = arrow_cast(array, &target, try_cast)?;
            Ok(out)
        }
        _ => Err(DataFusionError::Plan(format!(
            "cast from {source} to {to} is not supported on the embedded engine"
        ))),
    }
}

fn arrow_cast(array: &ArrayRef, to: &DataType, safe: bool) -> Result<ArrayRef> {
    let options = CastOptions {
        safe,
        format_options: FormatOptions::default(),
    };
    Ok(cast_with_options(array, to, &options)?)
}

pub(super) fn int_scalar(v: i64, t: &TrinoType) -> Result<Option<ScalarValue>> {
    let out_of_range = || exec_err(format!("Out of range for {t}: {v}"));
    Ok(Some(match t {
        TrinoType::TinyInt => ScalarValue::Int8(Some(i8::try_from(v).map_err(|_| out_of_range())?)),
        TrinoType::SmallInt => {
            ScalarValue::Int16(Some(i16::try_from(v).map_err(|_| out_of_range())?))
        }
        TrinoType::Integer => {
            ScalarValue::Int32(Some(i32::try_from(v).map_err(|_| out_of_range())?))
        }
        _ => ScalarValue::Int64(Some(v)),
    }))
}

/// Changes a decimal's scale, rounding half up (away from zero) as Trino does.
pub(crate) fn rescale(v: i128, from: i8, to: i8) -> Result<i128> {
    if to >= from {
        10i128
            .checked_pow((to - from) as u32)
            .and_then(|m| v.checked_mul(m))
            .ok_or_else(|| exec_err("decimal overflow"))
    } else {
        let d = 10i128.pow((from - to) as u32);
        let q = v / d;
        let r = v % d;
        Ok(if r.abs() * 2 >= d { q + v.signum() } else { q })
    }
}

fn check_precision(v: i128, p: u8, s: i8) -> Result<ScalarValue> {
    if v.unsigned_abs() >= 10u128.pow(u32::from(p)) {
        return Err(exec_err(format!(
            "Cannot cast to DECIMAL({p}, {s}): value {} out of range",
            render::decimal_text(v, s)
        )));
    }
    Ok(ScalarValue::Decimal128(Some(v), p, s))
}

/// Parses `[-+]digits[.digits][e±n]` exactly and rounds half up to `s` digits.
pub(crate) fn decimal_from_text(text: &str, p: u8, s: i8) -> Result<ScalarValue> {
    let bad = || exec_err(format!("Cannot cast VARCHAR '{text}' to DECIMAL({p}, {s})"));
    let t = text.trim();
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().map_err(|_| bad())?),
        None => (t, 0),
    };
    let (negative, digits) = match mantissa.as_bytes().first() {
        Some(b'-') => (true, &mantissa[1..]),
        Some(b'+') => (false, &mantissa[1..]),
        _ => (false, mantissa),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let all: String = format!("{int}{frac}");
    let all = all.trim_start_matches('0');
    let scale = frac.len() as i32 - exponent;
    if all.len() > 38 {
        return Err(bad());
    }
    let unscaled: i128 = if all.is_empty() {
        0
    } else {
        all.parse().map_err(|_| bad())?
    };
    let unscaled = if negative { -unscaled } else { unscaled };
    let value = if scale > 76 {
        0
    } else if scale < -38 {
        return Err(bad());
    } else {
        rescale(unscaled, scale as i8, s)?
    };
    check_precision(value, p, s)
}

/// Trino's text → value casts (trimmed input, Java number syntax, ISO dates).
fn parse_text(text: &str, to: &TrinoType) -> Result<ScalarValue> {
    let bad = || {
        exec_err(format!(
            "Cannot cast '{text}' to {}",
            to.to_string().to_uppercase()
        ))
    };
    let t = text.trim_matches(|c: char| c <= ' ');
    Ok(match to {
        TrinoType::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" | "t" | "1" => ScalarValue::Boolean(Some(true)),
            "false" | "f" | "0" => ScalarValue::Boolean(Some(false)),
            _ => return Err(bad()),
        },
        TrinoType::TinyInt | TrinoType::SmallInt | TrinoType::Integer | TrinoType::BigInt => {
            let v: i64 = t.parse().map_err(|_| bad())?;
            int_scalar(v, to)?.ok_or_else(bad)?
        }
        TrinoType::Double | TrinoType::Real => {
            let v = java_parse_double(t).ok_or_else(bad)?;
            if *to == TrinoType::Real {
                ScalarValue::Float32(Some(v as f32))
            } else {
                ScalarValue::Float64(Some(v))
            }
        }
        TrinoType::Decimal(p, s) => decimal_from_text(t, *p, *s)?,
        TrinoType::Date => {
            let date = NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| bad())?;
            if t.len() != 10 {
                return Err(bad());
            }
            ScalarValue::Date32(Some(days_since_epoch(date)))
        }
        TrinoType::Timestamp(p) => {
            let parts = parse_timestamp_parts(t).ok_or_else(bad)?;
            if parts.zone.is_some() {
                return Err(bad());
            }
            let seconds = parts.local.and_utc().timestamp();
            let value = precision_value(seconds, parts.picos, *p).ok_or_else(bad)?;
            timestamp_scalar(value, unit_of(*p), None)
        }
        TrinoType::TimestampTz(p, column_zone) => {
            let parts = parse_timestamp_parts(t).ok_or_else(bad)?;
            let zone = parts.zone.unwrap_or_else(|| "UTC".to_string());
            if column_zone.as_deref().is_some_and(|c| c != zone) {
                return Err(exec_err(format!(
                    "timestamps with different time zones in one column ({zone}) are not supported on the embedded engine"
                )));
            }
            let instant = zone_of(&zone)?.instant(&parts.local)?;
            // Trino packs precisions up to 3 as epoch milliseconds in 52 bits (DateTimeEncoding)
            // and fails beyond them; finer precisions are kept to the nanosecond range (1677 to
            // 2262), which is within Trino's.
            if *p <= 3 {
                if instant.timestamp_millis().unsigned_abs() >= 1 << 51 {
                    return Err(bad());
                }
            } else {
                instant.timestamp_nanos_opt().ok_or_else(bad)?;
            }
            let value = precision_value(instant.timestamp(), parts.picos, *p).ok_or_else(bad)?;
            timestamp_scalar(value, unit_of(*p), Some(zone))
        }
        _ => return Err(bad()),
    })
}

/// Java's `Double.parseDouble` on trimmed text: decimal or exponent notation, `NaN`,
/// `Infinity` (Rust's extra spellings such as `inf` are refused).
pub(super) fn java_parse_double(t: &str) -> Option<f64> {
    match t {
        "NaN" | "+NaN" | "-NaN" => return Some(f64::NAN),
        "Infinity" | "+Infinity" => return Some(f64::INFINITY),
        "-Infinity" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    let body = t.trim_end_matches(['d', 'D', 'f', 'F']);
    if body.is_empty()
        || body
            .chars()
            .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
    {
        return None;
    }
    body.parse().ok()
}
