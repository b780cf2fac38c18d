/// Why an engine operation failed. Every variant's text says which operation on which relation
/// failed and carries the underlying engine's own message, so a provider diagnostic can show it
/// as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The request itself is wrong (bad name, unknown partition transform, merge without
    /// `unique_key`, ...): fix the configuration.
    #[error("{0}")]
    InvalidInput(String),

    /// The SQL engine rejected or failed to run a query; `message` is what the SQL engine said.
    #[error("{context}: SQL error: {message}")]
    Sql { context: String, message: String },

    /// The relation or database does not exist.
    #[error("{0}")]
    NotFound(String),

    /// Someone else changed the table between read and commit; nothing was changed by this
    /// call. Retrying is safe.
    #[error("{context}: {message}")]
    Conflict { context: String, message: String },

    /// `on_schema_change = 'fail'` and the query's columns differ from the table's.
    #[error(
        "{context}: the model's columns changed and on_schema_change is 'fail' \
         (added: [{}], removed: [{}], type changed: [{}]); set on_schema_change to \
         'append_new_columns' or 'sync_all_columns', or rebuild the table",
        added.join(", "), removed.join(", "), changed.join(", ")
    )]
    SchemaChanged {
        context: String,
        added: Vec<String>,
        removed: Vec<String>,
        changed: Vec<String>,
    },

    /// The relation exists but belongs to someone else (another resource or Terraform root, or
    /// nobody mdw knows): it is neither replaced nor dropped.
    #[error(
        "{relation} already exists and is not managed by this resource ({}); mdw does not \
         replace or drop a table or view it does not own. If this configuration should manage \
         it, import it (terraform import <resource address> {relation}); otherwise choose \
         another name or database",
        match found_owner {
            Some(owner) => format!("it is marked as owned by {owner:?}"),
            None => "it carries no mdw owner marker".to_string(),
        }
    )]
    NotOwned {
        relation: String,
        found_owner: Option<String>,
    },

    /// The SQL engine supports the request in general, but this engine does not.
    #[error("{0}")]
    Unsupported(String),

    /// The catalog (SQLite, Glue) failed.
    #[error("{context}: catalog error: {message}")]
    Catalog { context: String, message: String },

    /// Reading or writing files failed.
    #[error("{context}: storage error: {message}")]
    Storage { context: String, message: String },
}

impl EngineError {
    /// True when the same call may succeed if retried unchanged.
    pub fn is_retryable(&self) -> bool {
        matches!(self, EngineError::Conflict { .. })
    }
}

impl From<mdw_sql_types::UnsupportedType> for EngineError {
    fn from(error: mdw_sql_types::UnsupportedType) -> Self {
        EngineError::InvalidInput(error.to_string())
    }
}
