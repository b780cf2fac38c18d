//! Mathematical functions (Trino docs: functions/math.md), with Trino's result types: integer
//! arguments keep their type in `abs`, `ceil`, `floor`, `round`, `sign`, `mod`; a decimal's
//! `round`/`ceil`/`floor` returns `decimal(p - s + min(s, 1), 0)`; everything else is double.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::ScalarUDF;

use super::cast::rescale;
use super::rows::{self, f64_at, i64_at, str_at};
use super::{
    Arg, Call, Func, args, args_opt, args_var, exec_err, ret_bool, ret_f64, ret_i64, ret_utf8,
};

pub(super) fn functions() -> Vec<ScalarUDF> {
    use Arg::*;
    let mut all = vec![
        Func::new("abs", args(&[Any]), numeric_same, |c| {
            per_kind(
                c,
                |v| {
                    v.checked_abs()
                        .ok_or_else(|| exec_err("Value out of range for abs"))
                },
                |v| Ok(v.abs()),
                |v, _| Ok(v.abs()),
            )
        }),
        Func::new("ceil", args(&[Any]), rounded_type, |c| {
            per_kind(
                c,
                Ok,
                |v| Ok(v.ceil()),
                |v, s| Ok(div_round(v, s, Rounding::Ceiling)),
            )
        }),
        Func::new("ceiling", args(&[Any]), rounded_type, |c| {
            per_kind(
                c,
                Ok,
                |v| Ok(v.ceil()),
                |v, s| Ok(div_round(v, s, Rounding::Ceiling)),
            )
        }),
        Func::new("floor", args(&[Any]), rounded_type, |c| {
            per_kind(
                c,
                Ok,
                |v| Ok(v.floor()),
                |v, s| Ok(div_round(v, s, Rounding::Floor)),
            )
        }),
        Func::new("round", args_opt(&[Any], &[Int]), round_type, round),
        Func::new("truncate", args(&[Any]), truncate_type, |c| {
            per_kind(
                c,
                Ok,
                |v| Ok(v.trunc()),
                |v, s| Ok(div_round(v, s, Rounding::Down)),
            )
        }),
        Func::new("sign", args(&[Any]), sign_type, |c| {
            per_kind(
                c,
                |v| Ok(v.signum()),
                |v| {
                    Ok(if v.is_nan() {
                        f64::NAN
                    } else if v == 0.0 {
                        0.0
                    } else {
                        v.signum()
                    })
                },
                |v, _| Ok(v.signum()),
            )
        }),
        Func::new("mod", args(&[Any, Any]), mod_type, modulo),
        Func::new("__trino_try_modulo", args(&[Any, Any]), mod_type, |c| {
            try_null(c, modulo)
        }),
        Func::new("__trino_try_divide", args(&[Any, Any]), divide_type, |c| {
            try_null(c, divide)
        }),
        Func::new("power", args(&[Double, Double]), ret_f64, |c| {
            f2(c, f64::powf)
        }),
        Func::new("pow", args(&[Double, Double]), ret_f64, |c| {
            f2(c, f64::powf)
        }),
        Func::new("atan2", args(&[Double, Double]), ret_f64, |c| {
            f2(c, f64::atan2)
        }),
        Func::new("log", args(&[Double, Double]), ret_f64, |c| {
            f2(c, |b, x| x.ln() / b.ln())
        }),
        Func::new("pi", args(&[]), ret_f64, |c| {
            rows::f64s(c, |_| Ok(Some(std::f64::consts::PI)))
        }),
        Func::new("e", args(&[]), ret_f64, |c| {
            rows::f64s(c, |_| Ok(Some(std::f64::consts::E)))
        }),
        Func::new("infinity", args(&[]), ret_f64, |c| {
            rows::f64s(c, |_| Ok(Some(f64::INFINITY)))
        }),
        Func::new("nan", args(&[]), ret_f64, |c| {
            rows::f64s(c, |_| Ok(Some(f64::NAN)))
        }),
        Func::new("is_nan", args(&[Double]), ret_bool, |c| {
            rows::bools(c, |r| Ok(f64_at(c.arg(0), r).map(f64::is_nan)))
        }),
        Func::new("is_finite", args(&[Double]), ret_bool, |c| {
            rows::bools(c, |r| Ok(f64_at(c.arg(0), r).map(f64::is_finite)))
        }),
        Func::new("is_infinite", args(&[Double]), ret_bool, |c| {
            rows::bools(c, |r| Ok(f64_at(c.arg(0), r).map(f64::is_infinite)))
        }),
        Func::new("to_base", args(&[Int, Int]), ret_utf8, |c| {
            rows::utf8(c, |r| match (i64_at(c.arg(0), r), i64_at(c.arg(1), r)) {
                (Some(v), Some(radix)) => {
                    if !(2..=36).contains(&radix) {
                        return Err(exec_err("Radix must be between 2 and 36"));
                    }
                    Ok(Some(to_base(v, radix as u32)))
                }
                _ => Ok(None),
            })
        }),
        Func::new("from_base", args(&[Str, Int]), ret_i64, |c| {
            rows::i64s(c, |r| match (str_at(c.arg(0), r), i64_at(c.arg(1), r)) {
                (Some(v), Some(radix)) => {
                    if !(2..=36).contains(&radix) {
                        return Err(exec_err("Radix must be between 2 and 36"));
                    }
                    i64::from_str_radix(v, radix as u32)
                        .map(Some)
                        .map_err(|_| exec_err(format!("Not a valid base-{radix} number: {v}")))
                }
                _ => Ok(None),
            })
        }),
        Func::new(
            "width_bucket",
            args(&[Double, Double, Double, Int]),
            ret_i64,
            width_bucket,
        ),
        Func::new("greatest", args_var(&[Any], Any), extreme_type, |c| {
            extreme(c, true)
        }),
        Func::new("least", args_var(&[Any], Any), extreme_type, |c| {
            extreme(c, false)
        }),
        Func::new("bitwise_and", args(&[Int, Int]), ret_i64, |c| {
            i2(c, |a, b| a & b)
        }),
        Func::new("bitwise_or", args(&[Int, Int]), ret_i64, |c| {
            i2(c, |a, b| a | b)
        }),
        Func::new("bitwise_xor", args(&[Int, Int]), ret_i64, |c| {
            i2(c, |a, b| a ^ b)
        }),
        Func::new("bitwise_not", args(&[Int]), ret_i64, |c| {
            rows::i64s(c, |r| Ok(i64_at(c.arg(0), r).map(|v| !v)))
        }),
    ];
    macro_rules! unary {
        ($($name:literal => $f:expr),* $(,)?) => {
            $(all.push(Func::new($name, args(&[Double]), ret_f64, |c| {
                rows::f64s(c, |r| Ok(f64_at(c.arg(0), r).map($f)))
            }));)*
        };
    }
    unary!(
        "sqrt" => f64::sqrt,
        "cbrt" => f64::cbrt,
        "exp" => f64::exp,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "degrees" => f64::to_degrees,
        "radians" => f64::to_radians,
    );
    all.into_iter().map(Func::udf).collect()
}

