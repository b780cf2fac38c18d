//! `data "mdw_source"`: a dbt source table, checked at plan time. dbt finds out at run time that
//! a source is missing; here the plan fails, naming the table and what to check.

use async_trait::async_trait;
use tfplugin::{Attribute, DataSource, Diagnostic, Diagnostics, Schema, Value};

use crate::client::Client;
use crate::engines::engine_error;
use crate::models::columns::{columns_type, flatten_columns};

pub(crate) struct Source;

fn schema() -> Schema {
    Schema::new(
        "A source table that models read; the plan fails when it does not exist.",
        vec![
            Attribute::string("database")
                .required()
                .describe("The source's schema (Glue database)."),
            Attribute::string("name")
                .required()
                .describe("The table (dbt `identifier`, else the table's name)."),
            Attribute::typed("columns", columns_type()).computed(),
            Attribute::string("snapshot_id").computed().describe(
                "Current snapshot: new data changes it, which rebuilds dependent models.",
            ),
            Attribute::string("location").computed(),
        ],
    )
}

#[async_trait]
impl DataSource<Client> for Source {
    fn type_name(&self) -> &'static str {
        "mdw_source"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn read(&self, client: &Client, config: &Value) -> Result<Value, Diagnostics> {
        let database = config.get("database").as_str().unwrap_or_default();
        let name = config.get("name").as_str().unwrap_or_default();
        let engine = client.engines.get().await?;
        let relation = format!("\"{}\".\"{database}\".\"{name}\"", client.engines.catalog());
        let info = engine
            .describe(database, name)
            .await
            .map_err(|e| engine_error(&format!("reading source {relation}"), &e))?;
        let Some(info) = info else {
            return Err(Diagnostic::error(
                format!("Source table {relation} does not exist"),
                "Models read it, so they cannot be built. Check the source's schema and identifier in the \
                 dbt project's sources yml, that the loader (e.g. Airbyte) has run, or load it with mdw_seed.",
            )
            .at_attribute("name")
            .into());
        };
        let mut state = config.clone();
        state.set("columns", flatten_columns(&info.columns));
        state.set(
            "snapshot_id",
            Value::opt_string(info.snapshot_id.map(|s| s.to_string())),
        );
        state.set("location", Value::opt_string(info.location));
        Ok(state)
    }
}
