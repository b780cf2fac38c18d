//! Glue table entries as both engines write them: read, create, replace guarded by the entry's
//! version (Glue's compare-and-swap: `UpdateTable` with the `VersionId` read with the entry
//! fails when someone else wrote it in between), delete, and the parameters mdw keeps there.
//!
//! An Iceberg table in Glue is an entry whose parameters point at its metadata file
//! (`table_type = ICEBERG`, `metadata_location`); a view is a `VIRTUAL_VIEW` entry. Copying an
//! entry under another name is how Iceberg's own Glue catalog renames a table, and replacing
//! an entry's content in one `UpdateTable` is how it commits: the engines swap a freshly built
//! table or view into a name that way, so the name never goes missing.

use std::collections::BTreeMap;

use aws_sdk_glue::Client;
use aws_sdk_glue::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_glue::types::{Table, TableInput};
use mdw_engine::{EngineError, OWNER_KEY};
use sha2::{Digest, Sha256};

/// A Glue error as an engine error: what was being done, and Glue's code and message.
pub fn glue_error<E>(context: &str, err: &SdkError<E>) -> EngineError
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

pub fn is_not_found<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    err.code() == Some("EntityNotFoundException")
}

/// Someone else's write came first: this one changed nothing. Running it again is safe — it
/// re-reads what is there and checks its owner before writing.
pub fn conflict(context: &str, what: &str) -> EngineError {
    EngineError::Conflict {
        context: context.to_string(),
        message: format!(
            "{what} was changed by someone else during this operation; nothing was changed \
             (the next apply re-reads it and checks its owner before writing)"
        ),
    }
}

pub fn is_view(table: &Table) -> bool {
    table.table_type() == Some("VIRTUAL_VIEW")
}

pub fn parameter<'a>(table: &'a Table, key: &str) -> Option<&'a str> {
    table
        .parameters()
        .and_then(|p| p.get(key))
        .map(String::as_str)
}

/// The Iceberg metadata file an entry points at (`None` for views and non-Iceberg tables).
pub fn metadata_location(table: &Table) -> Option<&str> {
    parameter(table, "metadata_location")
}

/// The entry's version, as `Engine::relation_versions` lists it: an Iceberg table's metadata
/// location (every commit changes it); for a view, a digest of everything that defines it —
/// its text, description, parameters (the owner among them) and columns. `None` for other
/// entries.
pub fn entry_version(table: &Table) -> Option<String> {
    if !is_view(table) {
        return metadata_location(table).map(str::to_string);
    }
    let mut hasher = Sha256::new();
    let mut part = |text: &str| {
        hasher.update(text.as_bytes());
        hasher.update([0]);
    };
    part(table.view_original_text().unwrap_or_default());
    part(table.view_expanded_text().unwrap_or_default());
    part(table.description().unwrap_or_default());
    let parameters: BTreeMap<&String, &String> = table.parameters().into_iter().flatten().collect();
    for (key, value) in parameters {
        part(key);
        part(value);
    }
    for column in table
        .storage_descriptor()
        .map(|sd| sd.columns())
        .unwrap_or_default()
    {
        part(column.name());
        part(column.r#type().unwrap_or_default());
        part(column.comment().unwrap_or_default());
    }
    let digest = hasher.finalize();
    Some(format!(
        "view:{}",
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ))
}

pub fn owner_of(table: &Table) -> Option<&str> {
    parameter(table, OWNER_KEY)
}

/// The entry as input for writing it under `name`, with `parameters` set (`Some`) or removed
/// (`None`) on top of its own.
pub fn input_of(
    table: &Table,
    name: &str,
    parameters: &[(&str, Option<&str>)],
) -> Result<TableInput, EngineError> {
    let mut merged = table.parameters().cloned().unwrap_or_default();
    for (key, value) in parameters {
        match value {
            Some(value) => merged.insert(key.to_string(), value.to_string()),
            None => merged.remove(*key),
        };
    }
    TableInput::builder()
        .name(name)
        .set_description(table.description().map(str::to_string))
        .set_owner(table.owner().map(str::to_string))
        .set_retention(Some(table.retention()))
        .set_table_type(table.table_type().map(str::to_string))
        .set_storage_descriptor(table.storage_descriptor().cloned())
        .set_partition_keys(Some(table.partition_keys().to_vec()))
        .set_view_original_text(table.view_original_text().map(str::to_string))
        .set_view_expanded_text(table.view_expanded_text().map(str::to_string))
        .set_parameters(Some(merged))
        .build()
        .map_err(|e| EngineError::InvalidInput(format!("copying Glue entry {name}: {e}")))
}

/// One Glue catalog's table entries.
#[derive(Debug, Clone)]
pub struct GlueEntries {
    client: Client,
}

impl GlueEntries {
    pub fn new(client: Client) -> Self {
        GlueEntries { client }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The entry, `None` when there is none.
    pub async fn get(&self, database: &str, name: &str) -> Result<Option<Table>, EngineError> {
        match self
            .client
            .get_table()
            .database_name(database)
            .name(name)
            .send()
            .await
        {
            Ok(out) => Ok(out.table().cloned()),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(glue_error(
                &format!("reading {database}.{name} from Glue"),
                &err,
            )),
        }
    }

    /// Writes `input` as a new entry (`current` `None`) or over `current`, guarded by the version
    /// Glue gave with it; `Conflict` when the name changed since it was read.
    pub async fn put(
        &self,
        database: &str,
        current: Option<&Table>,
        input: TableInput,
        context: &str,
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
                    || code == "ConcurrentModificationException"
                    || code == "EntityNotFoundException" =>
            {
                Err(conflict(context, "the name"))
            }
            Some((_, error)) => Err(error),
        }
    }

    /// Removes the entry only (an Iceberg table's files stay); false when there was none.
    pub async fn delete(&self, database: &str, name: &str) -> Result<bool, EngineError> {
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
            Err(err) => Err(glue_error(
                &format!("removing {database}.{name} from Glue"),
                &err,
            )),
        }
    }

    /// Names of the database's entries starting with `prefix`.
    pub async fn names(&self, database: &str, prefix: &str) -> Result<Vec<String>, EngineError> {
        Ok(self
            .tables(database)
            .await?
            .iter()
            .map(|t| t.name().to_string())
            .filter(|n| n.starts_with(prefix))
            .collect())
    }

    /// Each Iceberg table and view of the database with its version ([`entry_version`]): what
    /// `Engine::relation_versions` answers on Glue.
    pub async fn versions(&self, database: &str) -> Result<BTreeMap<String, String>, EngineError> {
        Ok(self
            .tables(database)
            .await?
            .iter()
            .filter_map(|t| Some((t.name().to_string(), entry_version(t)?)))
            .collect())
    }

    /// Every entry of the database (none when it does not exist), a page of GetTables at a
    /// time.
    pub async fn tables(&self, database: &str) -> Result<Vec<Table>, EngineError> {
        let mut tables = Vec::new();
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
                Err(err) if is_not_found(&err) => return Ok(tables),
                Err(err) => {
                    return Err(glue_error(&format!("listing tables of {database}"), &err));
                }
            };
            tables.extend(out.table_list().iter().cloned());
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => return Ok(tables),
            }
        }
    }
}
