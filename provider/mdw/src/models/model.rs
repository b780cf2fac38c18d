//! One dbt model as the provider plans, builds, tests, reads and drops it: the attributes of
//! `mdw_iceberg_model` (`ModelModel`) and what the resources holding models do with each —
//! `mdw_iceberg_model` for its one model, `mdw_model_group` for each of its models — so both
//! follow the same rules.
//!
//! A model rebuilds only when what it means changes: its SQL (comments and layout aside), its
//! materialization settings, or an upstream model, seed or source (`upstream`). A rebuild is an
//! in-place update — the engine builds the new relation aside and swaps it in with one catalog
//! write — never destroy-then-create, also when the materialization changes. Every relation
//! carries its owner marker; one carrying another is neither replaced nor dropped. The model's
//! data tests (`data_tests`) run right after it builds, as `dbt build` runs them; see
//! `model_tests`.

use std::collections::{BTreeMap, BTreeSet};

use mdw_engine::{
    BuildOutcome, DropRelation, EngineError, IncrementalBuild, IncrementalStrategy, OnSchemaChange,
    Ownership, PartitionField, RelationInfo, RelationKind, TableBuild, ViewDefinition,
};
use sha2::{Digest, Sha256};
use tfplugin::{
    ApplyError, AttributePath, Diagnostic, Diagnostics, Maybe, PlanChange, Value, from_value,
    to_value, validators,
};

use crate::client::Client;
use crate::engines::engine_error;
use crate::models::columns::{Column, columns};
use crate::models::hooks;
use crate::models::microbatch::{self, MicrobatchConfig};
use crate::models::model_tests::{self, TestSpec};
use crate::models::ownership::{self, OwnedKind};
use crate::models::snapshot::{self, SnapshotConfig};
use crate::models::sql_text;
use crate::models::test_run;
use crate::models::validators::{
    validate_identifier, validate_lineage, validate_location, validate_properties, validate_sql,
};

const MATERIALIZATIONS: &[&str] = &["table", "view", "incremental", "snapshot"];
const STRATEGIES: &[&str] = &["append", "merge", "microbatch"];
const SCHEMA_CHANGES: &[&str] = &["ignore", "fail", "append_new_columns", "sync_all_columns"];
const ON_DESTROY: &[&str] = &["drop", "retain"];

fn validate_materialized(value: &Value) -> Result<(), String> {
    validators::one_of(MATERIALIZATIONS)(value)
}

fn validate_strategy(value: &Value) -> Result<(), String> {
    validators::one_of(STRATEGIES)(value)
}

fn validate_schema_change(value: &Value) -> Result<(), String> {
    validators::one_of(SCHEMA_CHANGES)(value)
}

fn validate_on_destroy(value: &Value) -> Result<(), String> {
    validators::one_of(ON_DESTROY)(value)
}

/// Each entry a valid transform, and no field twice (Iceberg refuses a spec that repeats one).
fn validate_partitioning(value: &Value) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for entry in value.string_list() {
        let field = entry.parse::<PartitionField>().map_err(|e| e.to_string())?;
        if !seen.insert(field.to_string()) {
            return Err(format!(
                "partitioned_by lists {entry:?} twice; list each once."
            ));
        }
    }
    Ok(())
}

