//! Operators whose result Trino computes differently, refused where the layer does not
//! compute Trino's: decimal division and remainder (the result scale depends on the Trino
//! version Athena runs), `||` of non-strings (Trino has no implicit cast to varchar),
//! decimal products typed as Trino types them, and subtracting dates or timestamps (Trino's result is an interval
//! day to second, which has no Arrow equivalent here), and comparing rows.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{Column, DFSchema, TableReference};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::logical_expr::{BinaryExpr, Cast, Expr, ExprSchemable, Operator, lit};
use datafusion::sql::sqlparser::ast::BinaryOperator;

#[derive(Debug)]
pub(crate) struct TrinoExprPlanner;

/// A decimal's precision and scale; integers as Trino coerces them to decimals.
fn as_decimal(t: &DataType) -> Option<(u8, i8)> {
    match t {
        DataType::Decimal128(p, s) => Some((*p, *s)),
        DataType::Int8 => Some((3, 0)),
        DataType::Int16 => Some((5, 0)),
        DataType::Int32 => Some((10, 0)),
        DataType::Int64 => Some((19, 0)),
        _ => None,
    }
}

/// Strings with strings, or anything with an array.
fn concatenable(left: &DataType, right: &DataType) -> bool {
    (stringish(left) && stringish(right))
        || matches!(left, DataType::List(_))
        || matches!(right, DataType::List(_))
}

fn stringish(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null
    )
}

impl ExprPlanner for TrinoExprPlanner {
    /// `t.col.field`: the field of a row, by name; anything but a row is refused
    /// (`__trino_field`), where DataFusion would read a map's key.
    fn plan_compound_identifier(
        &self,
        field: &Field,
        qualifier: Option<&TableReference>,
        nested_names: &[String],
    ) -> Result<PlannerResult<Vec<Expr>>> {
        let udf = Arc::new(crate::functions::field_udf());
        let mut expr = Expr::Column(Column::from((qualifier, field)));
        for name in nested_names {
            expr = Expr::ScalarFunction(ScalarFunction::new_udf(
                udf.clone(),
                vec![expr, lit(name.clone())],
            ));
        }
        Ok(PlannerResult::Planned(expr))
    }

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
            // Trino compares rows field by field, failing or giving NULL on NULL fields where
            // Arrow's struct comparison orders them.
            BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq
                if crate::functions::contains_row(&left) || crate::functions::contains_row(&right) =>
            {
                Err(DataFusionError::Plan(
                    "comparing rows is not supported on the embedded engine; compare their fields".into(),
                ))
            }
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
            // Trino concatenates strings (and arrays, which DataFusion's planners handle); it
            // has no implicit cast of other values to varchar, DataFusion has.
            BinaryOperator::StringConcat
                if !concatenable(&left, &right) =>
            {
                Err(DataFusionError::Plan(format!(
                    "'||' of {} and {} is not supported (Trino concatenates varchar values): cast to varchar",
                    crate::functions::trino_name(&left),
                    crate::functions::trino_name(&right)
                )))
            }
            // decimal(p1, s1) * decimal(p2, s2) is decimal(p1 + p2, s1 + s2) in Trino; DataFusion
            // adds one digit of precision. Same value, Trino's type.
            BinaryOperator::Multiply => match (as_decimal(&left), as_decimal(&right)) {
                (Some((p1, s1)), Some((p2, s2)))
                    if (decimal(&left) || decimal(&right)) && u16::from(p1) + u16::from(p2) < 38 =>
                {
                    let target = DataType::Decimal128(p1 + p2, s1 + s2);
                    let product = Expr::BinaryExpr(BinaryExpr::new(
                        Box::new(expr.left),
                        Operator::Multiply,
                        Box::new(expr.right),
                    ));
                    Ok(PlannerResult::Planned(Expr::Cast(Cast::new(
                        Box::new(product),
                        target,
                    ))))
                }
                _ => Ok(PlannerResult::Original(expr)),
            },
            _ => Ok(PlannerResult::Original(expr)),
        }
    }
}
