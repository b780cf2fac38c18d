//! Array functions (Trino docs: functions/array.md) and the subscript operator, which in
//! Trino fails on an index out of range (`element_at` returns NULL instead).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::ScalarUDF;

use super::row_type;
use super::rows::{self, i64_at, str_at};
use super::{Arg, Call, Func, args, args_opt, args_var, exec_err, ret_i64};
use crate::render;

pub(super) fn functions() -> Vec<ScalarUDF> {
    use Arg::*;
    vec![
        Func::new("cardinality", args(&[Any]), ret_i64, |c| {
            let a = c.arg(0);
            rows::i64s(c, |r| {
                if a.is_null(r) {
                    return Ok(None);
                }
                Ok(Some(match a.data_type() {
                    DataType::List(_) => a.as_list::<i32>().value_length(r) as i64,
                    DataType::Map(..) => a.as_map().value_length(r) as i64,
                    other => return Err(exec_err(format!("cardinality() of {other}"))),
                }))
            })
        }),
        Func::new("element_at", args(&[Any, Any]), element_type_of, |c| {
            subscript(c, false)
        }),
        Func::new(
            "__trino_subscript",
            args(&[Any, Any]),
            |types, scalars| {
                if row_type::is_row(&types[0]) {
                    row_type::field_type(&types[0], scalars.get(1).copied().flatten())
                } else {
                    element_type_of(types, scalars)
                }
            },
            |c| {
                if row_type::is_row(c.arg(0).data_type()) {
                    row_type::field_values(c)
                } else {
                    subscript(c, true)
                }
            },
        ),
        Func::new("contains", args(&[Any, Any]), list_and_element_bool, |c| {
            rows::bools(c, |r| {
                let Some(items) = list_at(c.arg(0), r)? else {
                    return Ok(None);
                };
                let needle = ScalarValue::try_from_array(c.arg(1), r)?;
                if needle.is_null() {
                    return Ok(None);
                }
                if items.iter().any(|i| same(i, &needle)) {
                    return Ok(Some(true));
                }
                Ok(if items.iter().any(ScalarValue::is_null) {
                    None
                } else {
                    Some(false)
                })
            })
        }),
        Func::new(
            "array_position",
            args(&[Any, Any]),
            list_and_element_i64,
            |c| {
                rows::i64s(c, |r| {
                    let Some(items) = list_at(c.arg(0), r)? else {
                        return Ok(None);
                    };
                    let needle = ScalarValue::try_from_array(c.arg(1), r)?;
                    if needle.is_null() {
                        return Ok(None);
                    }
                    Ok(Some(
                        items
                            .iter()
                            .position(|i| same(i, &needle))
                            .map_or(0, |p| p as i64 + 1),
                    ))
                })
            },
        ),
        Func::new(
            "array_join",
            args_opt(&[Any, Str], &[Str]),
            array_join_type,
            |c| {
                rows::utf8(c, |r| {
                    let (Some(list), Some(sep)) =
                        (c.arg(0).as_list_opt::<i32>(), str_at(c.arg(1), r))
                    else {
                        return Ok(None);
                    };
                    if list.is_null(r) {
                        return Ok(None);
                    }
                    let replacement = if c.args.len() > 2 {
                        str_at(c.arg(2), r)
                    } else {
                        None
                    };
                    if c.args.len() > 2 && replacement.is_none() {
                        return Ok(None);
                    }
                    let values = list.value(r);
                    let mut parts = Vec::new();
                    for i in 0..values.len() {
                        match render::cast_text(values.as_ref(), i)? {
                            Some(t) => parts.push(t),
                            None => {
                                if let Some(rep) = replacement {
                                    parts.push(rep.to_string());
                                }
                            }
                        }
                    }
                    Ok(Some(parts.join(sep)))
                })
            },
        ),
        Func::new("array_distinct", args(&[Any]), list_same, |c| {
            map_list(c, |items| {
                let mut out: Vec<ScalarValue> = Vec::new();
                for i in items {
                    if !out.iter().any(|o| same_or_both_null(o, &i)) {
                        out.push(i);
                    }
                }
                Ok(Some(out))
            })
        }),
        Func::new("array_max", args(&[Any]), list_element, |c| {
            extreme(c, true)
        }),
        Func::new("array_min", args(&[Any]), list_element, |c| {
            extreme(c, false)
        }),
        Func::new("array_sort", args(&[Any]), list_same, |c| {
            map_list(c, |mut items| {
                let mut nulls = Vec::new();
                items.retain(|i| {
                    if i.is_null() {
                        nulls.push(i.clone());
                        false
                    } else {
                        true
                    }
                });
                sort_values(&mut items)?;
                items.extend(nulls);
                Ok(Some(items))
            })
        }),
        Func::new(
            "array_remove",
            args(&[Any, Any]),
            list_and_element_same,
            |c| {
                let needle_array = c.arg(1).clone();
                map_list_row(c, move |items, r| {
                    let needle = ScalarValue::try_from_array(&needle_array, r)?;
                    if needle.is_null() {
                        return Ok(None);
                    }
                    Ok(Some(
                        items.into_iter().filter(|i| !same(i, &needle)).collect(),
                    ))
                })
            },
        ),
        Func::new("array_union", args(&[Any, Any]), two_lists_same, |c| {
            two_lists(c, |a, b| {
                let mut out: Vec<ScalarValue> = Vec::new();
                for i in a.into_iter().chain(b) {
                    if !out.iter().any(|o| same_or_both_null(o, &i)) {
                        out.push(i);
                    }
                }
                Ok(out)
            })
        }),
        Func::new("array_intersect", args(&[Any, Any]), two_lists_same, |c| {
            two_lists(c, |a, b| {
                let mut out: Vec<ScalarValue> = Vec::new();
                for i in a {
                    if b.iter().any(|x| same_or_both_null(x, &i))
                        && !out.iter().any(|o| same_or_both_null(o, &i))
                    {
                        out.push(i);
                    }
                }
                Ok(out)
            })
        }),
        Func::new("array_except", args(&[Any, Any]), two_lists_same, |c| {
            two_lists(c, |a, b| {
                let mut out: Vec<ScalarValue> = Vec::new();
                for i in a {
                    if !b.iter().any(|x| same_or_both_null(x, &i))
                        && !out.iter().any(|o| same_or_both_null(o, &i))
                    {
                        out.push(i);
                    }
                }
                Ok(out)
            })
        }),
        Func::new(
            "arrays_overlap",
            args(&[Any, Any]),
            |t, _| {
                two_lists_same(t, &[])?;
                Ok(DataType::Boolean)
            },
            |c| {
                rows::bools(c, |r| {
                    let (Some(a), Some(b)) = (list_at(c.arg(0), r)?, list_at(c.arg(1), r)?) else {
                        return Ok(None);
                    };
                    if a.iter()
                        .any(|x| !x.is_null() && b.iter().any(|y| same(x, y)))
                    {
                        return Ok(Some(true));
                    }
                    let any_null = a.iter().chain(&b).any(ScalarValue::is_null);
                    Ok(if any_null && !a.is_empty() && !b.is_empty() {
                        None
                    } else {
                        Some(false)
                    })
                })
            },
        ),
        Func::new(
            "flatten",
            args(&[Any]),
            |t, _| match &t[0] {
                DataType::List(f) => match f.data_type() {
                    DataType::List(_) => Ok(f.data_type().clone()),
                    other => Err(DataFusionError::Plan(format!(
                        "flatten() of array({})",
                        super::trino_name(other)
                    ))),
                },
                other => Err(not_array("flatten", other)),
            },
            |c| {
                map_list(c, |items| {
                    let mut out = Vec::new();
                    for i in items {
                        if let ScalarValue::List(inner) = i {
                            if inner.is_null(0) {
                                continue;
                            }
                            let values = inner.value(0);
                            for k in 0..values.len() {
                                out.push(ScalarValue::try_from_array(&values, k)?);
                            }
                        }
                    }
                    Ok(Some(out))
                })
            },
        ),
        Func::new("slice", args(&[Any, Int, Int]), list_same, |c| {
            map_list_row(c, |items, r| {
                let (Some(start), Some(length)) = (i64_at(c.arg(1), r), i64_at(c.arg(2), r)) else {
                    return Ok(None);
                };
                if start == 0 {
                    return Err(exec_err("SQL array indices start at 1"));
                }
                if length < 0 {
                    return Err(exec_err(format!(
                        "length must be greater than or equal to 0: {length}"
                    )));
                }
                let n = items.len() as i64;
                let from = if start > 0 { start - 1 } else { n + start };
                if from < 0 || from >= n {
                    return Ok(Some(Vec::new()));
                }
                let to = (from + length).min(n);
                Ok(Some(items[from as usize..to as usize].to_vec()))
            })
        }),
        Func::new("trim_array", args(&[Any, Int]), list_same, |c| {
            map_list_row(c, |mut items, r| {
                let Some(n) = i64_at(c.arg(1), r) else {
                    return Ok(None);
                };
                if n < 0 || n as usize > items.len() {
                    return Err(exec_err(format!(
                        "size must not be negative or exceed the array length: {n}"
                    )));
                }
                items.truncate(items.len() - n as usize);
                Ok(Some(items))
            })
        }),
        Func::new(
            "repeat",
            args(&[Any, Int]),
            |t, _| Ok(list_of(&t[0])),
            |c| {
                rows::scalars(c, |r| {
                    let Some(n) = i64_at(c.arg(1), r) else {
                        return Ok(None);
                    };
                    if !(0..=10_000).contains(&n) {
                        return Err(exec_err(
                            "count argument of repeat function must be between 0 and 10000",
                        ));
                    }
                    let value = ScalarValue::try_from_array(c.arg(0), r)?;
                    let items = vec![value; n as usize];
                    Ok(Some(make_list(&items, c.arg(0).data_type())))
                })
            },
        ),
        Func::new(
            "sequence",
            args_opt(&[Any, Any], &[Any]),
            sequence_type,
            sequence,
        ),
        Func::new(
            "__trino_unnest_arg",
            args_opt(&[Any, Bool], &[Bool]),
            unnest_arg_type,
            |c| {
                let element = element_of(c.ret).cloned().unwrap_or(DataType::Null);
                rows::scalars(c, |r| {
                    let outer = matches!(
                        ScalarValue::try_from_array(c.arg(1), r)?,
                        ScalarValue::Boolean(Some(true))
                    );
                    let items = list_at(c.arg(0), r)?;
                    Ok(match items {
                        Some(items) if !items.is_empty() => Some(make_list(&items, &element)),
                        _ if outer => {
                            Some(make_list(&[ScalarValue::try_from(&element)?], &element))
                        }
                        Some(items) => Some(make_list(&items, &element)),
                        None => None,
                    })
                })
            },
        ),
        Func::new(
            "__trino_ordinals",
            args_var(&[Any], Any),
            |_, _| Ok(list_of(&DataType::Int64)),
            |c| {
                let (arrays, flag) = c.args.split_at(c.args.len() - 1);
                rows::scalars(c, |r| {
                    let outer = matches!(
                        ScalarValue::try_from_array(&flag[0], r)?,
                        ScalarValue::Boolean(Some(true))
                    );
                    let mut longest = 0usize;
                    for a in arrays {
                        if let Some(items) = list_at(a, r)? {
                            longest = longest.max(items.len());
                        }
                    }
                    let items: Vec<ScalarValue> = if longest == 0 && outer {
                        vec![ScalarValue::Int64(None)]
                    } else {
                        (1..=longest as i64)
                            .map(|i| ScalarValue::Int64(Some(i)))
                            .collect()
                    };
                    Ok(Some(make_list(&items, &DataType::Int64)))
                })
            },
        ),
    ]
    .into_iter()
    .map(Func::udf)
    .collect()
}

