//! The store on AWS Glue: the same two jobs as the SQLite store — the atomic pointer swap that
//! puts a freshly built table in place, and views — written the way Athena writes them, so
//! Athena (and any Glue-aware engine) reads what the embedded engine built.
//!
//! Tables: `Parameters = {table_type: ICEBERG, metadata_location, previous_metadata_location}`
//! and the columns in Hive types. The swap is one `UpdateTable` carrying the `VersionId` read
//! with the current pointer: Glue refuses it when someone else committed in between.
//! Views: `TableType = VIRTUAL_VIEW` with Athena's `/* Presto View: <base64 JSON> */` text.

use std::collections::HashMap;

use aws_sdk_glue::Client;
use aws_sdk_glue::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_glue::types::{Column, StorageDescriptor, Table, TableInput};
use iceberg::spec::TableMetadata;
use mdw_engine::{EngineError, presto};

use crate::store::{Lookup, StoredView};
use crate::types::hive_type_name;

#[derive(Debug, Clone)]
pub struct GlueStore {
    client: Client,
    catalog_name: String,
}

fn glue_error<E>(context: &str, err: &SdkError<E>) -> EngineError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    let message = match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        _ => DisplayErrorContext(err).to_string(),
    };
    EngineError::Catalog {
        context: context.to_string(),
        message,
    }
}

fn conflict(context: &str, what: &str) -> EngineError {
    EngineError::Conflict {
        context: context.to_string(),
        message: format!(
            "{what} was changed by someone else during this build; nothing was changed, run it again"
        ),
    }
}

fn is_view(table: &Table) -> bool {
    table.table_type() == Some("VIRTUAL_VIEW")
}

fn metadata_location(table: &Table) -> Option<&str> {
    table
        .parameters()
        .and_then(|p| p.get("metadata_location"))
        .map(String::as_str)
}

fn input_error(context: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::InvalidInput(format!("{context}: {e}"))
}

impl GlueStore {
    pub fn new(client: Client, catalog_name: &str) -> Self {
        GlueStore {
            client,
            catalog_name: catalog_name.to_string(),
        }
    }

    async fn entry(
        &self,
        database: &str,
        name: &str,
        context: &str,
    ) -> Result<Option<Table>, EngineError> {
        match self
            .client
            .get_table()
            .database_name(database)
            .name(name)
            .send()
            .await
        {
            Ok(out) => Ok(out.table().cloned()),
            Err(err) if err.code() == Some("EntityNotFoundException") => Ok(None),
            Err(err) => Err(glue_error(context, &err)),
        }
    }

    /// Writes `input` over `current` (or creates it when there is none), guarded by the
    /// version Glue gave us with `current`.
    async fn put_entry(
        &self,
        database: &str,
        current: Option<&Table>,
        input: TableInput,
        context: &str,
        what: &str,
    ) -> Result<(), EngineError> {
        let failure = match current {
            None => self
                .client
                .create_table()
                .database_name(database)
                .table_input(input)
                .send()
                .await
                .err()
                .map(|err| (err.code().map(str::to_string), glue_error(context, &err))),
            Some(table) => self
                .client
                .update_table()
                .database_name(database)
                .table_input(input)
                .set_version_id(table.version_id().map(str::to_string))
                .skip_archive(true)
                .send()
                .await
                .err()
                .map(|err| (err.code().map(str::to_string), glue_error(context, &err))),
        };
        match failure {
            None => Ok(()),
            Some((Some(code), _))
                if code == "AlreadyExistsException"
                    || code == "ConcurrentModificationException" =>
            {
                Err(conflict(context, what))
            }
            Some((_, error)) => Err(error),
        }
    }

    /// Points the table at `new_metadata` (see `SqliteStore::swap_table_pointer`); a view of
    /// the same name is replaced by the table in the same call.
    pub async fn swap_table_pointer(
        &self,
        database: &str,
        name: &str,
        expected: Option<&str>,
        new_metadata: &str,
        metadata: &TableMetadata,
    ) -> Result<(), EngineError> {
        let context = format!("committing table {database}.{name} to Glue");
        let current = self.entry(database, name, &context).await?;
        let still_expected = match (&current, expected) {
            (None, None) => true,
            (Some(table), None) => is_view(table),
            (Some(table), Some(old)) => !is_view(table) && metadata_location(table) == Some(old),
            (None, Some(_)) => false,
        };
        if !still_expected {
            return Err(conflict(&context, "the table"));
        }
        let input = table_input(name, new_metadata, expected, metadata)
            .map_err(|e| input_error(&context, e))?;
        self.put_entry(database, current.as_ref(), input, &context, "the table")
            .await
    }

    pub async fn put_view(
        &self,
        database: &str,
        name: &str,
        view: &StoredView,
        replaced_table: Option<&str>,
    ) -> Result<(), EngineError> {
        let context = format!("creating view {database}.{name} in Glue");
        let current = self.entry(database, name, &context).await?;
        let expected = match (&current, replaced_table) {
            (None, None) => true,
            (Some(table), None) => is_view(table),
            (Some(table), Some(old)) => metadata_location(table) == Some(old),
            (None, Some(_)) => false,
        };
        if !expected {
            return Err(conflict(&context, "the table this view replaces"));
        }
        let input = self
            .view_input(database, name, view)
            .map_err(|e| input_error(&context, e))?;
        self.put_entry(database, current.as_ref(), input, &context, "the view")
            .await
    }

