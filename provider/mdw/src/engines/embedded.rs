//! The embedded engine: DataFusion + Iceberg inside the provider, on a local directory (no
//! AWS needed) or on S3 with Glue as the catalog.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use mdw_engine::Engine;
use mdw_engine_embedded::{CatalogConfig, EmbeddedEngine, GlueSettings, StaticCredentials};
use tfplugin::{Attribute, Diagnostic, Maybe, Model, from_value};

use super::{EngineContext, EngineFactory, Registration};

/// Where the embedded engine keeps its catalog and tables unless configured: beside the root
/// module Terraform runs in, like `.terraform/`.
const DEFAULT_WAREHOUSE_DIR: &str = ".mdw/warehouse";

pub(super) const REGISTRATION: Registration = Registration {
    name: "embedded",
    summary: "DataFusion + Iceberg on local disk, no AWS needed (or on S3 with Glue, see `embedded.warehouse`)",
    settings,
    configure,
};

tfplugin::model! {
    /// The provider block's `embedded = { … }`.
    pub(crate) struct EmbeddedBlock {
        /// Directory of the local catalog and tables, relative to the root module (default
        /// `.mdw/warehouse`); or an `s3://bucket/prefix` location: then the tables are written to
        /// S3 and registered in Glue, where Athena reads them.
        #[tf(validate = |v| v.as_str().map_or(Ok(()), mdw_engine::checks::check_warehouse))]
        pub(crate) warehouse: Maybe<String>,
    }
}

tfplugin::model! {
    /// The provider-block settings of the embedded engine.
    pub(crate) struct EmbeddedConfig {
        /// Settings of the embedded engine (a misspelt key is an error).
        #[tf(keyed)]
        pub(crate) embedded: Maybe<EmbeddedBlock>,
    }
}

fn settings() -> Vec<Attribute> {
    EmbeddedConfig::attributes()
}

fn configure(context: &EngineContext<'_>) -> Result<Box<dyn EngineFactory>, Diagnostic> {
    let config: EmbeddedConfig = from_value(context.config)?;
    let warehouse = config
        .embedded
        .into_known()
        .and_then(|block| block.warehouse.into_known())
        .unwrap_or_else(|| DEFAULT_WAREHOUSE_DIR.to_string());
    let aws = context.aws;
    Ok(if warehouse.starts_with("s3://") {
        Box::new(OnGlue {
            warehouse,
            region: aws.region.clone(),
            glue_endpoint: aws.endpoints().url_of("glue").map(str::to_string),
            s3_endpoint: aws.endpoints().url_of("s3").map(str::to_string),
            credentials: aws.credentials_provider(),
            glue: aws.glue().clone(),
            s3: aws.s3().clone(),
        })
    } else {
        Box::new(Local {
            warehouse_dir: warehouse.into(),
        })
    })
}

/// DataFusion + Iceberg on local disk.
struct Local {
    warehouse_dir: PathBuf,
}

#[async_trait]
impl EngineFactory for Local {
    async fn open(&self, catalog: &str) -> Result<Arc<dyn Engine>, Diagnostic> {
        EmbeddedEngine::open(&self.warehouse_dir, catalog)
            .await
            .map(|engine| Arc::new(engine) as Arc<dyn Engine>)
            .map_err(|e| {
                Diagnostic::error(
                    format!(
                        "Opening the embedded warehouse at {}",
                        self.warehouse_dir.display()
                    ),
                    format!("{e}. Check that the directory is writable, or set embedded = {{ warehouse = \"…\" }} in the provider block."),
                )
            })
    }
}

/// DataFusion + Iceberg with Glue as the catalog and S3 as the warehouse.
struct OnGlue {
    warehouse: String,
    region: String,
    glue_endpoint: Option<String>,
    s3_endpoint: Option<String>,
    credentials: Option<SharedCredentialsProvider>,
    glue: aws_sdk_glue::Client,
    s3: aws_sdk_s3::Client,
}

#[async_trait]
impl EngineFactory for OnGlue {
    async fn open(&self, catalog: &str) -> Result<Arc<dyn Engine>, Diagnostic> {
        let opening = || {
            format!(
                "Opening the embedded engine on Glue with warehouse {}",
                self.warehouse
            )
        };
        let credentials = match &self.credentials {
            Some(provider) => Some(provider.provide_credentials().await.map_err(|e| {
                Diagnostic::error(
                    opening(),
                    format!("No AWS credentials: {e}. Configure the standard AWS chain (environment, profile, SSO, instance role)."),
                )
            })?),
            None => None,
        };
        let settings = GlueSettings {
            warehouse: self.warehouse.clone(),
            region: self.region.clone(),
            glue_endpoint: self.glue_endpoint.clone(),
            s3_endpoint: self.s3_endpoint.clone(),
            credentials: credentials.map(|c| StaticCredentials {
                access_key_id: c.access_key_id().to_string(),
                secret_access_key: c.secret_access_key().to_string(),
                session_token: c.session_token().map(str::to_string),
            }),
            glue: self.glue.clone(),
            s3: self.s3.clone(),
        };
        EmbeddedEngine::open_with(CatalogConfig::Glue(settings), catalog)
            .await
            .map(|engine| Arc::new(engine) as Arc<dyn Engine>)
            .map_err(|e| {
                Diagnostic::error(
                    opening(),
                    format!(
                        "{e}. Check that the bucket exists and the credentials may use Glue and S3."
                    ),
                )
            })
    }
}
