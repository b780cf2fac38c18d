//! Athena (Trino) SQL on DataFusion.
//!
//! Model SQL is written for Athena engine v3, i.e. Trino. This crate makes a DataFusion
//! session answer it as Athena would, or refuse it:
//!
//! - [`configure`] registers Trino's functions (replacing DataFusion built-ins of the same name
//!   whose results differ) and the session options Trino's literals need;
//! - [`plan`] parses with a Trino dialect, refuses every function and construct the layer does
//!   not give Trino's answer for, rewrites Trino syntax into the layer's functions and plans;
//! - [`check`] is the same refusal without a session or catalog, for `terraform plan`;
//! - [`render`] writes a value as Athena shows it.
//!
//! What is supported is listed in `docs/sql-functions.md`, generated from the conformance suite
//! in `tests/cases`.

mod ast;
mod check;
mod datetime_util;
mod dialect;
mod error;
mod functions;
mod planner;
mod render;
mod result_types;
mod rewrite;
mod row_comparisons;
mod timestamp_units;
mod types;
mod unnest;

use std::sync::{Arc, OnceLock};

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::{AggregateUDF, LogicalPlan, ScalarUDF};
use datafusion::prelude::SessionConfig;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion::sql::sqlparser::parser::Parser;

pub use error::TrinoSqlError;
pub use render::render;

/// Session options Trino's SQL needs: `1.5` is a decimal literal, and NULLs sort last in both
/// directions (DataFusion's default puts them first in descending order).
pub fn session_config(mut config: SessionConfig) -> SessionConfig {
    let parser = &mut config.options_mut().sql_parser;
    parser.parse_float_as_decimal = true;
    parser.default_null_ordering = "nulls_last".to_string();
    config
}

/// Adds Trino's functions and planners to a session being built (after its defaults, so that
/// Trino's functions replace DataFusion's of the same name).
pub fn configure(mut builder: SessionStateBuilder) -> SessionStateBuilder {
    // Built once: every query of the engine creates a session.
    static SCALARS: OnceLock<Vec<Arc<ScalarUDF>>> = OnceLock::new();
    static AGGREGATES: OnceLock<Vec<Arc<AggregateUDF>>> = OnceLock::new();
    let scalars = SCALARS.get_or_init(|| {
        functions::scalar_functions()
            .into_iter()
            .map(Arc::new)
            .collect()
    });
    let aggregates = AGGREGATES.get_or_init(|| {
        functions::aggregate_functions()
            .into_iter()
            .map(Arc::new)
            .collect()
    });
    builder
        .scalar_functions()
        .get_or_insert_with(Vec::new)
        .extend(scalars.iter().cloned());
    builder
        .aggregate_functions()
        .get_or_insert_with(Vec::new)
        .extend(aggregates.iter().cloned());
    // Before DataFusion's type coercion, which would truncate the finer of two timestamps.
    builder
        .analyzer()
        .get_or_insert_with(datafusion::optimizer::Analyzer::new)
        .rules
        .insert(0, Arc::new(timestamp_units::FinestTimestampUnit));
    let planners = builder.expr_planners().get_or_insert_with(Vec::new);
    // First, so that it sees operators before DataFusion's own planners.
    planners.insert(0, Arc::new(planner::TrinoExprPlanner));
    builder
}

/// Refuses what the embedded engine cannot run as Athena would, without a catalog: every error
/// names the construct and its line and column.
pub fn check(sql: &str) -> std::result::Result<(), Vec<TrinoSqlError>> {
    let statements = parse(sql).map_err(|e| vec![e])?;
    let mut errors = Vec::new();
    for mut statement in statements {
        errors.extend(check::check_statement(&statement));
        if errors.is_empty()
            && let Err(e) = rewrite::rewrite(&mut statement)
        {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Plans one Trino statement in the session: checked, rewritten, then planned by DataFusion.
pub async fn plan(state: &SessionState, sql: &str) -> Result<LogicalPlan> {
    let mut statements = parse(sql).map_err(|e| DataFusionError::Plan(e.to_string()))?;
    if statements.len() != 1 {
        return Err(DataFusionError::Plan(format!(
            "expected exactly one SQL statement, found {}",
            statements.len()
        )));
    }
    let mut statement = statements.remove(0);
    let errors = check::check_statement(&statement);
    if !errors.is_empty() {
        return Err(DataFusionError::Plan(join(&errors)));
    }
    rewrite::rewrite(&mut statement).map_err(|e| DataFusionError::Plan(e.to_string()))?;
    let lambda_state = functions::lambda::plan_lambdas(&mut statement, state)?;
    let state = lambda_state.as_ref().unwrap_or(state);
    let plan = state
        .statement_to_plan(DFStatement::Statement(Box::new(statement)))
        .await?;
    let cast = state
        .scalar_functions()
        .get(dialect::CAST)
        .cloned()
        .ok_or_else(|| {
            DataFusionError::Plan(
                "the session lacks the Trino layer: call mdw_sql_trino::configure".into(),
            )
        })?;
    row_comparisons::refuse(&plan)?;
    let plan = result_types::fix_aggregate_types(plan, &cast)?;
    name_unnamed_outputs(plan)
}

/// Names the output columns the rewrite left unnamed (after a `*`) `_col<position>`, as Trino.
fn name_unnamed_outputs(plan: LogicalPlan) -> Result<LogicalPlan> {
    if matches!(plan, LogicalPlan::Dml(_) | LogicalPlan::Ddl(_))
        || !plan
            .schema()
            .fields()
            .iter()
            .any(|f| f.name().starts_with(rewrite::UNNAMED))
    {
        return Ok(plan);
    }
    let exprs: Vec<datafusion::logical_expr::Expr> =
        plan.schema()
            .iter()
            .enumerate()
            .map(|(position, (qualifier, field))| {
                let column = datafusion::logical_expr::Expr::Column(
                    datafusion::common::Column::new(qualifier.cloned(), field.name()),
                );
                if field.name().starts_with(rewrite::UNNAMED) {
                    column.alias(format!("_col{position}"))
                } else {
                    column
                }
            })
            .collect();
    datafusion::logical_expr::LogicalPlanBuilder::from(plan)
        .project(exprs)?
        .build()
}

/// Names of the functions the layer accepts (Trino's names), sorted.
pub fn supported_functions() -> impl Iterator<Item = &'static str> {
    check::supported_functions().iter().map(String::as_str)
}

fn parse(sql: &str) -> std::result::Result<Vec<Statement>, TrinoSqlError> {
    let dialect = dialect::TrinoDialect::default();
    let tokens = dialect::tokens(sql).map_err(|e| TrinoSqlError::syntax(&e.to_string()))?;
    Parser::new(&dialect)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|e| TrinoSqlError::syntax(&e.to_string()))
}

fn join(errors: &[TrinoSqlError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
