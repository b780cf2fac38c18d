//! Destroy: a view or table this resource owns is dropped by Athena (which deletes an Iceberg
//! table's files with it), or with `retain` only forgotten by Glue.

use mdw_engine::{DropRelation, EngineError, RelationKind};
use mdw_engine_aws::glue::owner_of;

use crate::{AthenaEngine, names, sql};

impl AthenaEngine {
    pub(crate) async fn drop(&self, drop: &DropRelation) -> Result<bool, EngineError> {
        let (database, name) = names(&drop.database, &drop.name)?;
        let Some(entry) = self.glue.entries().get(&database, &name).await? else {
            return Ok(false);
        };
        drop.ownership.check(&database, &name, owner_of(&entry))?;
        let kind = if mdw_engine_aws::glue::is_view(&entry) {
            RelationKind::View
        } else {
            RelationKind::Table
        };
        let doing = format!("dropping {database}.{name}");
        match (kind, drop.purge) {
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
}
