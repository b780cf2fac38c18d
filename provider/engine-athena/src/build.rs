//! Table builds: CTAS into a stage at a fresh location, one Glue write to swap it in, then the
//! replaced table's files and what interrupted builds of the table left are deleted.

use aws_sdk_glue::types::Table;
use mdw_engine::{
    BuildId, BuildOutcome, EngineError, OWNER_KEY, Ownership, RUN_KEY, TableBuild, checks, fault,
    is_build_location,
};
use mdw_engine_aws::glue::{input_of, is_view, owner_of};
use mdw_engine_aws::s3;

use crate::glue::Docs;
use crate::query::jittered_backoff;
use crate::{AthenaEngine, QUERY_ATTEMPTS, names, outcome, sql, sql_error, stage_name};

/// What a swap writes into the name's entry besides the stage's content.
pub(crate) struct Marks<'a> {
    pub(crate) ownership: &'a Ownership,
    pub(crate) run_key: Option<&'a str>,
    pub(crate) docs: Docs<'a>,
}

impl AthenaEngine {
    /// Builds the table; an incremental model's first run also records its `run_key`.
    pub(crate) async fn build(
        &self,
        build: &TableBuild,
        run_key: Option<&str>,
    ) -> Result<BuildOutcome, EngineError> {
        let (database, name) = names(&build.database, &build.name)?;
        checks::check_table_properties(&build.table_properties)
            .map_err(EngineError::InvalidInput)?;
        checks::check_model_sql(&build.sql)
            .map_err(|e| EngineError::InvalidInput(format!("building {database}.{name}: {e}")))?;
        let existing = self.glue.entries().get(&database, &name).await?;
        if let Some(table) = &existing {
            build.ownership.check(&database, &name, owner_of(table))?;
        }
        self.clean_leftovers(&database, &name, &build.ownership)
            .await?;
        let doing = format!("building {database}.{name}");
        let table_root = self
            .table_root(&database, &name, build.external_location.as_deref())
            .await?;

        // Each attempt writes to a fresh stage at a fresh location: a retried CTAS never sees
        // the files of the one that failed.
        let mut attempt = 0;
        let (build_id, stage) = loop {
            let build_id = BuildId::new();
            let stage = stage_name(&name, build.ownership.owner.as_deref(), &build_id);
            let location = format!("{table_root}/{build_id}");
            let statement = sql::create_table_as(
                &database,
                &stage,
                &location,
                &build.partitioned_by,
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
        fault::point("athena.build.after_ctas");
        let marks = Marks {
            ownership: &build.ownership,
            run_key,
            docs: Docs::new(build.description.as_deref(), &build.column_descriptions),
        };
        if let Err(e) = self
            .swap_in(&database, &name, existing.as_ref(), &stage, &marks)
            .await
        {
            self.discard_stage(&database, &stage).await;
            return Err(e);
        }
        let info = self.described(&database, &name).await?;
        let mut warnings = self
            .retire(
                existing.as_ref(),
                info.location.as_deref().unwrap_or_default(),
            )
            .await;
        warnings.extend(
            self.sweep(
                &table_root,
                info.location.as_deref().unwrap_or_default(),
                &build_id,
            )
            .await,
        );
        for warning in &warnings {
            tracing::warn!("{doing}: {warning}");
        }
        let mut result = outcome(build_id.to_string(), info);
        result.warnings = warnings;
        Ok(result)
    }

    /// Puts the stage's entry (a table or a view Athena created) under `name` in one Glue write
    /// guarded by the version of `existing` (or as a new entry), with the marks; then forgets
    /// the stage's entry (not its files, which now belong to `name`).
    pub(crate) async fn swap_in(
        &self,
        database: &str,
        name: &str,
        existing: Option<&Table>,
        stage: &str,
        marks: &Marks<'_>,
    ) -> Result<(), EngineError> {
        let context = format!("swapping {database}.{stage} in as {database}.{name}");
        let staged = self
            .glue
            .entries()
            .get(database, stage)
            .await?
            .ok_or_else(|| EngineError::Catalog {
                context: context.clone(),
                message: "Athena reported success but Glue has no such entry".to_string(),
            })?;
        let input = marks.docs.applied(input_of(
            &staged,
            name,
            &[
                (OWNER_KEY, marks.ownership.owner.as_deref()),
                (RUN_KEY, marks.run_key),
            ],
        )?);
        self.glue
            .entries()
            .put(database, existing, input, &context)
            .await?;
        fault::point("athena.after_swap");
        if let Err(e) = self.glue.entries().delete(database, stage).await {
            // The stage now names the same files as the model: only its entry may go, and the
            // next build does that (see `clean_leftovers`).
            tracing::warn!(error = %e, "could not forget {database}.{stage}; the next build will");
        }
        Ok(())
    }

    /// Deletes the files of the table a swap replaced, when they are a build location of their
    /// own; other locations (imported tables) are left, with a warning.
    pub(crate) async fn retire(&self, replaced: Option<&Table>, new_location: &str) -> Vec<String> {
        let Some(old) = replaced.filter(|t| !is_view(t)) else {
            return Vec::new();
        };
        let Some(location) = old
            .storage_descriptor()
            .and_then(|sd| sd.location())
            .map(|l| l.trim_end_matches('/'))
        else {
            return Vec::new();
        };
        if location == new_location.trim_end_matches('/')
            || new_location.starts_with(&format!("{location}/"))
        {
            return Vec::new();
        }
        if !is_build_location(location) {
            return vec![format!(
                "the replaced table's files under {location} are left in place (not a location \
                 mdw built); delete them when nothing reads them"
            )];
        }
        match s3::delete_prefix(&self.s3, location).await {
            Ok(_) => Vec::new(),
            Err(e) => vec![format!(
                "deleting the replaced table's files under {location}: {e}"
            )],
        }
    }

    /// Deletes the build directories under `table_root` older than `current`, except `keep`:
    /// what builds killed before their swap, or before deleting what they replaced, left.
    pub(crate) async fn sweep(
        &self,
        table_root: &str,
        keep: &str,
        current: &BuildId,
    ) -> Vec<String> {
        let keep = keep.trim_end_matches('/');
        let children = match s3::child_dirs(&self.s3, table_root).await {
            Ok(children) => children,
            Err(e) => return vec![format!("listing {table_root} to remove old builds: {e}")],
        };
        let mut warnings = Vec::new();
        for child in children.into_iter().filter(|c| current.is_older(c)) {
            let path = format!("{table_root}/{child}");
            if path == keep {
                continue;
            }
            tracing::info!("removing {path}, left by an interrupted or replaced build");
            if let Err(e) = s3::delete_prefix(&self.s3, &path).await {
                warnings.push(format!("removing the old build {path}: {e}"));
            }
        }
        warnings
    }
}
