//! Which engine builds the models, opened on first use so plans without models touch nothing.

use std::path::PathBuf;
use std::sync::Arc;

use mdw_engine::{Engine, EngineError};
use tfplugin::Diagnostic;
use tokio::sync::OnceCell;

/// Where the embedded engine keeps its catalog and tables unless configured: beside the root
/// module Terraform runs in, like `.terraform/`.
pub const DEFAULT_WAREHOUSE_DIR: &str = ".mdw/warehouse";

#[derive(Debug, Clone, PartialEq)]
pub enum EngineConfig {
    /// DataFusion + Iceberg on local disk.
    Embedded { warehouse_dir: PathBuf },
}

pub struct Engines {
    config: EngineConfig,
    catalog: String,
    opened: OnceCell<Arc<dyn Engine>>,
}

impl Engines {
    pub fn new(config: EngineConfig, catalog: String) -> Self {
        Engines {
            config,
            catalog,
            opened: OnceCell::new(),
        }
    }

    /// The catalog name models use in three-part names (`"awsdatacatalog"."mdw"."t"`).
    pub fn catalog(&self) -> &str {
        &self.catalog
    }

    pub async fn get(&self) -> Result<Arc<dyn Engine>, Diagnostic> {
        self.opened
            .get_or_try_init(|| async {
                match &self.config {
                    EngineConfig::Embedded { warehouse_dir } => {
                        mdw_engine_embedded::EmbeddedEngine::open(warehouse_dir, &self.catalog)
                            .await
                            .map(|engine| Arc::new(engine) as Arc<dyn Engine>)
                            .map_err(|e| {
                                Diagnostic::error(
                                    format!("Opening the embedded warehouse at {}", warehouse_dir.display()),
                                    format!("{e}. Check that the directory is writable, or set embedded = {{ warehouse = \"…\" }} in the provider block."),
                                )
                            })
                    }
                }
            })
            .await
            .cloned()
    }
}

/// An engine failure as a diagnostic: what was being done to which relation, and the engine's
/// own words.
pub fn engine_error(doing: &str, err: &EngineError) -> Diagnostic {
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
