//! Read-only queries (`data.mdw_query`): rows rendered as strings, NULL as a missing value.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;
use futures::StreamExt;
use mdw_engine::{ColumnInfo, EngineError, QueryResult};

use crate::Inner;
use crate::errors::sql_error;
use crate::session::new_session;
use crate::types::columns_of_arrow;
use crate::write::read_only_sql;

/// Unqualified names in ad-hoc queries resolve here (like Athena's `default` database).
const DEFAULT_DATABASE: &str = "default";

/// Rendering close to what Athena's console shows (`2024-01-31 10:00:00`), fraction only when
/// there is one.
const FORMAT: FormatOptions<'static> = FormatOptions::new()
    .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
    .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f %:z"));

/// The columns of a read-only query, from its plan (no data read).
pub(crate) async fn describe(
    inner: &Arc<Inner>,
    sql: &str,
) -> Result<Vec<ColumnInfo>, EngineError> {
    let context = "describing a query";
    ensure_query(sql, context)?;
    let ctx = new_session(inner, DEFAULT_DATABASE);
    let df = read_only_sql(&ctx, sql, context).await?;
    columns_of_arrow(df.schema().as_arrow(), &BTreeMap::new())
}

pub(crate) async fn run(
    inner: &Arc<Inner>,
    sql: &str,
    max_rows: usize,
) -> Result<QueryResult, EngineError> {
    let context = "running query";
    ensure_query(sql, context)?;
    let ctx = new_session(inner, DEFAULT_DATABASE);
    let df = read_only_sql(&ctx, sql, context).await?;
    let columns: Vec<String> = df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    // One row more than asked tells whether the result was cut.
    let df = df
        .limit(0, Some(max_rows.saturating_add(1)))
        .map_err(|e| sql_error(context, e))?;
    let mut stream = df
        .execute_stream()
        .await
        .map_err(|e| sql_error(context, e))?;
    let mut rows = Vec::new();
    let mut truncated = false;
    'batches: while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| sql_error(context, e))?;
        let formatters = batch
            .columns()
            .iter()
            .map(|array| ArrayFormatter::try_new(array.as_ref(), &FORMAT))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql_error(context, e.into()))?;
        // Logical nulls: a NULL-typed column has no validity buffer but is all NULL.
        let nulls: Vec<_> = batch.columns().iter().map(|a| a.logical_nulls()).collect();
        for row in 0..batch.num_rows() {
            if rows.len() == max_rows {
                truncated = true;
                break 'batches;
            }
            let mut values = BTreeMap::new();
            for ((name, nulls), formatter) in columns.iter().zip(&nulls).zip(&formatters) {
                let value = if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                    None
                } else {
                    Some(formatter.value(row).to_string())
                };
                values.insert(name.clone(), value);
            }
            rows.push(values);
        }
    }
    Ok(QueryResult {
        columns,
        rows,
        truncated,
    })
}

/// Refuses anything but one query, with a message that says so (DataFusion's own refusal names
/// its internal plan node, which reads oddly in a Terraform diagnostic).
fn ensure_query(sql: &str, context: &str) -> Result<(), EngineError> {
    let statements = DFParser::parse_sql(sql).map_err(|e| sql_error(context, e))?;
    let mut statements = statements.iter();
    match (statements.next(), statements.next()) {
        (Some(Statement::Statement(statement)), None)
            if matches!(statement.as_ref(), SqlStatement::Query(_)) =>
        {
            Ok(())
        }
        (None, _) => Err(EngineError::InvalidInput(format!(
            "{context}: the SQL is empty"
        ))),
        (Some(_), Some(_)) => Err(EngineError::InvalidInput(format!(
            "{context}: only one statement is allowed"
        ))),
        (Some(other), None) => Err(EngineError::InvalidInput(format!(
            "{context}: only read-only queries (SELECT, WITH, VALUES) are allowed, got: {}",
            first_words(&other.to_string())
        ))),
    }
}

fn first_words(statement: &str) -> String {
    statement
        .split_whitespace()
        .take(4)
        .collect::<Vec<_>>()
        .join(" ")
}
