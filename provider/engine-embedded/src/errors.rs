//! Turning DataFusion and iceberg-rust errors into [`EngineError`]s that say which operation
//! failed and keep the library's own message.

use datafusion::error::DataFusionError;
use mdw_engine::EngineError;

/// An error from iceberg-rust (catalog or metadata work).
pub(crate) fn catalog_error(context: &str, error: iceberg::Error) -> EngineError {
    let message = error.to_string();
    match error.kind() {
        iceberg::ErrorKind::CatalogCommitConflicts => EngineError::Conflict {
            context: context.to_string(),
            message: format!(
                "{message}; nothing was changed (the next apply re-reads the table and checks its owner first)"
            ),
        },
        iceberg::ErrorKind::DataInvalid | iceberg::ErrorKind::FeatureUnsupported => {
            EngineError::InvalidInput(format!("{context}: {message}"))
        }
        _ => EngineError::Catalog {
            context: context.to_string(),
            message,
        },
    }
}

/// An error from DataFusion while planning or running SQL (including failures of the Iceberg
/// writer, which runs inside the DataFusion plan).
pub(crate) fn sql_error(context: &str, error: DataFusionError) -> EngineError {
    // Commit conflicts surface through the plan as external errors: keep them retryable.
    if let DataFusionError::External(inner) = error.find_root()
        && let Some(iceberg_error) = inner.downcast_ref::<iceberg::Error>()
        && iceberg_error.kind() == iceberg::ErrorKind::CatalogCommitConflicts
    {
        return EngineError::Conflict {
            context: context.to_string(),
            message: format!(
                "{iceberg_error}; nothing was changed (the next apply re-reads the table and checks its owner first)"
            ),
        };
    }
    EngineError::Sql {
        context: context.to_string(),
        message: error.to_string(),
    }
}

/// An error from the file store.
pub(crate) fn storage_error(context: &str, error: impl std::fmt::Display) -> EngineError {
    EngineError::Storage {
        context: context.to_string(),
        message: error.to_string(),
    }
}
