//! Aggregate functions Trino has and DataFusion has not, or not with Trino's results
//! (Trino docs: functions/aggregate.md): `count_if`, `arbitrary`/`any_value`,
//! `max_by`/`min_by`, `approx_distinct`, `histogram`, `map_agg`, `every`.
//!
//! Each keeps the argument values of its group and computes the result at the end: simple, and
//! exact. `approx_distinct` returns the exact count where Athena's estimate (2.3 % standard
//! error) equals it, on small sets, and is refused beyond.

use std::any::Any;
use std::fmt::Debug;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};

use super::array::list_of;
use super::map::{map_scalar, map_type};

/// Up to this many distinct values, Athena's `approx_distinct` (airlift's HyperLogLog, 2048
/// buckets) is still in its sparse form, whose linear count over 2^26 hash prefixes rounds to the
/// exact count unless two values share a prefix (odds below 1e-4 here). Beyond it the estimate
/// drifts from the exact count, which this engine would return instead: refused.
const APPROX_DISTINCT_EXACT_UP_TO: usize = 100;

type ReturnFn = fn(&[DataType]) -> Result<DataType>;
type FinishFn = fn(&[Vec<ScalarValue>], &DataType) -> Result<ScalarValue>;

pub(super) fn functions() -> Vec<AggregateUDF> {
    vec![
        agg(
            "count_if",
            1,
            |t| {
                if !matches!(t[0], DataType::Boolean | DataType::Null) {
                    return Err(DataFusionError::Plan("count_if() takes a boolean".into()));
                }
                Ok(DataType::Int64)
            },
            |cols, _| {
                Ok(ScalarValue::Int64(Some(
                    cols[0]
                        .iter()
                        .filter(|v| matches!(v, ScalarValue::Boolean(Some(true))))
                        .count() as i64,
                )))
            },
        ),
        agg("arbitrary", 1, |t| Ok(t[0].clone()), first_non_null),
        agg("any_value", 1, |t| Ok(t[0].clone()), first_non_null),
        agg(
            "max_by",
            2,
            |t| Ok(t[0].clone()),
            |cols, ret| by(cols, ret, true),
        ),
        agg(
            "min_by",
            2,
            |t| Ok(t[0].clone()),
            |cols, ret| by(cols, ret, false),
        ),
        agg(
            "approx_distinct",
            1,
            |_| Ok(DataType::Int64),
            |cols, _| {
                let mut seen: Vec<&ScalarValue> = Vec::new();
                for v in cols[0].iter().filter(|v| !v.is_null()) {
                    if !seen.contains(&v) {
                        seen.push(v);
                    }
                }
                if seen.len() > APPROX_DISTINCT_EXACT_UP_TO {
                    return Err(super::exec_err(format!(
                        "approx_distinct() over {} distinct values is not supported on the embedded engine: Athena's HyperLogLog estimate equals the exact count only for small sets (up to {APPROX_DISTINCT_EXACT_UP_TO} here); use count(distinct x), or build the model on Athena",
                        seen.len()
                    )));
                }
                Ok(ScalarValue::Int64(Some(seen.len() as i64)))
            },
        ),
        agg(
            "every",
            1,
            |_| Ok(DataType::Boolean),
            |cols, _| {
                let values: Vec<&ScalarValue> = cols[0].iter().filter(|v| !v.is_null()).collect();
                if values.is_empty() {
                    return Ok(ScalarValue::Boolean(None));
                }
                Ok(ScalarValue::Boolean(Some(
                    values
                        .iter()
                        .all(|v| matches!(v, ScalarValue::Boolean(Some(true)))),
                )))
            },
        ),
        agg(
            "histogram",
            1,
            |t| Ok(map_type(&t[0], &DataType::Int64)),
            |cols, ret| {
                let mut keys: Vec<ScalarValue> = Vec::new();
                let mut counts: Vec<i64> = Vec::new();
                for v in cols[0].iter().filter(|v| !v.is_null()) {
                    match keys.iter().position(|k| k == v) {
                        Some(i) => counts[i] += 1,
                        None => {
                            keys.push(v.clone());
                            counts.push(1);
                        }
                    }
                }
                if keys.is_empty() {
                    return ScalarValue::try_from(ret);
                }
                let key_type = keys[0].data_type();
                let values: Vec<ScalarValue> = counts
                    .into_iter()
                    .map(|c| ScalarValue::Int64(Some(c)))
                    .collect();
                map_scalar(&keys, &values, &key_type, &DataType::Int64)
            },
        ),
        agg(
            "map_agg",
            2,
            |t| Ok(map_type(&t[0], &t[1])),
            |cols, ret| {
                let mut keys: Vec<ScalarValue> = Vec::new();
                let mut values: Vec<ScalarValue> = Vec::new();
                for (k, v) in cols[0].iter().zip(&cols[1]) {
                    if k.is_null() || keys.contains(k) {
                        continue;
                    }
                    keys.push(k.clone());
                    values.push(v.clone());
                }
                if keys.is_empty() {
                    return ScalarValue::try_from(ret);
                }
                let DataType::Map(entries, _) = ret else {
                    return Err(DataFusionError::Internal("map_agg returns a map".into()));
                };
                let DataType::Struct(kv) = entries.data_type() else {
                    return Err(DataFusionError::Internal("map entries".into()));
                };
                map_scalar(&keys, &values, kv[0].data_type(), kv[1].data_type())
            },
        ),
    ]
}

