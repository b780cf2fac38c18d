//! `format(format, args…)`: Trino formats with Java's `String.format` (English locale), each
//! SQL value as the Java object Trino passes: integers as `Long`, `real` as `Float`, `double`
//! as `Double`, decimals as `BigDecimal`, varchar as `String`, dates as `LocalDate`,
//! timestamps as `LocalDateTime`. The conversions `%s %S %b %B %d %o %x %X %e %E %f %c %% %n`
//! with argument indexes, flags, width and precision give Java's text; date/time conversions
//! (`%t…`), `%g` and `%a`, and values of other types are refused — when the query is planned
//! if the format is a constant.

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimeUnit,
};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::ScalarUDF;

mod java_text;
mod spec;

use super::rows::{self, str_at};
use super::{Arg, Call, Func, args_var, exec_err, scalar_str};
use crate::types::{timestamp_storage, wrapped_timestamp};
use java_text::{
    Digits, big_decimal_string, java_double_digits, java_float_digits, java_floating, local_date,
    local_date_time,
};
use spec::{Flags, Piece, check_spec, parse};

pub(super) fn functions() -> Vec<ScalarUDF> {
    vec![
        Func::new(
            "format",
            args_var(&[Arg::Str], Arg::Any),
            format_type,
            format,
        )
        .udf(),
    ]
}

fn format_type(types: &[DataType], scalars: &[Option<&ScalarValue>]) -> Result<DataType> {
    for t in &types[1..] {
        if java_kind(t).is_none() {
            return Err(DataFusionError::Plan(format!(
                "format() of a {} value is not supported on the embedded engine",
                super::trino_name(t)
            )));
        }
    }
    if let Some(spec) = scalar_str(scalars, 0) {
        let kinds: Vec<Kind> = types[1..].iter().filter_map(java_kind).collect();
        check_spec(spec, &kinds).map_err(|e| DataFusionError::Plan(e.to_string()))?;
    }
    Ok(DataType::Utf8)
}

/// The Java class Trino passes for a SQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unknown,
    Boolean,
    Long,
    Float,
    Double,
    Decimal,
    String,
    Date,
    Timestamp,
}

fn java_kind(t: &DataType) -> Option<Kind> {
    Some(match t {
        DataType::Null => Kind::Unknown,
        DataType::Boolean => Kind::Boolean,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => Kind::Long,
        DataType::Float32 => Kind::Float,
        DataType::Float64 => Kind::Double,
        DataType::Decimal128(..) => Kind::Decimal,
        // LargeUtf8 is the layer's json: Trino formats its text.
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => Kind::String,
        DataType::Date32 => Kind::Date,
        DataType::Timestamp(_, None) => Kind::Timestamp,
        DataType::Struct(_)
            if wrapped_timestamp(t)
                .is_some_and(|(_, s)| matches!(s, DataType::Timestamp(_, None))) =>
        {
            Kind::Timestamp
        }
        _ => return None,
    })
}

/// One argument's value as Java holds it.
#[derive(Debug, Clone)]
enum JavaValue {
    Null,
    Boolean(bool),
    Long(i64),
    Float(f32),
    Double(f64),
    Decimal(i128, i8),
    String(String),
    Date(i32),
    /// Nanoseconds since the epoch, local time.
    Timestamp(i128),
}

fn value_at(array: &ArrayRef, row: usize) -> Result<JavaValue> {
    // (A NullArray has no null buffer: `is_null` alone says false.)
    if array.data_type() == &DataType::Null || array.is_null(row) {
        return Ok(JavaValue::Null);
    }
    Ok(match array.data_type() {
        DataType::Boolean => JavaValue::Boolean(array.as_boolean().value(row)),
        DataType::Int8 => JavaValue::Long(array.as_primitive::<Int8Type>().value(row).into()),
        DataType::Int16 => JavaValue::Long(array.as_primitive::<Int16Type>().value(row).into()),
        DataType::Int32 => JavaValue::Long(array.as_primitive::<Int32Type>().value(row).into()),
        DataType::Int64 => JavaValue::Long(array.as_primitive::<Int64Type>().value(row)),
        DataType::Float32 => JavaValue::Float(array.as_primitive::<Float32Type>().value(row)),
        DataType::Float64 => JavaValue::Double(array.as_primitive::<Float64Type>().value(row)),
        DataType::Decimal128(_, s) => {
            JavaValue::Decimal(array.as_primitive::<Decimal128Type>().value(row), *s)
        }
        DataType::Date32 => JavaValue::Date(array.as_primitive::<Date32Type>().value(row)),
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => {
            JavaValue::String(str_at(array, row).unwrap_or_default().to_string())
        }
        _ => {
            let (storage, _) = timestamp_storage(array);
            if storage.is_null(row) {
                return Ok(JavaValue::Null);
            }
            let DataType::Timestamp(unit, None) = storage.data_type() else {
                return Err(exec_err(format!(
                    "format() of {} is not supported on the embedded engine",
                    array.data_type()
                )));
            };
            let v = crate::functions::timestamp_values(&storage)?[row];
            let per = match unit {
                TimeUnit::Second => 1_000_000_000,
                TimeUnit::Millisecond => 1_000_000,
                TimeUnit::Microsecond => 1_000,
                TimeUnit::Nanosecond => 1,
            };
            JavaValue::Timestamp(i128::from(v) * per)
        }
    })
}

