//! The Athena engine of mdw: models become Iceberg tables built by Athena.
//!
//! A table build writes the query into a new table at a location no other attempt used
//! (`CREATE TABLE … WITH (table_type='ICEBERG', location=…) AS`), then swaps it in with two
//! renames and drops the old table. The first build of a model is the CTAS alone. A failed
//! query leaves the existing table untouched and nothing behind; a run killed between the
//! renames leaves `<name>__mdw_tmp_*` / `<name>__mdw_bkp_*` tables that the next build of the
//! model puts right (restoring the old table if the new one never arrived) before it starts.
//!
//! Statements per model, against dbt-athena's 4–6 plus a fixed 1 s poll:
//! first table build 1; rebuild 4 (CTAS, rename old → bkp, rename new → name, drop bkp);
//! view 1; seed 3 (external CSV table, CTAS, drop; a reload adds the swap's 3);
//! incremental append or merge 2 (a `limit 0` probe of the query's columns, then
//! `insert into` / `merge into`), plus one `alter table … add columns` on a schema change;
//! destroy 1. Catalog reads (drift, leftovers) go to Glue, not Athena.

mod glue;
mod query;
mod seed;
mod sql;

use std::collections::BTreeSet;

use async_trait::async_trait;
use mdw_engine::{
    BuildOutcome, ColumnInfo, Engine, EngineError, IncrementalBuild, IncrementalStrategy,
    OnSchemaChange, PartitionField, QueryResult, RelationInfo, RelationKind, SeedLoad, TableBuild,
    ViewDefinition, normalize_identifier,
};
use tokio::sync::watch;

use glue::Catalog;
use query::{QueryFailure, QueryRunner, QuerySettings, jittered_backoff};

/// Marks the stage table of a build and the old table during a swap. Glue lower-cases names,
/// and `__mdw_` does not appear in names dbt projects give their models.
const TMP_MARK: &str = "__mdw_tmp_";
const BKP_MARK: &str = "__mdw_bkp_";
/// The external CSV table a seed load reads from.
const CSV_MARK: &str = "__mdw_csv_";

/// Attempts of a statement Athena reports as retryable or as an Iceberg commit conflict.
const QUERY_ATTEMPTS: u32 = 3;

/// How the provider configures the engine.
#[derive(Debug, Clone)]
pub struct AthenaSettings {
    pub workgroup: String,
    /// The data catalog queries run in (`awsdatacatalog`).
    pub catalog: String,
    /// Query result location, used when the workgroup does not enforce its own.
    pub output_location: Option<String>,
    /// Root of the tables' data (`<root>/<database>/<name>/<build id>`); without it a table
    /// goes under its Glue database's location.
    pub data_location: Option<String>,
}

pub struct AthenaEngine {
    runner: QueryRunner,
    glue: Catalog,
    /// Seeds are uploaded here before Athena reads them.
    s3: aws_sdk_s3::Client,
    catalog_name: String,
    data_location: Option<String>,
}

