//! Values as Trino writes them: the text Athena shows in a result (`render`) and the text of
//! `cast(x AS varchar)` (`cast_text`), which differ only for `double` and `real`
//! (`1.5` is shown, `1.5E0` is the cast).

use chrono::{DateTime, NaiveDate};
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use datafusion::error::{DataFusionError, Result};

use crate::datetime_util::zone_of;
use crate::types::{precision_of, wrapped_timestamp};

/// The value at `row` as Athena shows it in a result; `None` for SQL NULL.
pub fn render(array: &ArrayRef, row: usize) -> Result<Option<String>> {
    text(array.as_ref(), row, Style::Result)
}

/// The value at `row` as `cast(value AS varchar)` gives it; `None` for SQL NULL.
pub(crate) fn cast_text(array: &dyn Array, row: usize) -> Result<Option<String>> {
    text(array, row, Style::Cast)
}

#[derive(Clone, Copy, PartialEq)]
enum Style {
    Result,
    Cast,
}

fn text(array: &dyn Array, row: usize, style: Style) -> Result<Option<String>> {
    if array.is_null(row) {
        return Ok(None);
    }
    let out = match array.data_type() {
        DataType::Null => return Ok(None),
        DataType::Boolean => array.as_boolean().value(row).to_string(),
        DataType::Int8 => array.as_primitive::<Int8Type>().value(row).to_string(),
        DataType::Int16 => array.as_primitive::<Int16Type>().value(row).to_string(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(row).to_string(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row).to_string(),
        DataType::Float64 => {
            let v = array.as_primitive::<Float64Type>().value(row);
            match style {
                Style::Result => java_double(v),
                Style::Cast => trino_double_cast(v, 20),
            }
        }
        DataType::Float32 => {
            let v = array.as_primitive::<Float32Type>().value(row);
            match style {
                Style::Result => java_float(v),
                Style::Cast => trino_double_cast(f64::from(v), 6),
            }
        }
        DataType::Decimal128(_, scale) => {
            decimal_text(array.as_primitive::<Decimal128Type>().value(row), *scale)
        }
        DataType::Utf8 => array.as_string::<i32>().value(row).to_string(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row).to_string(),
        DataType::Utf8View => array.as_string_view().value(row).to_string(),
        DataType::Binary => hex(array.as_binary::<i32>().value(row)),
        DataType::LargeBinary => hex(array.as_binary::<i64>().value(row)),
        DataType::BinaryView => hex(array.as_binary_view().value(row)),
        DataType::Date32 => date_text(array.as_primitive::<Date32Type>().value(row))?,
        DataType::Timestamp(unit, zone) => {
            let v = match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row),
                TimeUnit::Millisecond => {
                    array.as_primitive::<TimestampMillisecondType>().value(row)
                }
                TimeUnit::Microsecond => {
                    array.as_primitive::<TimestampMicrosecondType>().value(row)
                }
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row),
            };
            timestamp_text(v, *unit, zone.as_deref(), precision_of(unit), style)?
        }
        DataType::Struct(_) if wrapped_timestamp(array.data_type()).is_some() => {
            let (p, _) = wrapped_timestamp(array.data_type()).expect("checked");
            let inner = array.as_struct().column(0);
            if inner.is_null(row) {
                return Ok(None);
            }
            let DataType::Timestamp(unit, zone) = inner.data_type() else {
                unreachable!("a precision struct holds a timestamp");
            };
            let v = crate::functions::timestamp_values(inner)?[row];
            timestamp_text(v, *unit, zone.as_deref(), p, style)?
        }
        DataType::List(_) | DataType::LargeList(_) => {
            if style == Style::Cast {
                return Err(unsupported_cast(array.data_type()));
            }
            let values = match array.data_type() {
                DataType::List(_) => array.as_list::<i32>().value(row),
                _ => array.as_list::<i64>().value(row),
            };
            let items = (0..values.len())
                .map(|i| nested(values.as_ref(), i))
                .collect::<Result<Vec<_>>>()?;
            format!("[{}]", items.join(", "))
        }
        DataType::Map(_, _) => {
            if style == Style::Cast {
                return Err(unsupported_cast(array.data_type()));
            }
            let entries = array.as_map().value(row);
            let keys = entries.column(0);
            let values = entries.column(1);
            let items = (0..entries.len())
                .map(|i| {
                    Ok(format!(
                        "{}={}",
                        nested(keys.as_ref(), i)?,
                        nested(values.as_ref(), i)?
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            format!("{{{}}}", items.join(", "))
        }
        DataType::Struct(fields) => {
            if style == Style::Cast {
                return Err(unsupported_cast(array.data_type()));
            }
            let s = array.as_struct();
            // Trino's clients name a row's unnamed fields field0, field1, … (`{field0=1}`).
            let items = fields
                .iter()
                .zip(s.columns())
                .enumerate()
                .map(|(i, (f, c))| {
                    let value = nested(c.as_ref(), row)?;
                    Ok(match f.name().as_str() {
                        "" => format!("field{i}={value}"),
                        name => format!("{name}={value}"),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            format!("{{{}}}", items.join(", "))
        }
        other => {
            return Err(DataFusionError::Execution(format!(
                "values of Arrow type {other} have no Trino text on the embedded engine"
            )));
        }
    };
    Ok(Some(out))
}

fn nested(array: &dyn Array, row: usize) -> Result<String> {
    Ok(text(array, row, Style::Result)?.unwrap_or_else(|| "NULL".to_string()))
}

fn unsupported_cast(data_type: &DataType) -> DataFusionError {
    DataFusionError::Plan(format!(
        "cast from {} to varchar is not supported (Trino has no such cast)",
        crate::types::TrinoType::from_arrow(data_type)
            .map(|t| t.to_string())
            .unwrap_or_else(|| data_type.to_string())
    ))
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn decimal_text(value: i128, scale: i8) -> String {
    if scale <= 0 {
        return value.to_string();
    }
    let negative = value < 0;
    let digits = value.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{}", "0".repeat(scale - digits.len() + 1), digits)
    } else {
        digits
    };
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int}.{frac}", if negative { "-" } else { "" })
}

/// Java's `BigDecimal.toString()` of `unscaled` digits (no sign, no leading zeros, `0` for
/// zero) at `scale`: plain unless the scale is negative or the adjusted exponent below -6, then
/// `d.dddE±n` (as Trino shows decimals read from JSON, or passes them to `format`).
pub(crate) fn java_big_decimal(negative: bool, unscaled: &str, scale: i64) -> String {
    let sign = if negative && unscaled != "0" { "-" } else { "" };
    let adjusted = unscaled.len() as i64 - 1 - scale;
    if scale >= 0 && adjusted >= -6 {
        let s = scale as usize;
        if s == 0 {
            return format!("{sign}{unscaled}");
        }
        let padded = if unscaled.len() <= s {
            format!("{}{}", "0".repeat(s - unscaled.len() + 1), unscaled)
        } else {
            unscaled.to_string()
        };
        let (a, b) = padded.split_at(padded.len() - s);
        return format!("{sign}{a}.{b}");
    }
    let (first, rest) = unscaled.split_at(1);
    let mantissa = if rest.is_empty() {
        first.to_string()
    } else {
        format!("{first}.{rest}")
    };
    let exp_sign = if adjusted >= 0 { "+" } else { "" };
    format!("{sign}{mantissa}E{exp_sign}{adjusted}")
}

pub(crate) fn date_text(days: i32) -> Result<String> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    let date = epoch
        .checked_add_signed(chrono::Duration::days(i64::from(days)))
        .ok_or_else(|| DataFusionError::Execution(format!("date out of range: {days} days")))?;
    Ok(date.format("%Y-%m-%d").to_string())
}

/// `YYYY-MM-DD HH:MM:SS[.fff]` with `digits` fraction digits (the precision; values are kept
/// rounded to it), then the zone. A year past 9999 has a `+` in the cast's text, not in a
/// result.
fn timestamp_text(
    value: i64,
    unit: TimeUnit,
    zone: Option<&str>,
    digits: u8,
    style: Style,
) -> Result<String> {
    let digits = usize::from(digits);
    let (seconds, nanos) = match unit {
        TimeUnit::Second => (value, 0),
        TimeUnit::Millisecond => (value.div_euclid(1_000), value.rem_euclid(1_000) * 1_000_000),
        TimeUnit::Microsecond => (
            value.div_euclid(1_000_000),
            value.rem_euclid(1_000_000) * 1_000,
        ),
        TimeUnit::Nanosecond => (
            value.div_euclid(1_000_000_000),
            value.rem_euclid(1_000_000_000),
        ),
    };
    let utc = DateTime::from_timestamp(seconds, nanos as u32)
        .ok_or_else(|| DataFusionError::Execution(format!("timestamp out of range: {value}")))?;
    let (local, suffix) = match zone {
        None => (utc.naive_utc(), String::new()),
        Some(name) => (zone_of(name)?.local(&utc), format!(" {name}")),
    };
    let mut out = local.format("%Y-%m-%d %H:%M:%S").to_string();
    if style == Style::Result && out.starts_with('+') {
        out.remove(0);
    }
    if digits > 0 {
        let fraction = format!("{:09}", local.and_utc().timestamp_subsec_nanos());
        out.push('.');
        out.push_str(&fraction[..digits]);
    }
    out.push_str(&suffix);
    Ok(out)
}

/// Java's `Double.toString`: plain notation for 1e-3 <= |v| < 1e7, else `d.dddE±n`; always
/// at least one fraction digit.
pub(crate) fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let magnitude = v.abs();
    if (1e-3..1e7).contains(&magnitude) {
        let plain = format!("{v}");
        if plain.contains('.') {
            plain
        } else {
            format!("{plain}.0")
        }
    } else {
        scientific(&format!("{v:e}"))
    }
}

fn java_float(v: f32) -> String {
    if v.is_nan() || v.is_infinite() || v == 0.0 {
        return java_double(f64::from(v));
    }
    let magnitude = v.abs();
    if (1e-3..1e7).contains(&magnitude) {
        let plain = format!("{v}");
        if plain.contains('.') {
            plain
        } else {
            format!("{plain}.0")
        }
    } else {
        scientific(&format!("{v:e}"))
    }
}

/// Rust's `1.5e-7` as Java's `1.5E-7` (mantissa always with a fraction digit).
fn scientific(rust: &str) -> String {
    let (mantissa, exponent) = rust.split_once('e').unwrap_or((rust, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.to_string()
    } else {
        format!("{mantissa}.0")
    };
    format!("{mantissa}E{exponent}")
}

/// Trino's `cast(double AS varchar)`: `DecimalFormat("0.0##…E0")` with `max_fraction` digits
/// (`3.77E1`, `1.0E3`, `0E0`).
fn trino_double_cast(v: f64, max_fraction: usize) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0E0" } else { "0E0" }.into();
    }
    // Shortest round-trip digits, then rounded (half-even) to the pattern's digits.
    let formatted = if max_fraction < 20 {
        format!("{:.*e}", max_fraction, v)
    } else {
        format!("{v:e}")
    };
    let (mantissa, exponent) = formatted
        .split_once('e')
        .unwrap_or((formatted.as_str(), "0"));
    let mut mantissa = mantissa.to_string();
    if mantissa.contains('.') {
        while mantissa.ends_with('0') {
            mantissa.pop();
        }
        if mantissa.ends_with('.') {
            mantissa.push('0');
        }
    } else {
        mantissa.push_str(".0");
    }
    format!("{mantissa}E{exponent}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_as_java_and_trino_write_them() {
        assert_eq!(java_double(1.5), "1.5");
        assert_eq!(java_double(100.0), "100.0");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(1.25e-5), "1.25E-5");
        assert_eq!(trino_double_cast(37.7, 20), "3.77E1");
        assert_eq!(trino_double_cast(1200.0, 20), "1.2E3");
        assert_eq!(trino_double_cast(12345678.9, 20), "1.23456789E7");
        assert_eq!(trino_double_cast(-0.0, 20), "-0E0");
        assert_eq!(decimal_text(-5, 2), "-0.05");
        assert_eq!(decimal_text(12345, 2), "123.45");
    }
}
