//! `data "mdw_query"`: a read-only query read at plan time, for checks and outputs. Its rows
//! live in Terraform's memory, plan and state, so their number and size are bounded.

use std::collections::BTreeMap;

use async_trait::async_trait;
use tfplugin::{
    DataSource, Diagnostic, Diagnostics, Maybe, Model, Schema, Value, from_value, to_value,
};

use crate::client::Client;
use crate::engines::engine_error;

pub(crate) struct Query;

const DEFAULT_MAX_ROWS: i64 = 1000;
/// Terraform keeps every row in memory, in the plan and in state, several times over: past a
/// few thousand rows a data source is the wrong tool (aggregate in SQL instead).
const MAX_ROWS_LIMIT: i64 = 10_000;
/// The rendered result a plan may carry; more is refused rather than slowing every plan.
const MAX_RESULT_BYTES: usize = 16 << 20;

fn validate_max_rows(value: &Value) -> Result<(), String> {
    match value.as_i64() {
        Some(n) if (1..=MAX_ROWS_LIMIT).contains(&n) => Ok(()),
        _ => Err(format!(
            "max_rows must be a whole number from 1 to {MAX_ROWS_LIMIT}: Terraform holds every row in memory; aggregate in the query instead of reading more rows."
        )),
    }
}

fn validate_sql(value: &Value) -> Result<(), String> {
    value
        .as_str()
        .map_or(Ok(()), mdw_engine::checks::check_read_only_query)
}

tfplugin::model! {
    /// The attributes of `data "mdw_query"`.
    pub(crate) struct QueryModel {
        /// One read-only `SELECT` (or `WITH … SELECT`); anything else is refused.
        #[tf(required, validate = validate_sql)]
        pub(crate) sql: String,
        /// Rows returned at most (default 1000, at most 10000); the engine stops reading there and `truncated` says when more were cut.
        #[tf(validate = validate_max_rows)]
        pub(crate) max_rows: Option<i64>,
        /// One map per row, column → value as text; SQL NULL leaves the key out.
        #[tf(computed)]
        pub(crate) rows: Maybe<Vec<BTreeMap<String, String>>>,
        /// True when the query returned more than `max_rows` rows.
        #[tf(computed)]
        pub(crate) truncated: Maybe<bool>,
    }
}

#[async_trait]
impl DataSource<Client> for Query {
    fn type_name(&self) -> &'static str {
        "mdw_query"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "Runs a read-only SQL query on the engine and returns its rows.",
            QueryModel::attributes(),
        )
    }

    async fn read(&self, client: &Client, config: &Value) -> Result<Value, Diagnostics> {
        let config: QueryModel = from_value(config)?;
        let max_rows = config.max_rows.unwrap_or(DEFAULT_MAX_ROWS).max(1) as usize;
        let engine = client.engines.get().await?;
        let result = engine.query(&config.sql, max_rows).await.map_err(|e| {
            Diagnostics::from(engine_error("running mdw_query", &e).at_attribute("sql"))
        })?;
        let bytes: usize = result
            .rows
            .iter()
            .flat_map(|row| row.iter())
            .map(|(k, v)| k.len() + v.as_ref().map_or(0, String::len))
            .sum();
        if bytes > MAX_RESULT_BYTES {
            return Err(Diagnostic::error(
                "mdw_query result too large",
                format!(
                    "The {} rows read hold {} MiB of text, more than the {} MiB a plan may carry. Select fewer or narrower columns, lower max_rows, or aggregate in the query.",
                    result.rows.len(),
                    bytes >> 20,
                    MAX_RESULT_BYTES >> 20
                ),
            )
            .at_attribute(QueryModel::sql)
            .into());
        }
        let rows = result
            .rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .filter_map(|(k, v)| v.map(|v| (k, v)))
                    .collect()
            })
            .collect();
        let state = QueryModel {
            rows: Maybe::Known(rows),
            truncated: Maybe::Known(result.truncated),
            ..config
        };
        Ok(to_value(&state)?)
    }
}
