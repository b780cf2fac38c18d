//! `mdw_iceberg_model`: a dbt model materialized as an Iceberg table, an incremental table or a
//! view, by the configured engine.
//!
//! A model rebuilds only when what it means changes: its SQL (comments and layout aside), its
//! materialization settings, or an upstream model, seed or source (`upstream`). A rebuild is an
//! in-place update — the engine builds at a fresh location and swaps — never destroy-then-create.

use std::collections::BTreeMap;

use async_trait::async_trait;
use mdw_engine::{
    BuildOutcome, DropRelation, EngineError, IncrementalBuild, IncrementalStrategy, OnSchemaChange,
    Ownership, PartitionField, RelationInfo, RelationKind, TableBuild, ViewDefinition,
};
use sha2::{Digest, Sha256};
use tfplugin::{
    ApplyError, Attribute, Diagnostic, Diagnostics, PlanChange, Resource, Schema, Value, validators,
};

use crate::client::Client;
use crate::engines::engine_error;
use crate::models::columns::{columns_type, flatten_columns, relation, string_of};
use crate::models::ownership::{self, LINEAGE, OWNER_ID};
use crate::models::sql_text;
use crate::models::validators::{
    validate_identifier, validate_location, validate_properties, validate_sql,
};

pub(crate) struct IcebergModel;

const TYPE_NAME: &str = "mdw_iceberg_model";
const MATERIALIZATIONS: &[&str] = &["table", "view", "incremental"];
const STRATEGIES: &[&str] = &["append", "merge"];
const SCHEMA_CHANGES: &[&str] = &["ignore", "fail", "append_new_columns", "sync_all_columns"];
const ON_DESTROY: &[&str] = &["drop", "retain"];

/// Attributes whose change rebuilds the table (with the SQL and `upstream`). Tags and
/// `on_destroy` only change state.
const BUILD_INPUTS: &[&str] = &[
    "incremental_sql",
    "materialized",
    "incremental_strategy",
    "unique_key",
    "incremental_predicates",
    "merge_update_columns",
    "merge_exclude_columns",
    "on_schema_change",
    "partitioned_by",
    "table_properties",
    "external_location",
    "description",
    "column_descriptions",
];

/// What a built relation reports; unknown in the plan whenever the model (re)builds.
const BUILD_OUTPUTS: &[&str] = &["columns", "data_location", "snapshot_id", "build_id"];

// ---- schema ---------------------------------------------------------------------------------