fn not_array(name: &str, t: &DataType) -> DataFusionError {
    DataFusionError::Plan(format!(
        "{name}() expects an array, got {}",
        super::trino_name(t)
    ))
}

pub(crate) fn list_of(t: &DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", t.clone(), true)))
}

pub(crate) fn make_list(items: &[ScalarValue], element: &DataType) -> ScalarValue {
    ScalarValue::List(ScalarValue::new_list_nullable(items, element))
}

/// The elements of the array at `row`; `None` when it is NULL.
pub(crate) fn list_at(array: &ArrayRef, row: usize) -> Result<Option<Vec<ScalarValue>>> {
    if array.is_null(row) {
        return Ok(None);
    }
    let DataType::List(_) = array.data_type() else {
        return Err(exec_err(format!(
            "expected an array, got {}",
            array.data_type()
        )));
    };
    let values = array.as_list::<i32>().value(row);
    (0..values.len())
        .map(|i| ScalarValue::try_from_array(&values, i))
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

fn element_of(t: &DataType) -> Option<&DataType> {
    match t {
        DataType::List(f) => Some(f.data_type()),
        _ => None,
    }
}

fn list_same(t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    element_of(&t[0]).ok_or_else(|| not_array("this function", &t[0]))?;
    Ok(t[0].clone())
}

fn list_element(t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    element_of(&t[0])
        .cloned()
        .ok_or_else(|| not_array("this function", &t[0]))
}

fn check_element(t: &[DataType]) -> Result<()> {
    let element = element_of(&t[0]).ok_or_else(|| not_array("this function", &t[0]))?;
    if *element != t[1] && t[1] != DataType::Null && *element != DataType::Null {
        return Err(DataFusionError::Plan(format!(
            "an array({}) searched for a {} is not supported on the embedded engine; cast the value",
            super::trino_name(element),
            super::trino_name(&t[1])
        )));
    }
    Ok(())
}

fn list_and_element_bool(t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    check_element(t)?;
    Ok(DataType::Boolean)
}

fn list_and_element_i64(t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    check_element(t)?;
    Ok(DataType::Int64)
}

fn list_and_element_same(t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    check_element(t)?;
    Ok(t[0].clone())
}

fn two_lists_same(t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    element_of(&t[0]).ok_or_else(|| not_array("this function", &t[0]))?;
    if t[0] != t[1] {
        return Err(DataFusionError::Plan(format!(
            "arrays of {} and {} are not supported together on the embedded engine; cast one",
            super::trino_name(&t[0]),
            super::trino_name(&t[1])
        )));
    }
    Ok(t[0].clone())
}

fn array_join_type(t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    let element = element_of(&t[0]).ok_or_else(|| not_array("array_join", &t[0]))?;
    if matches!(
        element,
        DataType::List(_) | DataType::Map(..) | DataType::Struct(_)
    ) {
        return Err(DataFusionError::Plan(
            "array_join() of nested arrays, maps or rows is not supported".into(),
        ));
    }
    Ok(DataType::Utf8)
}

fn element_type_of(t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    match &t[0] {
        DataType::List(f) => Ok(f.data_type().clone()),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) => Ok(kv[1].data_type().clone()),
            _ => Err(exec_err("malformed map")),
        },
        other => Err(DataFusionError::Plan(format!(
            "subscript of {} is not supported on the embedded engine",
            super::trino_name(other)
        ))),
    }
}

