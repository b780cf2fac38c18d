//! The embedded mdw engine: Apache DataFusion runs the model SQL, iceberg-rust writes Iceberg
//! tables, an iceberg SQL catalog on SQLite keeps track of them, and data lives on local disk.
//!
//! It implements [`mdw_engine::Engine`] so the Terraform provider can run the whole flow on a
//! laptop with no cloud account. See the README beside this crate for what is worked around.

mod barrier;
mod errors;
mod glue_store;
mod hooks;
mod incremental;
mod janitor;
mod listing;
mod nullable;
mod query;
mod seed;
mod session;
mod store;
mod trash;
mod types;
mod write;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use iceberg::io::{
    FileIO, FileIOBuilder, S3_ACCESS_KEY_ID, S3_DISABLE_CONFIG_LOAD, S3_DISABLE_EC2_METADATA,
    S3_ENDPOINT, S3_PATH_STYLE_ACCESS, S3_REGION, S3_SECRET_ACCESS_KEY, S3_SESSION_TOKEN,
    StorageFactory,
};
use iceberg::{Catalog, CatalogBuilder, NamespaceIdent};
use iceberg_catalog_glue::{
    AWS_ACCESS_KEY_ID, AWS_REGION_NAME, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
    GLUE_CATALOG_PROP_URI, GLUE_CATALOG_PROP_WAREHOUSE, GlueCatalogBuilder,
};
use iceberg_catalog_sql::{
    SQL_CATALOG_PROP_BIND_STYLE, SQL_CATALOG_PROP_URI, SQL_CATALOG_PROP_WAREHOUSE, SqlBindStyle,
    SqlCatalogBuilder,
};
use iceberg_storage_opendal::OpenDalResolvingStorageFactory;
use mdw_engine::{
    BuildOutcome, ColumnInfo, DropRelation, Engine, EngineError, IncrementalBuild, QueryResult,
    RelationInfo, SeedLoad, TableBuild, ViewDefinition, normalize_identifier,
};

use crate::errors::catalog_error;
use crate::glue_store::GlueStore;
use crate::listing::Listing;
use crate::store::{SqliteStore, Store};

pub use mdw_engine;

/// Where the engine keeps its catalog and data. The rest of the engine only sees
/// `Arc<dyn Catalog>`, a storage factory, and the pointer swap / view store in [`store`].
#[derive(Debug, Clone)]
pub enum CatalogConfig {
    /// SQL catalog in `<warehouse_dir>/catalog.db`, data under `<warehouse_dir>/<db>/<table>/`.
    LocalSqlite { warehouse_dir: PathBuf },
    /// Glue as the catalog and S3 as the warehouse: what Athena reads.
    Glue(GlueSettings),
}

/// The embedded engine on AWS storage.
#[derive(Debug, Clone)]
pub struct GlueSettings {
    /// `s3://bucket/prefix`: tables go to `<warehouse>/<database>/<name>/<build id>`.
    pub warehouse: String,
    pub region: String,
    /// Endpoint overrides (moto, LocalStack); S3 is then addressed path-style.
    pub glue_endpoint: Option<String>,
    pub s3_endpoint: Option<String>,
    /// Credentials resolved by the provider's AWS chain; `None` lets the S3 and Glue clients
    /// find their own.
    pub credentials: Option<StaticCredentials>,
    /// The provider's Glue client, for pointer swaps and views.
    pub glue: aws_sdk_glue::Client,
    /// The provider's S3 client, for listing and removing what interrupted builds left.
    pub s3: aws_sdk_s3::Client,
}

#[derive(Clone)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret, not even in a debug log.
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Shared state behind the engine handle (cheap to clone through `Arc`).
#[derive(Debug)]
pub(crate) struct Inner {
    pub catalog_name: String,
    /// Root URL of the warehouse, without trailing slash (`file:///abs/dir`, `s3://b/p`).
    pub warehouse: String,
    pub catalog: Arc<dyn Catalog>,
    pub store: Store,
    pub storage: Arc<dyn StorageFactory>,
    /// For deleting files outside any table (failed builds, purged locations).
    pub file_io: FileIO,
    /// What every FileIO of this engine needs to reach the warehouse (S3 endpoint, region,
    /// credentials); empty on local disk.
    pub file_io_props: HashMap<String, String>,
    pub listing: Listing,
}

/// The embedded engine. Cloning is cheap; all methods take `&self` and may run concurrently.
#[derive(Debug, Clone)]
pub struct EmbeddedEngine {
    inner: Arc<Inner>,
}