impl AthenaEngine {
    /// Checks the workgroup (it must exist and be enabled) and decides where results go: a
    /// workgroup that enforces its configuration keeps its own result location, otherwise
    /// the provider's `output_location` is sent (or the workgroup's default is used).
    pub async fn open(
        athena: aws_sdk_athena::Client,
        glue: aws_sdk_glue::Client,
        s3: aws_sdk_s3::Client,
        settings: AthenaSettings,
        stop: watch::Receiver<bool>,
    ) -> Result<Self, EngineError> {
        let workgroup = athena
            .get_work_group()
            .work_group(&settings.workgroup)
            .send()
            .await
            .map_err(|e| EngineError::Catalog {
                context: format!("reading Athena workgroup {:?}", settings.workgroup),
                message: aws_sdk_athena::error::DisplayErrorContext(&e).to_string(),
            })?;
        let Some(group) = workgroup.work_group().filter(|g| !g.name().is_empty()) else {
            return Err(EngineError::NotFound(format!(
                "Athena workgroup {:?} does not exist; create it (mdw_athena_workgroup) or set \
                 workgroup in the provider block",
                settings.workgroup
            )));
        };
        if group.state() == Some(&aws_sdk_athena::types::WorkGroupState::Disabled) {
            return Err(EngineError::InvalidInput(format!(
                "Athena workgroup {:?} is disabled; enable it or choose another",
                settings.workgroup
            )));
        }
        let configuration = group.configuration();
        let enforced = configuration
            .and_then(|c| c.enforce_work_group_configuration())
            .unwrap_or(false);
        let own_location = configuration
            .and_then(|c| c.result_configuration())
            .and_then(|r| r.output_location())
            .filter(|l| !l.is_empty());
        let output_location = if enforced {
            None
        } else {
            settings.output_location.clone()
        };
        if output_location.is_none() && own_location.is_none() {
            return Err(EngineError::InvalidInput(format!(
                "Athena workgroup {:?} has no query result location; set athena = {{ \
                 output_location = \"s3://…\" }} in the provider block or give the workgroup one",
                settings.workgroup
            )));
        }
        let query_settings = QuerySettings {
            workgroup: settings.workgroup,
            catalog: settings.catalog.clone(),
            output_location,
        };
        Ok(AthenaEngine {
            runner: QueryRunner::new(athena, query_settings, stop),
            glue: Catalog::new(glue),
            s3,
            catalog_name: settings.catalog,
            data_location: settings.data_location,
        })
    }

    /// Runs one statement of an operation on `db.name`, retrying what Athena says may be
    /// retried; the error names the relation, the statement and the query id.
    async fn run(&self, doing: &str, statement: &str) -> Result<String, EngineError> {
        let mut attempt = 0;
        loop {
            match self.runner.run(statement).await {
                Ok(done) => return Ok(done.query_id),
                Err(failure) if failure.is_retryable() && attempt + 1 < QUERY_ATTEMPTS => {
                    attempt += 1;
                    tracing::info!(doing, failure = %failure.describe(), "retrying");
                    tokio::time::sleep(jittered_backoff(attempt)).await;
                }
                Err(failure) => return Err(sql_error(doing, statement, &failure)),
            }
        }
    }

    /// Where a new build of `db.name` writes its data.
    async fn fresh_location(
        &self,
        database: &str,
        name: &str,
        external_location: Option<&str>,
        build_id: &str,
    ) -> Result<String, EngineError> {
        let root = match external_location.or(self.data_location.as_deref()) {
            Some(root) => format!("{}/{database}", root.trim_end_matches('/')),
            None => self
                .glue
                .database_location(database)
                .await?
                .ok_or_else(|| {
                    EngineError::InvalidInput(format!(
                        "no location for {database}.{name}: set the model's external_location, \
                     athena = {{ data_location = \"s3://…\" }} in the provider block, or the \
                     location_uri of Glue database {database}"
                    ))
                })?,
        };
        Ok(format!("{}/{name}/{build_id}", root.trim_end_matches('/')))
    }

    /// Puts right what a build that died half-way left of `db.name`: restores the old table if
    /// the new one never arrived, then drops every stage and backup table.
    async fn clean_leftovers(&self, database: &str, name: &str) -> Result<(), EngineError> {
        let leftovers = self
            .glue
            .table_names(database, &format!("{name}__mdw_"))
            .await?;
        let (mut backups, stages): (Vec<String>, Vec<String>) = leftovers
            .into_iter()
            .filter(|n| n.contains(TMP_MARK) || n.contains(BKP_MARK))
            .partition(|n| n.contains(BKP_MARK));
        if backups.is_empty() && stages.is_empty() {
            return Ok(());
        }
        tracing::info!(?backups, ?stages, "cleaning up after an interrupted build");
        if self.glue.describe(database, name).await?.is_none()
            && let Some(backup) = backups.pop()
        {
            self.run(
                &format!("restoring {database}.{name} from {backup}"),
                &sql::rename_table(database, &backup, name)?,
            )
            .await?;
        }
        for leftover in backups.iter().chain(&stages) {
            self.run(
                &format!("dropping {database}.{leftover} left by an interrupted build"),
                &sql::drop_table(database, leftover)?,
            )
            .await?;
        }
        Ok(())
    }