fn f2(c: &Call, f: fn(f64, f64) -> f64) -> Result<ArrayRef> {
    rows::f64s(c, |r| match (f64_at(c.arg(0), r), f64_at(c.arg(1), r)) {
        (Some(a), Some(b)) => Ok(Some(f(a, b))),
        _ => Ok(None),
    })
}

fn i2(c: &Call, f: fn(i64, i64) -> i64) -> Result<ArrayRef> {
    rows::i64s(c, |r| match (i64_at(c.arg(0), r), i64_at(c.arg(1), r)) {
        (Some(a), Some(b)) => Ok(Some(f(a, b))),
        _ => Ok(None),
    })
}

fn is_int(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
    )
}

fn not_numeric(name: &str, t: &DataType) -> DataFusionError {
    DataFusionError::Plan(format!(
        "{name}() does not accept an argument of type {}",
        super::trino_name(t)
    ))
}

fn numeric_same(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    match &types[0] {
        t if is_int(t) => Ok(t.clone()),
        DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => Ok(types[0].clone()),
        DataType::Null => Ok(DataType::Int32),
        t => Err(not_numeric("abs", t)),
    }
}

fn rounded_type(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    match &types[0] {
        DataType::Decimal128(p, s) => Ok(DataType::Decimal128(
            (*p as i8 - *s + (*s).min(1)).max(1) as u8,
            0,
        )),
        _ => numeric_same(types, &[]),
    }
}

fn truncate_type(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    match &types[0] {
        DataType::Decimal128(p, s) => Ok(DataType::Decimal128((*p as i8 - *s).max(1) as u8, 0)),
        DataType::Float32 | DataType::Float64 => Ok(types[0].clone()),
        t => Err(not_numeric("truncate", t)),
    }
}