fn first_non_null(cols: &[Vec<ScalarValue>], ret: &DataType) -> Result<ScalarValue> {
    match cols[0].iter().find(|v| !v.is_null()) {
        Some(v) => Ok(v.clone()),
        None => ScalarValue::try_from(ret),
    }
}

/// `max_by(x, y)` / `min_by(x, y)`: the `x` of the row with the largest / smallest `y`.
fn by(cols: &[Vec<ScalarValue>], ret: &DataType, max: bool) -> Result<ScalarValue> {
    let mut best: Option<(&ScalarValue, &ScalarValue)> = None;
    for (x, y) in cols[0].iter().zip(&cols[1]) {
        if y.is_null() {
            continue;
        }
        let better = match best {
            None => true,
            Some((_, b)) => {
                if max {
                    y > b
                } else {
                    y < b
                }
            }
        };
        if better {
            best = Some((x, y));
        }
    }
    match best {
        Some((x, _)) => Ok(x.clone()),
        None => ScalarValue::try_from(ret),
    }
}

fn agg(name: &'static str, arity: usize, ret: ReturnFn, finish: FinishFn) -> AggregateUDF {
    AggregateUDF::new_from_impl(CollectAgg {
        name,
        arity,
        signature: Signature::any(arity, Volatility::Immutable),
        ret,
        finish,
    })
}

/// An aggregate that collects its arguments' values per group and computes at the end.
#[derive(Debug)]
struct CollectAgg {
    name: &'static str,
    arity: usize,
    signature: Signature,
    ret: ReturnFn,
    finish: FinishFn,
}

impl PartialEq for CollectAgg {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for CollectAgg {}
impl Hash for CollectAgg {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl AggregateUDFImpl for CollectAgg {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        (self.ret)(arg_types)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let types = args
            .expr_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        Ok(Box::new(Collect {
            types,
            values: vec![Vec::new(); self.arity],
            ret: args.return_field.data_type().clone(),
            finish: self.finish,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(args
            .input_fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                Arc::new(Field::new(
                    format!("{}_{i}", args.name),
                    list_of(f.data_type()),
                    true,
                ))
            })
            .collect())
    }
}

#[derive(Debug)]
struct Collect {
    types: Vec<DataType>,
    values: Vec<Vec<ScalarValue>>,
    ret: DataType,
    finish: FinishFn,
}

impl Accumulator for Collect {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for (column, out) in values.iter().zip(self.values.iter_mut()) {
            for row in 0..column.len() {
                out.push(ScalarValue::try_from_array(column, row)?);
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let out = (self.finish)(&self.values, &self.ret)?;
        if out.data_type() == self.ret || out.is_null() {
            if out.is_null() {
                return ScalarValue::try_from(&self.ret);
            }
            return Ok(out);
        }
        out.cast_to(&self.ret)
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self
                .values
                .iter()
                .flatten()
                .map(ScalarValue::size)
                .sum::<usize>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(self
            .values
            .iter()
            .zip(&self.types)
            .map(|(v, t)| ScalarValue::List(ScalarValue::new_list_nullable(v, t)))
            .collect())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for (state, out) in states.iter().zip(self.values.iter_mut()) {
            let lists = state.as_list::<i32>();
            for row in 0..lists.len() {
                if lists.is_null(row) {
                    continue;
                }
                let values = lists.value(row);
                for i in 0..values.len() {
                    out.push(ScalarValue::try_from_array(&values, i)?);
                }
            }
        }
        Ok(())
    }
}