    pub async fn lookup(&self, database: &str, name: &str) -> Result<Lookup, EngineError> {
        let context = format!("reading {database}.{name} from Glue");
        Ok(match self.entry(database, name, &context).await? {
            None => Lookup::Missing,
            Some(table) if is_view(&table) => Lookup::View(stored_view(&table)),
            Some(table) if metadata_location(&table).is_some() => Lookup::Table,
            Some(_) => {
                return Err(EngineError::Catalog {
                    context,
                    message: "it is neither an Iceberg table nor a view; mdw only manages                               Iceberg tables and views — drop or rename it"
                        .to_string(),
                });
            }
        })
    }

    pub async fn get_view(
        &self,
        database: &str,
        name: &str,
    ) -> Result<Option<StoredView>, EngineError> {
        let context = format!("reading view {database}.{name} from Glue");
        Ok(self
            .entry(database, name, &context)
            .await?
            .filter(is_view)
            .map(|table| stored_view(&table)))
    }

    pub async fn delete_view(&self, database: &str, name: &str) -> Result<bool, EngineError> {
        let context = format!("dropping view {database}.{name} from Glue");
        if self.get_view(database, name).await?.is_none() {
            return Ok(false);
        }
        match self
            .client
            .delete_table()
            .database_name(database)
            .name(name)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err) if err.code() == Some("EntityNotFoundException") => Ok(false),
            Err(err) => Err(glue_error(&context, &err)),
        }
    }

    fn view_input(
        &self,
        database: &str,
        name: &str,
        view: &StoredView,
    ) -> Result<TableInput, String> {
        let columns = view
            .columns
            .iter()
            .map(|c| {
                glue_column(
                    &c.name,
                    &hive_of_athena(&c.data_type),
                    view.column_comments.get(&c.name).map(String::as_str),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut parameters = HashMap::from([("presto_view".to_string(), "true".to_string())]);
        if let Some(description) = &view.description {
            parameters.insert("comment".to_string(), description.clone());
        }
        TableInput::builder()
            .name(name)
            .table_type("VIRTUAL_VIEW")
            .set_description(view.description.clone())
            .view_original_text(presto::view_text(
                &view.sql,
                &self.catalog_name,
                database,
                &view.columns,
            ))
            .view_expanded_text("/* Presto View */")
            .set_parameters(Some(parameters))
            .storage_descriptor(
                StorageDescriptor::builder()
                    .set_columns(Some(columns))
                    .build(),
            )
            .build()
            .map_err(|e| e.to_string())
    }
}

fn glue_column(name: &str, ty: &str, comment: Option<&str>) -> Result<Column, String> {
    Column::builder()
        .name(name)
        .r#type(ty)
        .set_comment(comment.map(str::to_string))
        .build()
        .map_err(|e| e.to_string())
}

/// Hive type for a view column, from the Athena (Trino) name the engine reports.
fn hive_of_athena(ty: &str) -> String {
    match ty {
        "varchar" => "string".into(),
        "integer" => "int".into(),
        "real" => "float".into(),
        t if t.starts_with("timestamp") => "timestamp".into(),
        "varbinary" => "binary".into(),
        t => t.to_string(),
    }
}

fn table_input(
    name: &str,
    new_metadata: &str,
    previous: Option<&str>,
    metadata: &TableMetadata,
) -> Result<TableInput, String> {
    let columns = metadata
        .current_schema()
        .as_struct()
        .fields()
        .iter()
        .map(|f| glue_column(&f.name, &hive_type_name(&f.field_type), f.doc.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut parameters = HashMap::from([
        ("table_type".to_string(), "ICEBERG".to_string()),
        ("metadata_location".to_string(), new_metadata.to_string()),
    ]);
    if let Some(previous) = previous {
        parameters.insert(
            "previous_metadata_location".to_string(),
            previous.to_string(),
        );
    }
    let description = metadata.properties().get("comment").cloned();
    TableInput::builder()
        .name(name)
        .table_type("EXTERNAL_TABLE")
        .set_description(description)
        .set_parameters(Some(parameters))
        .storage_descriptor(
            StorageDescriptor::builder()
                .location(metadata.location())
                .set_columns(Some(columns))
                .build(),
        )
        .build()
        .map_err(|e| e.to_string())
}

fn stored_view(table: &Table) -> StoredView {
    let columns: Vec<&Column> = table
        .storage_descriptor()
        .map(|sd| sd.columns().iter().collect())
        .unwrap_or_default();
    let text = table.view_original_text().unwrap_or_default();
    StoredView {
        sql: presto::view_sql(text).unwrap_or_default(),
        description: table
            .description()
            .map(str::to_string)
            .filter(|d| !d.is_empty()),
        column_comments: columns
            .iter()
            .filter_map(|c| Some((c.name().to_string(), c.comment()?.to_string())))
            .collect(),
        columns: presto::view_columns(text),
    }
}