fn schema() -> Schema {
    Schema::new(
        "A dbt model as an Iceberg table, incremental table or view, built by the provider's engine \
         from its compiled SQL.",
        vec![
            Attribute::string("database").required().requires_replace().describe("Glue database (dbt schema).").validate(validate_identifier),
            Attribute::string("name").required().requires_replace().describe("Table or view name (dbt alias).").validate(validate_identifier),
            Attribute::string("sql").required().describe(
                "The compiled SELECT. Relations are written `\"catalog\".\"schema\".\"table\"`. Comment and whitespace changes do not rebuild.",
            ).validate(validate_sql),
            Attribute::string("incremental_sql").describe(
                "Incremental models: the query for runs on an existing table (dbt's `is_incremental()` true). Unset: `sql` every time.",
            ).validate(validate_sql),
            Attribute::string("materialized").default("table").describe("`table` (default), `view` or `incremental`.").validate(validators::one_of(MATERIALIZATIONS)),
            Attribute::string("incremental_strategy")
                .describe("`append` (default) or `merge` (needs `unique_key`).")
                .validate(validators::one_of(STRATEGIES)),
            Attribute::string_list("unique_key").describe("Merge: the columns that identify a row."),
            Attribute::string_list("incremental_predicates").describe("Merge: extra conditions on the target rows a run may touch."),
            Attribute::string_list("merge_update_columns").describe("Merge: update only these columns of matched rows."),
            Attribute::string_list("merge_exclude_columns").describe("Merge: update every column of matched rows but these."),
            Attribute::string("on_schema_change").default("ignore").describe("Incremental runs whose columns differ from the table: `ignore` (default), `fail`, `append_new_columns` or `sync_all_columns`.").validate(validators::one_of(SCHEMA_CHANGES)),
            Attribute::string_list("partitioned_by")
                .describe("Iceberg transforms: `col`, `day(ts)`, `month(ts)`, `bucket(id, 16)`, `truncate(s, 4)` …")
                .validate(validate_partitioning),
            Attribute::string_map("table_properties").describe("Iceberg table properties; `format-version` may only be `\"2\"` (the table's format), keys starting with `mdw.` are the provider's own.").validate(validate_properties),
            Attribute::string("external_location").describe("Root under which every build gets a fresh location: `s3://bucket/prefix` (or, on the embedded engine's local disk, an absolute directory).").validate(validate_location),
            Attribute::string("description").describe("The table comment (dbt's model description)."),
            Attribute::string_map("column_descriptions").describe("Column → comment (dbt's column descriptions)."),
            Attribute::string_list("model_tags").describe("dbt tags; informational."),
            Attribute::string_map("upstream").describe(
                "Build ids of the models, seeds and sources this model reads; a change rebuilds it, and the references order it after them.",
            ),
            Attribute::string("on_destroy")
                .default("drop")
                .describe("`drop` deletes the table and its data on destroy; `retain` leaves both in place.")
                .validate(validators::one_of(ON_DESTROY)),
            Attribute::string(LINEAGE).describe(
                "The root's `mdw_lineage` id: the owner id is then `<lineage>/<database>.<name>`, so a create retried after a crash recognises its own table and another root's is refused.",
            ),
            Attribute::string(OWNER_ID).computed().describe(
                "The owner marker written on the table or view; a relation carrying another is never replaced or dropped.",
            ),
            Attribute::string("fingerprint").computed().describe("Hash of the normalised SQL and build settings."),
            Attribute::typed("columns", columns_type()).computed().describe("The relation's columns: name, type, comment."),
            Attribute::string("data_location").computed().describe("Where the current build's data lives."),
            Attribute::string("snapshot_id").computed().describe("The table's current Iceberg snapshot (null for a view)."),
            Attribute::string("build_id").computed().describe("Changes on every build; reference it from dependants."),
        ],
    )
}

fn validate_partitioning(value: &Value) -> Result<(), String> {
    for field in value.string_list() {
        field
            .parse::<PartitionField>()
            .map_err(|e| format!("{e}"))?;
    }
    Ok(())
}

// ---- expand / flatten -----------------------------------------------------------------------

fn partitions(planned: &Value) -> Result<Vec<PartitionField>, Diagnostic> {
    planned
        .get("partitioned_by")
        .string_list()
        .iter()
        .map(|p| {
            p.parse::<PartitionField>().map_err(|e| {
                Diagnostic::error("Invalid partitioned_by entry", e.to_string())
                    .at_attribute("partitioned_by")
            })
        })
        .collect()
}

fn table_build(planned: &Value, ownership: Ownership) -> Result<TableBuild, Diagnostic> {
    Ok(TableBuild {
        database: string_of(planned, "database"),
        name: string_of(planned, "name"),
        sql: string_of(planned, "sql"),
        partitioned_by: partitions(planned)?,
        table_properties: planned.get("table_properties").string_map(),
        external_location: planned
            .get("external_location")
            .as_str()
            .map(str::to_string),
        description: planned.get("description").as_str().map(str::to_string),
        column_descriptions: planned.get("column_descriptions").string_map(),
        ownership,
    })
}

fn incremental_build(
    planned: &Value,
    ownership: Ownership,
    run_key: String,
) -> Result<IncrementalBuild, Diagnostic> {
    Ok(IncrementalBuild {
        table: table_build(planned, ownership)?,
        incremental_sql: planned.get("incremental_sql").as_str().map(str::to_string),
        strategy: match planned.get("incremental_strategy").as_str() {
            Some("merge") => IncrementalStrategy::Merge,
            _ => IncrementalStrategy::Append,
        },
        unique_key: planned.get("unique_key").string_list(),
        incremental_predicates: planned.get("incremental_predicates").string_list(),
        merge_update_columns: planned.get("merge_update_columns").string_list(),
        merge_exclude_columns: planned.get("merge_exclude_columns").string_list(),
        on_schema_change: match planned.get("on_schema_change").as_str() {
            Some("fail") => OnSchemaChange::Fail,
            Some("append_new_columns") => OnSchemaChange::AppendNewColumns,
            Some("sync_all_columns") => OnSchemaChange::SyncAllColumns,
            _ => OnSchemaChange::Ignore,
        },
        run_key: Some(run_key),
    })
}

