//! Operators whose result Trino computes differently, refused where the layer does not
//! compute Trino's: decimal division and remainder (the result scale depends on the Trino
//! version Athena runs), and subtracting dates or timestamps (Trino's result is an interval
//! day to second, which has no Arrow equivalent here).

use datafusion::arrow::datatypes::DataType;
use datafusion::common::DFSchema;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::ExprSchemable;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::sql::sqlparser::ast::BinaryOperator;

#[derive(Debug)]
pub(crate) struct TrinoExprPlanner;

impl ExprPlanner for TrinoExprPlanner {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        let (Ok(left), Ok(right)) = (expr.left.get_type(schema), expr.right.get_type(schema))
        else {
            return Ok(PlannerResult::Original(expr));
        };
        let decimal = |t: &DataType| matches!(t, DataType::Decimal128(..));
        let float = |t: &DataType| matches!(t, DataType::Float32 | DataType::Float64);
        let temporal = |t: &DataType| matches!(t, DataType::Date32 | DataType::Timestamp(..));
        match expr.op {
            BinaryOperator::Divide | BinaryOperator::Modulo
                if (decimal(&left) || decimal(&right)) && !float(&left) && !float(&right) =>
            {
                Err(DataFusionError::Plan(format!(
                    "decimal {} is not supported on the embedded engine (its result type differs between Trino versions); cast an operand to double",
                    if expr.op == BinaryOperator::Divide { "division" } else { "remainder" }
                )))
            }
            BinaryOperator::Minus if temporal(&left) && temporal(&right) => Err(DataFusionError::Plan(
                "subtracting dates or timestamps is not supported on the embedded engine; use date_diff(unit, a, b)".into(),
            )),
            _ => Ok(PlannerResult::Original(expr)),
        }
    }
}