fn format(c: &Call) -> Result<ArrayRef> {
    rows::utf8(c, |r| {
        let Some(spec) = str_at(c.arg(0), r) else {
            return Ok(None);
        };
        let values = c.args[1..]
            .iter()
            .map(|a| value_at(a, r))
            .collect::<Result<Vec<_>>>()?;
        render(spec, &values).map(Some)
    })
}

fn render(spec: &str, values: &[JavaValue]) -> Result<String> {
    let mut out = String::new();
    for piece in parse(spec)? {
        match piece {
            Piece::Text(t) => out.push_str(&t),
            Piece::Spec {
                arg,
                flags,
                width,
                precision,
                conversion,
            } => {
                let body = match (conversion, arg) {
                    ('%', _) => "%".to_string(),
                    ('n', _) => "\n".to_string(),
                    (_, Some(i)) => {
                        let value = values.get(i).ok_or_else(|| {
                            exec_err(format!("format: no argument for %{conversion} in '{spec}'"))
                        })?;
                        convert(conversion, value, &flags, precision)?
                    }
                    _ => String::new(),
                };
                out.push_str(&pad(body, width, &flags, conversion));
            }
        }
    }
    Ok(out)
}

fn pad(body: String, width: Option<usize>, flags: &Flags, conversion: char) -> String {
    let Some(width) = width else {
        return body;
    };
    let len = body.chars().count();
    if len >= width {
        return body;
    }
    let fill = width - len;
    if flags.left {
        return format!("{body}{}", " ".repeat(fill));
    }
    let numeric = matches!(conversion, 'd' | 'o' | 'x' | 'X' | 'e' | 'E' | 'f');
    // Java pads null, NaN and Infinity with spaces, whatever the flags.
    let word = body == "null" || body.contains("NaN") || body.contains("Infinity");
    if flags.zero && numeric && !word {
        // Zeros go after the sign (or parenthesis) and any 0x prefix.
        let sign_len = body
            .char_indices()
            .take_while(|(_, c)| matches!(c, '-' | '+' | ' ' | '('))
            .count();
        let prefix_len = if body[sign_len..].starts_with("0x") || body[sign_len..].starts_with("0X")
        {
            sign_len + 2
        } else {
            sign_len
        };
        return format!(
            "{}{}{}",
            &body[..prefix_len],
            "0".repeat(fill),
            &body[prefix_len..]
        );
    }
    format!("{}{body}", " ".repeat(fill))
}

