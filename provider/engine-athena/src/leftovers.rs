//! What interrupted builds left in Glue: stage tables and views (`<name>__mdw_tmp_<tag><id>`),
//! and backups of the rename swap older builds used (`<name>__mdw_bkp_<id>`).
//!
//! A stage whose files the model's entry now names (a build killed between the swap and
//! forgetting the stage) loses only its Glue entry; any other stage is dropped with its files.
//! Stages of the same owner go at once (they are this resource's own interrupted builds);
//! others only when abandoned for longer than [`ABANDONED`] — a younger one may be another
//! writer's build in progress.

use std::time::Duration;

use mdw_engine::{BuildId, EngineError, Ownership};
use mdw_engine_aws::glue::is_view;

use crate::{AthenaEngine, BKP_MARK, TMP_MARK, owner_tag, sql};

/// How long after its start another writer's stage counts as abandoned.
const ABANDONED: Duration = Duration::from_secs(3600);

impl AthenaEngine {
    /// Puts right what builds of `db.name` that died half-way left, before a new one starts.
    pub(crate) async fn clean_leftovers(
        &self,
        database: &str,
        name: &str,
        ownership: &Ownership,
    ) -> Result<(), EngineError> {
        let leftovers = self
            .glue
            .table_names(database, &format!("{name}__mdw_"))
            .await?;
        let stage_prefix = format!("{name}{TMP_MARK}");
        let backup_prefix = format!("{name}{BKP_MARK}");
        let mine = owner_tag(ownership.owner.as_deref());
        let abandoned_before = BuildId::aged(ABANDONED);
        let stages: Vec<String> = leftovers
            .iter()
            .filter_map(|n| Some((n, n.strip_prefix(&stage_prefix)?)))
            .filter(|(_, suffix)| {
                let (tag, id) = suffix.split_at(suffix.len().min(8));
                tag == mine || abandoned_before.is_older(id)
            })
            .map(|(n, _)| n.clone())
            .collect();
        let mut backups: Vec<String> = leftovers
            .iter()
            .filter(|n| n.starts_with(&backup_prefix))
            .cloned()
            .collect();
        if stages.is_empty() && backups.is_empty() {
            return Ok(());
        }
        tracing::info!(?backups, ?stages, "cleaning up after an interrupted build");
        let current = self.glue.entries().get(database, name).await?;
        if current.is_none()
            && let Some(backup) = backups.pop()
        {
            self.run(
                &format!("restoring {database}.{name} from {backup}"),
                &sql::rename_table(database, &backup, name)?,
            )
            .await?;
        }
        let current_location = current
            .as_ref()
            .and_then(|t| t.storage_descriptor())
            .and_then(|sd| sd.location())
            .map(str::to_string);
        for stage in &stages {
            let Some(entry) = self.glue.entries().get(database, stage).await? else {
                continue;
            };
            let location = entry.storage_descriptor().and_then(|sd| sd.location());
            if is_view(&entry) || (location.is_some() && location == current_location.as_deref()) {
                self.glue.entries().delete(database, stage).await?;
            } else {
                self.run(
                    &format!("dropping {database}.{stage} left by an interrupted build"),
                    &sql::drop_table(database, stage)?,
                )
                .await?;
            }
        }
        for backup in &backups {
            self.run(
                &format!("dropping {database}.{backup} left by an interrupted build"),
                &sql::drop_table(database, backup)?,
            )
            .await?;
        }
        Ok(())
    }
}