/// `a[i]` / `element_at(a, i)` and `m[k]` / `element_at(m, k)`.
fn subscript(c: &Call, strict: bool) -> Result<ArrayRef> {
    let container = c.arg(0);
    match container.data_type() {
        DataType::List(_) => {
            let index = datafusion::arrow::compute::cast(c.arg(1), &DataType::Int64)?;
            rows::scalars(c, |r| {
                let (Some(items), Some(i)) = (list_at(container, r)?, i64_at(&index, r)) else {
                    return Ok(None);
                };
                let n = items.len() as i64;
                if i == 0 {
                    return Err(exec_err("SQL array indices start at 1"));
                }
                if strict && i < 0 {
                    return Err(exec_err(format!("Array subscript is negative: {i}")));
                }
                if strict && i > n {
                    return Err(exec_err(format!(
                        "Array subscript must be less than or equal to array length: {i} > {n}"
                    )));
                }
                let at = if i > 0 { i - 1 } else { n + i };
                Ok(usize::try_from(at)
                    .ok()
                    .and_then(|at| items.get(at).cloned()))
            })
        }
        DataType::Map(..) => {
            let map = container.as_map();
            rows::scalars(c, |r| {
                if map.is_null(r) {
                    return Ok(None);
                }
                let key = ScalarValue::try_from_array(c.arg(1), r)?;
                if key.is_null() {
                    return Ok(None);
                }
                let entries = map.value(r);
                for i in 0..entries.len() {
                    let k = ScalarValue::try_from_array(entries.column(0), i)?;
                    if same_loose(&k, &key) {
                        return Ok(Some(ScalarValue::try_from_array(entries.column(1), i)?));
                    }
                }
                if strict {
                    return Err(exec_err(format!("Key not present in map: {key}")));
                }
                Ok(None)
            })
        }
        other => Err(exec_err(format!("subscript of {other}"))),
    }
}