fn convert(
    conversion: char,
    value: &JavaValue,
    flags: &Flags,
    precision: Option<usize>,
) -> Result<String> {
    let upper = conversion.is_ascii_uppercase();
    let text = match conversion.to_ascii_lowercase() {
        'b' => {
            let b = match value {
                JavaValue::Null => "false",
                JavaValue::Boolean(false) => "false",
                _ => "true",
            };
            truncate(b.to_string(), precision)
        }
        's' => truncate(to_java_string(value)?, precision),
        // Java prints a null through print(String): the precision cuts it.
        _ if matches!(value, JavaValue::Null) => truncate("null".to_string(), precision),
        'c' => {
            return Err(exec_err(
                "format(): %c cannot format an integer (Trino passes it as a Long)",
            ));
        }
        'd' => match value {
            JavaValue::Long(v) => {
                signed(&group(&v.unsigned_abs().to_string(), flags), *v < 0, flags)
            }
            _ => return Err(exec_err("format(): %d formats integers")),
        },
        'o' | 'x' => match value {
            JavaValue::Long(v) => {
                let digits = if conversion.eq_ignore_ascii_case(&'x') {
                    format!("{:x}", *v as u64)
                } else {
                    format!("{:o}", *v as u64)
                };
                let prefix = match (flags.alternate, conversion.to_ascii_lowercase()) {
                    (true, 'x') => "0x",
                    (true, _) => "0",
                    _ => "",
                };
                format!("{prefix}{digits}")
            }
            _ => {
                return Err(exec_err(format!(
                    "format(): %{conversion} formats integers"
                )));
            }
        },
        'f' | 'e' => {
            let decimal = match value {
                JavaValue::Double(v) => java_double_digits(*v)?,
                // Java widens a float to double for %e and %f.
                JavaValue::Float(v) => java_double_digits(f64::from(*v))?,
                JavaValue::Decimal(0, s) if *s != 0 && conversion.eq_ignore_ascii_case(&'e') => {
                    return Err(exec_err(
                        "format(): %e of a decimal zero with a scale is not supported on the embedded engine",
                    ));
                }
                JavaValue::Decimal(v, s) => Digits::of_decimal(*v, *s),
                _ => {
                    return Err(exec_err(format!(
                        "format(): %{conversion} formats floating-point values"
                    )));
                }
            };
            let Some(decimal) = decimal else {
                // NaN and infinities: Java prints them as words.
                let word = match value {
                    JavaValue::Double(v) if v.is_nan() => "NaN".to_string(),
                    JavaValue::Float(v) if v.is_nan() => "NaN".to_string(),
                    JavaValue::Double(v) => signed("Infinity", *v < 0.0, flags),
                    JavaValue::Float(v) => signed("Infinity", *v < 0.0, flags),
                    _ => unreachable!("decimals are finite"),
                };
                return Ok(if upper { word.to_uppercase() } else { word });
            };
            let p = precision.unwrap_or(6);
            let negative = decimal.negative;
            let body = if conversion.eq_ignore_ascii_case(&'f') {
                let (int, frac) = decimal.fixed(p);
                let int = group(&int, flags);
                if p == 0 && !flags.alternate {
                    int
                } else {
                    format!("{int}.{frac}")
                }
            } else {
                decimal.scientific(p, flags.alternate)
            };
            signed(&body, negative, flags)
        }
        other => return Err(exec_err(format!("format(): unknown conversion %{other}"))),
    };
    Ok(if upper { text.to_uppercase() } else { text })
}

fn truncate(text: String, precision: Option<usize>) -> String {
    match precision {
        Some(p) => text.chars().take(p).collect(),
        None => text,
    }
}

fn signed(body: &str, negative: bool, flags: &Flags) -> String {
    if negative {
        if flags.parens {
            format!("({body})")
        } else {
            format!("-{body}")
        }
    } else if flags.plus {
        format!("+{body}")
    } else if flags.space {
        format!(" {body}")
    } else {
        body.to_string()
    }
}

