//! Which engine builds the models, opened on first use so plans without models touch nothing.

use std::path::PathBuf;
use std::sync::Arc;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use mdw_engine::{Engine, EngineError};
use mdw_engine_athena::{AthenaEngine, AthenaSettings};
use mdw_engine_embedded::{CatalogConfig, EmbeddedEngine, GlueSettings, StaticCredentials};
use tfplugin::Diagnostic;
use tokio::sync::OnceCell;

/// Where the embedded engine keeps its catalog and tables unless configured: beside the root
/// module Terraform runs in, like `.terraform/`.
pub(crate) const DEFAULT_WAREHOUSE_DIR: &str = ".mdw/warehouse";

pub(crate) enum EngineConfig {
    /// DataFusion + Iceberg on local disk.
    Embedded { warehouse_dir: PathBuf },
    /// DataFusion + Iceberg with Glue as the catalog and S3 as the warehouse.
    EmbeddedOnAws {
        warehouse: String,
        region: String,
        glue_endpoint: Option<String>,
        s3_endpoint: Option<String>,
        credentials: Option<SharedCredentialsProvider>,
        glue: aws_sdk_glue::Client,
    },
    /// Athena builds the models; Glue is the catalog.
    Athena {
        settings: AthenaSettings,
        athena: aws_sdk_athena::Client,
        glue: aws_sdk_glue::Client,
        s3: aws_sdk_s3::Client,
        /// Terraform's stop request cancels running queries.
        stop: tokio::sync::watch::Receiver<bool>,
    },
}

pub(crate) struct Engines {
    config: EngineConfig,
    catalog: String,
    opened: OnceCell<Arc<dyn Engine>>,
}

impl Engines {
    pub(crate) fn new(config: EngineConfig, catalog: String) -> Self {
        Engines {
            config,
            catalog,
            opened: OnceCell::new(),
        }
    }

    /// The catalog name models use in three-part names (`"awsdatacatalog"."mdw"."t"`).
    pub(crate) fn catalog(&self) -> &str {
        &self.catalog
    }

    pub(crate) async fn get(&self) -> Result<Arc<dyn Engine>, Diagnostic> {
        self.opened
            .get_or_try_init(|| async {
                match &self.config {
                    EngineConfig::Embedded { warehouse_dir } => {
                        EmbeddedEngine::open(warehouse_dir, &self.catalog)
                            .await
                            .map(|engine| Arc::new(engine) as Arc<dyn Engine>)
                            .map_err(|e| {
                                Diagnostic::error(
                                    format!("Opening the embedded warehouse at {}", warehouse_dir.display()),
                                    format!("{e}. Check that the directory is writable, or set embedded = {{ warehouse = \"…\" }} in the provider block."),
                                )
                            })
                    }
                    EngineConfig::EmbeddedOnAws {
                        warehouse,
                        region,
                        glue_endpoint,
                        s3_endpoint,
                        credentials,
                        glue,
                    } => {
                        let opening = || format!("Opening the embedded engine on Glue with warehouse {warehouse}");
                        let credentials = match credentials {
                            Some(provider) => Some(provider.provide_credentials().await.map_err(|e| {
                                Diagnostic::error(
                                    opening(),
                                    format!("No AWS credentials: {e}. Configure the standard AWS chain (environment, profile, SSO, instance role)."),
                                )
                            })?),
                            None => None,
                        };
                        let settings = GlueSettings {
                            warehouse: warehouse.clone(),
                            region: region.clone(),
                            glue_endpoint: glue_endpoint.clone(),
                            s3_endpoint: s3_endpoint.clone(),
                            credentials: credentials.map(|c| StaticCredentials {
                                access_key_id: c.access_key_id().to_string(),
                                secret_access_key: c.secret_access_key().to_string(),
                                session_token: c.session_token().map(str::to_string),
                            }),
                            glue: glue.clone(),
                        };
                        EmbeddedEngine::open_with(CatalogConfig::Glue(settings), &self.catalog)
                            .await
                            .map(|engine| Arc::new(engine) as Arc<dyn Engine>)
                            .map_err(|e| {
                                Diagnostic::error(
                                    opening(),
                                    format!("{e}. Check that the bucket exists and the credentials may use Glue and S3."),
                                )
                            })
                    }
                    EngineConfig::Athena {
                        settings,
                        athena,
                        glue,
                        s3,
                        stop,
                    } => AthenaEngine::open(athena.clone(), glue.clone(), s3.clone(), settings.clone(), stop.clone())
                        .await
                        .map(|engine| Arc::new(engine) as Arc<dyn Engine>)
                        .map_err(|e| {
                            Diagnostic::error(
                                format!("Opening the Athena engine (workgroup {:?})", settings.workgroup),
                                format!("{e}."),
                            )
                        }),
                }
            })
            .await
            .cloned()
    }
}

/// An engine failure as a diagnostic: what was being done to which relation, and the engine's
/// own words.
pub(crate) fn engine_error(doing: &str, err: &EngineError) -> Diagnostic {
    let hint = match err {
        EngineError::Sql { .. } => {
            " Fix the model's SQL (see target/compiled/ for what mdwc rendered) and apply again."
        }
        EngineError::Conflict { .. } => {
            " Another run changed the table at the same time; apply again."
        }
        EngineError::InvalidInput(_) => " Fix the model's configuration.",
        _ => "",
    };
    Diagnostic::error(doing.to_string(), format!("{err}.{hint}"))
}