/// Equality of two non-NULL values of one type.
fn same(a: &ScalarValue, b: &ScalarValue) -> bool {
    !a.is_null() && !b.is_null() && same_loose(a, b)
}

fn same_loose(a: &ScalarValue, b: &ScalarValue) -> bool {
    if a.data_type() == b.data_type() {
        return a == b;
    }
    match b.cast_to(&a.data_type()) {
        Ok(b) => *a == b,
        Err(_) => false,
    }
}

fn same_or_both_null(a: &ScalarValue, b: &ScalarValue) -> bool {
    (a.is_null() && b.is_null()) || same(a, b)
}

fn sort_values(items: &mut [ScalarValue]) -> Result<()> {
    let mut failed = false;
    items.sort_by(|a, b| {
        a.partial_cmp(b).unwrap_or_else(|| {
            failed = true;
            std::cmp::Ordering::Equal
        })
    });
    if failed {
        return Err(exec_err("array elements cannot be compared"));
    }
    Ok(())
}

fn extreme(c: &Call, max: bool) -> Result<ArrayRef> {
    rows::scalars(c, |r| {
        let Some(items) = list_at(c.arg(0), r)? else {
            return Ok(None);
        };
        if items.iter().any(ScalarValue::is_null) {
            return Ok(None);
        }
        let mut best: Option<ScalarValue> = None;
        for i in items {
            if let ScalarValue::Float64(Some(f)) = &i
                && f.is_nan()
            {
                return Ok(Some(ScalarValue::Float64(Some(f64::NAN))));
            }
            best = Some(match best {
                None => i,
                Some(b) => {
                    let better = if max { i > b } else { i < b };
                    if better { i } else { b }
                }
            });
        }
        Ok(best)
    })
}

