//! `data "mdw_query"`: a read-only query whose rows Terraform `check` blocks assert on — how
//! mdwc turns dbt's data tests into plan/apply results.

use async_trait::async_trait;
use tfplugin::{Attribute, DataSource, Diagnostics, Schema, Type, Value};

use crate::client::Client;
use crate::engines::engine_error;

pub(crate) struct Query;

const DEFAULT_MAX_ROWS: i64 = 1000;

fn schema() -> Schema {
    Schema::new(
        "Runs a read-only SQL query on the engine and returns its rows.",
        vec![
            Attribute::string("sql").required(),
            Attribute::number("max_rows")
                .describe(
                    "Rows returned at most (default 1000); `truncated` says when more were cut.",
                )
                .validate(|v| match v.as_i64() {
                    Some(n) if n >= 1 => Ok(()),
                    _ => Err("max_rows must be a whole number ≥ 1.".to_string()),
                }),
            Attribute::typed("rows", Type::list(Type::map(Type::String)))
                .computed()
                .describe("One map per row, column → value as text; SQL NULL leaves the key out."),
            Attribute::bool("truncated").computed(),
        ],
    )
}

#[async_trait]
impl DataSource<Client> for Query {
    fn type_name(&self) -> &'static str {
        "mdw_query"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn read(&self, client: &Client, config: &Value) -> Result<Value, Diagnostics> {
        let sql = config.get("sql").as_str().unwrap_or_default();
        let max_rows = config
            .get("max_rows")
            .as_i64()
            .unwrap_or(DEFAULT_MAX_ROWS)
            .max(1) as usize;
        let engine = client.engines.get().await?;
        let result = engine.query(sql, max_rows).await.map_err(|e| {
            Diagnostics::from(engine_error("running mdw_query", &e).at_attribute("sql"))
        })?;
        let rows = result
            .rows
            .into_iter()
            .map(|row| {
                Value::Map(
                    row.into_iter()
                        .filter_map(|(k, v)| v.map(|v| (k, Value::String(v))))
                        .collect(),
                )
            })
            .collect();
        let mut state = config.clone();
        state.set("rows", Value::List(rows));
        state.set("truncated", result.truncated);
        Ok(state)
    }
}
