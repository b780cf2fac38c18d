//! Incremental runs: `insert into` (append) or `merge into` (merge) the existing table, with
//! dbt's `on_schema_change`; the first run builds the table.
//!
//! Exactly once: Athena commits an insert by moving the table's Glue entry to a new metadata
//! file, and an insert cannot carry a marker of its own. So before it the run writes
//! `mdw.pending-run = <run key> <metadata file now>` into the entry, and after it
//! `mdw.last-run-key = <run key>`. A retry of the same run (the provider died before
//! Terraform heard back) that finds the key in `last-run-key`, or finds its pending mark with
//! the entry moved on since, knows the insert committed and does not run it again.

use std::collections::BTreeSet;

use aws_sdk_glue::types::Table;
use mdw_engine::{
    BuildId, BuildOutcome, ColumnInfo, EngineError, IncrementalBuild, IncrementalStrategy,
    OWNER_KEY, OnSchemaChange, RUN_KEY, fault,
};
use mdw_engine_aws::glue::{input_of, is_view, metadata_location, owner_of, parameter};

use crate::glue::Docs;
use crate::{AthenaEngine, names, outcome, sql};

/// Glue parameter holding the run key and metadata file of a run whose insert may be running.
const PENDING_RUN: &str = "mdw.pending-run";

impl AthenaEngine {
    pub(crate) async fn run_incremental(
        &self,
        build: &IncrementalBuild,
    ) -> Result<BuildOutcome, EngineError> {
        let (database, name) = names(&build.table.database, &build.table.name)?;
        let doing = format!("incremental run of {database}.{name}");
        let entry = match self.glue.entries().get(&database, &name).await? {
            Some(entry) if !is_view(&entry) => entry,
            _ => return self.build(&build.table, build.run_key.as_deref()).await,
        };
        build
            .table
            .ownership
            .check(&database, &name, owner_of(&entry))?;
        if build.strategy == IncrementalStrategy::Merge && build.unique_key.is_empty() {
            return Err(EngineError::InvalidInput(format!(
                "{doing}: incremental_strategy 'merge' needs unique_key"
            )));
        }
        if let Some(key) = &build.run_key
            && self.already_applied(&database, &name, &entry, key).await?
        {
            tracing::info!("{doing}: run {key} is already committed; not applying it again");
            let mut done = outcome(
                BuildId::new().to_string(),
                self.described(&database, &name).await?,
            );
            done.replayed = true;
            return Ok(done);
        }
        let existing = self.described(&database, &name).await?;
        let query = build.incremental_sql.as_deref().unwrap_or(&build.table.sql);
        let query_columns = self.query_columns(&doing, query).await?;
        let insert_columns = self
            .apply_schema_change(
                &doing,
                &database,
                &name,
                build,
                &existing.columns,
                &query_columns,
            )
            .await?;
        let statement = match build.strategy {
            IncrementalStrategy::Append => {
                sql::insert_into(&database, &name, &insert_columns, query)
            }
            IncrementalStrategy::Merge => merge_statement(&database, &name, build, &insert_columns),
        };
        if let Some(key) = &build.run_key {
            self.mark(
                &database,
                &name,
                build,
                &[(PENDING_RUN, Some(key.as_str()))],
                true,
            )
            .await?;
        }
        // A failed insert or merge commits nothing, so `run`'s retries are safe.
        self.run(&doing, &statement).await?;
        fault::point("athena.append.after_insert");
        let mut warnings = Vec::new();
        if let Some(key) = &build.run_key
            && let Err(e) = self
                .mark(
                    &database,
                    &name,
                    build,
                    &[(RUN_KEY, Some(key.as_str())), (PENDING_RUN, None)],
                    false,
                )
                .await
        {
            warnings.push(format!(
                "the run committed, but recording it did not ({e}); a retry still finds it \
                 through its pending mark"
            ));
        }
        let docs = Docs::new(
            build.table.description.as_deref(),
            &build.table.column_descriptions,
        );
        if let Err(e) = self.glue.persist_docs(&database, &name, &docs).await {
            warnings.push(format!(
                "the table is built, but its descriptions are not: {e}"
            ));
        }
        let mut result = outcome(
            BuildId::new().to_string(),
            self.described(&database, &name).await?,
        );
        result.warnings = warnings;
        Ok(result)
    }

