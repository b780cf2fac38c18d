//! Where timestamps of two precisions meet — a comparison, CASE branches, `coalesce`, an IN
//! list, UNION inputs — Trino computes in the finer precision: `timestamp(6)` compared with
//! `TIMESTAMP '2024-01-01 00:00:00'` (a `timestamp(0)`) keeps its microseconds. DataFusion's
//! coercion goes to the *coarser* unit, truncating the finer side (`ts > TIMESTAMP '… 00:00:00'`
//! was false for `… 00:00:00.5`; `coalesce(updated_at, TIMESTAMP '1970-01-01 00:00:00')` lost
//! the fractions). This analyzer rule runs before DataFusion's type coercion and casts the
//! coarser side up to the finer unit, which is exact, so the coercion has nothing to truncate.
//! VALUES rows, which DataFusion types as it plans them, are typed again.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr::{Case, InList, InSubquery, ScalarFunction};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{
    Between, BinaryExpr, Expr, ExprSchemable, Join, LogicalPlan, LogicalPlanBuilder, Projection,
    Subquery, Union, Values, cast,
};
use datafusion::optimizer::AnalyzerRule;

#[derive(Debug, Default)]
pub(crate) struct FinestTimestampUnit;

/// Functions whose arguments share one type.
const SAME_TYPE_FUNCTIONS: &[&str] = &["coalesce", "nullif", "greatest", "least", "make_array"];

fn rank(unit: &TimeUnit) -> u8 {
    match unit {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 1,
        TimeUnit::Microsecond => 2,
        TimeUnit::Nanosecond => 3,
    }
}

/// The finest unit among `types` when at least two timestamp units differ.
fn finest(types: &[Option<DataType>]) -> Option<TimeUnit> {
    let units: Vec<&TimeUnit> = types
        .iter()
        .filter_map(|t| match t {
            Some(DataType::Timestamp(unit, _)) => Some(unit),
            _ => None,
        })
        .collect();
    let first = units.first()?;
    if units.iter().all(|u| u == first) {
        return None;
    }
    units.into_iter().max_by_key(|u| rank(u)).cloned()
}

/// `expr` in `unit` when it is a timestamp of a coarser one.
fn raise(expr: Expr, data_type: &Option<DataType>, unit: &TimeUnit) -> Expr {
    match data_type {
        Some(DataType::Timestamp(own, zone)) if rank(own) < rank(unit) => {
            cast(expr, DataType::Timestamp(*unit, zone.clone()))
        }
        _ => expr,
    }
}

/// Raises the timestamps of one group of expressions that must share a type.
fn raise_all(exprs: Vec<Expr>, schema: &DFSchema) -> (Vec<Expr>, bool) {
    let types: Vec<Option<DataType>> = exprs.iter().map(|e| e.get_type(schema).ok()).collect();
    match finest(&types) {
        Some(unit) => (
            exprs
                .into_iter()
                .zip(&types)
                .map(|(e, t)| raise(e, t, &unit))
                .collect(),
            true,
        ),
        None => (exprs, false),
    }
}

