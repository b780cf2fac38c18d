//! `approx_percentile(x, p)`, `approx_percentile(x, w, p)` and the forms with an array of
//! percentiles, with Trino's values.
//!
//! Trino (functions/aggregate.md) estimates percentiles with airlift's t-digest (compression
//! 100). A t-digest keeps every value as its own centroid until it compresses, and it only
//! compresses (merges neighbouring centroids) when two of them weigh at most
//! `W · q(1 − q) / normalizer(W)`, with `normalizer(W) = 100 / (4 ln(W / 100) + 24)` for a total
//! weight `W`. While the two lightest values together weigh more than `W / (4 · normalizer(W))`
//! no merge can happen in any partial digest either (the bound grows with `W`), so the digest
//! is exactly the sorted input, whatever the order and split of the rows: then the answer is
//! the t-digest's `valueAt` over the sorted values, computed here the same way (for unit
//! weights, the element at index `min(floor(p · n), n − 1)`). Beyond that bound (about 40
//! unit-weight values) Trino's answer depends on how its workers saw the rows, so the query
//! fails rather than answer differently.

use std::any::Any;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};

use super::array::list_of;
use super::exec_err;

const NAME: &str = "approx_percentile";
/// airlift's `TDigest.DEFAULT_COMPRESSION`, which Trino's `approx_percentile` uses.
const COMPRESSION: f64 = 100.0;

pub(super) fn function() -> AggregateUDF {
    AggregateUDF::new_from_impl(ApproxPercentile {
        signature: Signature::user_defined(Volatility::Immutable),
    })
}

#[derive(Debug)]
struct ApproxPercentile {
    signature: Signature,
}

impl PartialEq for ApproxPercentile {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for ApproxPercentile {}
impl Hash for ApproxPercentile {
    fn hash<H: Hasher>(&self, state: &mut H) {
        NAME.hash(state);
    }
}

fn plan_err(message: impl Into<String>) -> DataFusionError {
    DataFusionError::Plan(message.into())
}

/// The value type Trino resolves `x` to: integers are `bigint`, `real` and `double` stay.
fn value_type(t: &DataType) -> Result<DataType> {
    match t {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::Null => {
            Ok(DataType::Int64)
        }
        DataType::Float32 => Ok(DataType::Float32),
        DataType::Float64 => Ok(DataType::Float64),
        other => Err(plan_err(format!(
            "approx_percentile() of {} is not supported on the embedded engine (bigint, real and double are)",
            super::trino_name(other)
        ))),
    }
}

fn is_number(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal128(..)
            | DataType::Null
    )
}

/// `double`, or `array(double)` for the array form.
fn percentile_type(t: &DataType) -> Result<DataType> {
    match t {
        DataType::List(f) | DataType::LargeList(f) if is_number(f.data_type()) => {
            Ok(list_of(&DataType::Float64))
        }
        t if is_number(t) => Ok(DataType::Float64),
        other => Err(plan_err(format!(
            "approx_percentile() takes a percentile of type double or array(double), not {}",
            super::trino_name(other)
        ))),
    }
}

