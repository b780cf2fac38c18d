//! `mdw_seed`: a CSV file loaded as an Iceberg table (dbt seeds). A changed file — by its
//! `content_sha256` — or changed column types reload it, in place and safely: the engine builds
//! the new table beside the old one and swaps.

use async_trait::async_trait;
use mdw_engine::{RelationKind, SeedLoad, SqlType};
use tfplugin::{
    ApplyError, Attribute, Diagnostic, Diagnostics, PlanChange, Resource, Schema, Type, Value,
};

use crate::client::Client;
use crate::engines::engine_error;
use crate::models::columns::{columns_type, flatten_columns, relation, string_of};

pub(crate) struct Seed;

const TYPE_NAME: &str = "mdw_seed";
const LOAD_INPUTS: &[&str] = &["path", "content_sha256", "column_types", "delimiter"];
const LOAD_OUTPUTS: &[&str] = &["columns", "row_count", "snapshot_id", "build_id"];

// ---- schema ---------------------------------------------------------------------------------

fn schema() -> Schema {
    Schema::new(
        "A CSV file loaded as an Iceberg table (a dbt seed).",
        vec![
            Attribute::string("database").required().requires_replace(),
            Attribute::string("name").required().requires_replace(),
            Attribute::string("path").required().describe("The CSV file, relative to the root module, e.g. `\"${path.module}/../../seeds/stores.csv\"`."),
            Attribute::string("content_sha256")
                .required()
                .describe("`filesha256()` of the same file: a changed file reloads the table."),
            Attribute::string_map("column_types")
                .describe("Column → Athena type (`bigint`, `decimal(10,2)`, `date` …); other columns are inferred.")
                .validate(|v| {
                    for (column, ty) in v.string_map() {
                        ty.parse::<SqlType>().map_err(|e| format!("column {column:?}: {e}"))?;
                    }
                    Ok(())
                }),
            Attribute::string("delimiter").default(",").validate(|v| match v.as_str() {
                Some(d) if d.chars().count() == 1 => Ok(()),
                _ => Err("delimiter must be exactly one character, e.g. \",\" or \";\".".to_string()),
            }),
            Attribute::typed("columns", columns_type()).computed(),
            Attribute::typed("row_count", Type::Number).computed(),
            Attribute::string("snapshot_id").computed(),
            Attribute::string("build_id").computed().describe("Changes on every load; reference it from models."),
        ],
    )
}

// ---- create / read / update / delete / import -----------------------------------------------

impl Seed {
    async fn load(&self, client: &Client, planned: &Value) -> Result<Value, ApplyError> {
        let path = string_of(planned, "path");
        if !std::path::Path::new(&path).is_file() {
            return Err(Diagnostic::error(
                format!("Seed file {path} not found"),
                format!("{TYPE_NAME}.path is relative to the directory terraform runs in; check the file exists there."),
            )
            .at_attribute("path")
            .into());
        }
        let load = SeedLoad {
            database: string_of(planned, "database"),
            name: string_of(planned, "name"),
            path: path.into(),
            delimiter: string_of(planned, "delimiter")
                .chars()
                .next()
                .unwrap_or(','),
            column_types: planned.get("column_types").string_map(),
            table_properties: Default::default(),
            external_location: None,
            description: None,
            column_descriptions: Default::default(),
        };
        let engine = client.engines.get().await?;
        let outcome = engine
            .load_csv(&load)
            .await
            .map_err(|e| engine_error(&format!("loading seed {}", relation(planned)), &e))?;
        let mut state = planned.clone();
        state.set("columns", flatten_columns(&outcome.columns));
        state.set("row_count", Value::from(outcome.row_count as i64));
        state.set(
            "snapshot_id",
            Value::opt_string(outcome.snapshot_id.map(|s| s.to_string())),
        );
        state.set("build_id", outcome.build_id.as_str());
        Ok(state)
    }
}

#[async_trait]
impl Resource<Client> for Seed {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn plan(&self, _client: &Client, change: &mut PlanChange<'_>) -> Result<(), Diagnostics> {
        if change.is_create() || LOAD_INPUTS.iter().any(|a| change.changes(a)) {
            for output in LOAD_OUTPUTS {
                change.planned.set(output, Value::unknown());
            }
        }
        Ok(())
    }

    async fn create(&self, client: &Client, planned: &Value) -> Result<Value, ApplyError> {
        self.load(client, planned).await
    }

    async fn read(&self, client: &Client, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let engine = client.engines.get().await?;
        let (database, name) = (string_of(state, "database"), string_of(state, "name"));
        let info = engine
            .describe(&database, &name)
            .await
            .map_err(|e| engine_error(&format!("reading seed {database}.{name}"), &e))?;
        Ok(info.filter(|i| i.kind == RelationKind::Table).map(|info| {
            let mut state = state.clone();
            state.set("columns", flatten_columns(&info.columns));
            state.set(
                "snapshot_id",
                Value::opt_string(info.snapshot_id.map(|s| s.to_string())),
            );
            state
        }))
    }

    async fn update(
        &self,
        client: &Client,
        _prior: &Value,
        planned: &Value,
    ) -> Result<Value, ApplyError> {
        if planned.get("build_id").is_unknown() {
            return self.load(client, planned).await;
        }
        Ok(planned.clone())
    }

    async fn delete(&self, client: &Client, state: &Value) -> Result<(), Diagnostics> {
        let engine = client.engines.get().await?;
        engine
            .drop_relation(
                &string_of(state, "database"),
                &string_of(state, "name"),
                true,
            )
            .await
            .map_err(|e| engine_error(&format!("dropping seed {}", relation(state)), &e))?;
        Ok(())
    }

    async fn import(&self, _client: &Client, id: &str) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error(
            format!("{TYPE_NAME} cannot be imported ({id})"),
            "A seed is defined by its CSV file; apply the configuration instead, which reloads the table from the file.",
        )
        .into())
    }
}
