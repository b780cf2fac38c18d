//! `mdw_seed`: a CSV file loaded as an Iceberg table (dbt seeds). A changed file — by its
//! `content_sha256` — or changed column types reload it, in place and safely: the engine builds
//! the new table beside the old one and swaps.

use std::collections::BTreeMap;

use async_trait::async_trait;
use mdw_engine::{DropRelation, EngineError, RelationKind, SeedLoad, SqlType};
use sha2::Digest;
use tfplugin::{
    ApplyError, Diagnostic, Diagnostics, Maybe, Model, PlanChange, Resource, Schema, Value,
    from_value, to_value,
};

use crate::client::Client;
use crate::engines::engine_error;
use crate::models::columns::{Column, columns};
use crate::models::ownership::{self, OwnedKind};
use crate::models::validators::{validate_identifier, validate_lineage};

pub(crate) struct Seed;

const TYPE_NAME: &str = "mdw_seed";

// ---- schema ---------------------------------------------------------------------------------

fn validate_column_types(value: &Value) -> Result<(), String> {
    for (column, ty) in value.string_map() {
        if column.trim().is_empty() {
            return Err("column_types names a column with an empty name.".to_string());
        }
        ty.parse::<SqlType>()
            .map_err(|e| format!("column {column:?}: {e}"))?;
    }
    Ok(())
}

fn validate_delimiter(value: &Value) -> Result<(), String> {
    match value.as_str() {
        Some("\"" | "\n" | "\r") => Err(
            "the delimiter cannot be a quote or a line break; use e.g. \",\", \";\" or \"|\"."
                .to_string(),
        ),
        Some(d) if d.chars().count() == 1 => Ok(()),
        _ => Err("delimiter must be exactly one character, e.g. \",\" or \";\".".to_string()),
    }
}

