//! The Athena engine of mdw: models become Iceberg tables built by Athena.
//!
//! Athena runs the SQL; the swap that puts a result in place is one Glue write. A table build
//! writes the query into a stage table at a location no other attempt used
//! (`CREATE TABLE <name>__mdw_tmp_<id> WITH (table_type='ICEBERG', location=…) AS`), then
//! replaces the name's Glue entry with the stage's in one `UpdateTable` guarded by the entry's
//! version (how Iceberg's own Glue catalog commits; Lake Formation grants on the name stay),
//! and forgets the stage's entry. A view is created under a stage name and swapped in the same
//! way, so a table never has to be dropped before the view that replaces it exists. A failed
//! query leaves the existing relation untouched; a run killed half-way leaves a stage that the
//! next build of the model removes, and build directories that its janitor removes.
//!
//! Statements per model, against dbt-athena's 4–6 plus a fixed 1 s poll: a table build 1
//! (first build or rebuild); a view 1; a seed 3 (external CSV table, CTAS, drop); an
//! incremental append or merge 2 (a `limit 0` probe of the query's columns, then `insert into`
//! / `merge into`), plus one `alter table … add columns` on a schema change; destroy 1.
//! Catalog reads (drift, leftovers) and the swaps go to Glue, not Athena.

mod build;
mod drop;
mod glue;
mod incremental;
mod leftovers;
mod query;
mod seed;
mod sql;
mod view;

use std::collections::BTreeMap;

use async_trait::async_trait;
use mdw_engine::{
    BuildId, BuildOutcome, ColumnInfo, DropRelation, Engine, EngineError, IncrementalBuild,
    QueryResult, RelationInfo, SeedLoad, TableBuild, ViewDefinition, normalize_identifier,
};
use tokio::sync::watch;

use glue::Catalog;
use query::{QueryFailure, QueryRunner, QuerySettings, jittered_backoff};

/// Marks the stage table or view of a build. Glue lower-cases names, and `__mdw_` does not
/// appear in names dbt projects give their models.
const TMP_MARK: &str = "__mdw_tmp_";
/// The old table during a swap by renames (how builds before Glue swaps worked; a run killed
/// between those renames may have left one).
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
    /// Seeds are uploaded here before Athena reads them; replaced tables' files and what
    /// interrupted builds left are deleted here.
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

    /// The directory under which builds of `db.name` get their fresh locations.
    async fn table_root(
        &self,
        database: &str,
        name: &str,
        external_location: Option<&str>,
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
        Ok(format!("{}/{name}", root.trim_end_matches('/')))
    }

    /// Drops a stage table a failed step left (Athena deletes its files too); failures here
    /// only log, the next build cleans up.
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

/// The stage name of a build: the model's name, the mark, a tag of the owner and the build id
/// (`<name>__mdw_tmp_<8 hex owner tag><32 hex id>`). The tag lets the next build of the same
/// owner remove the stages its own interrupted builds left, at once; the id's age lets anyone
/// remove long-abandoned ones without touching another writer's build in progress.
fn stage_name(name: &str, owner: Option<&str>, build_id: &BuildId) -> String {
    format!("{name}{TMP_MARK}{}{}", owner_tag(owner), build_id.simple())
}

/// 8 hex digits of a stable hash of the owner id (FNV-1a; names are not secrets).
fn owner_tag(owner: Option<&str>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in owner.unwrap_or_default().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:08x}", hash >> 32)
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
        replayed: false,
        version: info.version,
    }
}

/// How many times a hook that asks for more runs (OPTIMIZE, VACUUM) is run before it fails.
const HOOK_RUNS: u32 = 50;

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
        self.build(build, None).await
    }

    async fn incremental(&self, build: &IncrementalBuild) -> Result<BuildOutcome, EngineError> {
        self.run_incremental(build).await
    }

    async fn create_view(&self, view: &ViewDefinition) -> Result<RelationInfo, EngineError> {
        self.put_view(view).await
    }

    async fn describe(
        &self,
        database: &str,
        name: &str,
    ) -> Result<Option<RelationInfo>, EngineError> {
        let (database, name) = names(database, name)?;
        self.glue.describe(&database, &name).await
    }

    async fn relation_versions(
        &self,
        database: &str,
    ) -> Result<Option<BTreeMap<String, String>>, EngineError> {
        let database = normalize_identifier("database", database)?;
        self.glue.entries().versions(&database).await.map(Some)
    }

    async fn drop_relation(&self, drop: &DropRelation) -> Result<bool, EngineError> {
        self.drop(drop).await
    }

    async fn load_csv(&self, seed: &SeedLoad) -> Result<BuildOutcome, EngineError> {
        self.load(seed).await
    }

    async fn describe_query(&self, sql_text: &str) -> Result<Vec<ColumnInfo>, EngineError> {
        if !mdw_engine::checks::is_read_only_query(sql_text) {
            return Err(EngineError::InvalidInput(
                "only read-only queries can be described".to_string(),
            ));
        }
        Ok(self
            .query_columns("describing a query", sql_text)
            .await?
            .into_iter()
            .map(|(name, data_type)| ColumnInfo {
                name,
                data_type,
                comment: None,
            })
            .collect())
    }

    async fn run_statement(&self, sql_text: &str) -> Result<(), EngineError> {
        // One statement per query, as Athena takes it. OPTIMIZE and VACUUM of a large table
        // stop with ICEBERG_OPTIMIZE_MORE_RUNS_NEEDED / ICEBERG_VACUUM_MORE_RUNS_NEEDED: run
        // again until done, as dbt-athena does.
        let statement = sql_text.trim().trim_end_matches(';');
        let mut runs = 1;
        loop {
            match self.run("running a hook", statement).await {
                Err(e) if e.to_string().contains("_MORE_RUNS_NEEDED") && runs < HOOK_RUNS => {
                    runs += 1;
                }
                other => return other.map(|_| ()),
            }
        }
    }

    async fn query(&self, sql_text: &str, max_rows: usize) -> Result<QueryResult, EngineError> {
        if !mdw_engine::checks::is_read_only_query(sql_text) {
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
