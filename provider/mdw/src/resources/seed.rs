//! `mdw_seed`: a CSV file loaded as an Iceberg table (dbt seeds). A changed file — by its
//! `content_sha256` — or changed column types reload it, in place and safely: the engine builds
//! the new table beside the old one and swaps.

use async_trait::async_trait;
use std::collections::BTreeMap;

use sha2::Digest;

use mdw_engine::{DropRelation, EngineError, RelationKind, SeedLoad, SqlType};
use tfplugin::{
    ApplyError, Attribute, Diagnostic, Diagnostics, PlanChange, Resource, Schema, Type, Value,
};

use crate::engine::engine_error;
use crate::ownership::{self, LINEAGE, OWNER_ID};
use crate::provider::Client;
use crate::resources::iceberg_model::{
    columns_type, flatten_columns, relation, string_of, validate_identifier,
};

pub struct Seed;

const TYPE_NAME: &str = "mdw_seed";
const LOAD_INPUTS: &[&str] = &["path", "content_sha256", "column_types", "delimiter"];
const LOAD_OUTPUTS: &[&str] = &["columns", "row_count", "snapshot_id", "build_id"];

// ---- schema ---------------------------------------------------------------------------------

fn schema() -> Schema {
    Schema::new(
        "A CSV file loaded as an Iceberg table (a dbt seed).",
        vec![
            Attribute::string("database").required().requires_replace().validate(validate_identifier),
            Attribute::string("name").required().requires_replace().validate(validate_identifier),
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
            Attribute::string(LINEAGE).describe(
                "The root's `mdw_lineage` id (see `mdw_iceberg_model`).",
            ),
            Attribute::string(OWNER_ID).computed().describe(
                "The owner marker written on the table; a table carrying another is never replaced or dropped.",
            ),
            Attribute::typed("columns", columns_type()).computed(),
            Attribute::typed("row_count", Type::Number).computed(),
            Attribute::string("snapshot_id").computed(),
            Attribute::string("build_id").computed().describe("Changes on every load; reference it from models."),
        ],
    )
}

// ---- create / read / update / delete / import -----------------------------------------------

/// The seed file must exist at plan, and be the file `content_sha256` was computed from (a hash
/// of another file would load one thing and record another).
fn check_file(planned: &Value) -> Result<(), Diagnostics> {
    let (Some(path), Some(expected)) = (
        planned.get("path").as_str(),
        planned.get("content_sha256").as_str(),
    ) else {
        return Ok(());
    };
    let content = std::fs::read(path).map_err(|e| {
        Diagnostic::error(
            format!("Seed file {path} cannot be read"),
            format!("{e}. `path` is relative to the directory terraform runs in; check the file exists there."),
        )
        .at_attribute("path")
    })?;
    let actual: String = sha2::Sha256::digest(&content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if !actual.eq_ignore_ascii_case(expected.trim()) {
        return Err(Diagnostic::error(
            "content_sha256 is not the hash of the seed file",
            format!("{path} hashes to {actual}, but content_sha256 is {expected}; set content_sha256 = filesha256(<the same path>)."),
        )
        .at_attribute("content_sha256")
        .into());
    }
    Ok(())
}

/// The column types as typed values, lower-cased column names.
fn column_types(planned: &Value) -> Result<BTreeMap<String, SqlType>, Diagnostic> {
    planned
        .get("column_types")
        .string_map()
        .into_iter()
        .map(|(column, ty)| {
            ty.parse::<SqlType>()
                .map(|t| (column.trim().to_ascii_lowercase(), t))
                .map_err(|e| {
                    Diagnostic::error("Invalid column type", format!("column {column:?}: {e}"))
                        .at_attribute("column_types")
                })
        })
        .collect()
}

impl Seed {
    async fn load(
        &self,
        client: &Client,
        prior: &Value,
        planned: &Value,
    ) -> Result<Value, ApplyError> {
        let path = string_of(planned, "path");
        let owner_id = ownership::applied_owner_id(planned);
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
            column_types: column_types(planned)?,
            table_properties: Default::default(),
            external_location: None,
            description: None,
            column_descriptions: Default::default(),
            ownership: ownership::for_build(prior, &owner_id),
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
        state.set(OWNER_ID, owner_id);
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
        check_file(&change.planned)?;
        let loads = change.is_create() || LOAD_INPUTS.iter().any(|a| change.changes(a));
        if loads {
            for output in LOAD_OUTPUTS {
                change.planned.set(output, Value::unknown());
            }
        }
        ownership::plan_owner_id(change, loads);
        Ok(())
    }

    async fn create(&self, client: &Client, planned: &Value) -> Result<Value, ApplyError> {
        self.load(client, &Value::Null, planned).await
    }

    async fn read(&self, client: &Client, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let engine = client.engines.get().await?;
        let (database, name) = (string_of(state, "database"), string_of(state, "name"));
        let info = engine
            .describe(&database, &name)
            .await
            .map_err(|e| engine_error(&format!("reading seed {database}.{name}"), &e))?;
        Ok(info
            .filter(|i| i.kind == RelationKind::Table)
            .filter(|i| ownership::still_owned(state, i.owner.as_deref()))
            .map(|info| {
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
        prior: &Value,
        planned: &Value,
    ) -> Result<Value, ApplyError> {
        if planned.get("build_id").is_unknown() {
            return self.load(client, prior, planned).await;
        }
        Ok(planned.clone())
    }

    async fn delete(&self, client: &Client, state: &Value) -> Result<(), Diagnostics> {
        let engine = client.engines.get().await?;
        let drop = DropRelation {
            database: string_of(state, "database"),
            name: string_of(state, "name"),
            purge: true,
            external_location: None,
            ownership: ownership::for_state(state),
        };
        match engine.drop_relation(&drop).await {
            Ok(_) => Ok(()),
            // Another owner's table now holds the name: it stays.
            Err(EngineError::NotOwned { found_owner, .. }) => {
                tracing::warn!(
                    "seed {} not dropped: it is owned by {found_owner:?} now",
                    relation(state)
                );
                Ok(())
            }
            Err(e) => Err(engine_error(&format!("dropping seed {}", relation(state)), &e).into()),
        }
    }

    async fn import(&self, _client: &Client, id: &str) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error(
            format!("{TYPE_NAME} cannot be imported ({id})"),
            "A seed is defined by its CSV file; apply the configuration instead, which reloads the table from the file.",
        )
        .into())
    }
}