tfplugin::model! {
    /// The attributes of `mdw_seed`.
    pub(crate) struct SeedModel {
        /// The table's schema (Glue database).
        #[tf(required, requires_replace, validate = validate_identifier)]
        pub(crate) database: String,
        /// The table's name.
        #[tf(required, requires_replace, validate = validate_identifier)]
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
        /// The root's `mdw_lineage` id (see `mdw_iceberg_model`).
        #[tf(validate = validate_lineage)]
        pub(crate) lineage: Option<String>,
        /// The owner marker written on the table; a table carrying another is never replaced or dropped.
        #[tf(computed)]
        pub(crate) owner_id: Maybe<String>,
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

/// The seed file must exist at plan, and be the file `content_sha256` was computed from (a hash
/// of another file would load one thing and record another).
fn check_file(path: &str, expected: &str) -> Result<(), Diagnostics> {
    let content = std::fs::read(path).map_err(|e| {
        Diagnostic::error(
            format!("Seed file {path} cannot be read"),
            format!("{e}. `path` is relative to the directory terraform runs in; check the file exists there."),
        )
        .at_attribute(SeedModel::path)
    })?;
    let actual: String = sha2::Sha256::digest(&content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let expected = expected.trim();
    if !actual.eq_ignore_ascii_case(expected) {
        return Err(Diagnostic::error(
            "content_sha256 is not the hash of the seed file",
            format!("{path} hashes to {actual}, but content_sha256 is {expected}; set content_sha256 = filesha256(<the same path>)."),
        )
        .at_attribute(SeedModel::content_sha256)
        .into());
    }
    Ok(())
}

/// The file's header, checked at plan: it names every column once, and `column_types` names
/// only columns it has (a typo would silently leave the type out).
fn check_header(
    path: &str,
    delimiter: u8,
    column_types: &BTreeMap<String, String>,
) -> Result<(), Diagnostics> {
    let at_path = |summary: &str, detail: String| -> Diagnostics {
        Diagnostic::error(summary, detail)
            .at_attribute(SeedModel::path)
            .into()
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_path(path)
        .map_err(|e| at_path("Seed file cannot be read", format!("{path}: {e}")))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| at_path("Seed file has no readable header", format!("{path}: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(at_path(
            "Seed file is empty",
            format!(
                "{path} has no header line, so the table would have no columns; the first line must name the columns."
            ),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for column in &header {
        if column.is_empty() {
            return Err(at_path(
                "Seed file has a column without a name",
                format!("{path}: every column of the header line needs a name."),
            ));
        }
        if !seen.insert(column) {
            return Err(at_path(
                "Seed file names a column twice",
                format!(
                    "{path}: the header names {column:?} more than once; a table has one column of a name."
                ),
            ));
        }
    }
    let unknown: Vec<&String> = column_types
        .keys()
        .filter(|c| !seen.contains(&c.trim().to_ascii_lowercase()))
        .collect();
    if !unknown.is_empty() {
        return Err(Diagnostic::error(
            "column_types names columns the seed file does not have",
            format!("{unknown:?} are not in the header of {path} ({header:?}); fix the names, or the types would not be applied."),
        )
        .at_attribute(SeedModel::column_types)
        .into());
    }
    Ok(())
}

/// The column types as typed values, lower-cased column names.
fn column_types(planned: &SeedModel) -> Result<BTreeMap<String, SqlType>, Diagnostic> {
    planned
        .column_types
        .iter()
        .flatten()
        .map(|(column, ty)| {
            ty.parse::<SqlType>()
                .map(|t| (column.trim().to_ascii_lowercase(), t))
                .map_err(|e| {
                    Diagnostic::error("Invalid column type", format!("column {column:?}: {e}"))
                        .at_attribute(SeedModel::column_types)
                })
        })
        .collect()
}

impl Seed {
    async fn load(
        &self,
        client: &Client,
        prior: &Value,
        planned_value: &Value,
    ) -> Result<Value, ApplyError> {
        let planned: SeedModel = from_value(planned_value)?;
        let owner_id = ownership::applied_owner_id(OwnedKind::Seed, planned_value);
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
            column_types: column_types(&planned)?,
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
            .map_err(|e| engine_error(&format!("loading seed {relation}"), &e))?;
        let state = SeedModel {
            columns: Maybe::Known(columns(&outcome.columns)),
            row_count: Maybe::Known(outcome.row_count as i64),
            snapshot_id: Maybe::from_option(outcome.snapshot_id.map(|s| s.to_string())),
            build_id: Maybe::Known(outcome.build_id),
            owner_id: Maybe::Known(owner_id),
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

    async fn plan(&self, client: &Client, change: &mut PlanChange<'_>) -> Result<(), Diagnostics> {
        ownership::claim_relation(&client.claims, TYPE_NAME, change)?;
        if let (Some(path), Some(expected)) = (
            change.planned.get(SeedModel::path).as_str(),
            change.planned.get(SeedModel::content_sha256).as_str(),
        ) {
            check_file(path, expected)?;
            let delimiter = change
                .planned
                .get(SeedModel::delimiter)
                .as_str()
                .and_then(|d| d.bytes().next())
                .unwrap_or(b',');
            let column_types = change.planned.get(SeedModel::column_types);
            if column_types.is_wholly_known() {
                check_header(path, delimiter, &column_types.string_map())?;
            }
        }
        let loads = change.is_create() || LOAD_INPUTS.iter().any(|a| change.changes(a));
        if loads {
            for output in LOAD_OUTPUTS {
                change.planned.set(output, Value::unknown());
            }
        }
        ownership::plan_owner_id(OwnedKind::Seed, change, loads);
        Ok(())
    }

    async fn create(&self, client: &Client, planned: &Value) -> Result<Value, ApplyError> {
        self.load(client, &Value::Null, planned).await
    }

    async fn read(&self, client: &Client, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let owned = |marker: Option<&str>| ownership::still_owned(state, marker);
        let state: SeedModel = from_value(state)?;
        let engine = client.engines.get().await?;
        let (database, name) = (&state.database, &state.name);
        let info = engine
            .describe(database, name)
            .await
            .map_err(|e| engine_error(&format!("reading seed {database}.{name}"), &e))?;
        // Gone, or replaced by someone else's relation: plan a load (which refuses to
        // overwrite another owner's table).
        let Some(info) = info
            .filter(|i| i.kind == RelationKind::Table)
            .filter(|i| owned(i.owner.as_deref()))
        else {
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
        prior: &Value,
        planned: &Value,
    ) -> Result<Value, ApplyError> {
        let build_id: Maybe<String> = from_value(planned.get(SeedModel::build_id))?;
        if build_id.is_unknown() {
            return self.load(client, prior, planned).await;
        }
        Ok(planned.clone())
    }

    async fn delete(&self, client: &Client, state: &Value) -> Result<(), Diagnostics> {
        let ownership = ownership::for_state(state);
        let state: SeedModel = from_value(state)?;
        let engine = client.engines.get().await?;
        let drop = DropRelation {
            database: state.database.clone(),
            name: state.name.clone(),
            purge: true,
            external_location: None,
            ownership,
        };
        match engine.drop_relation(&drop).await {
            Ok(_) => Ok(()),
            // Another owner's table now holds the name: it stays.
            Err(EngineError::NotOwned { found_owner, .. }) => {
                tracing::warn!(
                    "seed {}.{} not dropped: it is owned by {found_owner:?} now",
                    state.database,
                    state.name
                );
                Ok(())
            }
            Err(e) => Err(engine_error(
                &format!("dropping seed {}.{}", state.database, state.name),
                &e,
            )
            .into()),
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