impl EmbeddedEngine {
    /// Opens (creating when needed) a warehouse on local disk: `<warehouse_dir>/catalog.db`
    /// holds the catalog, tables live under `<warehouse_dir>/<database>/<table>/<build id>/`.
    /// Must run inside a Tokio runtime.
    pub async fn open(warehouse_dir: &Path, catalog_name: &str) -> Result<Self, EngineError> {
        Self::open_with(
            CatalogConfig::LocalSqlite {
                warehouse_dir: warehouse_dir.to_path_buf(),
            },
            catalog_name,
        )
        .await
    }

    /// Opens the engine on the given catalog configuration.
    pub async fn open_with(config: CatalogConfig, catalog_name: &str) -> Result<Self, EngineError> {
        let catalog_name = normalize_identifier("catalog name", catalog_name)?;
        let engine = match config {
            CatalogConfig::LocalSqlite { warehouse_dir } => {
                Self::open_local(&warehouse_dir, catalog_name).await
            }
            CatalogConfig::Glue(settings) => Self::open_glue(settings, catalog_name).await,
        }?;
        trash::empty(&engine.inner).await;
        Ok(engine)
    }

    async fn open_glue(settings: GlueSettings, catalog_name: String) -> Result<Self, EngineError> {
        let warehouse = settings.warehouse.trim_end_matches('/').to_string();
        let context = format!("opening the Glue catalog with warehouse {warehouse}");
        if !warehouse.starts_with("s3://") || warehouse.len() <= "s3://".len() {
            return Err(EngineError::InvalidInput(format!(
                "{context}: the warehouse must be an s3://bucket/prefix location"
            )));
        }
        let mut file_io_props = HashMap::from([(S3_REGION.to_string(), settings.region.clone())]);
        if let Some(endpoint) = &settings.s3_endpoint {
            file_io_props.insert(S3_ENDPOINT.to_string(), endpoint.clone());
            // Emulators serve buckets under the path, not as host names.
            file_io_props.insert(S3_PATH_STYLE_ACCESS.to_string(), "true".to_string());
        }
        if let Some(credentials) = &settings.credentials {
            file_io_props.extend([
                (
                    S3_ACCESS_KEY_ID.to_string(),
                    credentials.access_key_id.clone(),
                ),
                (
                    S3_SECRET_ACCESS_KEY.to_string(),
                    credentials.secret_access_key.clone(),
                ),
                (S3_DISABLE_EC2_METADATA.to_string(), "true".to_string()),
                (S3_DISABLE_CONFIG_LOAD.to_string(), "true".to_string()),
            ]);
            if let Some(token) = &credentials.session_token {
                file_io_props.insert(S3_SESSION_TOKEN.to_string(), token.clone());
            }
        }
        let mut props = file_io_props.clone();
        props.insert(GLUE_CATALOG_PROP_WAREHOUSE.to_string(), warehouse.clone());
        props.insert(AWS_REGION_NAME.to_string(), settings.region.clone());
        if let Some(endpoint) = &settings.glue_endpoint {
            props.insert(GLUE_CATALOG_PROP_URI.to_string(), endpoint.clone());
        }
        if let Some(credentials) = &settings.credentials {
            props.insert(
                AWS_ACCESS_KEY_ID.to_string(),
                credentials.access_key_id.clone(),
            );
            props.insert(
                AWS_SECRET_ACCESS_KEY.to_string(),
                credentials.secret_access_key.clone(),
            );
            if let Some(token) = &credentials.session_token {
                props.insert(AWS_SESSION_TOKEN.to_string(), token.clone());
            }
        }
        let storage: Arc<dyn StorageFactory> = Arc::new(OpenDalResolvingStorageFactory::new());
        let catalog = GlueCatalogBuilder::default()
            .with_storage_factory(storage.clone())
            .load(catalog_name.clone(), props)
            .await
            .map_err(|e| catalog_error(&context, e))?;
        let file_io = FileIOBuilder::new(storage.clone())
            .with_props(file_io_props.clone())
            .build();
        Ok(Self {
            inner: Arc::new(Inner {
                listing: Listing::S3(settings.s3),
                store: Store::Glue(GlueStore::new(settings.glue, &catalog_name)),
                catalog_name,
                warehouse,
                catalog: Arc::new(catalog),
                storage,
                file_io,
                file_io_props,
            }),
        })
    }