/// Applies `f` to the elements of each row's array (NULL arrays stay NULL).
fn map_list(
    c: &Call,
    f: impl Fn(Vec<ScalarValue>) -> Result<Option<Vec<ScalarValue>>>,
) -> Result<ArrayRef> {
    map_list_row(c, |items, _| f(items))
}

fn map_list_row(
    c: &Call,
    f: impl Fn(Vec<ScalarValue>, usize) -> Result<Option<Vec<ScalarValue>>>,
) -> Result<ArrayRef> {
    let element = element_of(c.ret).cloned().unwrap_or(DataType::Null);
    rows::scalars(c, |r| {
        let Some(items) = list_at(c.arg(0), r)? else {
            return Ok(None);
        };
        Ok(f(items, r)?.map(|out| make_list(&out, &element)))
    })
}

fn two_lists(
    c: &Call,
    f: impl Fn(Vec<ScalarValue>, Vec<ScalarValue>) -> Result<Vec<ScalarValue>>,
) -> Result<ArrayRef> {
    let element = element_of(c.ret).cloned().unwrap_or(DataType::Null);
    rows::scalars(c, |r| {
        let (Some(a), Some(b)) = (list_at(c.arg(0), r)?, list_at(c.arg(1), r)?) else {
            return Ok(None);
        };
        Ok(Some(make_list(&f(a, b)?, &element)))
    })
}