fn rewrite_expr(expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    Ok(match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let (sides, changed) = raise_all(vec![*left, *right], schema);
            let [left, right]: [Expr; 2] = sides.try_into().expect("two sides");
            let expr = Expr::BinaryExpr(BinaryExpr::new(Box::new(left), op, Box::new(right)));
            if changed {
                Transformed::yes(expr)
            } else {
                Transformed::no(expr)
            }
        }
        Expr::Between(Between {
            expr,
            negated,
            low,
            high,
        }) => {
            let (parts, changed) = raise_all(vec![*expr, *low, *high], schema);
            let [expr, low, high]: [Expr; 3] = parts.try_into().expect("three parts");
            let between = Expr::Between(Between::new(
                Box::new(expr),
                negated,
                Box::new(low),
                Box::new(high),
            ));
            if changed {
                Transformed::yes(between)
            } else {
                Transformed::no(between)
            }
        }
        Expr::InList(InList {
            expr,
            list,
            negated,
        }) => {
            let mut all = vec![*expr];
            all.extend(list);
            let (mut all, changed) = raise_all(all, schema);
            let list = all.split_off(1);
            let in_list = Expr::InList(InList::new(Box::new(all.remove(0)), list, negated));
            if changed {
                Transformed::yes(in_list)
            } else {
                Transformed::no(in_list)
            }
        }
        Expr::Case(Case {
            expr,
            when_then_expr,
            else_expr,
        }) => {
            let (whens, thens): (Vec<Expr>, Vec<Expr>) =
                when_then_expr.into_iter().map(|(w, t)| (*w, *t)).unzip();
            let mut results = thens;
            let has_else = else_expr.is_some();
            results.extend(else_expr.map(|e| *e));
            let (mut results, changed_results) = raise_all(results, schema);
            let else_expr = if has_else { results.pop() } else { None };
            // A simple CASE compares its operand with each WHEN value.
            let (operand, whens, changed_whens) = match expr {
                Some(operand) => {
                    let mut all = vec![*operand];
                    all.extend(whens);
                    let (mut all, changed) = raise_all(all, schema);
                    let whens = all.split_off(1);
                    (Some(Box::new(all.remove(0))), whens, changed)
                }
                None => (None, whens, false),
            };
            let case = Expr::Case(Case::new(
                operand,
                whens
                    .into_iter()
                    .zip(results)
                    .map(|(w, t)| (Box::new(w), Box::new(t)))
                    .collect(),
                else_expr.map(Box::new),
            ));
            if changed_results || changed_whens {
                Transformed::yes(case)
            } else {
                Transformed::no(case)
            }
        }
        // `x IN (SELECT …)`: whichever side is coarser is cast, the subquery's in a projection.
        Expr::InSubquery(InSubquery {
            expr,
            subquery,
            negated,
        }) => {
            let own = expr.get_type(schema).ok();
            let field = subquery
                .subquery
                .schema()
                .fields()
                .first()
                .map(|f| f.data_type().clone());
            match finest(&[own.clone(), field.clone()]) {
                Some(unit) => {
                    let expr = Box::new(raise(*expr, &own, &unit));
                    let inner = subquery.subquery.schema().clone();
                    let column = Expr::Column(inner.columns()[0].clone());
                    let name = inner.field(0).name().clone();
                    let raised = match raise(column.clone(), &field, &unit) {
                        same @ Expr::Column(_) => same,
                        cast => cast.alias(name),
                    };
                    let mut exprs = vec![raised];
                    exprs.extend(inner.columns().into_iter().skip(1).map(Expr::Column));
                    let plan = LogicalPlan::Projection(Projection::try_new(
                        exprs,
                        subquery.subquery.clone(),
                    )?);
                    let subquery = Subquery {
                        subquery: Arc::new(plan),
                        ..subquery
                    };
                    Transformed::yes(Expr::InSubquery(InSubquery::new(expr, subquery, negated)))
                }
                None => Transformed::no(Expr::InSubquery(InSubquery::new(expr, subquery, negated))),
            }
        }
        Expr::ScalarFunction(ScalarFunction { func, args })
            if SAME_TYPE_FUNCTIONS.contains(&func.name()) =>
        {
            let (args, changed) = raise_all(args, schema);
            let call = Expr::ScalarFunction(ScalarFunction::new_udf(func, args));
            if changed {
                Transformed::yes(call)
            } else {
                Transformed::no(call)
            }
        }
        other => Transformed::no(other),
    })
}

/// UNION inputs whose columns are timestamps of different units: each coarser input column
/// cast up in a projection over its input.
fn raise_union(union: Union) -> Result<Transformed<LogicalPlan>> {
    let width = union.schema.fields().len();
    let mut targets: Vec<Option<TimeUnit>> = Vec::with_capacity(width);
    for i in 0..width {
        let types: Vec<Option<DataType>> = union
            .inputs
            .iter()
            .map(|input| {
                input
                    .schema()
                    .fields()
                    .get(i)
                    .map(|f| f.data_type().clone())
            })
            .collect();
        targets.push(finest(&types));
    }
    if targets.iter().all(Option::is_none) {
        return Ok(Transformed::no(LogicalPlan::Union(union)));
    }
    let mut inputs = Vec::with_capacity(union.inputs.len());
    for input in union.inputs {
        let schema = input.schema().clone();
        let exprs: Vec<Expr> = schema
            .columns()
            .into_iter()
            .enumerate()
            .map(|(i, column)| {
                let name = column.name.clone();
                let data_type = Some(schema.field(i).data_type().clone());
                match targets.get(i).cloned().flatten() {
                    Some(unit) => match raise(Expr::Column(column.clone()), &data_type, &unit) {
                        Expr::Column(c) => Expr::Column(c),
                        raised => raised.alias_qualified(column.relation.clone(), name),
                    },
                    None => Expr::Column(column),
                }
            })
            .collect();
        inputs.push(Arc::new(LogicalPlan::Projection(Projection::try_new(
            exprs, input,
        )?)));
    }
    Ok(Transformed::yes(LogicalPlan::Union(
        Union::try_new_with_loose_types(inputs)?,
    )))
}