tfplugin::model! {
    /// The attributes of `mdw_iceberg_model`.
    pub(crate) struct ModelModel {
        /// Glue database (dbt schema).
        #[tf(required, requires_replace, validate = validate_identifier)]
        pub(crate) database: String,
        /// Table or view name (dbt alias), in lower case as Glue stores it.
        #[tf(required, requires_replace, validate = validate_identifier)]
        pub(crate) name: String,
        /// The compiled SELECT. Relations are written `"catalog"."schema"."table"`. Comment and whitespace changes do not rebuild.
        #[tf(required, validate = validate_sql)]
        pub(crate) sql: String,
        /// Incremental models: the query for runs on an existing table (dbt's `is_incremental()` true). Unset: `sql` every time.
        #[tf(validate = validate_sql)]
        pub(crate) incremental_sql: Option<String>,
        /// `table` (default), `view`, `incremental` or `snapshot` (with `snapshot`).
        #[tf(default = "table", validate = validate_materialized)]
        pub(crate) materialized: Maybe<String>,
        /// `append` (default), `merge` (needs `unique_key`) or `microbatch` (needs `unique_key` and `microbatch`: dbt-athena merges each time batch).
        #[tf(validate = validate_strategy)]
        pub(crate) incremental_strategy: Option<String>,
        /// Merge and microbatch: the columns that identify a row.
        #[tf()]
        pub(crate) unique_key: Option<Vec<String>>,
        /// Merge: extra conditions on the target rows a run may touch.
        #[tf()]
        pub(crate) incremental_predicates: Option<Vec<String>>,
        /// Merge: update only these columns of matched rows.
        #[tf()]
        pub(crate) merge_update_columns: Option<Vec<String>>,
        /// Merge: update every column of matched rows but these.
        #[tf()]
        pub(crate) merge_exclude_columns: Option<Vec<String>>,
        /// Incremental runs whose columns differ from the table: `ignore` (default), `fail`, `append_new_columns` or `sync_all_columns`.
        #[tf(default = "ignore", validate = validate_schema_change)]
        pub(crate) on_schema_change: Maybe<String>,
        /// `materialized = "snapshot"`: dbt's snapshot settings; each build then adds the query's changed rows as new versions (type-2 history) instead of replacing the table's rows.
        #[tf()]
        pub(crate) snapshot: Option<SnapshotConfig>,
        /// `incremental_strategy = "microbatch"`: dbt's microbatch settings; each build then runs the model once per time batch, the SQL's `__mdw_batch_start__`/`__mdw_batch_end__`/`__mdw_batch_id__` replaced by the batch's bounds, and merges each batch by `unique_key`.
        #[tf()]
        pub(crate) microbatch: Option<MicrobatchConfig>,
        /// Iceberg transforms: `col`, `day(ts)`, `month(ts)`, `bucket(id, 16)`, `truncate(s, 4)` …
        #[tf(validate = validate_partitioning)]
        pub(crate) partitioned_by: Option<Vec<String>>,
        /// Iceberg table properties; `format-version` may only be `"2"` (the table's format), keys starting with `mdw.` are the provider's own.
        #[tf(validate = validate_properties)]
        pub(crate) table_properties: Option<BTreeMap<String, String>>,
        /// Root under which every build gets a fresh location: `s3://bucket/prefix` (or, on the embedded engine's local disk, an absolute directory).
        #[tf(validate = validate_location)]
        pub(crate) external_location: Option<String>,
        /// The table comment (dbt's model description).
        #[tf()]
        pub(crate) description: Option<String>,
        /// Column → comment (dbt's column descriptions).
        #[tf()]
        pub(crate) column_descriptions: Option<BTreeMap<String, String>>,
        /// dbt tags; informational.
        #[tf()]
        pub(crate) model_tags: Option<Vec<String>>,
        /// dbt's pre-hooks: statements the engine runs, in order, right before each build (one statement each, as Athena runs them). A failing hook fails the build before anything is written. A change alone runs nothing.
        #[tf()]
        pub(crate) pre_hooks: Option<Vec<String>>,
        /// dbt's post-hooks: statements the engine runs, in order, right after each build (`OPTIMIZE {this} REWRITE DATA USING BIN_PACK`, `VACUUM {this}` …). A failing hook fails the apply; the new build stays in place, as in dbt.
        #[tf()]
        pub(crate) post_hooks: Option<Vec<String>>,
        /// Any value; a change builds the model again — for a snapshot, runs it, as each `dbt snapshot` does (mdwc passes `var.snapshot_run`).
        #[tf()]
        pub(crate) run_trigger: Option<String>,
        /// Build ids of the models, seeds and sources this model reads; a change rebuilds it, and the references order it after them.
        #[tf()]
        pub(crate) upstream: Option<BTreeMap<String, String>>,
        /// `drop` deletes the table and its data on destroy; `retain` leaves both in place.
        #[tf(default = "drop", validate = validate_on_destroy)]
        pub(crate) on_destroy: Maybe<String>,
        /// The model's dbt data tests by test name, run at apply right after the model builds (and when a test or `test_run_trigger` changes, or a test did not pass last time): an error-severity failure fails the apply, so nothing that reads the model is built in it.
        #[tf()]
        pub(crate) data_tests: Option<BTreeMap<String, TestSpec>>,
        /// Any value; a change runs the data tests again without a rebuild (mdwc passes `var.data_test_run`).
        #[tf()]
        pub(crate) test_run_trigger: Option<String>,
        /// The root's `mdw_lineage` id: the owner id is then `<lineage>/model/<database>.<name>`, so a create retried after a crash recognises its own table and another root's is refused.
        #[tf(validate = validate_lineage)]
        pub(crate) lineage: Option<String>,
        /// The owner marker written on the table or view; a relation carrying another is never replaced or dropped.
        #[tf(computed)]
        pub(crate) owner_id: Maybe<String>,
        /// Hash of the normalised SQL and build settings.
        #[tf(computed)]
        pub(crate) fingerprint: Maybe<String>,
        /// The relation's columns: name, type, comment.
        #[tf(computed)]
        pub(crate) columns: Maybe<Vec<Column>>,
        /// Where the current build's data lives.
        #[tf(computed)]
        pub(crate) data_location: Maybe<String>,
        /// The table's current Iceberg snapshot (null for a view).
        #[tf(computed)]
        pub(crate) snapshot_id: Maybe<String>,
        /// Changes on every build; reference it from dependants.
        #[tf(computed)]
        pub(crate) build_id: Maybe<String>,
        /// Each data test's verdict of its last run: `pass`, `warn`, `fail` or `error` (the query could not run).
        #[tf(computed)]
        pub(crate) data_test_status: Maybe<BTreeMap<String, String>>,
    }
}

