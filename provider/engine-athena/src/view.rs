//! Views: Athena creates the view under a stage name (it checks the SQL and writes the view's
//! columns and Presto definition), then one Glue write swaps it in place of whatever the name
//! held — a previous view or a table, whose files are deleted after. The name never goes
//! missing, and a view whose SQL fails leaves the old relation untouched.

use mdw_engine::{BuildId, EngineError, RelationInfo, ViewDefinition, checks, fault};
use mdw_engine_aws::glue::owner_of;

use crate::build::Marks;
use crate::glue::Docs;
use crate::{AthenaEngine, names, sql, stage_name};

impl AthenaEngine {
    pub(crate) async fn put_view(
        &self,
        view: &ViewDefinition,
    ) -> Result<RelationInfo, EngineError> {
        let (database, name) = names(&view.database, &view.name)?;
        let doing = format!("creating view {database}.{name}");
        checks::check_model_sql(&view.sql)
            .map_err(|e| EngineError::InvalidInput(format!("{doing}: {e}")))?;
        let existing = self.glue.entries().get(&database, &name).await?;
        if let Some(table) = &existing {
            view.ownership.check(&database, &name, owner_of(table))?;
        }
        self.clean_leftovers(&database, &name, &view.ownership)
            .await?;
        let stage = stage_name(&name, view.ownership.owner.as_deref(), &BuildId::new());
        self.run(&doing, &sql::create_view(&database, &stage, &view.sql))
            .await?;
        fault::point("athena.view.after_create");
        let marks = Marks {
            ownership: &view.ownership,
            run_key: None,
            docs: Docs::new(view.description.as_deref(), &view.column_descriptions),
        };
        if let Err(e) = self
            .swap_in(&database, &name, existing.as_ref(), &stage, &marks)
            .await
        {
            // A stage view has no files: forgetting its entry is all a drop would do.
            let _ = self.glue.entries().delete(&database, &stage).await;
            return Err(e);
        }
        for warning in self.retire(existing.as_ref(), "").await {
            tracing::warn!("{doing}: {warning}");
        }
        self.described(&database, &name).await
    }
}