/// VALUES rows: DataFusion typed them when it planned them, casting each column to the coarser
/// unit; any cast found there is that one (Trino's own casts are planned as functions). The
/// rows are typed again without it.
fn raise_values(values: Values) -> Result<Transformed<LogicalPlan>> {
    let empty = DFSchema::empty();
    let uncast = |e: &Expr| match e {
        Expr::Cast(c) if matches!(c.data_type, DataType::Timestamp(..)) => (*c.expr).clone(),
        other => other.clone(),
    };
    let width = values.schema.fields().len();
    let mut mixed = false;
    for i in 0..width {
        let types: Vec<Option<DataType>> = values
            .values
            .iter()
            .map(|row| row.get(i).and_then(|e| uncast(e).get_type(&empty).ok()))
            .collect();
        mixed |= finest(&types).is_some();
    }
    if !mixed {
        return Ok(Transformed::no(LogicalPlan::Values(values)));
    }
    let rows: Vec<Vec<Expr>> = values
        .values
        .iter()
        .map(|row| row.iter().map(uncast).collect())
        .collect();
    let mut raised: Vec<Vec<Expr>> = vec![Vec::with_capacity(width); rows.len()];
    for i in 0..width {
        let column: Vec<Expr> = rows.iter().map(|row| row[i].clone()).collect();
        let (column, _) = raise_all(column, &empty);
        for (row, value) in raised.iter_mut().zip(column) {
            row.push(value);
        }
    }
    Ok(Transformed::yes(
        LogicalPlanBuilder::values(raised)?.build()?,
    ))
}

/// Equi-join keys (`ON a.t = b.u` is a filter; `USING`, `NATURAL` and planned equalities are
/// key pairs, each side typed by its own input).
fn raise_join(mut join: Join) -> Result<Transformed<LogicalPlan>> {
    let mut changed = false;
    let (left, right) = (join.left.schema().clone(), join.right.schema().clone());
    join.on = join
        .on
        .into_iter()
        .map(|(l, r)| {
            let types = [l.get_type(&left).ok(), r.get_type(&right).ok()];
            match finest(&types) {
                Some(unit) => {
                    changed = true;
                    (raise(l, &types[0], &unit), raise(r, &types[1], &unit))
                }
                None => (l, r),
            }
        })
        .collect();
    let plan = LogicalPlan::Join(join);
    Ok(if changed {
        Transformed::yes(plan)
    } else {
        Transformed::no(plan)
    })
}

impl AnalyzerRule for FinestTimestampUnit {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|plan| {
            let (plan, keys_raised) = match plan {
                LogicalPlan::Union(union) => return raise_union(union),
                LogicalPlan::Values(values) => return raise_values(values),
                // Its keys, then its filter below like any expression.
                LogicalPlan::Join(join) => {
                    let raised = raise_join(join)?;
                    (raised.data, raised.transformed)
                }
                other => (other, false),
            };
            let mut schema = DFSchema::empty();
            for input in plan.inputs() {
                schema.merge(input.schema());
            }
            // Output names stay as written: a parent refers to them.
            let names = NamePreserver::new(&plan);
            let rewritten = plan.map_expressions(|expr| {
                let name = names.save(&expr);
                expr.transform_up(|e| rewrite_expr(e, &schema))
                    .map(|t| t.update_data(|e| name.restore(e)))
            })?;
            // DataFusion's type coercion, next, derives the schemas above again.
            if rewritten.transformed || keys_raised {
                rewritten.map_data(|plan| plan.recompute_schema())
            } else {
                Ok(rewritten)
            }
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "trino_finest_timestamp_unit"
    }
}