    /// True when the run with `key` committed before (see the module comment); records it.
    async fn already_applied(
        &self,
        database: &str,
        name: &str,
        entry: &Table,
        key: &str,
    ) -> Result<bool, EngineError> {
        if parameter(entry, RUN_KEY) == Some(key) {
            return Ok(true);
        }
        let Some((pending_key, before)) =
            parameter(entry, PENDING_RUN).and_then(|p| p.split_once(' '))
        else {
            return Ok(false);
        };
        if pending_key != key || metadata_location(entry) == Some(before) {
            return Ok(false);
        }
        let context = format!("recording run {key} of {database}.{name}");
        let input = input_of(entry, name, &[(RUN_KEY, Some(key)), (PENDING_RUN, None)])?;
        self.glue
            .entries()
            .put(database, Some(entry), input, &context)
            .await?;
        Ok(true)
    }

    /// Sets (or with `None` removes) Glue parameters of the table, with its owner marker,
    /// guarded by the entry's version. A pending mark (`with_base`) gets the current metadata
    /// file appended, so a retry can tell whether the insert moved it.
    async fn mark(
        &self,
        database: &str,
        name: &str,
        build: &IncrementalBuild,
        changes: &[(&str, Option<&str>)],
        with_base: bool,
    ) -> Result<(), EngineError> {
        let context = format!("marking the run of {database}.{name} in Glue");
        let entry = self
            .glue
            .entries()
            .get(database, name)
            .await?
            .ok_or_else(|| EngineError::Catalog {
                context: context.clone(),
                message: "the table's Glue entry is gone".to_string(),
            })?;
        let base = metadata_location(&entry).unwrap_or_default().to_string();
        let values: Vec<(String, Option<String>)> = changes
            .iter()
            .map(|(k, v)| {
                let value = v.map(|v| {
                    if with_base {
                        format!("{v} {base}")
                    } else {
                        v.to_string()
                    }
                });
                (k.to_string(), value)
            })
            .chain([(OWNER_KEY.to_string(), build.table.ownership.owner.clone())])
            .filter(|(k, v)| k != OWNER_KEY || v.is_some())
            .collect();
        let borrowed: Vec<(&str, Option<&str>)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect();
        let input = input_of(&entry, name, &borrowed)?;
        self.glue
            .entries()
            .put(database, Some(&entry), input, &context)
            .await
    }

    /// Applies `on_schema_change` and returns the columns to insert.
    async fn apply_schema_change(
        &self,
        doing: &str,
        database: &str,
        name: &str,
        build: &IncrementalBuild,
        table_columns: &[ColumnInfo],
        query_columns: &[(String, String)],
    ) -> Result<Vec<String>, EngineError> {
        let table_names: BTreeSet<&str> = table_columns.iter().map(|c| c.name.as_str()).collect();
        let query_names: BTreeSet<&str> = query_columns.iter().map(|(n, _)| n.as_str()).collect();
        let added: Vec<&(String, String)> = query_columns
            .iter()
            .filter(|(n, _)| !table_names.contains(n.as_str()))
            .collect();
        let removed: Vec<&ColumnInfo> = table_columns
            .iter()
            .filter(|c| !query_names.contains(c.name.as_str()))
            .collect();
        let schema_changed = !added.is_empty() || !removed.is_empty();
        Ok(match build.on_schema_change {
            OnSchemaChange::Fail if schema_changed => {
                return Err(EngineError::SchemaChanged {
                    context: doing.to_string(),
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
                    self.run(doing, &sql::add_columns(database, name, &new)?)
                        .await?;
                }
                if build.on_schema_change == OnSchemaChange::SyncAllColumns {
                    for column in &removed {
                        self.run(doing, &sql::drop_column(database, name, &column.name)?)
                            .await?;
                    }
                }
                query_columns.iter().map(|(n, _)| n.clone()).collect()
            }
        })
    }
}

fn merge_statement(
    database: &str,
    name: &str,
    build: &IncrementalBuild,
    insert_columns: &[String],
) -> String {
    let query = build.incremental_sql.as_deref().unwrap_or(&build.table.sql);
    let lowered = |names: &[String]| -> Vec<String> {
        names.iter().map(|c| c.to_ascii_lowercase()).collect()
    };
    let keys = lowered(&build.unique_key);
    let update: Vec<String> = if !build.merge_update_columns.is_empty() {
        lowered(&build.merge_update_columns)
    } else {
        let excluded: BTreeSet<String> =
            lowered(&build.merge_exclude_columns).into_iter().collect();
        insert_columns
            .iter()
            .filter(|c| !keys.contains(c) && !excluded.contains(*c))
            .cloned()
            .collect()
    };
    sql::merge_into(
        database,
        name,
        insert_columns,
        &keys,
        &update,
        &build.incremental_predicates,
        query,
    )
}