    /// Drops a stage table if a failed CTAS registered it; failures here only log, the next
    /// build cleans up.
    async fn discard_stage(&self, database: &str, stage: &str) {
        match self.glue.describe(database, stage).await {
            Ok(None) => {}
            _ => {
                if let Ok(statement) = sql::drop_table(database, stage)
                    && let Err(e) = self
                        .run("dropping a failed build's table", &statement)
                        .await
                {
                    tracing::warn!(error = %e, "could not drop {database}.{stage}; the next build will");
                }
            }
        }
    }

    async fn described(&self, database: &str, name: &str) -> Result<RelationInfo, EngineError> {
        self.glue
            .describe(database, name)
            .await?
            .ok_or_else(|| EngineError::Catalog {
                context: format!("reading {database}.{name} after Athena built it"),
                message: "the Glue catalog has no such table".to_string(),
            })
    }

    /// Puts the seed's file under `location`; returns its bucket and key.
    async fn upload(
        &self,
        location: &str,
        seed: &SeedLoad,
        context: &str,
    ) -> Result<(String, String), EngineError> {
        let Some((bucket, prefix)) = location
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
        else {
            return Err(EngineError::InvalidInput(format!(
                "{context}: {location} is not an s3://bucket/prefix location"
            )));
        };
        let key = format!("{prefix}/seed.csv");
        let body = aws_sdk_s3::primitives::ByteStream::from_path(&seed.path)
            .await
            .map_err(|e| {
                EngineError::InvalidInput(format!("{context}: cannot read the file: {e}"))
            })?;
        self.s3
            .put_object()
            .bucket(bucket)
            .key(&key)
            .body(body)
            .send()
            .await
            .map_err(|e| EngineError::Storage {
                context: format!("{context}: uploading to s3://{bucket}/{key}"),
                message: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
            })?;
        Ok((bucket.to_string(), key))
    }

    /// Descriptions are documentation: failing to write them does not fail the build.
    async fn persist_docs(
        &self,
        database: &str,
        name: &str,
        description: &Option<String>,
        column_descriptions: &std::collections::BTreeMap<String, String>,
        warnings: &mut Vec<String>,
    ) {
        let comments = column_descriptions
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        let description = description.as_deref().filter(|d| !d.is_empty());
        if let Err(e) = self
            .glue
            .persist_docs(database, name, description, &comments)
            .await
        {
            warnings.push(format!(
                "the table is built, but its descriptions are not: {e}"
            ));
        }
    }

    /// The columns of the model's query, from a `limit 0` run (no data scanned).
    async fn query_columns(
        &self,
        doing: &str,
        select: &str,
    ) -> Result<Vec<(String, String)>, EngineError> {
        let statement = sql::probe_columns(select);
        let (columns, _, _) = self
            .runner
            .fetch(&statement, 0)
            .await
            .map_err(|f| sql_error(doing, &statement, &f))?;
        if columns.is_empty() {
            return Err(EngineError::Sql {
                context: doing.to_string(),
                message: "Athena returned no columns for the model's query".to_string(),
            });
        }
        Ok(columns)
    }
}

fn new_build_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The part of a build id used in stage/backup table names (Glue names are ≤ 255 characters).
fn short_id(build_id: &str) -> &str {
    &build_id[..12]
}

fn sql_error(doing: &str, statement: &str, failure: &QueryFailure) -> EngineError {
    let first_line = statement.lines().next().unwrap_or_default();
    let shown: String = first_line.chars().take(120).collect();
    EngineError::Sql {
        context: format!("{doing} (statement: {shown}…)"),
        message: failure.describe(),
    }
}