/// `__trino_unnest_arg(array, outer[, expand_rows])`: the array UNNEST expands. Arrays of rows
/// are accepted only where the UNNEST names their fields (`expand_rows`, see `unnest.rs`):
/// Trino gives one column per field, never the row.
fn unnest_arg_type(t: &[DataType], scalars: &[Option<&ScalarValue>]) -> Result<DataType> {
    let expand_rows = matches!(
        scalars.get(2).copied().flatten(),
        Some(ScalarValue::Boolean(Some(true)))
    );
    match (&t[0], expand_rows) {
        (DataType::List(f), false) if row_type::is_row(f.data_type()) => Err(DataFusionError::Plan(
            "UNNEST of an array of rows with one column is not supported on the embedded engine: Trino expands a row into one column per field, name them (AS t(a, b, …))".into(),
        )),
        (DataType::List(_), _) => Ok(t[0].clone()),
        (DataType::Map(..), _) => Err(DataFusionError::Plan(
            "UNNEST of a map is not supported on the embedded engine; UNNEST map_keys(m) and map_values(m)".into(),
        )),
        (other, _) => Err(not_array("UNNEST", other)),
    }
}

fn sequence_type(t: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    let int = |t: &DataType| {
        matches!(
            t,
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
        )
    };
    if int(&t[0]) && int(&t[1]) && t.get(2).is_none_or(int) {
        return Ok(list_of(&DataType::Int64));
    }
    if t[0] == DataType::Date32 && t[1] == DataType::Date32 && t.len() == 2 {
        return Ok(list_of(&DataType::Date32));
    }
    Err(DataFusionError::Plan(format!(
        "sequence() of {} is not supported on the embedded engine (integers, or dates by day, are)",
        t.iter()
            .map(super::trino_name)
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

fn sequence(c: &Call) -> Result<ArrayRef> {
    let dates = c.arg(0).data_type() == &DataType::Date32;
    let to_i64 = |a: &ArrayRef| datafusion::arrow::compute::cast(a, &DataType::Int64);
    let start = to_i64(c.arg(0))?;
    let stop = to_i64(c.arg(1))?;
    let step = if c.args.len() > 2 {
        Some(to_i64(c.arg(2))?)
    } else {
        None
    };
    let element = if dates {
        DataType::Date32
    } else {
        DataType::Int64
    };
    rows::scalars(c, |r| {
        let (Some(a), Some(b)) = (i64_at(&start, r), i64_at(&stop, r)) else {
            return Ok(None);
        };
        let s = match &step {
            Some(s) => match i64_at(s, r) {
                Some(s) => s,
                None => return Ok(None),
            },
            None => {
                if b >= a {
                    1
                } else {
                    -1
                }
            }
        };
        if s == 0 {
            return Err(exec_err("step must not be zero"));
        }
        if (s > 0 && a > b) || (s < 0 && a < b) {
            return Err(exec_err(
                "sequence stop value should be greater than or equal to start value if step is greater than zero otherwise stop should be less than or equal to start",
            ));
        }
        let count = (b - a) / s + 1;
        if count > 10_000 {
            return Err(exec_err(
                "result of sequence function must not have more than 10000 entries",
            ));
        }
        let items: Vec<ScalarValue> = (0..count)
            .map(|k| {
                let v = a + k * s;
                if dates {
                    ScalarValue::Date32(Some(v as i32))
                } else {
                    ScalarValue::Int64(Some(v))
                }
            })
            .collect();
        Ok(Some(make_list(&items, &element)))
    })
}