    async fn open_local(warehouse_dir: &Path, catalog_name: String) -> Result<Self, EngineError> {
        let context = format!("opening the warehouse {}", warehouse_dir.display());
        let io_error = |e: std::io::Error| EngineError::Storage {
            context: context.clone(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(warehouse_dir).map_err(io_error)?;
        let dir = warehouse_dir.canonicalize().map_err(io_error)?;
        let Some(dir_str) = dir.to_str() else {
            return Err(EngineError::InvalidInput(format!(
                "{context}: the path is not valid UTF-8"
            )));
        };
        let db_path = dir.join("catalog.db");
        let warehouse = format!("file://{}", dir_str.trim_end_matches('/'));
        let storage: Arc<dyn StorageFactory> = Arc::new(OpenDalResolvingStorageFactory::new());

        let props = HashMap::from([
            (
                SQL_CATALOG_PROP_URI.to_string(),
                format!("sqlite:{}?mode=rwc", db_path.display()),
            ),
            (SQL_CATALOG_PROP_WAREHOUSE.to_string(), warehouse.clone()),
            (
                SQL_CATALOG_PROP_BIND_STYLE.to_string(),
                SqlBindStyle::QMark.to_string(),
            ),
        ]);
        let catalog = SqlCatalogBuilder::default()
            .with_storage_factory(storage.clone())
            .load(catalog_name.clone(), props)
            .await
            .map_err(|e| catalog_error(&context, e))?;
        let store = SqliteStore::open(&db_path, &catalog_name).await?;
        let file_io = FileIOBuilder::new(storage.clone()).build();
        Ok(Self {
            inner: Arc::new(Inner {
                catalog_name,
                warehouse,
                catalog: Arc::new(catalog),
                store: Store::Sqlite(store),
                storage,
                file_io,
                file_io_props: HashMap::new(),
                listing: Listing::Local,
            }),
        })
    }

    /// Root URL of the warehouse (`file:///...`).
    pub fn warehouse_url(&self) -> &str {
        &self.inner.warehouse
    }
}

impl Inner {
    pub(crate) async fn ensure_database(&self, database: &str) -> Result<String, EngineError> {
        let database = normalize_identifier("database", database)?;
        let context = format!("creating database {database}");
        let ns = NamespaceIdent::new(database.clone());
        let exists = self
            .catalog
            .namespace_exists(&ns)
            .await
            .map_err(|e| catalog_error(&context, e))?;
        if !exists {
            match self.catalog.create_namespace(&ns, HashMap::new()).await {
                Ok(_) => {}
                // Created concurrently by another resource (Terraform builds in parallel): that
                // is what we wanted. The SQL catalog reports that race as a unique-constraint
                // failure rather than NamespaceAlreadyExists, so look again before failing.
                Err(e) => {
                    let now_exists = self.catalog.namespace_exists(&ns).await.unwrap_or(false);
                    if !(now_exists || e.kind() == iceberg::ErrorKind::NamespaceAlreadyExists) {
                        return Err(catalog_error(&context, e));
                    }
                }
            }
        }
        Ok(database)
    }
}

#[async_trait]
impl Engine for EmbeddedEngine {
    fn catalog_name(&self) -> &str {
        &self.inner.catalog_name
    }

    async fn ensure_database(&self, database: &str) -> Result<(), EngineError> {
        self.inner.ensure_database(database).await.map(|_| ())
    }

    async fn build_table(&self, build: &TableBuild) -> Result<BuildOutcome, EngineError> {
        write::build_table(&self.inner, build).await
    }

    async fn incremental(&self, build: &IncrementalBuild) -> Result<BuildOutcome, EngineError> {
        incremental::run(&self.inner, build).await
    }

    async fn create_view(&self, view: &ViewDefinition) -> Result<RelationInfo, EngineError> {
        write::create_view(&self.inner, view).await
    }

    async fn describe(
        &self,
        database: &str,
        name: &str,
    ) -> Result<Option<RelationInfo>, EngineError> {
        write::describe(&self.inner, database, name).await
    }

    async fn relation_versions(
        &self,
        database: &str,
    ) -> Result<Option<BTreeMap<String, String>>, EngineError> {
        let database = normalize_identifier("database", database)?;
        self.inner
            .store
            .relation_versions(&database)
            .await
            .map(Some)
    }

    async fn drop_relation(&self, drop: &DropRelation) -> Result<bool, EngineError> {
        write::drop_relation(&self.inner, drop).await
    }

    async fn load_csv(&self, seed: &SeedLoad) -> Result<BuildOutcome, EngineError> {
        seed::load_csv(&self.inner, seed).await
    }

    async fn run_statement(&self, sql: &str) -> Result<(), EngineError> {
        hooks::run(&self.inner, sql).await
    }

    fn check_statement(&self, sql: &str) -> Result<(), EngineError> {
        hooks::parse(sql).map(|_| ())
    }

    fn check_sql(&self, sql: &str) -> Result<(), EngineError> {
        mdw_sql_trino::check(sql).map_err(|errors| {
            EngineError::Unsupported(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })
    }

    async fn describe_query(&self, sql: &str) -> Result<Vec<ColumnInfo>, EngineError> {
        query::describe(&self.inner, sql).await
    }

    async fn query(&self, sql: &str, max_rows: usize) -> Result<QueryResult, EngineError> {
        query::run(&self.inner, sql, max_rows).await
    }
}