fn sign_type(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    match &types[0] {
        DataType::Decimal128(..) => Ok(DataType::Decimal128(1, 0)),
        _ => numeric_same(types, &[]),
    }
}

fn round_type(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    match (&types[0], types.len()) {
        (DataType::Decimal128(p, s), 1) => Ok(DataType::Decimal128(
            ((*p as i8 - *s + (*s).min(1)).clamp(1, 38)) as u8,
            0,
        )),
        (DataType::Decimal128(p, s), _) => Ok(DataType::Decimal128((*p + 1).min(38), *s)),
        _ => numeric_same(types, &[]),
    }
}

#[derive(Clone, Copy)]
enum Rounding {
    Ceiling,
    Floor,
    Down,
}

/// A decimal's unscaled value divided by 10^scale, rounded as asked.
fn div_round(v: i128, scale: i8, mode: Rounding) -> i128 {
    if scale <= 0 {
        return v;
    }
    let d = 10i128.pow(scale as u32);
    let q = v / d;
    let r = v % d;
    match mode {
        Rounding::Ceiling if r > 0 => q + 1,
        Rounding::Floor if r < 0 => q - 1,
        _ => q,
    }
}

/// Evaluates a function over an integer, floating or decimal argument with Trino's per-type
/// implementation; the result has the call's return type.
fn per_kind(
    c: &Call,
    int: impl Fn(i64) -> Result<i64>,
    float: impl Fn(f64) -> Result<f64>,
    decimal: impl Fn(i128, i8) -> Result<i128>,
) -> Result<ArrayRef> {
    let arg = c.arg(0);
    match arg.data_type() {
        t if is_int(t) => {
            let wide = cast(arg, &DataType::Int64)?;
            let values = wide.as_primitive::<Int64Type>();
            let out = rows::i64s(c, |r| {
                if values.is_null(r) {
                    Ok(None)
                } else {
                    int(values.value(r)).map(Some)
                }
            })?;
            checked_cast(&out, c.ret)
        }
        DataType::Float32 | DataType::Float64 => {
            let wide = cast(arg, &DataType::Float64)?;
            let values = wide.as_primitive::<Float64Type>();
            let out = rows::f64s(c, |r| {
                if values.is_null(r) {
                    Ok(None)
                } else {
                    float(values.value(r)).map(Some)
                }
            })?;
            Ok(cast(&out, c.ret)?)
        }
        DataType::Decimal128(_, s) => {
            let values = arg.as_primitive::<Decimal128Type>();
            let DataType::Decimal128(p, rs) = c.ret else {
                return Err(exec_err("decimal function without a decimal result"));
            };
            let s = *s;
            let out: Vec<Option<i128>> = (0..c.rows)
                .map(|r| {
                    if values.is_null(r) {
                        Ok(None)
                    } else {
                        decimal(values.value(r), s).map(Some)
                    }
                })
                .collect::<Result<_>>()?;
            let limit = 10i128.pow(u32::from(*p));
            if out.iter().flatten().any(|v| v.abs() >= limit) {
                return Err(exec_err(format!(
                    "decimal overflow: the result does not fit decimal({p},{rs})"
                )));
            }
            let array = datafusion::arrow::array::Decimal128Array::from(out)
                .with_precision_and_scale(*p, *rs)?;
            Ok(Arc::new(array))
        }
        DataType::Null => Ok(datafusion::arrow::array::new_null_array(c.ret, c.rows)),
        t => Err(not_numeric("this function", t)),
    }
}

fn checked_cast(array: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    let options = datafusion::arrow::compute::CastOptions {
        safe: false,
        format_options: Default::default(),
    };
    Ok(datafusion::arrow::compute::cast_with_options(
        array, to, &options,
    )?)
}

