//! The store on AWS Glue: the same two jobs as the SQLite store — the atomic pointer swap that
//! puts a freshly built table in place, and views — written the way Athena writes them, so
//! Athena (and any Glue-aware engine) reads what the embedded engine built.
//!
//! Tables: `Parameters = {table_type: ICEBERG, metadata_location, previous_metadata_location}`
//! and the columns in Hive types. The swap is one `UpdateTable` carrying the `VersionId` read
//! with the current pointer: Glue refuses it when someone else committed in between.
//! Views: `TableType = VIRTUAL_VIEW` with Athena's `/* Presto View: <base64 JSON> */` text.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_glue::Client;
use aws_sdk_glue::types::{Column, StorageDescriptor, Table, TableInput};
use iceberg::spec::TableMetadata;
use mdw_engine::{EngineError, OWNER_KEY, presto};
use mdw_engine_aws::glue::{
    GlueEntries, conflict, entry_version, is_view, metadata_location, owner_of,
};

use crate::store::{Lookup, Replacing, StoredView};
use crate::types::hive_type_name;

#[derive(Debug, Clone)]
pub(crate) struct GlueStore {
    entries: GlueEntries,
    catalog_name: String,
}

/// True when the entry is exactly what the writer expects to replace.
fn still_there(current: Option<&Table>, replacing: Replacing<'_>) -> bool {
    match (current, replacing) {
        (None, Replacing::Nothing) => true,
        (Some(table), Replacing::Table(old)) => {
            !is_view(table) && metadata_location(table) == Some(old)
        }
        (Some(table), Replacing::View { owner }) => is_view(table) && owner_of(table) == owner,
        _ => false,
    }
}

fn input_error(context: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::InvalidInput(format!("{context}: {e}"))
}

impl GlueStore {
    pub(crate) fn new(client: Client, catalog_name: &str) -> Self {
        GlueStore {
            entries: GlueEntries::new(client),
            catalog_name: catalog_name.to_string(),
        }
    }

    /// Reads the entry and checks it is still what `replacing` says.
    async fn expect(
        &self,
        database: &str,
        name: &str,
        replacing: Replacing<'_>,
        context: &str,
    ) -> Result<Option<Table>, EngineError> {
        let current = self.entries.get(database, name).await?;
        if still_there(current.as_ref(), replacing) {
            Ok(current)
        } else {
            Err(conflict(context, "the name"))
        }
    }

    /// Points the table at `new_metadata` in place of `replacing` (see
    /// `SqliteStore::swap_table_pointer`): one `CreateTable`, or one `UpdateTable` guarded by
    /// the version read with the entry.
    pub(crate) async fn swap_table_pointer(
        &self,
        database: &str,
        name: &str,
        replacing: Replacing<'_>,
        new_metadata: &str,
        metadata: &TableMetadata,
    ) -> Result<(), EngineError> {
        let context = format!("committing table {database}.{name} to Glue");
        let current = self.expect(database, name, replacing, &context).await?;
        let previous = match replacing {
            Replacing::Table(old) => Some(old),
            _ => None,
        };
        let input = table_input(name, new_metadata, previous, metadata)
            .map_err(|e| input_error(&context, e))?;
        self.entries
            .put(database, current.as_ref(), input, &context)
            .await
    }

    pub(crate) async fn put_view(
        &self,
        database: &str,
        name: &str,
        view: &StoredView,
        replacing: Replacing<'_>,
    ) -> Result<(), EngineError> {
        let context = format!("creating view {database}.{name} in Glue");
        let current = self.expect(database, name, replacing, &context).await?;
        let input = self
            .view_input(database, name, view)
            .map_err(|e| input_error(&context, e))?;
        self.entries
            .put(database, current.as_ref(), input, &context)
            .await
    }

    /// Each Iceberg table and view of `database` with its version, from GetTables.
    pub(crate) async fn relation_versions(
        &self,
        database: &str,
    ) -> Result<BTreeMap<String, String>, EngineError> {
        self.entries.versions(database).await
    }

    pub(crate) async fn lookup(&self, database: &str, name: &str) -> Result<Lookup, EngineError> {
        Ok(match self.entries.get(database, name).await? {
            None => Lookup::Missing,
            Some(table) if is_view(&table) => Lookup::View(stored_view(&table)),
            Some(table) if metadata_location(&table).is_some() => Lookup::Table,
            Some(_) => {
                return Err(EngineError::Catalog {
                    context: format!("reading {database}.{name} from Glue"),
                    message: "it is neither an Iceberg table nor a view; mdw only manages \
                              Iceberg tables and views — drop or rename it"
                        .to_string(),
                });
            }
        })
    }

    /// Deletes the table's entry if it still points at `metadata_location` (checked on the entry
    /// read just before: DeleteTable has no version guard).
    pub(crate) async fn drop_table(
        &self,
        database: &str,
        name: &str,
        metadata_location: &str,
    ) -> Result<(), EngineError> {
        let context = format!("dropping table {database}.{name} from Glue");
        self.expect(
            database,
            name,
            Replacing::Table(metadata_location),
            &context,
        )
        .await?;
        self.entries.delete(database, name).await.map(|_| ())
    }

    /// Deletes the view if it still carries `owner`.
    pub(crate) async fn delete_view(
        &self,
        database: &str,
        name: &str,
        owner: Option<&str>,
    ) -> Result<bool, EngineError> {
        let context = format!("dropping view {database}.{name} from Glue");
        match self.entries.get(database, name).await? {
            Some(table) if is_view(&table) && owner_of(&table) == owner => {}
            Some(table) if is_view(&table) => return Err(conflict(&context, "the view")),
            _ => return Ok(false),
        }
        self.entries.delete(database, name).await
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
        if let Some(owner) = &view.owner {
            parameters.insert(OWNER_KEY.to_string(), owner.clone());
        }
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
    // Glue-aware tools see the owner without reading the Iceberg metadata.
    if let Some(owner) = metadata.properties().get(OWNER_KEY) {
        parameters.insert(OWNER_KEY.to_string(), owner.clone());
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
        owner: owner_of(table).map(str::to_string),
        version: entry_version(table),
    }
}