/// Attributes whose change rebuilds the table (with the SQL and `upstream`). Tags, `lineage`
/// and `on_destroy` only change state.
const BUILD_INPUTS: [&str; 16] = [
    ModelModel::incremental_sql,
    ModelModel::snapshot,
    ModelModel::microbatch,
    ModelModel::run_trigger,
    ModelModel::materialized,
    ModelModel::incremental_strategy,
    ModelModel::unique_key,
    ModelModel::incremental_predicates,
    ModelModel::merge_update_columns,
    ModelModel::merge_exclude_columns,
    ModelModel::on_schema_change,
    ModelModel::partitioned_by,
    ModelModel::table_properties,
    ModelModel::external_location,
    ModelModel::description,
    ModelModel::column_descriptions,
];

/// What a built relation reports; unknown in the plan whenever the model (re)builds.
pub(crate) const BUILD_OUTPUTS: [&str; 4] = [
    ModelModel::columns,
    ModelModel::data_location,
    ModelModel::snapshot_id,
    ModelModel::build_id,
];

// ---- expand / flatten -----------------------------------------------------------------------

impl ModelModel {
    pub(crate) fn relation(&self) -> String {
        format!("{}.{}", self.database, self.name)
    }

    fn materialization(&self) -> &str {
        self.materialized.known().map_or("table", String::as_str)
    }

    fn partitions(&self) -> Result<Vec<PartitionField>, Diagnostic> {
        self.partitioned_by
            .iter()
            .flatten()
            .map(|p| {
                p.parse::<PartitionField>().map_err(|e| {
                    Diagnostic::error("Invalid partitioned_by entry", e.to_string())
                        .at_attribute(ModelModel::partitioned_by)
                })
            })
            .collect()
    }

    fn table_build(&self, ownership: Ownership) -> Result<TableBuild, Diagnostic> {
        Ok(TableBuild {
            database: self.database.clone(),
            name: self.name.clone(),
            sql: self.sql.clone(),
            partitioned_by: self.partitions()?,
            table_properties: self.table_properties.clone().unwrap_or_default(),
            external_location: self.external_location.clone(),
            description: self.description.clone(),
            column_descriptions: self.column_descriptions.clone().unwrap_or_default(),
            ownership,
        })
    }

    fn incremental_build(
        &self,
        ownership: Ownership,
        run_key: String,
    ) -> Result<IncrementalBuild, Diagnostic> {
        Ok(IncrementalBuild {
            table: self.table_build(ownership)?,
            incremental_sql: self.incremental_sql.clone(),
            strategy: match self.incremental_strategy.as_deref() {
                // Microbatch runs merge each batch (`microbatch::run`).
                Some("merge" | "microbatch") => IncrementalStrategy::Merge,
                _ => IncrementalStrategy::Append,
            },
            unique_key: self.unique_key.clone().unwrap_or_default(),
            incremental_predicates: self.incremental_predicates.clone().unwrap_or_default(),
            merge_update_columns: self.merge_update_columns.clone().unwrap_or_default(),
            merge_exclude_columns: self.merge_exclude_columns.clone().unwrap_or_default(),
            on_schema_change: match self.on_schema_change.known().map(String::as_str) {
                Some("fail") => OnSchemaChange::Fail,
                Some("append_new_columns") => OnSchemaChange::AppendNewColumns,
                Some("sync_all_columns") => OnSchemaChange::SyncAllColumns,
                _ => OnSchemaChange::Ignore,
            },
            run_key: Some(run_key),
        })
    }

    fn view(&self, ownership: Ownership) -> ViewDefinition {
        ViewDefinition {
            database: self.database.clone(),
            name: self.name.clone(),
            sql: self.sql.clone(),
            description: self.description.clone(),
            column_descriptions: self.column_descriptions.clone().unwrap_or_default(),
            ownership,
        }
    }