impl AggregateUDFImpl for ApproxPercentile {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        match types {
            [x, p] => Ok(vec![value_type(x)?, percentile_type(p)?]),
            [x, w, p] => {
                if !is_number(w) {
                    return Err(plan_err(format!(
                        "approx_percentile() takes a numeric weight, not {}",
                        super::trino_name(w)
                    )));
                }
                Ok(vec![value_type(x)?, DataType::Float64, percentile_type(p)?])
            }
            _ => Err(plan_err(
                "approx_percentile() takes (x, percentile) or (x, weight, percentile); the accuracy argument is not supported on the embedded engine",
            )),
        }
    }

    fn return_type(&self, types: &[DataType]) -> Result<DataType> {
        let value = value_type(&types[0])?;
        Ok(match types.last() {
            Some(DataType::List(_) | DataType::LargeList(_)) => list_of(&value),
            _ => value,
        })
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(Digest {
            weighted: args.exprs.len() == 3,
            ret: args.return_field.data_type().clone(),
            values: Vec::new(),
            weights: Vec::new(),
            percentiles: None,
            conflict: false,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let field = |suffix: &str, t: DataType| {
            Arc::new(Field::new(format!("{}_{suffix}", args.name), t, true))
        };
        Ok(vec![
            field("values", list_of(&DataType::Float64)),
            field("weights", list_of(&DataType::Float64)),
            field("percentiles", list_of(&DataType::Float64)),
            field("conflict", DataType::Boolean),
        ])
    }
}

/// The rows of one group: every value and weight (the digest while it is exact), and the
/// percentiles asked for.
#[derive(Debug)]
struct Digest {
    weighted: bool,
    ret: DataType,
    values: Vec<f64>,
    weights: Vec<f64>,
    percentiles: Option<Vec<f64>>,
    /// Rows asked for different percentiles: Trino uses the last row's (scalar form) or the
    /// first row's (array form), which depends on the order it sees rows in.
    conflict: bool,
}

impl Digest {
    fn note_percentiles(&mut self, asked: Vec<f64>) {
        match &self.percentiles {
            None => self.percentiles = Some(asked),
            Some(known) if *known != asked => self.conflict = true,
            Some(_) => {}
        }
    }
}

fn doubles(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(cast(array, &DataType::Float64)?)
}

impl Accumulator for Digest {
    fn update_batch(&mut self, columns: &[ArrayRef]) -> Result<()> {
        let x = &columns[0];
        let as_double = doubles(x)?;
        let values = as_double.as_primitive::<Float64Type>();
        let weights = if self.weighted {
            Some(doubles(&columns[1])?)
        } else {
            None
        };
        let p = columns.last().expect("approx_percentile has arguments");
        for row in 0..x.len() {
            // Trino skips a row when any argument is NULL.
            if x.is_null(row) || p.is_null(row) || weights.as_ref().is_some_and(|w| w.is_null(row))
            {
                continue;
            }
            let value = values.value(row);
            if !value.is_finite() {
                return Err(exec_err(format!(
                    "approx_percentile(): value must be finite; was {value}"
                )));
            }
            if let DataType::Int64 = x.data_type() {
                let exact = x.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
                if value as i64 != exact.value(row) || value >= 9.223372036854776e18 {
                    return Err(exec_err(format!(
                        "no exact double representation for long: {}",
                        exact.value(row)
                    )));
                }
            }
            let weight = match &weights {
                Some(w) => {
                    let w = w.as_primitive::<Float64Type>().value(row);
                    if !w.is_finite() || w < 1.0 {
                        return Err(exec_err(format!("weight must be >= 1, was {w}")));
                    }
                    w
                }
                None => 1.0,
            };
            let asked = match p.data_type() {
                DataType::List(_) => {
                    let list = p.as_list::<i32>().value(row);
                    let list = doubles(&list)?;
                    if list.null_count() > 0 {
                        return Err(exec_err("Percentile cannot be null"));
                    }
                    list.as_primitive::<Float64Type>().values().to_vec()
                }
                _ => vec![p.as_primitive::<Float64Type>().value(row)],
            };
            self.note_percentiles(asked);
            self.values.push(value);
            self.weights.push(weight);
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let array_form = matches!(self.ret, DataType::List(_));
        let Some(percentiles) = self.percentiles.clone() else {
            return ScalarValue::try_from(&self.ret);
        };
        if self.values.is_empty() {
            return ScalarValue::try_from(&self.ret);
        }
        if percentiles.iter().any(|p| !(0.0..=1.0).contains(p)) {
            return Err(exec_err("Percentile must be between 0 and 1"));
        }
        if self.conflict {
            return Err(exec_err(
                "approx_percentile() with percentiles that differ between rows is not supported on the embedded engine (Athena's answer depends on row order)",
            ));
        }
        let centroids = exact_centroids(&self.values, &self.weights)?;
        let results = values_at(&centroids, &percentiles);
        let element = match &self.ret {
            DataType::List(f) => f.data_type().clone(),
            other => other.clone(),
        };
        let scalars: Vec<ScalarValue> = results
            .iter()
            .map(|v| match element {
                DataType::Int64 => ScalarValue::Int64(Some(java_round(*v))),
                DataType::Float32 => ScalarValue::Float32(Some(*v as f32)),
                _ => ScalarValue::Float64(Some(*v)),
            })
            .collect();
        if array_form {
            Ok(ScalarValue::List(ScalarValue::new_list_nullable(
                &scalars, &element,
            )))
        } else {
            Ok(scalars.into_iter().next().expect("one percentile"))
        }
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + (self.values.len() + self.weights.len()) * 8
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let list = |v: &[f64]| {
            let scalars: Vec<ScalarValue> =
                v.iter().map(|x| ScalarValue::Float64(Some(*x))).collect();
            ScalarValue::List(ScalarValue::new_list_nullable(&scalars, &DataType::Float64))
        };
        let percentiles = match &self.percentiles {
            Some(p) => list(p),
            None => ScalarValue::try_from(&list_of(&DataType::Float64))?,
        };
        Ok(vec![
            list(&self.values),
            list(&self.weights),
            percentiles,
            ScalarValue::Boolean(Some(self.conflict)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let values = states[0].as_list::<i32>();
        let weights = states[1].as_list::<i32>();
        let percentiles = states[2].as_list::<i32>();
        let conflict = states[3].as_boolean();
        for row in 0..values.len() {
            if conflict.is_valid(row) && conflict.value(row) {
                self.conflict = true;
            }
            if values.is_valid(row) {
                let v = values.value(row);
                self.values
                    .extend_from_slice(v.as_primitive::<Float64Type>().values());
                let w = weights.value(row);
                self.weights
                    .extend_from_slice(w.as_primitive::<Float64Type>().values());
            }
            if percentiles.is_valid(row) {
                let p = percentiles.value(row);
                self.note_percentiles(p.as_primitive::<Float64Type>().values().to_vec());
            }
        }
        Ok(())
    }
}

/// Java's `Math.round`: half up.
fn java_round(v: f64) -> i64 {
    let floor = v.floor();
    if v - floor >= 0.5 {
        floor as i64 + 1
    } else {
        floor as i64
    }
}

/// The digest's centroids (mean, weight), ascending, when no t-digest would have merged any of
/// them; an error otherwise.
fn exact_centroids(values: &[f64], weights: &[f64]) -> Result<Vec<(f64, f64)>> {
    let mut centroids: Vec<(f64, f64)> = values
        .iter()
        .copied()
        .zip(weights.iter().copied())
        .collect();
    centroids.sort_by(|a, b| a.0.total_cmp(&b.0));
    if centroids.len() < 2 {
        return Ok(centroids);
    }
    let total: f64 = weights.iter().sum();
    let mut lightest = weights.to_vec();
    lightest.sort_by(f64::total_cmp);
    let lightest_pair = lightest[0] + lightest[1];
    // The largest cluster any merge may form, over all quantiles and partial totals.
    let normalizer = COMPRESSION / (4.0 * (total / COMPRESSION).ln() + 24.0);
    let largest_cluster = total * 0.25 / normalizer;
    if lightest_pair <= largest_cluster * (1.0 + 1e-9) {
        return Err(exec_err(format!(
            "approx_percentile() over {} values (total weight {total}) is not supported on the embedded engine: Athena's t-digest estimate is exact only for small inputs (total weight up to 39); use an exact percentile (e.g. element_at(array_sort(array_agg(x)), …))",
            values.len()
        )));
    }
    // Equal values of different weights: the t-digest's order of them depends on the input
    // order, and so may its interpolation.
    if centroids
        .windows(2)
        .any(|pair| pair[0].0 == pair[1].0 && pair[0].1 != pair[1].1)
    {
        return Err(exec_err(
            "approx_percentile() over equal values with different weights is not supported on the embedded engine (Athena's answer depends on row order)",
        ));
    }
    Ok(centroids)
}

fn interpolate(x: f64, x0: f64, y0: f64, x1: f64, y1: f64) -> f64 {
    (x - x0) / (x1 - x0) * (y1 - y0)
}

/// The t-digest's `valuesAt` for unmerged centroids, for percentiles in any order.
fn values_at(centroids: &[(f64, f64)], percentiles: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..percentiles.len()).collect();
    order.sort_by(|a, b| percentiles[*a].total_cmp(&percentiles[*b]));
    let sorted: Vec<f64> = order.iter().map(|i| percentiles[*i]).collect();
    let computed = values_at_sorted(centroids, &sorted);
    let mut out = vec![0.0; percentiles.len()];
    for (k, i) in order.iter().enumerate() {
        out[*i] = computed[k];
    }
    out
}

/// The t-digest's `valuesAt` (quantiles ascending), over centroids sorted by mean.
fn values_at_sorted(centroids: &[(f64, f64)], quantiles: &[f64]) -> Vec<f64> {
    let count = centroids.len();
    let means: Vec<f64> = centroids.iter().map(|c| c.0).collect();
    let weights: Vec<f64> = centroids.iter().map(|c| c.1).collect();
    if count == 1 {
        return vec![means[0]; quantiles.len()];
    }
    let total: f64 = weights.iter().sum();
    let min = means[0];
    let max = means[count - 1];
    let last = count - 1;
    // Positions in the theoretical sequence of all values.
    let mut result: Vec<f64> = quantiles.iter().map(|q| q * total).collect();
    let n = result.len();
    let mut index = 0;
    while index < n && result[index] < 1.0 {
        result[index] = min;
        index += 1;
    }
    while index < n && result[index] < weights[0] / 2.0 {
        result[index] = min + interpolate(result[index], 1.0, min, weights[0] / 2.0, means[0]);
        index += 1;
    }
    while index < n
        && result[index] <= total - 1.0
        && total - result[index] <= weights[last] / 2.0
        && weights[last] / 2.0 > 1.0
    {
        result[index] = max
            + interpolate(
                total - result[index],
                1.0,
                max,
                weights[last] / 2.0,
                means[last],
            );
        index += 1;
    }
    if index < n && result[index] >= total - 1.0 {
        for r in &mut result[index..] {
            *r = max;
        }
        return result;
    }
    let mut weight_so_far = weights[0] / 2.0;
    let mut current = 0;
    while index < n {
        let mut delta = (weights[current] + weights[current + 1]) / 2.0;
        while current < last && weight_so_far + delta <= result[index] {
            weight_so_far += delta;
            current += 1;
            if current < last {
                delta = (weights[current] + weights[current + 1]) / 2.0;
            }
        }
        if current == last {
            while index < n && result[index] <= total - 1.0 && weights[last] / 2.0 > 1.0 {
                result[index] = max
                    + interpolate(
                        total - result[index],
                        1.0,
                        max,
                        weights[last] / 2.0,
                        means[last],
                    );
                index += 1;
            }
            for r in &mut result[index..] {
                *r = max;
            }
            return result;
        }
        if weights[current] == 1.0 && result[index] - weight_so_far < weights[current] / 2.0 {
            result[index] = means[current];
        } else if weights[current + 1] == 1.0
            && result[index] - weight_so_far >= weights[current] / 2.0
        {
            result[index] = means[current + 1];
        } else {
            let mut offset = result[index] - weight_so_far;
            let mut length = delta;
            if weights[current] == 1.0 {
                offset -= weights[current] / 2.0;
                length = weights[current + 1] / 2.0;
            } else if weights[current + 1] == 1.0 {
                length = weights[current] / 2.0;
            }
            result[index] = means[current]
                + interpolate(offset, 0.0, means[current], length, means[current + 1]);
        }
        index += 1;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(values: &[f64]) -> Vec<(f64, f64)> {
        let mut c: Vec<(f64, f64)> = values.iter().map(|v| (*v, 1.0)).collect();
        c.sort_by(|a, b| a.0.total_cmp(&b.0));
        c
    }

    #[test]
    fn unit_weights_pick_the_element_at_floor_p_n() {
        // TestApproximatePercentileAggregation: (1, 2, 3) → 2 at 0.5 and 3 at 0.99.
        assert_eq!(values_at(&unit(&[1.0, 2.0, 3.0]), &[0.5, 0.99]), [2.0, 3.0]);
        assert_eq!(values_at(&unit(&[-1.0, 1.0]), &[0.5]), [1.0]);
        assert_eq!(values_at(&unit(&[-2.0, 3.0, -1.0]), &[0.5]), [-1.0]);
        let many: Vec<f64> = (0..15).map(f64::from).collect();
        for (i, p) in [0.0f64, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0].iter().enumerate() {
            let expected = ((p * 15.0).floor()).min(14.0);
            assert_eq!(values_at(&unit(&many), &[*p]), [expected], "case {i}");
        }
        // Unsorted percentiles keep their positions.
        assert_eq!(
            values_at(&unit(&[1.0, 2.0, 3.0]), &[0.8, 0.2, 0.5]),
            [3.0, 1.0, 2.0]
        );
    }

    #[test]
    fn weighted_values_follow_the_t_digest() {
        // TestApproximatePercentileAggregation: (1, 2, 3) weighted (4, 2, 1) → [2, 3] at
        // [0.5, 0.8].
        let centroids = exact_centroids(&[1.0, 2.0, 3.0], &[4.0, 2.0, 1.0]).unwrap();
        let out = values_at(&centroids, &[0.5, 0.8]);
        assert_eq!(
            out.iter().map(|v| java_round(*v)).collect::<Vec<_>>(),
            [2, 3]
        );
    }

    #[test]
    fn large_inputs_are_refused() {
        let small: Vec<f64> = (0..39).map(f64::from).collect();
        assert!(exact_centroids(&small, &vec![1.0; 39]).is_ok());
        let large: Vec<f64> = (0..40).map(f64::from).collect();
        assert!(exact_centroids(&large, &vec![1.0; 40]).is_err());
    }
}