fn names(build_database: &str, build_name: &str) -> Result<(String, String), EngineError> {
    Ok((
        normalize_identifier("database", build_database)?,
        normalize_identifier("table name", build_name)?,
    ))
}

fn outcome(build_id: String, info: RelationInfo) -> BuildOutcome {
    BuildOutcome {
        build_id,
        columns: info.columns,
        location: info.location.unwrap_or_default(),
        snapshot_id: None,
        row_count: 0,
        rows_written: 0,
        warnings: Vec::new(),
    }
}

#[async_trait]
impl Engine for AthenaEngine {
    fn catalog_name(&self) -> &str {
        &self.catalog_name
    }

    async fn ensure_database(&self, database: &str) -> Result<(), EngineError> {
        let database = normalize_identifier("database", database)?;
        self.glue.ensure_database(&database).await
    }

    async fn build_table(&self, build: &TableBuild) -> Result<BuildOutcome, EngineError> {
        let (database, name) = names(&build.database, &build.name)?;
        let partitions: Vec<PartitionField> = build
            .partitioned_by
            .iter()
            .map(|p| p.parse())
            .collect::<Result<_, _>>()?;
        self.clean_leftovers(&database, &name).await?;
        let existing = self.glue.describe(&database, &name).await?;
        let doing = format!("building {database}.{name}");

        // Each attempt writes to a fresh table at a fresh location: a retried CTAS never sees
        // the files of the one that failed.
        let mut attempt = 0;
        let (build_id, stage) = loop {
            let build_id = new_build_id();
            let stage = match existing {
                None => name.clone(),
                Some(_) => format!("{name}{TMP_MARK}{}", short_id(&build_id)),
            };
            let location = self
                .fresh_location(
                    &database,
                    &name,
                    build.external_location.as_deref(),
                    &build_id,
                )
                .await?;
            let statement = sql::create_table_as(
                &database,
                &stage,
                &location,
                &partitions,
                &build.table_properties,
                &build.sql,
            )?;
            match self.runner.run(&statement).await {
                Ok(_) => break (build_id, stage),
                Err(failure) => {
                    self.discard_stage(&database, &stage).await;
                    if failure.is_retryable() && attempt + 1 < QUERY_ATTEMPTS {
                        attempt += 1;
                        tracing::info!(failure = %failure.describe(), "re-running the build at a fresh location");
                        tokio::time::sleep(jittered_backoff(attempt)).await;
                        continue;
                    }
                    return Err(sql_error(&doing, &statement, &failure));
                }
            }
        };

        let mut warnings = Vec::new();
        match existing.map(|e| e.kind) {
            None => {}
            Some(RelationKind::View) => {
                let swap = async {
                    self.run(&doing, &sql::drop_view(&database, &name)).await?;
                    self.run(&doing, &sql::rename_table(&database, &stage, &name)?)
                        .await
                };
                if let Err(e) = swap.await {
                    self.discard_stage(&database, &stage).await;
                    return Err(e);
                }
            }
            Some(RelationKind::Table) => {
                let backup = format!("{name}{BKP_MARK}{}", short_id(&build_id));
                if let Err(e) = self
                    .run(&doing, &sql::rename_table(&database, &name, &backup)?)
                    .await
                {
                    self.discard_stage(&database, &stage).await;
                    return Err(e);
                }
                if let Err(e) = self
                    .run(&doing, &sql::rename_table(&database, &stage, &name)?)
                    .await
                {
                    // Put the old table back before reporting: the model stays readable.
                    self.run(
                        &format!("restoring {database}.{name}"),
                        &sql::rename_table(&database, &backup, &name)?,
                    )
                    .await?;
                    self.discard_stage(&database, &stage).await;
                    return Err(e);
                }
                if let Err(e) = self
                    .run(&doing, &sql::drop_table(&database, &backup)?)
                    .await
                {
                    warnings.push(format!(
                        "the previous table is still there as {database}.{backup} ({e}); the \
                         next build of the model drops it"
                    ));
                }
            }
        }
        self.persist_docs(
            &database,
            &name,
            &build.description,
            &build.column_descriptions,
            &mut warnings,
        )
        .await;
        let mut result = outcome(build_id, self.described(&database, &name).await?);
        result.warnings = warnings;
        Ok(result)
    }

