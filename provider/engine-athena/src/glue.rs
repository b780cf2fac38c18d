//! What the Glue Data Catalog says about a relation: Athena registers its Iceberg tables and
//! views there, so drift detection reads Glue directly (one API call, no query, no cost).

use std::collections::BTreeMap;

use aws_sdk_glue::error::ProvideErrorMetadata;
use aws_sdk_glue::types::{Database, DatabaseInput, Table, TableInput};
use mdw_engine::{
    ColumnInfo, EngineError, OWNER_KEY, RESERVED_PREFIX, RelationInfo, RelationKind, presto,
};
use mdw_engine_aws::glue::{GlueEntries, entry_version, glue_error, input_of, is_not_found};

use crate::sql::trino_type;

pub(crate) struct Catalog {
    entries: GlueEntries,
}

impl Catalog {
    pub(crate) fn new(client: aws_sdk_glue::Client) -> Self {
        Catalog {
            entries: GlueEntries::new(client),
        }
    }

    pub(crate) fn entries(&self) -> &GlueEntries {
        &self.entries
    }

    async fn database(&self, database: &str) -> Result<Option<Database>, EngineError> {
        match self
            .entries
            .client()
            .get_database()
            .name(database)
            .send()
            .await
        {
            Ok(out) => Ok(out.database().cloned()),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(glue_error(&format!("reading database {database}"), &err)),
        }
    }

    pub(crate) async fn ensure_database(&self, database: &str) -> Result<(), EngineError> {
        if self.database(database).await?.is_some() {
            return Ok(());
        }
        let input = DatabaseInput::builder()
            .name(database)
            .build()
            .map_err(|e| EngineError::InvalidInput(e.to_string()))?;
        match self
            .entries
            .client()
            .create_database()
            .database_input(input)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Another model of the same apply created it first.
            Err(err) if err.code() == Some("AlreadyExistsException") => Ok(()),
            Err(err) => Err(glue_error(&format!("creating database {database}"), &err)),
        }
    }

    /// The database's `LocationUri`, where its tables go when nothing else says.
    pub(crate) async fn database_location(
        &self,
        database: &str,
    ) -> Result<Option<String>, EngineError> {
        Ok(self
            .database(database)
            .await?
            .and_then(|d| d.location_uri().map(str::to_string))
            .filter(|l| !l.is_empty()))
    }

    pub(crate) async fn describe(
        &self,
        database: &str,
        name: &str,
    ) -> Result<Option<RelationInfo>, EngineError> {
        Ok(self
            .entries
            .get(database, name)
            .await?
            .map(|t| relation_info(database, &t)))
    }

    /// Names of the database's tables starting with `prefix`.
    pub(crate) async fn table_names(
        &self,
        database: &str,
        prefix: &str,
    ) -> Result<Vec<String>, EngineError> {
        self.entries.names(database, prefix).await
    }

    /// Writes the model's description and column comments into an entry Athena created (as
    /// dbt-athena's `persist_docs` does: Athena's CTAS takes no comments), guarded by the
    /// entry's version. Everything else — the Iceberg metadata pointer above all — is kept.
    pub(crate) async fn persist_docs(
        &self,
        database: &str,
        name: &str,
        docs: &Docs<'_>,
    ) -> Result<(), EngineError> {
        if docs.is_empty() {
            return Ok(());
        }
        let context = format!("writing the description of {database}.{name} to Glue");
        let Some(table) = self.entries.get(database, name).await? else {
            return Ok(());
        };
        let input = docs.applied(input_of(&table, name, &[])?);
        self.entries
            .put(database, Some(&table), input, &context)
            .await
    }

    /// Removes only the catalog entry: the table's files stay (`on_destroy = "retain"`).
    pub(crate) async fn forget_table(
        &self,
        database: &str,
        name: &str,
    ) -> Result<bool, EngineError> {
        self.entries.delete(database, name).await
    }
}

/// A model's description and column comments, as Glue keeps them.
pub(crate) struct Docs<'a> {
    pub(crate) description: Option<&'a str>,
    /// Lower-cased column name → comment.
    pub(crate) column_comments: BTreeMap<String, String>,
}

impl<'a> Docs<'a> {
    pub(crate) fn new(
        description: Option<&'a str>,
        column_comments: &BTreeMap<String, String>,
    ) -> Self {
        Docs {
            description: description.filter(|d| !d.is_empty()),
            column_comments: column_comments
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.description.is_none() && self.column_comments.is_empty()
    }

    /// `input` with the description and column comments set.
    pub(crate) fn applied(&self, mut input: TableInput) -> TableInput {
        if let Some(sd) = input.storage_descriptor.as_mut() {
            let columns = sd
                .columns()
                .iter()
                .map(|c| {
                    let mut column = c.clone();
                    if let Some(comment) = self.column_comments.get(&c.name().to_ascii_lowercase())
                    {
                        column.comment = Some(comment.clone());
                    }
                    column
                })
                .collect();
            sd.columns = Some(columns);
        }
        if let Some(description) = self.description {
            input.description = Some(description.to_string());
            input
                .parameters
                .get_or_insert_with(Default::default)
                .insert("comment".to_string(), description.to_string());
        }
        input
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
        // Iceberg tables keep dropped columns in Glue, marked as not current.
        .filter(|c| {
            c.parameters()
                .and_then(|p| p.get("iceberg.field.current"))
                .is_none_or(|current| current != "false")
        })
        .chain(table.partition_keys())
        .map(|c| ColumnInfo {
            name: c.name().to_string(),
            data_type: trino_type(c.r#type().unwrap_or("string")),
            comment: c.comment().map(str::to_string),
        })
        .collect();
    columns.retain(|c| !c.name.is_empty());
    let parameters = table.parameters().cloned().unwrap_or_default();
    let table_properties: BTreeMap<String, String> = parameters
        .iter()
        .filter(|(k, _)| !GLUE_BOOKKEEPING.contains(&k.as_str()) && !k.starts_with(RESERVED_PREFIX))
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
        version: entry_version(table),
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
        owner: parameters.get(OWNER_KEY).cloned(),
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