/// English grouping of an integer's digits (the `,` flag).
fn group(digits: &str, flags: &Flags) -> String {
    if !flags.group {
        return digits.to_string();
    }
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `String.valueOf(value)` as Java gives it for the object Trino passes.
fn to_java_string(value: &JavaValue) -> Result<String> {
    Ok(match value {
        JavaValue::Null => "null".into(),
        JavaValue::Boolean(b) => b.to_string(),
        JavaValue::Long(v) => v.to_string(),
        JavaValue::String(s) => s.clone(),
        JavaValue::Double(v) => java_floating(
            java_double_digits(*v)?,
            *v < 0.0 || (*v == 0.0 && v.is_sign_negative()),
            v.is_nan(),
        ),
        JavaValue::Float(v) => java_floating(
            java_float_digits(*v)?,
            *v < 0.0 || (*v == 0.0 && v.is_sign_negative()),
            v.is_nan(),
        ),
        JavaValue::Decimal(v, s) => big_decimal_string(*v, *s),
        JavaValue::Date(days) => local_date(i64::from(*days))?,
        JavaValue::Timestamp(nanos) => local_date_time(*nanos)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(spec: &str, values: &[JavaValue]) -> String {
        render(spec, values).unwrap()
    }

    #[test]
    fn formats_as_java() {
        use JavaValue as J;
        assert_eq!(f("%s%%", &[J::Long(123)]), "123%");
        assert_eq!(f("%.5f", &[J::Double(std::f64::consts::PI)]), "3.14159");
        assert_eq!(f("%03d", &[J::Long(8)]), "008");
        assert_eq!(
            f(
                "%-7s,%7s",
                &[J::String("hello".into()), J::String("world".into())]
            ),
            "hello  ,  world"
        );
        assert_eq!(
            f(
                "%2$s %3$s %1$s",
                &[
                    J::String("a".into()),
                    J::String("b".into()),
                    J::String("c".into())
                ]
            ),
            "b c a"
        );
        // Java rounds the shortest decimal half up.
        assert_eq!(f("%.2f", &[J::Double(0.125)]), "0.13");
        assert_eq!(f("%.2f", &[J::Double(1.005)]), "1.01");
        assert_eq!(f("%.1f", &[J::Double(0.05)]), "0.1");
        assert_eq!(f("%.0f", &[J::Double(0.4)]), "0");
        assert_eq!(f("%f", &[J::Double(-0.0001234)]), "-0.000123");
        assert_eq!(f("%,d", &[J::Long(-1234567)]), "-1,234,567");
        assert_eq!(f("%(,.2f", &[J::Decimal(-123456, 2)]), "(1,234.56)");
        assert_eq!(f("%+08.2f", &[J::Double(3.25159)]), "+0003.25");
        assert_eq!(
            f(
                "%x %X %#x %o",
                &[J::Long(255), J::Long(255), J::Long(-1), J::Long(8)]
            ),
            "ff FF 0xffffffffffffffff 10"
        );
        assert_eq!(f("%e", &[J::Double(12345.678)]), "1.234568e+04");
        assert_eq!(f("%.2E", &[J::Double(0.000123)]), "1.23E-04");
        assert_eq!(
            f(
                "%s %s %s %s",
                &[
                    J::Double(100.0),
                    J::Double(1e7),
                    J::Double(0.001),
                    J::Double(1.0e-4)
                ]
            ),
            "100.0 1.0E7 0.001 1.0E-4"
        );
        assert_eq!(
            f(
                "%s|%b|%B|%5.2s|",
                &[J::Null, J::Null, J::Long(0), J::String("abc".into())]
            ),
            "null|false|TRUE|   ab|"
        );
        assert_eq!(f("%s %<S", &[J::String("x".into())]), "x X");
        assert_eq!(f("%s", &[J::Decimal(1, 7)]), "1E-7");
        assert_eq!(f("%s", &[J::Decimal(-12345, 2)]), "-123.45");
        assert_eq!(
            f("%s", &[J::Timestamp(1_589_114_096_000_000_000)]),
            "2020-05-10T12:34:56"
        );
        assert_eq!(
            f("%s", &[J::Timestamp(1_589_114_096_111_100_000)]),
            "2020-05-10T12:34:56.111100"
        );
        assert_eq!(
            f("%s", &[J::Timestamp(1_589_114_040_000_000_000)]),
            "2020-05-10T12:34"
        );
        assert_eq!(
            f("%5d|%-5d|% d", &[J::Long(42), J::Long(42), J::Long(42)]),
            "   42|42   | 42"
        );
        assert_eq!(f("%.3f", &[J::Double(9.9995)]), "10.000");
        assert_eq!(
            f("%.2f|%.10f", &[J::Float(2.675), J::Float(0.1)]),
            "2.67|0.1000000015"
        );
        assert_eq!(
            f("%.2f|%010f", &[J::Null, J::Double(f64::INFINITY)]),
            "nu|  Infinity"
        );
    }

    #[test]
    fn refuses_what_it_does_not_format() {
        assert!(check_spec("%tY", &[Kind::Date]).is_err());
        assert!(check_spec("%d", &[Kind::Double]).is_err());
        assert!(check_spec("%f", &[Kind::Long]).is_err());
        assert!(check_spec("%s %s", &[Kind::Long]).is_err());
        assert!(check_spec("%g", &[Kind::Double]).is_err());
        assert!(check_spec("%c", &[Kind::Long]).is_err());
        assert!(check_spec("%007d", &[Kind::Long]).is_err());
        assert!(check_spec("%99999999s", &[Kind::String]).is_err());
        assert!(check_spec("%s %d %.2f", &[Kind::String, Kind::Long, Kind::Decimal]).is_ok());
    }
}
