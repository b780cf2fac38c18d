//! Result types of aggregates where DataFusion's differ from Trino's, corrected after
//! planning: `avg(decimal(p, s))` is `decimal(p, s)` (DataFusion: `decimal(p + 4, s + 4)`,
//! which also shows four more digits), `sum(decimal(p, s))` is `decimal(38, s)`, and `avg`/`sum`
//! of `real` are `real`, ranks (`row_number`, `rank`, …) are `bigint`. The aggregate's output is cast (rounding half up, as Trino does) in a
//! projection above it, under the same column name.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, DFSchemaRef};
use datafusion::error::Result;
use datafusion::logical_expr::expr::{AggregateFunction, ScalarFunction, WindowFunction};
use datafusion::logical_expr::{
    Expr, ExprSchemable, LogicalPlan, LogicalPlanBuilder, ScalarUDF, WindowFunctionDefinition, lit,
};

use crate::types::TrinoType;

pub(crate) fn fix_aggregate_types(plan: LogicalPlan, cast: &Arc<ScalarUDF>) -> Result<LogicalPlan> {
    // Once a node is corrected, every node above it has a stale schema: recompute those.
    let mut changed = false;
    plan.transform_up_with_subqueries(|node| {
        let corrections: Vec<Option<DataType>> = match &node {
            LogicalPlan::Aggregate(agg) => {
                let input = agg.input.schema();
                let mut out = vec![None; agg.group_expr.len()];
                out.extend(agg.aggr_expr.iter().map(|e| aggregate_target(e, input)));
                // Grouping sets add an internal id column after the expressions.
                out.resize(agg.schema.fields().len(), None);
                out
            }
            LogicalPlan::Window(window) => {
                let input = window.input.schema();
                let mut out = vec![None; input.fields().len()];
                out.extend(
                    window
                        .window_expr
                        .iter()
                        .map(|e| aggregate_target(e, input)),
                );
                out
            }
            _ => Vec::new(),
        };
        if corrections.iter().all(Option::is_none) {
            if changed {
                return Ok(Transformed::yes(node.recompute_schema()?));
            }
            return Ok(Transformed::no(node));
        }
        changed = true;
        let node = node.recompute_schema()?;
        let schema: DFSchemaRef = node.schema().clone();
        let exprs: Vec<Expr> = schema
            .iter()
            .zip(corrections)
            .map(|((qualifier, field), target)| {
                let column = Expr::Column(Column::new(qualifier.cloned(), field.name()));
                match target {
                    None => column,
                    Some(DataType::Int64) => Expr::Cast(datafusion::logical_expr::Cast::new(
                        Box::new(column),
                        DataType::Int64,
                    ))
                    .alias_qualified(qualifier.cloned(), field.name()),
                    Some(t) => {
                        let text = TrinoType::from_arrow(&t)
                            .map(|t| t.to_string())
                            .unwrap_or_default();
                        Expr::ScalarFunction(ScalarFunction::new_udf(
                            cast.clone(),
                            vec![column, lit(text)],
                        ))
                        .alias_qualified(qualifier.cloned(), field.name())
                    }
                }
            })
            .collect();
        let projected = LogicalPlanBuilder::from(node).project(exprs)?.build()?;
        Ok(Transformed::yes(projected))
    })
    .map(|t| t.data)
}

/// Trino's result type of `avg`/`sum` when it differs from DataFusion's.
fn aggregate_target(expr: &Expr, input: &DFSchemaRef) -> Option<DataType> {
    let expr = match expr {
        Expr::Alias(alias) => alias.expr.as_ref(),
        other => other,
    };
    let (name, args) = match expr {
        Expr::AggregateFunction(AggregateFunction { func, params }) => {
            (func.name().to_string(), &params.args)
        }
        Expr::WindowFunction(w) => match w.as_ref() {
            WindowFunction {
                fun: WindowFunctionDefinition::AggregateUDF(func),
                params,
            } => (func.name().to_string(), &params.args),
            // Ranks are bigint in Trino, unsigned in DataFusion.
            WindowFunction {
                fun: WindowFunctionDefinition::WindowUDF(func),
                ..
            } if matches!(func.name(), "row_number" | "rank" | "dense_rank" | "ntile") => {
                return Some(DataType::Int64);
            }
            _ => return None,
        },
        _ => return None,
    };
    let arg_type = args.first()?.get_type(input.as_ref()).ok()?;
    match (name.as_str(), arg_type) {
        ("avg", DataType::Decimal128(p, s)) => Some(DataType::Decimal128(p, s)),
        ("sum", DataType::Decimal128(_, s)) => Some(DataType::Decimal128(38, s)),
        ("avg" | "sum", DataType::Float32) => Some(DataType::Float32),
        _ => None,
    }
}