    fn with_outcome(self, outcome: &BuildOutcome) -> ModelModel {
        ModelModel {
            columns: Maybe::Known(columns(&outcome.columns)),
            data_location: Maybe::Known(outcome.location.clone()),
            snapshot_id: Maybe::from_option(outcome.snapshot_id.map(|s| s.to_string())),
            build_id: Maybe::Known(outcome.build_id.clone()),
            ..self
        }
    }

    pub(crate) fn with_relation(self, info: &RelationInfo) -> ModelModel {
        ModelModel {
            columns: Maybe::Known(columns(&info.columns)),
            data_location: Maybe::from_option(info.location.clone()),
            snapshot_id: Maybe::from_option(info.snapshot_id.map(|s| s.to_string())),
            ..self
        }
    }
}

/// Hash of what the model means: normalised SQL and every build setting. Unknown while any of
/// them is. Hashed from the raw values as they always were, so a provider upgrade rebuilds
/// nothing.
fn fingerprint(planned: &Value) -> Value {
    let inputs = std::iter::once(ModelModel::sql).chain(BUILD_INPUTS);
    let mut hasher = Sha256::new();
    for attribute in inputs {
        let value = planned.get(attribute);
        if !value.is_wholly_known() {
            return Value::unknown();
        }
        // Models without them hash as they did before the attributes existed.
        if [
            ModelModel::incremental_sql,
            ModelModel::snapshot,
            ModelModel::microbatch,
            ModelModel::run_trigger,
        ]
        .contains(&attribute)
            && value.is_null()
        {
            continue;
        }
        let text = if attribute == ModelModel::sql || attribute == ModelModel::incremental_sql {
            sql_text::normalize(value.as_str().unwrap_or_default())
        } else {
            format!("{value:?}")
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

/// Checks across attributes (each attribute's own validator ran first); unknown values skip.
pub(crate) fn cross_checks(config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let mut error = |attribute: &str, summary: &str, detail: String| {
        diags.push(Diagnostic::error(summary, detail).at_attribute(attribute));
    };
    let materialized_value = config.get(ModelModel::materialized);
    let materialized = materialized_value.as_str().unwrap_or("table");
    let known_materialization = !materialized_value.is_unknown();
    let set = |attribute: &str| !config.get(attribute).is_null();
    if known_materialization && materialized != "incremental" {
        for attribute in [
            ModelModel::incremental_strategy,
            ModelModel::incremental_sql,
            ModelModel::unique_key,
            ModelModel::incremental_predicates,
            ModelModel::merge_update_columns,
            ModelModel::merge_exclude_columns,
        ] {
            if set(attribute) {
                error(
                    attribute,
                    &format!("{attribute} needs materialized = \"incremental\""),
                    format!(
                        "This model is materialized as {materialized:?}; remove {attribute} or make it incremental."
                    ),
                );
            }
        }
    }
    let strategy = config.get(ModelModel::incremental_strategy);
    if let Some(strategy @ ("merge" | "microbatch")) = strategy.as_str() {
        let keys = config.get(ModelModel::unique_key);
        if keys.is_null() || keys.as_list().is_some_and(|k| k.is_empty()) {
            error(
                ModelModel::unique_key,
                &format!("The {strategy} strategy needs unique_key"),
                "Set unique_key to the column(s) that identify a row, e.g. unique_key = [\"order_id\"] (dbt-athena merges each microbatch by it).".into(),
            );
        }
    } else if (set(ModelModel::merge_update_columns) || set(ModelModel::merge_exclude_columns))
        && known_materialization
        && materialized == "incremental"
    {
        error(
            ModelModel::incremental_strategy,
            "Merge columns need incremental_strategy = \"merge\"",
            "merge_update_columns and merge_exclude_columns only apply to the merge and microbatch strategies."
                .into(),
        );
    }
    if set(ModelModel::merge_update_columns) && set(ModelModel::merge_exclude_columns) {
        error(
            ModelModel::merge_exclude_columns,
            "merge_update_columns and merge_exclude_columns are exclusive",
            "Set one of them (dbt refuses both): the columns a match updates, or the ones it keeps.".into(),
        );
    }
    if known_materialization && materialized == "snapshot" && !set(ModelModel::snapshot) {
        error(
            ModelModel::snapshot,
            "materialized = \"snapshot\" needs snapshot",
            "Set snapshot = { strategy = \"timestamp\", unique_key = [\"id\"], updated_at = \"updated_at\" } (dbt's snapshot config).".into(),
        );
    }
    if known_materialization && materialized != "snapshot" && set(ModelModel::snapshot) {
        error(
            ModelModel::snapshot,
            "snapshot needs materialized = \"snapshot\"",
            format!(
                "This model is materialized as {materialized:?}; remove snapshot or make it a snapshot."
            ),
        );
    }
    if known_materialization && materialized == "view" && set(ModelModel::partitioned_by) {
        error(
            ModelModel::partitioned_by,
            "A view cannot be partitioned",
            "Remove partitioned_by, or materialize the model as a table.".into(),
        );
    }
    let microbatch_strategy = strategy.as_str() == Some("microbatch");
    if microbatch_strategy && !set(ModelModel::microbatch) {
        error(
            ModelModel::microbatch,
            "incremental_strategy = \"microbatch\" needs microbatch",
            "Set microbatch = { batch_size = \"day\", begin = \"2024-01-01\" } (dbt's microbatch config).".into(),
        );
    }
    if !strategy.is_unknown() && !microbatch_strategy && set(ModelModel::microbatch) {
        error(
            ModelModel::microbatch,
            "microbatch needs incremental_strategy = \"microbatch\"",
            "Remove microbatch, or set materialized = \"incremental\" and incremental_strategy = \"microbatch\".".into(),
        );
    }
    if !strategy.is_unknown() && !microbatch_strategy {
        for attribute in [ModelModel::sql, ModelModel::incremental_sql] {
            if config
                .get(attribute)
                .as_str()
                .is_some_and(microbatch::has_markers)
            {
                error(
                    attribute,
                    "Batch markers outside a microbatch model",
                    "The SQL holds __mdw_batch_start__, __mdw_batch_end__ or __mdw_batch_id__, which only a microbatch model's runs replace; this model would run with them as written. Make it a microbatch model, or remove them.".into(),
                );
            }
        }
    }
    diags.extend(snapshot::cross_checks(
        ModelModel::snapshot,
        config.get(ModelModel::snapshot),
    ));
    diags.extend(microbatch::cross_checks(
        ModelModel::microbatch,
        config.get(ModelModel::microbatch),
    ));
    diags
}

// ---- build / test ----------------------------------------------------------------------------

/// Builds the model as planned (`prior` null on create): its state, and the table's version
/// in the catalog when the engine reports one. On failure the engine has left any existing
/// relation as it was; a relation another owner marked is refused.
async fn build(
    client: &Client,
    prior: &Value,
    planned_value: &Value,
) -> Result<(Value, Option<String>), ApplyError> {
    let planned: ModelModel = from_value(planned_value)?;
    let engine = client.engines.get().await?;
    let model = planned.relation();
    let doing = format!("building model {model}");
    let owner_id = ownership::applied_owner_id(OwnedKind::Model, planned_value);
    let owner = ownership::for_build(prior, &owner_id);
    let post_hooks = planned.post_hooks.clone();
    let has_lineage = planned.lineage.is_some();
    hooks::run(&*engine, &model, "pre-hook", planned.pre_hooks.as_deref()).await?;
    let (state, version) = match planned.materialization() {
        "view" => {
            let info = engine
                .create_view(&planned.view(owner))
                .await
                .map_err(|e| engine_error(&doing, &e))?;
            let state = ModelModel {
                build_id: Maybe::Known(mdw_engine::BuildId::new().to_string()),
                ..planned.with_relation(&info)
            };
            (state, info.version)
        }
        "incremental" => {
            let run_key = ownership::run_key(prior, planned_value, &owner_id);
            let build = planned.incremental_build(owner, run_key)?;
            let outcome = match &planned.microbatch {
                Some(config) => microbatch::run(&*engine, config, &build, &doing).await?,
                None => engine
                    .incremental(&build)
                    .await
                    .map_err(|e| engine_error(&doing, &e))?,
            };
            if outcome.replayed {
                tracing::info!(
                    "model {model}: this run was committed by an earlier, interrupted apply; not applied again"
                );
            }
            log_warnings(&model, &outcome);
            let version = outcome.version.clone();
            (planned.with_outcome(&outcome), version)
        }
        "snapshot" => {
            let config = planned.snapshot.clone().unwrap_or_default();
            let outcome = snapshot::run(
                &*engine,
                &config.snapshot(),
                planned.table_build(owner)?,
                &doing,
            )
            .await?;
            log_warnings(&model, &outcome);
            let version = outcome.version.clone();
            (planned.with_outcome(&outcome), version)
        }
        _ => {
            let outcome = engine
                .build_table(&planned.table_build(owner)?)
                .await
                .map_err(|e| engine_error(&doing, &e))?;
            log_warnings(&model, &outcome);
            let version = outcome.version.clone();
            (planned.with_outcome(&outcome), version)
        }
    };
    let state = to_value(&ModelModel {
        owner_id: Maybe::Known(owner_id),
        ..state
    })?;
    if let Err(error) = hooks::run(&*engine, &model, "post-hook", post_hooks.as_deref()).await {
        // The new build is in place, as in dbt: recorded, so the table stays the model's —
        // except on a create with a lineage, which the retried create finds by its owner id
        // (recording a failed create would have Terraform taint it and drop the table).
        return Err(if prior.is_null() && has_lineage {
            error
        } else {
            error.with_partial_state(state)
        });
    }
    Ok((state, version))
}

/// A model's state after its data tests ran, and their failures (none when all passed).
pub(crate) struct Tested {
    pub(crate) state: Value,
    pub(crate) failures: Diagnostics,
    /// The table's version in the catalog after a build in this apply, when the engine
    /// reported one ([`mdw_engine::BuildOutcome::version`]).
    pub(crate) version: Option<String>,
}

/// Runs the model's data tests when the plan asked for it (`built` is the model's state after
/// any build), and drops the stored failures of tests that no longer keep them. The state
/// records every verdict, failures included: the caller decides whether it is kept.
pub(crate) async fn test(
    client: &Client,
    prior: &Value,
    built: Value,
) -> Result<Tested, ApplyError> {
    let model: ModelModel = from_value(&built)?;
    let engine = client.engines.get().await?;
    let prior_tests = if prior.is_null() {
        model_tests::Tests::new()
    } else {
        model_tests::of(&from_value::<ModelModel>(prior)?.data_tests)
    };
    let tests = model_tests::of(&model.data_tests);
    model_tests::drop_unstored(
        engine.as_ref(),
        &prior_tests,
        &tests,
        model.lineage.as_deref(),
    )
    .await?;
    if !test_run::run_planned(&built, ModelModel::data_test_status) {
        return Ok(Tested {
            state: built,
            failures: Diagnostics::new(),
            version: None,
        });
    }
    let outcome = model_tests::run(
        engine.as_ref(),
        &tests,
        ModelModel::data_tests,
        &model.relation(),
        model.lineage.as_deref(),
    )
    .await;
    let state = to_value(&ModelModel {
        data_test_status: Maybe::Known(outcome.status),
        ..model
    })?;
    Ok(Tested {
        state,
        failures: outcome.errors,
        version: None,
    })
}

/// `database.name` of a planned model, for messages.
fn planned_relation(planned: &Value) -> String {
    format!(
        "{}.{}",
        planned
            .get(ModelModel::database)
            .as_str()
            .unwrap_or_default(),
        planned.get(ModelModel::name).as_str().unwrap_or_default()
    )
}

/// What can only be checked with the engine, before anything is built: the configured
/// engine opens (on Athena: the workgroup exists and is enabled) and can run the SQL (the
/// embedded engine refuses Athena SQL it cannot answer exactly).
async fn check_with_engine(client: &Client, planned: &Value) -> Result<(), Diagnostics> {
    let engine = client.engines.get().await?;
    let model = planned_relation(planned);
    let mut diags = Diagnostics::new();
    for attribute in [ModelModel::sql, ModelModel::incremental_sql] {
        if let Some(sql) = planned.get(attribute).as_str()
            && let Err(e) = engine.check_sql(&microbatch::sample_batch(sql))
        {
            diags.push(
                Diagnostic::error(
                    format!("Model {model} cannot run on this engine"),
                    format!("{e}. Rewrite the model's SQL, or build it with engine = \"athena\"."),
                )
                .at_attribute(attribute),
            );
        }
    }
    let config = planned.get(ModelModel::snapshot);
    if !config.is_null()
        && config.is_wholly_known()
        && let Ok(config) = from_value::<SnapshotConfig>(config)
    {
        diags.extend(snapshot::check_with_engine(
            &*engine,
            &model,
            ModelModel::snapshot,
            &config,
        ));
    }
    // A predicate is an expression, not a query: checked inside one, so a Trino function the
    // engine cannot run is refused at plan rather than at the merge.
    if let Some(predicates) = planned.get(ModelModel::incremental_predicates).as_list() {
        for (i, predicate) in predicates.iter().enumerate() {
            let Some(predicate) = predicate.as_str() else {
                continue;
            };
            if let Err(e) = engine.check_sql(&format!("select 1 from t where {predicate}")) {
                diags.push(
                    Diagnostic::error(
                        format!("Model {model}: an incremental predicate cannot run on this engine"),
                        format!("{e}. Rewrite the predicate, or build the model with engine = \"athena\"."),
                    )
                    .at(AttributePath::root(ModelModel::incremental_predicates).index(i as i64)),
                );
            }
        }
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(())
    }
}
fn log_warnings(model: &str, outcome: &BuildOutcome) {
    for warning in &outcome.warnings {
        tracing::warn!("model {model}: {warning}");
    }
}

// ---- plan / apply / read / drop -------------------------------------------------------------

/// When a model is planned.
#[derive(Clone, Copy)]
pub(crate) enum Stage {
    /// In Terraform's plan, by a resource of this type: the model claims its relation for it
    /// and, when it builds, has its SQL checked by the engine.
    Plan(&'static str),
    /// Again at apply, from the planned values (`mdw_model_group`, whose plan keeps each model's
    /// computed values in one string): the same decisions, without the plan's checks.
    Apply,
}

/// Plans one model: its fingerprint, whether it (re)builds — created, its meaning or an
/// upstream build changed, its relation is gone (`build_id` null), or `forced` (a model it
/// reads rebuilds in the same resource) — its owner id and its tests; at `Stage::Plan` claims
/// its relation and checks the SQL with the engine when it builds.
pub(crate) async fn plan(
    client: &Client,
    change: &mut PlanChange<'_>,
    stage: Stage,
    forced: bool,
) -> Result<(), Diagnostics> {
    if !change.is_create() {
        // The same query laid out differently is the same model: keep the stored text, so
        // the plan shows no change.
        for attribute in [ModelModel::sql, ModelModel::incremental_sql] {
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
    change.planned.set(ModelModel::fingerprint, fingerprint);
    let rebuild = forced
        || change.is_create()
        || change.prior.get(ModelModel::build_id).is_null()
        || change.changes(ModelModel::fingerprint)
        || change.changes(ModelModel::upstream);
    if let Stage::Plan(type_name) = stage {
        ownership::claim_relation(&client.claims, type_name, change)?;
    }
    ownership::plan_owner_id(OwnedKind::Model, change, rebuild);
    model_tests::plan(
        change,
        rebuild,
        ModelModel::data_tests,
        ModelModel::test_run_trigger,
        ModelModel::data_test_status,
    );
    if rebuild {
        for output in BUILD_OUTPUTS {
            change.planned.set(output, Value::unknown());
        }
        if let Stage::Plan(_) = stage {
            check_with_engine(client, &change.planned).await?;
        }
    }
    if let Stage::Plan(_) = stage
        && (rebuild
            || change.changes(ModelModel::pre_hooks)
            || change.changes(ModelModel::post_hooks))
    {
        let planned = &change.planned;
        hooks::check(
            &*client.engines.get().await?,
            &planned_relation(planned),
            [
                (ModelModel::pre_hooks, planned.get(ModelModel::pre_hooks)),
                (ModelModel::post_hooks, planned.get(ModelModel::post_hooks)),
            ],
        )?;
    }
    Ok(())
}

/// Whether the plan builds the model.
pub(crate) fn builds(planned: &Value) -> bool {
    planned.get(ModelModel::build_id).is_unknown()
}

/// Applies one planned model (`prior` null when new): builds it when planned — a change of
/// materialization (table ↔ view ↔ incremental) is a build like any other, the new relation
/// built aside and swapped in — then runs its tests when planned.
pub(crate) async fn apply(
    client: &Client,
    prior: &Value,
    planned: &Value,
) -> Result<Tested, ApplyError> {
    let (built, version) = if builds(planned) {
        build(client, prior, planned).await?
    } else {
        (planned.clone(), None)
    };
    Ok(Tested {
        version,
        ..test(client, prior, built).await?
    })
}

/// The model as the catalog has it now, or `None` when its relation is gone, is not this
/// model's (another owner's marker) or is of the other kind (a view for a table).
pub(crate) async fn read(
    client: &Client,
    state_value: &Value,
) -> Result<Option<Value>, Diagnostics> {
    let state: ModelModel = from_value(state_value)?;
    let engine = client.engines.get().await?;
    let info = engine
        .describe(&state.database, &state.name)
        .await
        .map_err(|e| engine_error(&format!("reading model {}", state.relation()), &e))?;
    let expected_view = state.materialization() == "view";
    Ok(match info {
        // Someone else's relation under this name (another root built it, or it was dropped
        // and recreated outside Terraform) is not this model: a build refuses to replace it
        // and says how to adopt it.
        Some(info) if !ownership::still_owned(state_value, info.owner.as_deref()) => {
            tracing::warn!(
                "{} now carries owner marker {:?}, not this model's",
                state.relation(),
                info.owner
            );
            None
        }
        // A view where a table should be (or the reverse) is not this model: plan a build.
        Some(info) if (info.kind == RelationKind::View) == expected_view => {
            Some(to_value(&state.with_relation(&info))?)
        }
        _ => None,
    })
}

/// Drops the model's relation and its tests' stored failures (unless `on_destroy` is
/// `retain`); a relation another owner holds now is left alone.
pub(crate) async fn drop(client: &Client, state_value: &Value) -> Result<(), Diagnostics> {
    let state: ModelModel = from_value(state_value)?;
    if state.on_destroy.known().map(String::as_str) == Some("retain") {
        tracing::info!("model {} retained on destroy", state.relation());
        return Ok(());
    }
    let engine = client.engines.get().await?;
    // A table another resource of this root has built since (a model moved into or out of a
    // group, or between groups, carries the same owner id) is not this state's to drop: its
    // data lives at another build's location than the one this state last saw.
    if let Some(known) = state.data_location.known()
        && let Ok(Some(info)) = engine.describe(&state.database, &state.name).await
        && info.kind != RelationKind::View
        && info.location.as_deref().is_some_and(|now| now != known)
    {
        tfplugin::warn(Diagnostic::warning(
            format!("Model {} not dropped", state.relation()),
            format!(
                "Another resource of this configuration has built it again since (its data is now at {}, not {known}), so it is that resource's to keep or drop.",
                info.location.as_deref().unwrap_or_default()
            ),
        ));
        return Ok(());
    }
    model_tests::drop_unstored(
        engine.as_ref(),
        &model_tests::of(&state.data_tests),
        &model_tests::Tests::new(),
        state.lineage.as_deref(),
    )
    .await?;
    let drop = DropRelation {
        database: state.database.clone(),
        name: state.name.clone(),
        purge: true,
        external_location: state.external_location.clone(),
        ownership: ownership::for_state(state_value),
    };
    match engine.drop_relation(&drop).await {
        Ok(_) => Ok(()),
        // Another owner's relation now holds the name: leaving it is the only safe thing.
        Err(EngineError::NotOwned { found_owner, .. }) => {
            tracing::warn!(
                "model {} not dropped: it is owned by {found_owner:?} now",
                state.relation()
            );
            Ok(())
        }
        Err(e) => Err(engine_error(&format!("dropping model {}", state.relation()), &e).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(sql: &str) -> Value {
        Value::object([
            (ModelModel::database, Value::from("mdw")),
            (ModelModel::name, Value::from("m")),
            (ModelModel::sql, Value::from(sql)),
            (ModelModel::materialized, Value::from("table")),
        ])
    }

    #[test]
    fn fingerprint_ignores_layout_but_not_meaning() {
        let a = fingerprint(&model("select 1 as x -- one\n"));
        assert_eq!(a, fingerprint(&model("select   1 as x")));
        assert_ne!(a, fingerprint(&model("select 2 as x")));
        let mut partitioned = model("select 1 as x");
        partitioned.set(
            ModelModel::partitioned_by,
            Value::from(vec!["x".to_string()]),
        );
        assert_ne!(a, fingerprint(&partitioned));
        let mut unknown = model("select 1");
        unknown.set(ModelModel::sql, Value::unknown());
        assert!(fingerprint(&unknown).is_unknown());
    }

    #[test]
    fn partition_specs_are_checked() {
        let specs = |s: &[&str]| Value::from(s.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(validate_partitioning(&specs(&["day(ts)", "bucket(id, 16)"])).is_ok());
        assert!(validate_partitioning(&specs(&["fortnight(ts)"])).is_err());
        assert!(validate_partitioning(&specs(&["day(ts)", "day(\"ts\")"])).is_err());
    }

    #[test]
    fn cross_attribute_mistakes_are_found() {
        let mut merge = model("select 1 as id");
        merge.set(ModelModel::materialized, "incremental");
        merge.set(ModelModel::incremental_strategy, "merge");
        merge.set(ModelModel::unique_key, Value::List(Vec::new()));
        assert!(cross_checks(&merge).has_errors());
        let mut table = model("select 1 as id");
        table.set(ModelModel::incremental_sql, "select 2 as id");
        assert!(cross_checks(&table).has_errors());
        assert!(!cross_checks(&model("select 1")).has_errors());
    }
}
