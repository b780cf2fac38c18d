//! Read-only queries (`data.mdw_query`, data and unit tests): rows rendered as Athena renders
//! them, NULL as a missing value.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use mdw_engine::{ColumnInfo, EngineError, QueryResult, checks};

use crate::Inner;
use crate::errors::sql_error;
use crate::session::new_session;
use crate::types::columns_of_arrow;
use crate::write::read_only_sql;

/// Unqualified names in ad-hoc queries resolve here (like Athena's `default` database).
const DEFAULT_DATABASE: &str = "default";

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
        // Logical nulls: a NULL-typed column has no validity buffer but is all NULL.
        let nulls: Vec<_> = batch.columns().iter().map(|a| a.logical_nulls()).collect();
        for row in 0..batch.num_rows() {
            if rows.len() == max_rows {
                truncated = true;
                break 'batches;
            }
            let mut values = BTreeMap::new();
            for ((name, nulls), array) in columns.iter().zip(&nulls).zip(batch.columns()) {
                // Athena's text for every type (`1.5E0` for a double, `2020-05-11 11:15:05.000`
                // for a timestamp), as the Trino layer renders it.
                let value = if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                    None
                } else {
                    mdw_sql_trino::render(array, row).map_err(|e| sql_error(context, e))?
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

/// Refuses anything but one read-only query, naming what the text starts with. (The Trino layer
/// parses it next: DataFusion's own parser would refuse Trino syntax such as lambdas.)
fn ensure_query(sql: &str, context: &str) -> Result<(), EngineError> {
    checks::check_read_only_query(sql)
        .map_err(|e| EngineError::InvalidInput(format!("{context}: {e}")))
}
