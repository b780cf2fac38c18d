//! What the Glue Data Catalog says about a relation: Athena registers its Iceberg tables and
//! views there, so drift detection reads Glue directly (one API call, no query, no cost).

use std::collections::BTreeMap;

use aws_sdk_glue::Client;
use aws_sdk_glue::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_glue::types::{Database, DatabaseInput, Table, TableInput};
use mdw_engine::{ColumnInfo, EngineError, RelationInfo, RelationKind, presto};

use crate::sql::trino_type;

pub struct Catalog {
    client: Client,
}

fn catalog_error<E>(context: String, err: &SdkError<E>) -> EngineError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    let message = match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        _ => DisplayErrorContext(err).to_string(),
    };
    EngineError::Catalog { context, message }
}

fn is_not_found<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    err.code() == Some("EntityNotFoundException")
}

impl Catalog {
    pub fn new(client: Client) -> Self {
        Catalog { client }
    }

    async fn database(&self, database: &str) -> Result<Option<Database>, EngineError> {
        match self.client.get_database().name(database).send().await {
            Ok(out) => Ok(out.database().cloned()),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(catalog_error(format!("reading database {database}"), &err)),
        }
    }

    pub async fn ensure_database(&self, database: &str) -> Result<(), EngineError> {
        if self.database(database).await?.is_some() {
            return Ok(());
        }
        let input = DatabaseInput::builder()
            .name(database)
            .build()
            .map_err(|e| EngineError::InvalidInput(e.to_string()))?;
        match self
            .client
            .create_database()
            .database_input(input)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Another model of the same apply created it first.
            Err(err) if err.code() == Some("AlreadyExistsException") => Ok(()),
            Err(err) => Err(catalog_error(format!("creating database {database}"), &err)),
        }
    }

    /// The database's `LocationUri`, where its tables go when nothing else says.
    pub async fn database_location(&self, database: &str) -> Result<Option<String>, EngineError> {
        Ok(self
            .database(database)
            .await?
            .and_then(|d| d.location_uri().map(str::to_string))
            .filter(|l| !l.is_empty()))
    }

    pub async fn describe(
        &self,
        database: &str,
        name: &str,
    ) -> Result<Option<RelationInfo>, EngineError> {
        match self
            .client
            .get_table()
            .database_name(database)
            .name(name)
            .send()
            .await
        {
            Ok(out) => Ok(out.table().map(|t| relation_info(database, t))),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(catalog_error(format!("reading {database}.{name}"), &err)),
        }
    }

    /// Names of the database's tables starting with `prefix`.
    pub async fn table_names(
        &self,
        database: &str,
        prefix: &str,
    ) -> Result<Vec<String>, EngineError> {
        let mut names = Vec::new();
        let mut next_token = None;
        loop {
            let out = match self
                .client
                .get_tables()
                .database_name(database)
                .set_next_token(next_token.take())
                .send()
                .await
            {
                Ok(out) => out,
                Err(err) if is_not_found(&err) => return Ok(names),
                Err(err) => {
                    return Err(catalog_error(format!("listing tables of {database}"), &err));
                }
            };
            names.extend(
                out.table_list()
                    .iter()
                    .map(|t| t.name().to_string())
                    .filter(|n| n.starts_with(prefix)),
            );
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => return Ok(names),
            }
        }
    }

    /// Writes the model's description and column comments into the Glue entry Athena created
    /// (as dbt-athena's `persist_docs` does: Athena's CTAS takes no comments). Everything else
    /// of the entry — the Iceberg metadata pointer above all — is written back unchanged, and the
    /// entry's version guards against a concurrent change.
    pub async fn persist_docs(
        &self,
        database: &str,
        name: &str,
        description: Option<&str>,
        column_comments: &BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        if description.is_none() && column_comments.is_empty() {
            return Ok(());
        }
        let context = format!("writing the description of {database}.{name} to Glue");
        let table = match self
            .client
            .get_table()
            .database_name(database)
            .name(name)
            .send()
            .await
        {
            Ok(out) => out.table().cloned(),
            Err(err) => return Err(catalog_error(context, &err)),
        };
        let Some(table) = table else {
            return Ok(());
        };
        let mut descriptor = table.storage_descriptor().cloned();
        if let Some(sd) = descriptor.as_mut() {
            let columns = sd
                .columns()
                .iter()
                .map(|c| {
                    let mut column = c.clone();
                    if let Some(comment) = column_comments.get(&c.name().to_ascii_lowercase()) {
                        column.comment = Some(comment.clone());
                    }
                    column
                })
                .collect();
            sd.columns = Some(columns);
        }
        let mut parameters = table.parameters().cloned().unwrap_or_default();
        if let Some(description) = description {
            parameters.insert("comment".to_string(), description.to_string());
        }
        let input = TableInput::builder()
            .name(table.name())
            .set_description(
                description
                    .map(str::to_string)
                    .or(table.description().map(str::to_string)),
            )
            .set_owner(table.owner().map(str::to_string))
            .set_table_type(table.table_type().map(str::to_string))
            .set_storage_descriptor(descriptor)
            .set_partition_keys(Some(table.partition_keys().to_vec()))
            .set_parameters(Some(parameters))
            .set_view_original_text(table.view_original_text().map(str::to_string))
            .set_view_expanded_text(table.view_expanded_text().map(str::to_string))
            .build()
            .map_err(|e| EngineError::InvalidInput(format!("{context}: {e}")))?;
        self.client
            .update_table()
            .database_name(database)
            .table_input(input)
            .set_version_id(table.version_id().map(str::to_string))
            .skip_archive(true)
            .send()
            .await
            .map(|_| ())
            .map_err(|err| catalog_error(context, &err))
    }

    /// Removes only the catalog entry: the table's files stay (`on_destroy = "retain"`).
    pub async fn forget_table(&self, database: &str, name: &str) -> Result<bool, EngineError> {
        match self
            .client
            .delete_table()
            .database_name(database)
            .name(name)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err) if is_not_found(&err) => Ok(false),
            Err(err) => Err(catalog_error(
                format!("removing {database}.{name} from Glue"),
                &err,
            )),
        }
    }
}

