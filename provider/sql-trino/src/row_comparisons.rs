//! Comparisons of rows that are not operators (`IN (…)`, `CASE r WHEN …`, `nullif`, sort
//! keys): Trino compares rows field by field and a NULL field makes the comparison NULL (or an
//! error), where Arrow's struct comparison treats NULL fields as equal and orders them. The
//! operators are refused in `planner.rs`; these are found in the planned query and refused.

use datafusion::common::DFSchemaRef;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan};

use crate::functions::contains_row;

/// Refuses a planned query that compares or sorts rows anywhere but in an operator.
pub(crate) fn refuse(plan: &LogicalPlan) -> Result<()> {
    plan.apply_with_subqueries(|node| {
        let schema = input_schema(node);
        if let LogicalPlan::Sort(sort) = node {
            for key in &sort.expr {
                check(&key.expr, &schema, "sorting by a row")?;
            }
        }
        for expr in node.expressions() {
            expr.apply(|e| {
                match e {
                    Expr::InList(list) => check(&list.expr, &schema, "IN with rows")?,
                    Expr::Case(case) => {
                        if let Some(operand) = &case.expr {
                            check(operand, &schema, "CASE over a row")?;
                        }
                    }
                    Expr::ScalarFunction(f) if f.name() == "nullif" => {
                        for arg in &f.args {
                            check(arg, &schema, "nullif of rows")?;
                        }
                    }
                    _ => {}
                }
                Ok(TreeNodeRecursion::Continue)
            })?;
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .map(|_| ())
}

/// The schema a node's expressions are written against.
fn input_schema(node: &LogicalPlan) -> DFSchemaRef {
    match node.inputs().as_slice() {
        [single] => single.schema().clone(),
        _ => node.schema().clone(),
    }
}

fn check(expr: &Expr, schema: &DFSchemaRef, what: &str) -> Result<()> {
    match expr.get_type(schema) {
        Ok(t) if contains_row(&t) => Err(DataFusionError::Plan(format!(
            "{what} is not supported on the embedded engine (Trino compares rows field by field with its NULL rules); compare their fields"
        ))),
        _ => Ok(()),
    }
}
