//! `data "mdw_query"`: a read-only query whose rows Terraform `check` blocks assert on — how
//! mdwc turns dbt's data tests into plan/apply results.

use async_trait::async_trait;
use tfplugin::{Attribute, DataSource, Diagnostic, Diagnostics, Schema, Type, Value};

use crate::engine::engine_error;
use crate::provider::Client;

pub struct Query;

const DEFAULT_MAX_ROWS: i64 = 1000;
/// Terraform keeps every row in memory, in the plan and in state, several times over: past a
/// few thousand rows a data source is the wrong tool (aggregate in SQL instead).
const MAX_ROWS_LIMIT: i64 = 10_000;
/// The rendered result a plan may carry; more is refused rather than slowing every plan.
const MAX_RESULT_BYTES: usize = 16 << 20;

fn schema() -> Schema {
    Schema::new(
        "Runs a read-only SQL query on the engine and returns its rows.",
        vec![
            Attribute::string("sql").required(),
            Attribute::number("max_rows")
                .describe(&format!(
                    "Rows returned at most (default {DEFAULT_MAX_ROWS}, at most {MAX_ROWS_LIMIT}); the engine stops reading there and `truncated` says when more were cut."
                ))
                .validate(|v| match v.as_i64() {
                    Some(n) if (1..=MAX_ROWS_LIMIT).contains(&n) => Ok(()),
                    None if v.is_unknown() || v.is_null() => Ok(()),
                    _ => Err(format!(
                        "max_rows must be a whole number from 1 to {MAX_ROWS_LIMIT}: Terraform holds every row in memory; aggregate in the query instead of reading more rows."
                    )),
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
            .at_attribute("sql")
            .into());
        }
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