fn with_outcome(planned: &Value, outcome: &BuildOutcome) -> Value {
    let mut state = planned.clone();
    state.set("columns", flatten_columns(&outcome.columns));
    state.set("data_location", outcome.location.as_str());
    state.set(
        "snapshot_id",
        Value::opt_string(outcome.snapshot_id.map(|s| s.to_string())),
    );
    state.set("build_id", outcome.build_id.as_str());
    state
}

fn with_relation(state: &Value, info: &RelationInfo) -> Value {
    let mut state = state.clone();
    state.set("columns", flatten_columns(&info.columns));
    state.set("data_location", Value::opt_string(info.location.clone()));
    state.set(
        "snapshot_id",
        Value::opt_string(info.snapshot_id.map(|s| s.to_string())),
    );
    state
}

/// Hash of what the model means: normalised SQL and every build setting. Unknown while any of
/// them is.
fn fingerprint(planned: &Value) -> Value {
    let inputs = std::iter::once("sql").chain(BUILD_INPUTS.iter().copied());
    let mut hasher = Sha256::new();
    for attribute in inputs {
        let value = planned.get(attribute);
        if !value.is_wholly_known() {
            return Value::unknown();
        }
        // Models without it hash as they did before the attribute existed (no rebuild on
        // provider upgrade).
        if attribute == "incremental_sql" && value.is_null() {
            continue;
        }
        let text = match attribute {
            "sql" | "incremental_sql" => sql_text::normalize(value.as_str().unwrap_or_default()),
            _ => format!("{value:?}"),
        };
        hasher.update(attribute.as_bytes());
        hasher.update([0]);
        hasher.update(text.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    Value::from(
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
    )
}

// ---- create / read / update / delete / import -----------------------------------------------

impl IcebergModel {
    /// Builds the model as planned (`prior` null on create). On failure the engine has left any
    /// existing relation as it was; a relation another owner marked is refused.
    async fn build(
        &self,
        client: &Client,
        prior: &Value,
        planned: &Value,
    ) -> Result<Value, ApplyError> {
        let engine = client.engines.get().await?;
        let model = relation(planned);
        let doing = format!("building model {model}");
        let owner_id = ownership::applied_owner_id(planned);
        let owner = ownership::for_build(prior, &owner_id);
        let mut state = match planned.get("materialized").as_str() {
            Some("view") => {
                let view = ViewDefinition {
                    database: string_of(planned, "database"),
                    name: string_of(planned, "name"),
                    sql: string_of(planned, "sql"),
                    description: planned.get("description").as_str().map(str::to_string),
                    column_descriptions: planned.get("column_descriptions").string_map(),
                    ownership: owner,
                };
                let info = engine
                    .create_view(&view)
                    .await
                    .map_err(|e| engine_error(&doing, &e))?;
                let mut state = with_relation(planned, &info);
                state.set("build_id", uuid::Uuid::new_v4().to_string());
                state
            }
            Some("incremental") => {
                let run_key = ownership::run_key(prior, planned, &owner_id);
                let outcome = engine
                    .incremental(&incremental_build(planned, owner, run_key)?)
                    .await
                    .map_err(|e| engine_error(&doing, &e))?;
                if outcome.replayed {
                    tracing::info!(
                        "model {model}: this run was committed by an earlier, interrupted apply; not applied again"
                    );
                }
                log_warnings(&model, &outcome);
                with_outcome(planned, &outcome)
            }
            _ => {
                let outcome = engine
                    .build_table(&table_build(planned, owner)?)
                    .await
                    .map_err(|e| engine_error(&doing, &e))?;
                log_warnings(&model, &outcome);
                with_outcome(planned, &outcome)
            }
        };
        state.set(OWNER_ID, owner_id);
        Ok(state)
    }
}

fn log_warnings(model: &str, outcome: &BuildOutcome) {
    for warning in &outcome.warnings {
        tracing::warn!("model {model}: {warning}");
    }
}

#[async_trait]
impl Resource<Client> for IcebergModel {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let materialized = config.get("materialized").as_str().unwrap_or("table");
        let strategy = config.get("incremental_strategy");
        if let Some(s) = strategy.as_str() {
            if materialized != "incremental" && !config.get("materialized").is_unknown() {
                diags.push(
                    Diagnostic::error(
                        "incremental_strategy needs materialized = \"incremental\"",
                        format!("This model is materialized as {materialized:?}; remove incremental_strategy = {s:?} or make it incremental."),
                    )
                    .at_attribute("incremental_strategy"),
                );
            }
            if s == "merge" && config.get("unique_key").is_null() {
                diags.push(
                    Diagnostic::error(
                        "The merge strategy needs unique_key",
                        "Set unique_key to the column(s) that identify a row, e.g. unique_key = [\"order_id\"].",
                    )
                    .at_attribute("unique_key"),
                );
            }
        }
        if materialized == "view" && !config.get("partitioned_by").is_null() {
            diags.push(
                Diagnostic::error(
                    "A view cannot be partitioned",
                    "Remove partitioned_by, or materialize the model as a table.",
                )
                .at_attribute("partitioned_by"),
            );
        }
        diags
    }

    async fn plan(&self, _client: &Client, change: &mut PlanChange<'_>) -> Result<(), Diagnostics> {
        if !change.is_create() {
            // The same query laid out differently is the same model: keep the stored text, so
            // the plan shows no change.
            for attribute in ["sql", "incremental_sql"] {
                let (prior, planned) = (change.prior.get(attribute), change.planned.get(attribute));
                if let (Some(a), Some(b)) = (prior.as_str(), planned.as_str())
                    && a != b
                    && sql_text::normalize(a) == sql_text::normalize(b)
                {
                    let kept = a.to_string();
                    change.planned.set(attribute, kept);
                }
            }
        }
        let fingerprint = fingerprint(&change.planned);
        change.planned.set("fingerprint", fingerprint);
        let rebuild =
            change.is_create() || change.changes("fingerprint") || change.changes("upstream");
        ownership::plan_owner_id(change, rebuild);
        if rebuild {
            for output in BUILD_OUTPUTS {
                change.planned.set(output, Value::unknown());
            }
        }
        Ok(())
    }

    async fn create(&self, client: &Client, planned: &Value) -> Result<Value, ApplyError> {
        self.build(client, &Value::Null, planned).await
    }

    async fn read(&self, client: &Client, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let engine = client.engines.get().await?;
        let (database, name) = (string_of(state, "database"), string_of(state, "name"));
        let info = engine
            .describe(&database, &name)
            .await
            .map_err(|e| engine_error(&format!("reading model {database}.{name}"), &e))?;
        let expected_view = state.get("materialized").as_str() == Some("view");
        Ok(match info {
            // Someone else's relation under this name (another root built it, or it was
            // dropped and recreated outside Terraform) is not this model: plan a create, which
            // refuses to replace it and says how to adopt it.
            Some(info) if !ownership::still_owned(state, info.owner.as_deref()) => {
                tracing::warn!(
                    "{}.{} now carries owner marker {:?}, not this resource's",
                    database,
                    name,
                    info.owner
                );
                None
            }
            // A view where a table should be (or the reverse) is not this model: plan a build.
            Some(info) if (info.kind == RelationKind::View) == expected_view => {
                Some(with_relation(state, &info))
            }
            _ => None,
        })
    }

    async fn update(
        &self,
        client: &Client,
        prior: &Value,
        planned: &Value,
    ) -> Result<Value, ApplyError> {
        if planned.get("build_id").is_unknown() {
            // A change of materialization (table ↔ view ↔ incremental) is a build like any
            // other: the engine builds the new relation aside and swaps it in.
            return self.build(client, prior, planned).await;
        }
        Ok(planned.clone())
    }

    async fn delete(&self, client: &Client, state: &Value) -> Result<(), Diagnostics> {
        if state.get("on_destroy").as_str() == Some("retain") {
            tracing::info!("model {} retained on destroy", relation(state));
            return Ok(());
        }
        let engine = client.engines.get().await?;
        let drop = DropRelation {
            database: string_of(state, "database"),
            name: string_of(state, "name"),
            purge: true,
            external_location: state.get("external_location").as_str().map(str::to_string),
            ownership: ownership::for_state(state),
        };
        match engine.drop_relation(&drop).await {
            Ok(_) => Ok(()),
            // Another owner's relation now holds the name: leaving it is the only safe thing,
            // and this resource has nothing left to destroy.
            Err(EngineError::NotOwned { found_owner, .. }) => {
                tracing::warn!(
                    "model {} not dropped: it is owned by {found_owner:?} now",
                    relation(state)
                );
                Ok(())
            }
            Err(e) => Err(engine_error(&format!("dropping model {}", relation(state)), &e).into()),
        }
    }

    async fn import(&self, client: &Client, id: &str) -> Result<Value, Diagnostics> {
        let Some((database, name)) = id
            .split_once('.')
            .filter(|(d, n)| !d.is_empty() && !n.is_empty() && !n.contains('.'))
        else {
            return Err(Diagnostic::error(
                format!("Invalid import id {id:?}"),
                format!("The import id of {TYPE_NAME} is DATABASE.TABLE, e.g. mdw.stg_stores."),
            )
            .into());
        };
        let engine = client.engines.get().await?;
        let info = engine
            .describe(database, name)
            .await
            .map_err(|e| engine_error(&format!("reading {id}"), &e))?
            .ok_or_else(|| {
                Diagnostic::error(
                    format!("Cannot import {id}"),
                    format!(
                        "No table or view {id} exists in catalog {}.",
                        client.engines.catalog()
                    ),
                )
            })?;
        // The SQL that built a table is not stored with it: the first plan after import
        // rebuilds it from the configuration. A view's SQL is known.
        let mut state = Value::object([
            ("database", Value::from(database)),
            ("name", Value::from(name)),
            (
                "materialized",
                Value::from(if info.kind == RelationKind::View {
                    "view"
                } else {
                    "table"
                }),
            ),
            ("on_schema_change", Value::from("ignore")),
            ("on_destroy", Value::from("drop")),
            ("sql", Value::opt_string(info.view_sql.clone())),
            (OWNER_ID, Value::opt_string(info.owner.clone())),
            ("description", Value::opt_string(info.description.clone())),
            (
                "build_id",
                Value::from(format!("imported-{}", info.snapshot_id.unwrap_or_default())),
            ),
        ]);
        if !info.partitioned_by.is_empty() {
            state.set("partitioned_by", Value::from(info.partitioned_by.clone()));
        }
        let properties: BTreeMap<String, String> = info.table_properties.clone();
        if !properties.is_empty() {
            state.set("table_properties", Value::from(properties));
        }
        Ok(with_relation(&state, &info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(sql: &str) -> Value {
        Value::object([
            ("database", Value::from("mdw")),
            ("name", Value::from("m")),
            ("sql", Value::from(sql)),
            ("materialized", Value::from("table")),
        ])
    }

    #[test]
    fn fingerprint_ignores_layout_but_not_meaning() {
        let a = fingerprint(&model("select 1 as x -- one\n"));
        assert_eq!(a, fingerprint(&model("select   1 as x")));
        assert_ne!(a, fingerprint(&model("select 2 as x")));
        let mut partitioned = model("select 1 as x");
        partitioned.set("partitioned_by", Value::from(vec!["x".to_string()]));
        assert_ne!(a, fingerprint(&partitioned));
        let mut unknown = model("select 1");
        unknown.set("sql", Value::unknown());
        assert!(fingerprint(&unknown).is_unknown());
    }

    #[test]
    fn partition_specs_are_checked() {
        assert!(
            validate_partitioning(&Value::from(vec![
                "day(ts)".to_string(),
                "bucket(id, 16)".to_string()
            ]))
            .is_ok()
        );
        assert!(validate_partitioning(&Value::from(vec!["fortnight(ts)".to_string()])).is_err());
    }
}