fn relation_info(database: &str, table: &Table) -> RelationInfo {
    let kind = if table.table_type() == Some("VIRTUAL_VIEW") {
        RelationKind::View
    } else {
        RelationKind::Table
    };
    let descriptor = table.storage_descriptor();
    let mut columns: Vec<ColumnInfo> = descriptor
        .map(|sd| sd.columns())
        .unwrap_or_default()
        .iter()
        .chain(table.partition_keys())
        .map(|c| ColumnInfo {
            name: c.name().to_string(),
            data_type: trino_type(c.r#type().unwrap_or("string")),
            comment: c.comment().map(str::to_string),
        })
        .collect();
    // Iceberg tables keep dropped columns in Glue marked as not current.
    columns.retain(|c| !c.name.is_empty());
    let parameters = table.parameters().cloned().unwrap_or_default();
    let table_properties: BTreeMap<String, String> = parameters
        .iter()
        .filter(|(k, _)| !GLUE_BOOKKEEPING.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    RelationInfo {
        database: database.to_string(),
        name: table.name().to_string(),
        kind,
        columns,
        location: match kind {
            RelationKind::Table => descriptor.and_then(|sd| sd.location()).map(str::to_string),
            RelationKind::View => None,
        },
        snapshot_id: None,
        description: table
            .description()
            .or(parameters.get("comment").map(String::as_str))
            .map(str::to_string),
        view_sql: match kind {
            RelationKind::View => table
                .view_original_text()
                .map(|text| presto::view_sql(text).unwrap_or_else(|| text.to_string())),
            RelationKind::Table => None,
        },
        partitioned_by: Vec::new(),
        table_properties,
    }
}

/// Parameters Athena and Glue keep for themselves, not table properties a model sets.
const GLUE_BOOKKEEPING: &[&str] = &[
    "table_type",
    "metadata_location",
    "previous_metadata_location",
    "EXTERNAL",
    "presto_view",
    "comment",
];