fn round(c: &Call) -> Result<ArrayRef> {
    let digits = |r: usize| -> Option<i64> {
        if c.args.len() > 1 {
            i64_at(c.arg(1), r)
        } else {
            Some(0)
        }
    };
    if c.args.len() > 1 && c.arg(1).null_count() == c.rows && c.rows > 0 {
        return Ok(datafusion::arrow::array::new_null_array(c.ret, c.rows));
    }
    let d = digits(0).unwrap_or(0);
    match c.arg(0).data_type() {
        t if is_int(t) => per_kind(
            c,
            |v| {
                if d >= 0 {
                    return Ok(v);
                }
                let factor = 10i64
                    .checked_pow((-d) as u32)
                    .ok_or_else(|| exec_err(format!("numerical overflow: {v}")))?;
                let q = v / factor;
                let r = v % factor;
                let q = if r.abs() * 2 >= factor {
                    q + v.signum()
                } else {
                    q
                };
                q.checked_mul(factor)
                    .ok_or_else(|| exec_err(format!("numerical overflow: {v}")))
            },
            Ok,
            |v, _| Ok(v),
        ),
        DataType::Decimal128(..) => per_kind(c, Ok, Ok, |v, s| {
            let keep = d.clamp(-38, 38) as i8;
            if c.args.len() == 1 {
                return rescale(v, s, 0);
            }
            if keep >= s {
                return Ok(v);
            }
            let rounded = rescale(v, s, keep)?;
            rescale(rounded, keep, s)
        }),
        _ => per_kind(c, Ok, |v| Ok(round_double(v, d)), |v, _| Ok(v)),
    }
}

/// Trino's `round(double, d)`: `sign * Math.round(|x| * 10^d) / 10^d`.
fn round_double(num: f64, decimals: i64) -> f64 {
    if num.is_nan() || num.is_infinite() {
        return num;
    }
    let factor = 10f64.powi(decimals.clamp(-400, 400) as i32);
    let sign = if num < 0.0 { -1.0 } else { 1.0 };
    if factor == 0.0 {
        return sign * 0.0;
    }
    let rescaled = sign * num * factor;
    let rounded = (rescaled + 0.5).floor();
    if rounded.is_infinite() {
        return num;
    }
    sign * (rounded / factor)
}

fn int_pair_type(name: &str, types: &[DataType]) -> Result<DataType> {
    let (a, b) = (&types[0], &types[1]);
    if is_int(a) && is_int(b) {
        let width = |t: &DataType| match t {
            DataType::Int8 => 1,
            DataType::Int16 => 2,
            DataType::Int32 => 3,
            _ => 4,
        };
        return Ok(if width(a) >= width(b) {
            a.clone()
        } else {
            b.clone()
        });
    }
    let numeric = |t: &DataType| {
        is_int(t) || matches!(t, DataType::Float32 | DataType::Float64 | DataType::Null)
    };
    if numeric(a) && numeric(b) {
        if *a == DataType::Float32 && (*b == DataType::Float32 || is_int(b)) {
            return Ok(DataType::Float32);
        }
        return Ok(DataType::Float64);
    }
    Err(DataFusionError::Plan(format!(
        "{name}() of {} and {} is not supported on the embedded engine",
        super::trino_name(a),
        super::trino_name(b)
    )))
}

fn mod_type(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    int_pair_type("mod", types)
}

fn divide_type(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    int_pair_type("division", types)
}

fn binary_numeric(
    c: &Call,
    int: fn(i64, i64) -> Result<i64>,
    float: fn(f64, f64) -> f64,
) -> Result<ArrayRef> {
    if is_int(c.ret) {
        let a = cast(c.arg(0), &DataType::Int64)?;
        let b = cast(c.arg(1), &DataType::Int64)?;
        let out = rows::i64s(c, |r| match (i64_at(&a, r), i64_at(&b, r)) {
            (Some(x), Some(y)) => int(x, y).map(Some),
            _ => Ok(None),
        })?;
        checked_cast(&out, c.ret)
    } else {
        let a = cast(c.arg(0), &DataType::Float64)?;
        let b = cast(c.arg(1), &DataType::Float64)?;
        let out = rows::f64s(c, |r| match (f64_at(&a, r), f64_at(&b, r)) {
            (Some(x), Some(y)) => Ok(Some(float(x, y))),
            _ => Ok(None),
        })?;
        Ok(cast(&out, c.ret)?)
    }
}

fn modulo(c: &Call) -> Result<ArrayRef> {
    binary_numeric(
        c,
        |x, y| {
            if y == 0 {
                return Err(exec_err("Division by zero"));
            }
            Ok(x.wrapping_rem(y))
        },
        |x, y| x % y,
    )
}

fn divide(c: &Call) -> Result<ArrayRef> {
    binary_numeric(
        c,
        |x, y| {
            if y == 0 {
                return Err(exec_err("Division by zero"));
            }
            x.checked_div(y).ok_or_else(|| exec_err("integer overflow"))
        },
        |x, y| x / y,
    )
}

