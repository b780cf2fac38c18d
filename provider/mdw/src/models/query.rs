//! `data "mdw_query"`: a read-only query whose rows Terraform `check` blocks assert on — how
//! mdwc turns dbt's data tests into plan/apply results.

use std::collections::BTreeMap;

use async_trait::async_trait;
use tfplugin::{DataSource, Diagnostics, Maybe, Model, Schema, Value, from_value, to_value};

use crate::client::Client;
use crate::engines::engine_error;

pub(crate) struct Query;

const DEFAULT_MAX_ROWS: i64 = 1000;

fn validate_max_rows(value: &Value) -> Result<(), String> {
    match value.as_i64() {
        Some(n) if n >= 1 => Ok(()),
        _ => Err("max_rows must be a whole number ≥ 1.".to_string()),
    }
}

tfplugin::model! {
    /// The attributes of `data "mdw_query"`.
    pub(crate) struct QueryModel {
        /// One read-only `SELECT` (or `WITH … SELECT`); anything else is refused.
        #[tf(required)]
        pub(crate) sql: String,
        /// Rows returned at most (default 1000); `truncated` says when more were cut.
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