    async fn incremental(&self, build: &IncrementalBuild) -> Result<BuildOutcome, EngineError> {
        let (database, name) = names(&build.table.database, &build.table.name)?;
        let existing = match self.glue.describe(&database, &name).await? {
            Some(info) if info.kind == RelationKind::Table => info,
            _ => return self.build_table(&build.table).await,
        };
        let doing = format!("incremental run of {database}.{name}");
        if build.strategy == IncrementalStrategy::Merge && build.unique_key.is_empty() {
            return Err(EngineError::InvalidInput(format!(
                "{doing}: incremental_strategy 'merge' needs unique_key"
            )));
        }
        let query = build.incremental_sql.as_deref().unwrap_or(&build.table.sql);
        let query_columns = self.query_columns(&doing, query).await?;
        let table_names: BTreeSet<&str> =
            existing.columns.iter().map(|c| c.name.as_str()).collect();
        let query_names: BTreeSet<&str> = query_columns.iter().map(|(n, _)| n.as_str()).collect();
        let added: Vec<&(String, String)> = query_columns
            .iter()
            .filter(|(n, _)| !table_names.contains(n.as_str()))
            .collect();
        let removed: Vec<&ColumnInfo> = existing
            .columns
            .iter()
            .filter(|c| !query_names.contains(c.name.as_str()))
            .collect();
        let schema_changed = !added.is_empty() || !removed.is_empty();
        let insert_columns: Vec<String> = match build.on_schema_change {
            OnSchemaChange::Fail if schema_changed => {
                return Err(EngineError::SchemaChanged {
                    context: doing,
                    added: added.iter().map(|(n, _)| n.clone()).collect(),
                    removed: removed.iter().map(|c| c.name.clone()).collect(),
                    changed: Vec::new(),
                });
            }
            OnSchemaChange::Ignore | OnSchemaChange::Fail => query_columns
                .iter()
                .map(|(n, _)| n.clone())
                .filter(|n| table_names.contains(n.as_str()))
                .collect(),
            OnSchemaChange::AppendNewColumns | OnSchemaChange::SyncAllColumns => {
                if !added.is_empty() {
                    let new: Vec<(String, String)> = added
                        .iter()
                        .map(|(n, ty)| (n.clone(), sql::hive_type(ty)))
                        .collect();
                    self.run(&doing, &sql::add_columns(&database, &name, &new)?)
                        .await?;
                }
                if build.on_schema_change == OnSchemaChange::SyncAllColumns {
                    for column in &removed {
                        self.run(&doing, &sql::drop_column(&database, &name, &column.name)?)
                            .await?;
                    }
                }
                query_columns.iter().map(|(n, _)| n.clone()).collect()
            }
        };
        let statement = match build.strategy {
            IncrementalStrategy::Append => {
                sql::insert_into(&database, &name, &insert_columns, query)
            }
            IncrementalStrategy::Merge => {
                let keys: Vec<String> = build
                    .unique_key
                    .iter()
                    .map(|k| k.to_ascii_lowercase())
                    .collect();
                let update: Vec<String> = if !build.merge_update_columns.is_empty() {
                    build
                        .merge_update_columns
                        .iter()
                        .map(|c| c.to_ascii_lowercase())
                        .collect()
                } else {
                    let excluded: BTreeSet<String> = build
                        .merge_exclude_columns
                        .iter()
                        .map(|c| c.to_ascii_lowercase())
                        .collect();
                    insert_columns
                        .iter()
                        .filter(|c| !keys.contains(c) && !excluded.contains(*c))
                        .cloned()
                        .collect()
                };
                sql::merge_into(
                    &database,
                    &name,
                    &insert_columns,
                    &keys,
                    &update,
                    &build.incremental_predicates,
                    query,
                )
            }
        };
        // A failed insert or merge commits nothing, so `run`'s retries are safe.
        self.run(&doing, &statement).await?;
        let mut warnings = Vec::new();
        self.persist_docs(
            &database,
            &name,
            &build.table.description,
            &build.table.column_descriptions,
            &mut warnings,
        )
        .await;
        let mut result = outcome(new_build_id(), self.described(&database, &name).await?);
        result.warnings = warnings;
        Ok(result)
    }