/// Runs a function row by row, NULL where a row fails (the body of `try`).
fn try_null(c: &Call, f: fn(&Call) -> Result<ArrayRef>) -> Result<ArrayRef> {
    if let Ok(out) = f(c) {
        return Ok(out);
    }
    let mut parts = Vec::with_capacity(c.rows);
    for row in 0..c.rows {
        let one = Call {
            args: c.args.iter().map(|a| a.slice(row, 1)).collect(),
            rows: 1,
            ret: c.ret,
        };
        parts.push(match f(&one) {
            Ok(v) => v,
            Err(_) => datafusion::arrow::array::new_null_array(c.ret, 1),
        });
    }
    let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
    if refs.is_empty() {
        return Ok(datafusion::arrow::array::new_empty_array(c.ret));
    }
    Ok(datafusion::arrow::compute::concat(&refs)?)
}

fn to_base(v: i64, radix: u32) -> String {
    if v == 0 {
        return "0".into();
    }
    let negative = v < 0;
    let mut n = v.unsigned_abs();
    let mut digits = Vec::new();
    while n > 0 {
        digits.push(std::char::from_digit((n % u64::from(radix)) as u32, radix).unwrap_or('?'));
        n /= u64::from(radix);
    }
    if negative {
        digits.push('-');
    }
    digits.iter().rev().collect()
}

fn width_bucket(c: &Call) -> Result<ArrayRef> {
    rows::i64s(c, |r| {
        let (Some(x), Some(lo), Some(hi), Some(n)) = (
            f64_at(c.arg(0), r),
            f64_at(c.arg(1), r),
            f64_at(c.arg(2), r),
            i64_at(c.arg(3), r),
        ) else {
            return Ok(None);
        };
        if n <= 0 {
            return Err(exec_err("bucketCount must be greater than 0"));
        }
        if x.is_nan() || lo.is_nan() || hi.is_nan() || !lo.is_finite() || !hi.is_finite() {
            return Err(exec_err(
                "operand, bound1 and bound2 must be finite numbers",
            ));
        }
        if lo == hi {
            return Err(exec_err("bounds cannot equal each other"));
        }
        let n_f = n as f64;
        Ok(Some(if lo < hi {
            if x < lo {
                0
            } else if x >= hi {
                n + 1
            } else {
                ((n_f * (x - lo) / (hi - lo)) as i64) + 1
            }
        } else if x > lo {
            0
        } else if x <= hi {
            n + 1
        } else {
            ((n_f * (lo - x) / (lo - hi)) as i64) + 1
        }))
    })
}

fn extreme_type(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    if types.iter().any(super::is_row) {
        return Err(DataFusionError::Plan(
            "greatest/least of rows is not supported on the embedded engine; compare their fields"
                .into(),
        ));
    }
    let first = types
        .iter()
        .find(|t| **t != DataType::Null)
        .cloned()
        .unwrap_or(DataType::Null);
    if types.iter().all(|t| *t == first || *t == DataType::Null) {
        return Ok(first);
    }
    if types.iter().all(|t| is_int(t) || *t == DataType::Null) {
        return Ok(DataType::Int64);
    }
    if types
        .iter()
        .all(|t| is_int(t) || matches!(t, DataType::Float32 | DataType::Float64 | DataType::Null))
    {
        return Ok(DataType::Float64);
    }
    Err(DataFusionError::Plan(format!(
        "greatest/least over {} is not supported on the embedded engine; cast the arguments to one type",
        types
            .iter()
            .map(super::trino_name)
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// `greatest`/`least`: NULL when any argument is NULL (unlike DataFusion's, which skip NULLs).
fn extreme(c: &Call, greatest: bool) -> Result<ArrayRef> {
    let args = c
        .args
        .iter()
        .map(|a| Ok(cast(a, c.ret)?))
        .collect::<Result<Vec<ArrayRef>>>()?;
    rows::scalars(c, |r| {
        let mut best: Option<ScalarValue> = None;
        for a in &args {
            if a.is_null(r) {
                return Ok(None);
            }
            let v = ScalarValue::try_from_array(a, r)?;
            if let ScalarValue::Float64(Some(f)) = &v
                && f.is_nan()
            {
                return Err(exec_err("Invalid argument to greatest/least: NaN"));
            }
            best = Some(match best {
                None => v,
                Some(b) => {
                    let better = if greatest { v > b } else { v < b };
                    if better { v } else { b }
                }
            });
        }
        Ok(best)
    })
}
