//! DataFusion sessions that see the warehouse under the configured catalog name, so model SQL
//! written Athena-style (`"awsdatacatalog"."schema"."table"`, or `schema.table`) resolves.
//!
//! Tables and views are looked up lazily when a query names them: iceberg-datafusion's
//! `IcebergCatalogProvider` loads every table of every namespace up front and never sees later
//! changes, which is slow on a big warehouse and wrong after our own swaps. A table resolves to
//! a read-only provider pinned to its current snapshot (a model that reads its own table, as
//! incremental models do, sees the data as it was before the run); a view resolves to its
//! stored SQL, planned in the view's own database.
//!
//! SQL is Athena's (Trino): sessions carry the Trino layer (`mdw-sql-trino`): its functions
//! replace DataFusion's, and every query or view is planned through `mdw_sql_trino::plan`.

use std::any::Any;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use datafusion::catalog::view::ViewTable;
use datafusion::catalog::{CatalogProvider, CatalogProviderList, SchemaProvider, TableProvider};
use datafusion::error::{DataFusionError, Result as DFResult};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use iceberg::{ErrorKind, NamespaceIdent, TableIdent};
use iceberg_datafusion::IcebergStaticTableProvider;

use crate::Inner;
use crate::store::Lookup;

/// Creates a session whose unqualified names resolve in `default_database`.
pub(crate) fn new_session(inner: &Arc<Inner>, default_database: &str) -> SessionContext {
    let config = session_config(&inner.catalog_name, default_database);
    let builder = SessionStateBuilder::new()
        .with_config(config.clone())
        .with_default_features();
    let ctx = SessionContext::new_with_state(mdw_sql_trino::configure(builder).build());
    let catalogs = Arc::downgrade(ctx.state().catalog_list());
    let provider = WarehouseCatalog {
        inner: Arc::downgrade(inner),
        catalogs,
        base_config: config,
        views_in_progress: Arc::new(Mutex::new(HashSet::new())),
    };
    ctx.register_catalog(&inner.catalog_name, Arc::new(provider));
    ctx
}

fn session_config(catalog_name: &str, default_database: &str) -> SessionConfig {
    let mut config = SessionConfig::new()
        .with_default_catalog_and_schema(catalog_name, default_database)
        .with_create_default_catalog_and_schema(false)
        .with_information_schema(false);
    // `cast(x as varchar)` should give plain Utf8, the type the tables store, not Utf8View.
    config.options_mut().sql_parser.map_string_types_to_utf8view = false;
    // A UNION ALL of a table's column (its Iceberg field id in the field metadata) under a
    // computed one, aggregated, has a physical schema whose metadata differs from the logical
    // one; DataFusion's check then fails the query though the types and values are the same.
    config
        .options_mut()
        .execution
        .skip_physical_aggregate_schema_check = true;
    mdw_sql_trino::session_config(config)
}

/// The warehouse as a DataFusion catalog. Any schema name resolves; a missing database shows
/// up as DataFusion's "table not found" error naming the full relation.
#[derive(Debug)]
struct WarehouseCatalog {
    // Weak: the session owns the catalog list that owns this provider.
    inner: Weak<Inner>,
    catalogs: Weak<dyn CatalogProviderList>,
    base_config: SessionConfig,
    /// Views being planned in this session, to turn a view that selects from itself into an
    /// error instead of endless recursion.
    views_in_progress: Arc<Mutex<HashSet<String>>>,
}

impl CatalogProvider for WarehouseCatalog {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema_names(&self) -> Vec<String> {
        Vec::new()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        Some(Arc::new(WarehouseSchema {
            database: name.to_string(),
            inner: self.inner.clone(),
            catalogs: self.catalogs.clone(),
            base_config: self.base_config.clone(),
            views_in_progress: self.views_in_progress.clone(),
        }))
    }
}

#[derive(Debug)]
struct WarehouseSchema {
    database: String,
    inner: Weak<Inner>,
    catalogs: Weak<dyn CatalogProviderList>,
    base_config: SessionConfig,
    views_in_progress: Arc<Mutex<HashSet<String>>>,
}

fn external(message: String) -> DataFusionError {
    DataFusionError::External(message.into())
}

impl WarehouseSchema {
    async fn plan_view(&self, name: &str, sql: &str) -> DFResult<Arc<dyn TableProvider>> {
        let key = format!("{}.{name}", self.database);
        {
            let mut in_progress = self
                .views_in_progress
                .lock()
                .map_err(|_| external("view planning state is poisoned".into()))?;
            if !in_progress.insert(key.clone()) {
                return Err(DataFusionError::Plan(format!(
                    "view {key} refers to itself (directly or through other views)"
                )));
            }
        }
        let planned = self.plan_view_sql(sql).await;
        if let Ok(mut in_progress) = self.views_in_progress.lock() {
            in_progress.remove(&key);
        }
        let plan = planned.map_err(|e| e.context(format!("planning view {key}")))?;
        Ok(Arc::new(ViewTable::new(plan, Some(sql.to_string()))))
    }

    async fn plan_view_sql(&self, sql: &str) -> DFResult<datafusion::logical_expr::LogicalPlan> {
        let catalogs = self
            .catalogs
            .upgrade()
            .ok_or_else(|| external("the session was closed while planning a view".into()))?;
        let mut config = self.base_config.clone();
        // Unqualified names inside a view resolve in the view's own database.
        config.options_mut().catalog.default_schema = self.database.clone();
        let builder = SessionStateBuilder::new()
            .with_config(config)
            .with_catalog_list(catalogs)
            .with_default_features();
        let state = mdw_sql_trino::configure(builder).build();
        mdw_sql_trino::plan(&state, sql).await
    }
}

#[async_trait]
impl SchemaProvider for WarehouseSchema {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn table_names(&self) -> Vec<String> {
        Vec::new()
    }

    async fn table(&self, name: &str) -> DFResult<Option<Arc<dyn TableProvider>>> {
        let inner = self
            .inner
            .upgrade()
            .ok_or_else(|| external("the engine was closed while a query ran".into()))?;
        // Views first, as in `write::find_relation`.
        match inner
            .store
            .lookup(&self.database, name)
            .await
            .map_err(|e| external(e.to_string()))?
        {
            Lookup::View(view) => return Ok(Some(self.plan_view(name, &view.sql).await?)),
            Lookup::Missing => return Ok(None),
            Lookup::Table | Lookup::NotAView => {}
        }
        let ident = TableIdent::new(NamespaceIdent::new(self.database.clone()), name.to_string());
        match inner.catalog.load_table(&ident).await {
            Ok(table) => {
                let provider = IcebergStaticTableProvider::try_new_from_table(table)
                    .await
                    .map_err(|e| {
                        external(format!("reading table {}.{name}: {e}", self.database))
                    })?;
                Ok(Some(Arc::new(provider)))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::TableNotFound | ErrorKind::NamespaceNotFound
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(external(format!(
                "loading table {}.{name}: {e}",
                self.database
            ))),
        }
    }

    fn table_exist(&self, _name: &str) -> bool {
        // Only asked by DDL paths that the engine never sends through SQL.
        false
    }
}