    async fn create_view(&self, view: &ViewDefinition) -> Result<RelationInfo, EngineError> {
        let (database, name) = names(&view.database, &view.name)?;
        let doing = format!("creating view {database}.{name}");
        self.clean_leftovers(&database, &name).await?;
        if let Some(existing) = self.glue.describe(&database, &name).await?
            && existing.kind == RelationKind::Table
        {
            self.run(&doing, &sql::drop_table(&database, &name)?)
                .await?;
        }
        self.run(&doing, &sql::create_view(&database, &name, &view.sql))
            .await?;
        let mut warnings = Vec::new();
        self.persist_docs(
            &database,
            &name,
            &view.description,
            &view.column_descriptions,
            &mut warnings,
        )
        .await;
        for warning in warnings {
            tracing::warn!("{doing}: {warning}");
        }
        self.described(&database, &name).await
    }

    async fn describe(
        &self,
        database: &str,
        name: &str,
    ) -> Result<Option<RelationInfo>, EngineError> {
        let (database, name) = names(database, name)?;
        self.glue.describe(&database, &name).await
    }

    async fn drop_relation(
        &self,
        database: &str,
        name: &str,
        purge: bool,
    ) -> Result<bool, EngineError> {
        let (database, name) = names(database, name)?;
        let Some(existing) = self.glue.describe(&database, &name).await? else {
            return Ok(false);
        };
        let doing = format!("dropping {database}.{name}");
        match (existing.kind, purge) {
            (RelationKind::View, _) => {
                self.run(&doing, &sql::drop_view(&database, &name)).await?;
            }
            // Athena deletes an Iceberg table's files with it.
            (RelationKind::Table, true) => {
                self.run(&doing, &sql::drop_table(&database, &name)?)
                    .await?;
            }
            // `retain`: only the catalog entry goes; the data and metadata stay in S3.
            (RelationKind::Table, false) => {
                self.glue.forget_table(&database, &name).await?;
            }
        }
        Ok(true)
    }

