//! `mdw_seed`: a CSV file loaded as an Iceberg table (dbt seeds). A changed file — by its
//! `content_sha256` — or changed column types reload it, in place and safely: the engine builds
//! the new table beside the old one and swaps.

use std::collections::BTreeMap;

use async_trait::async_trait;
use mdw_engine::{RelationKind, SeedLoad, SqlType};
use tfplugin::{
    ApplyError, Diagnostic, Diagnostics, Maybe, Model, PlanChange, Resource, Schema, Value,
    from_value, to_value,
};

use crate::client::Client;
use crate::engines::engine_error;
use crate::models::columns::{Column, columns};

pub(crate) struct Seed;

const TYPE_NAME: &str = "mdw_seed";

// ---- schema ---------------------------------------------------------------------------------

fn validate_column_types(value: &Value) -> Result<(), String> {
    for (column, ty) in value.string_map() {
        ty.parse::<SqlType>()
            .map_err(|e| format!("column {column:?}: {e}"))?;
    }
    Ok(())
}

fn validate_delimiter(value: &Value) -> Result<(), String> {
    match value.as_str() {
        Some(d) if d.chars().count() == 1 => Ok(()),
        _ => Err("delimiter must be exactly one character, e.g. \",\" or \";\".".to_string()),
    }
}

tfplugin::model! {
    /// The attributes of `mdw_seed`.
    pub(crate) struct SeedModel {
        /// The table's schema (Glue database).
        #[tf(required, requires_replace)]
        pub(crate) database: String,
        /// The table's name.
        #[tf(required, requires_replace)]
        pub(crate) name: String,
        /// The CSV file, relative to the root module, e.g. `"${path.module}/../../seeds/stores.csv"`.
        #[tf(required)]
        pub(crate) path: String,
        /// `filesha256()` of the same file: a changed file reloads the table.
        #[tf(required)]
        pub(crate) content_sha256: String,
        /// Column → Athena type (`bigint`, `decimal(10,2)`, `date` …); other columns are inferred.
        #[tf(validate = validate_column_types)]
        pub(crate) column_types: Option<BTreeMap<String, String>>,
        /// The field separator, one character (default `,`).
        #[tf(default = ",", validate = validate_delimiter)]
        pub(crate) delimiter: Maybe<String>,
        /// The table's columns: name, type, comment.
        #[tf(computed)]
        pub(crate) columns: Maybe<Vec<Column>>,
        /// Rows loaded.
        #[tf(computed)]
        pub(crate) row_count: Maybe<i64>,
        /// The table's current snapshot.
        #[tf(computed)]
        pub(crate) snapshot_id: Maybe<String>,
        /// Changes on every load; reference it from models.
        #[tf(computed)]
        pub(crate) build_id: Maybe<String>,
    }
}

/// What a load reads; a change to any of them reloads the table.
const LOAD_INPUTS: [&str; 4] = [
    SeedModel::path,
    SeedModel::content_sha256,
    SeedModel::column_types,
    SeedModel::delimiter,
];
/// What a load writes.
const LOAD_OUTPUTS: [&str; 4] = [
    SeedModel::columns,
    SeedModel::row_count,
    SeedModel::snapshot_id,
    SeedModel::build_id,
];

fn schema() -> Schema {
    Schema::new(
        "A CSV file loaded as an Iceberg table (a dbt seed).",
        SeedModel::attributes(),
    )
}

// ---- create / read / update / delete / import -----------------------------------------------

impl Seed {
    async fn load(&self, client: &Client, planned: &Value) -> Result<Value, ApplyError> {
        let planned: SeedModel = from_value(planned)?;
        let relation = format!("{}.{}", planned.database, planned.name);
        let path = &planned.path;
        if !std::path::Path::new(path).is_file() {
            return Err(Diagnostic::error(
                format!("Seed file {path} not found"),
                format!("{TYPE_NAME}.path is relative to the directory terraform runs in; check the file exists there."),
            )
            .at_attribute(SeedModel::path)
            .into());
        }
        let load = SeedLoad {
            database: planned.database.clone(),
            name: planned.name.clone(),
            path: path.into(),
            delimiter: planned
                .delimiter
                .known()
                .and_then(|d| d.chars().next())
                .unwrap_or(','),
            column_types: planned.column_types.clone().unwrap_or_default(),
            table_properties: Default::default(),
            external_location: None,
            description: None,
            column_descriptions: Default::default(),
        };
        let engine = client.engines.get().await?;
        let outcome = engine
            .load_csv(&load)
            .await
            .map_err(|e| engine_error(&format!("loading seed {relation}"), &e))?;
        let state = SeedModel {
            columns: Maybe::Known(columns(&outcome.columns)),
            row_count: Maybe::Known(outcome.row_count as i64),
            snapshot_id: Maybe::from_option(outcome.snapshot_id.map(|s| s.to_string())),
            build_id: Maybe::Known(outcome.build_id),
            ..planned
        };
        Ok(to_value(&state)?)
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
        let state: SeedModel = from_value(state)?;
        let engine = client.engines.get().await?;
        let (database, name) = (&state.database, &state.name);
        let info = engine
            .describe(database, name)
            .await
            .map_err(|e| engine_error(&format!("reading seed {database}.{name}"), &e))?;
        let Some(info) = info.filter(|i| i.kind == RelationKind::Table) else {
            return Ok(None);
        };
        let state = SeedModel {
            columns: Maybe::Known(columns(&info.columns)),
            snapshot_id: Maybe::from_option(info.snapshot_id.map(|s| s.to_string())),
            ..state
        };
        Ok(Some(to_value(&state)?))
    }

    async fn update(
        &self,
        client: &Client,
        _prior: &Value,
        planned: &Value,
    ) -> Result<Value, ApplyError> {
        let build_id: Maybe<String> = from_value(planned.get(SeedModel::build_id))?;
        if build_id.is_unknown() {
            return self.load(client, planned).await;
        }
        Ok(planned.clone())
    }

    async fn delete(&self, client: &Client, state: &Value) -> Result<(), Diagnostics> {
        let state: SeedModel = from_value(state)?;
        let engine = client.engines.get().await?;
        engine
            .drop_relation(&state.database, &state.name, true)
            .await
            .map_err(|e| {
                engine_error(
                    &format!("dropping seed {}.{}", state.database, state.name),
                    &e,
                )
            })?;
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