    async fn load_csv(&self, seed: &SeedLoad) -> Result<BuildOutcome, EngineError> {
        let (database, name) = names(&seed.database, &seed.name)?;
        let context = format!(
            "loading seed {database}.{name} from {}",
            seed.path.display()
        );
        let columns = seed::read_columns(seed, &context)?;
        let unknown = seed::unknown_columns(&columns, &seed.column_descriptions);
        if !unknown.is_empty() {
            return Err(EngineError::InvalidInput(format!(
                "{context}: column_descriptions names columns the file does not have: {unknown:?}"
            )));
        }
        self.glue.ensure_database(&database).await?;
        // CSV tables of loads that died are dropped first (their uploads were per load).
        for stale in self
            .glue
            .table_names(&database, &format!("{name}{CSV_MARK}"))
            .await?
        {
            self.run(&context, &sql::drop_table(&database, &stale)?)
                .await?;
        }
        let upload_id = new_build_id();
        let csv_table = format!("{name}{CSV_MARK}{}", short_id(&upload_id));
        let location = self
            .fresh_location(
                &database,
                &format!("{name}__mdw_csv"),
                seed.external_location.as_deref(),
                &upload_id,
            )
            .await?;
        let key = self.upload(&location, seed, &context).await?;
        let loaded = async {
            let statement = seed::create_csv_table(
                &database,
                &csv_table,
                &columns,
                seed.delimiter,
                &format!("{location}/"),
            )?;
            self.run(&context, &statement).await?;
            self.build_table(&TableBuild {
                database: database.clone(),
                name: name.clone(),
                sql: seed::select_typed(&database, &csv_table, &columns),
                partitioned_by: Vec::new(),
                table_properties: seed.table_properties.clone(),
                external_location: seed.external_location.clone(),
                description: seed.description.clone(),
                column_descriptions: seed.column_descriptions.clone(),
            })
            .await
        }
        .await;
        // The external table only names the upload: dropping it leaves the file, which goes too.
        let mut warnings = Vec::new();
        if let Err(e) = self
            .run(&context, &sql::drop_table(&database, &csv_table)?)
            .await
        {
            warnings.push(format!(
                "the CSV table {database}.{csv_table} is left ({e}); the next load drops it"
            ));
        }
        if let Err(e) = self
            .s3
            .delete_object()
            .bucket(&key.0)
            .key(&key.1)
            .send()
            .await
        {
            warnings.push(format!(
                "the uploaded file s3://{}/{} is left: {}",
                key.0,
                key.1,
                aws_sdk_s3::error::DisplayErrorContext(&e)
            ));
        }
        let mut outcome = loaded?;
        outcome.warnings.extend(warnings);
        Ok(outcome)
    }

    async fn query(&self, sql_text: &str, max_rows: usize) -> Result<QueryResult, EngineError> {
        if !is_read_only(sql_text) {
            return Err(EngineError::InvalidInput(
                "only read-only queries (select, with, values, show, describe) can be run here"
                    .to_string(),
            ));
        }
        let (columns, rows, truncated) = self
            .runner
            .fetch(sql_text, max_rows)
            .await
            .map_err(|f| sql_error("running the query", sql_text, &f))?;
        let names: Vec<String> = columns.into_iter().map(|(n, _)| n).collect();
        let rows = rows
            .into_iter()
            .map(|values| names.iter().cloned().zip(values).collect())
            .collect();
        Ok(QueryResult {
            columns: names,
            rows,
            truncated,
        })
    }
}

/// The statement's first word, after comments, is one that cannot write.
fn is_read_only(sql_text: &str) -> bool {
    let mut rest = sql_text.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else if let Some(after) = rest.strip_prefix('(') {
            rest = after.trim_start();
        } else {
            break;
        }
    }
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase();
    matches!(
        word.as_str(),
        "select" | "with" | "values" | "show" | "describe"
    ) && !outside_literals(sql_text.trim().trim_end_matches(';')).contains(';')
}

/// The text with string literals, quoted identifiers and `--` comments blanked out, so a `;` in
/// `'a;b'` is not taken for a second statement.
fn outside_literals(sql_text: &str) -> String {
    let mut out = String::with_capacity(sql_text.len());
    let mut chars = sql_text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                // A doubled quote stays inside; the literal ends at the first single one.
                while let Some(inner) = chars.next() {
                    if inner == c {
                        if chars.peek() == Some(&c) {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
                out.push(' ');
            }
            '-' if chars.peek() == Some(&'-') => {
                for inner in chars.by_ref() {
                    if inner == '\n' {
                        break;
                    }
                }
                out.push('\n');
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_read_only_statements_pass() {
        assert!(is_read_only("-- mdw builds: x\nselect 1"));
        assert!(is_read_only("select 'a;b' as x, \"c;d\" -- e;f\nfrom t"));
        assert!(!is_read_only("select 'it''s'; drop table x"));
        assert!(is_read_only(
            "/* c */ with a as (select 1) select * from a;"
        ));
        assert!(!is_read_only("drop table x"));
        assert!(!is_read_only("select 1; drop table x"));
        assert!(!is_read_only("insert into t select 1"));
    }
}
