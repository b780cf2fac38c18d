//! What the engine keeps in the catalog's SQLite file besides iceberg-rust's own rows: the atomic
//! pointer swap that puts a freshly built table in place, and view definitions (iceberg-rust's
//! SQL catalog has no views).
//!
//! The swap writes `iceberg_tables` directly, the same row iceberg-catalog-sql 0.10 reads and
//! writes, with the same compare-and-swap on `metadata_location` that its `update_table` uses.
//! `glue_store.rs` does the same on Glue with `UpdateTable` + `VersionId`.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use iceberg::spec::TableMetadata;
use mdw_engine::{ColumnInfo, EngineError};
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use crate::glue_store::GlueStore;
use mdw_engine_aws::glue::conflict;

/// A view as stored by the engine.
#[derive(Debug, Clone)]
pub(crate) struct StoredView {
    pub sql: String,
    pub description: Option<String>,
    pub column_comments: BTreeMap<String, String>,
    /// The view's columns when it was created; Glue keeps them (Athena needs them), SQLite
    /// does not (the engine plans the SQL on every read anyway).
    pub columns: Vec<ColumnInfo>,
    /// The owner marker (see `mdw_engine::Ownership`).
    pub owner: Option<String>,
    /// Its version as the store lists it (`Engine::relation_versions`), when read from the
    /// store.
    pub version: Option<String>,
}

/// A view's version in SQLite: a digest of what a row of `mdw_views` holds — SQL,
/// description, column comments and owner — which every change of the view changes.
fn sqlite_view_version(view: &StoredView) -> String {
    let mut hasher = Sha256::new();
    for part in [
        view.sql.as_str(),
        view.description.as_deref().unwrap_or_default(),
        &serde_json::to_string(&view.column_comments).unwrap_or_default(),
        view.owner.as_deref().unwrap_or_default(),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("view:{hex}")
}

/// A view as a row of `mdw_views` holds it.
fn stored_view(row: &sqlx::sqlite::SqliteRow, context: &str) -> Result<StoredView, EngineError> {
    let comments: String = row
        .try_get("column_comments")
        .map_err(|e| store_error(context, e))?;
    Ok(StoredView {
        sql: row
            .try_get("sql_text")
            .map_err(|e| store_error(context, e))?,
        description: row
            .try_get("description")
            .map_err(|e| store_error(context, e))?,
        // A hand-edited, unreadable comments column must not make the view unreadable.
        column_comments: serde_json::from_str(&comments).unwrap_or_default(),
        columns: Vec::new(),
        owner: row.try_get("owner").map_err(|e| store_error(context, e))?,
        version: None,
    }
    .with_sqlite_version())
}

impl StoredView {
    fn with_sqlite_version(self) -> StoredView {
        StoredView {
            version: Some(sqlite_view_version(&self)),
            ..self
        }
    }
}

/// What a name currently is in the store, before the Iceberg catalog is asked.
#[derive(Debug)]
pub(crate) enum Lookup {
    View(StoredView),
    /// The store has an Iceberg table of that name (load it through the catalog).
    Table,
    Missing,
    /// The store holds views only (SQLite): ask the catalog.
    NotAView,
}

/// What a write expects to replace: the commit fails with `Conflict`, changing nothing, when
/// the name no longer holds exactly that (someone else committed in between).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Replacing<'a> {
    /// The name must be free.
    Nothing,
    /// The table at this metadata file.
    Table(&'a str),
    /// The view with this owner marker.
    View { owner: Option<&'a str> },
}

/// Where the engine keeps table pointers and views: beside iceberg-rust's SQLite catalog, or
/// in Glue.
#[derive(Debug, Clone)]
pub(crate) enum Store {
    Sqlite(SqliteStore),
    Glue(GlueStore),
}

impl Store {
    /// Points the table at `new_metadata` in place of `replacing`, in one catalog write.
    pub(crate) async fn swap_table_pointer(
        &self,
        database: &str,
        name: &str,
        replacing: Replacing<'_>,
        new_metadata: &str,
        metadata: &TableMetadata,
    ) -> Result<(), EngineError> {
        match self {
            Store::Sqlite(store) => {
                store
                    .swap_table_pointer(database, name, replacing, new_metadata)
                    .await
            }
            Store::Glue(store) => {
                store
                    .swap_table_pointer(database, name, replacing, new_metadata, metadata)
                    .await
            }
        }
    }

    /// Puts the view in place of `replacing`, in one catalog write.
    pub(crate) async fn put_view(
        &self,
        database: &str,
        name: &str,
        view: &StoredView,
        replacing: Replacing<'_>,
    ) -> Result<(), EngineError> {
        match self {
            Store::Sqlite(store) => store.put_view(database, name, view, replacing).await,
            Store::Glue(store) => store.put_view(database, name, view, replacing).await,
        }
    }

    /// Removes the table's entry if it still points at `metadata_location`.
    pub(crate) async fn drop_table(
        &self,
        database: &str,
        name: &str,
        metadata_location: &str,
    ) -> Result<(), EngineError> {
        match self {
            Store::Sqlite(store) => store.drop_table(database, name, metadata_location).await,
            Store::Glue(store) => store.drop_table(database, name, metadata_location).await,
        }
    }

    /// Views first: Glue holds views and tables under one name, and the Iceberg catalog neither
    /// loads a view nor (iceberg-catalog-glue 0.10) says "not found" in a way one can match.
    pub(crate) async fn lookup(&self, database: &str, name: &str) -> Result<Lookup, EngineError> {
        match self {
            Store::Sqlite(store) => Ok(match store.get_view(database, name).await? {
                Some(view) => Lookup::View(view),
                None => Lookup::NotAView,
            }),
            Store::Glue(store) => store.lookup(database, name).await,
        }
    }

    /// Each relation of `database` with its version (`Engine::relation_versions`): a table's
    /// metadata location, a view's digest of its definition as the store keeps it.
    pub(crate) async fn relation_versions(
        &self,
        database: &str,
    ) -> Result<BTreeMap<String, String>, EngineError> {
        match self {
            Store::Sqlite(store) => store.relation_versions(database).await,
            Store::Glue(store) => store.relation_versions(database).await,
        }
    }

    /// The version of a view just written as `view`, when the store can tell without reading
    /// it back (SQLite: the digest of the row; Glue: unknown until the entry is read).
    pub(crate) fn written_view_version(&self, view: &StoredView) -> Option<String> {
        match self {
            Store::Sqlite(_) => Some(sqlite_view_version(view)),
            Store::Glue(_) => None,
        }
    }

    /// Deletes the view if it still carries `owner`; false when there was none.
    pub(crate) async fn delete_view(
        &self,
        database: &str,
        name: &str,
        owner: Option<&str>,
    ) -> Result<bool, EngineError> {
        match self {
            Store::Sqlite(store) => store.delete_view(database, name, owner).await,
            Store::Glue(store) => store.delete_view(database, name, owner).await,
        }
    }
}

/// The engine's connection to the catalog's SQLite file.
#[derive(Debug, Clone)]
pub(crate) struct SqliteStore {
    pool: SqlitePool,
    catalog_name: String,
}

fn store_error(context: &str, error: sqlx::Error) -> EngineError {
    EngineError::Catalog {
        context: context.to_string(),
        message: error.to_string(),
    }
}

/// Every transaction here reads what it then writes: taking the write lock first makes a
/// concurrent writer wait (busy timeout) instead of both upgrading a read lock, which SQLite
/// refuses at once with "database is locked" to avoid a deadlock.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// Catalogs written before owner markers existed have no `owner` column.
async fn add_owner_column(pool: &SqlitePool, context: &str) -> Result<(), EngineError> {
    let present = sqlx::query("SELECT 1 FROM pragma_table_info('mdw_views') WHERE name = 'owner'")
        .fetch_optional(pool)
        .await
        .map_err(|e| store_error(context, e))?
        .is_some();
    if present {
        return Ok(());
    }
    match sqlx::query("ALTER TABLE mdw_views ADD COLUMN owner TEXT")
        .execute(pool)
        .await
    {
        Ok(_) => Ok(()),
        // Another process added it between the check and here.
        Err(e) if e.to_string().contains("duplicate column") => Ok(()),
        Err(e) => Err(store_error(context, e)),
    }
}

impl SqliteStore {
    /// Opens the file (iceberg-catalog-sql has already created it and its tables) and creates
    /// the views table.
    pub(crate) async fn open(path: &Path, catalog_name: &str) -> Result<Self, EngineError> {
        let context = format!("opening the catalog database {}", path.display());
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(|e| store_error(&context, e))?
            .filename(path)
            .create_if_missing(true)
            // Terraform runs several resources at once and other processes may hold the file:
            // wait for the lock rather than failing with SQLITE_BUSY.
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| store_error(&context, e))?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS mdw_views (
                catalog_name VARCHAR(255) NOT NULL,
                view_namespace VARCHAR(255) NOT NULL,
                view_name VARCHAR(255) NOT NULL,
                sql_text TEXT NOT NULL,
                description TEXT,
                column_comments TEXT NOT NULL DEFAULT '{}',
                owner TEXT,
                updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
                PRIMARY KEY (catalog_name, view_namespace, view_name))",
        )
        .execute(&pool)
        .await
        .map_err(|e| store_error(&context, e))?;
        add_owner_column(&pool, &context).await?;
        Ok(Self {
            pool,
            catalog_name: catalog_name.to_string(),
        })
    }

    /// Points the table at `new_metadata` in place of `replacing` — a new row, a view's row
    /// turned into the table's, or the table's row moved from the old metadata file to the new
    /// one — in one transaction that fails with `Conflict` unless the name still holds exactly
    /// what `replacing` says.
    pub(crate) async fn swap_table_pointer(
        &self,
        database: &str,
        name: &str,
        replacing: Replacing<'_>,
        new_metadata: &str,
    ) -> Result<(), EngineError> {
        let context = format!("committing table {database}.{name}");
        let mut tx = self
            .pool
            .begin_with(BEGIN_WRITE)
            .await
            .map_err(|e| store_error(&context, e))?;
        let changed = match replacing {
            Replacing::Table(old) => sqlx::query(
                "UPDATE iceberg_tables SET metadata_location = ?, previous_metadata_location = ? \
                 WHERE catalog_name = ? AND table_namespace = ? AND table_name = ? \
                 AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL) AND metadata_location = ?",
            )
            .bind(new_metadata)
            .bind(old)
            .bind(&self.catalog_name)
            .bind(database)
            .bind(name)
            .bind(old)
            .execute(&mut *tx)
            .await
            .map_err(|e| store_error(&context, e))?
            .rows_affected(),
            Replacing::Nothing | Replacing::View { .. } => {
                let view_gone = match replacing {
                    Replacing::View { owner } => {
                        self.delete_view_in(&mut tx, database, name, owner, &context)
                            .await?
                    }
                    _ => {
                        !self
                            .view_exists_in(&mut tx, database, name, &context)
                            .await?
                    }
                };
                if view_gone {
                    sqlx::query(
                        "INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, \
                         metadata_location, previous_metadata_location, iceberg_type) \
                         VALUES (?, ?, ?, ?, NULL, 'TABLE') ON CONFLICT DO NOTHING",
                    )
                    .bind(&self.catalog_name)
                    .bind(database)
                    .bind(name)
                    .bind(new_metadata)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| store_error(&context, e))?
                    .rows_affected()
                } else {
                    0
                }
            }
        };
        if changed != 1 {
            return Err(conflict(&context, "the name"));
        }
        tx.commit().await.map_err(|e| store_error(&context, e))
    }

    async fn view_exists_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        database: &str,
        name: &str,
        context: &str,
    ) -> Result<bool, EngineError> {
        Ok(sqlx::query(
            "SELECT 1 FROM mdw_views WHERE catalog_name = ? AND view_namespace = ? AND view_name = ?",
        )
        .bind(&self.catalog_name)
        .bind(database)
        .bind(name)
        .fetch_optional(&mut **tx)
        .await
        .map_err(|e| store_error(context, e))?
        .is_some())
    }

    /// Deletes the view if it carries `owner`; true when a row went.
    async fn delete_view_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        database: &str,
        name: &str,
        owner: Option<&str>,
        context: &str,
    ) -> Result<bool, EngineError> {
        let deleted = sqlx::query(
            "DELETE FROM mdw_views WHERE catalog_name = ? AND view_namespace = ? \
             AND view_name = ? AND owner IS ?",
        )
        .bind(&self.catalog_name)
        .bind(database)
        .bind(name)
        .bind(owner)
        .execute(&mut **tx)
        .await
        .map_err(|e| store_error(context, e))?;
        Ok(deleted.rows_affected() > 0)
    }

    /// Creates the view in place of `replacing` in one transaction (see `swap_table_pointer`).
    pub(crate) async fn put_view(
        &self,
        database: &str,
        name: &str,
        view: &StoredView,
        replacing: Replacing<'_>,
    ) -> Result<(), EngineError> {
        let context = format!("creating view {database}.{name}");
        let comments = serde_json::to_string(&view.column_comments)
            .map_err(|e| EngineError::InvalidInput(format!("{context}: column comments: {e}")))?;
        let mut tx = self
            .pool
            .begin_with(BEGIN_WRITE)
            .await
            .map_err(|e| store_error(&context, e))?;
        let name_free = match replacing {
            Replacing::Table(metadata) => {
                sqlx::query(
                    "DELETE FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? \
                     AND table_name = ? AND metadata_location = ?",
                )
                .bind(&self.catalog_name)
                .bind(database)
                .bind(name)
                .bind(metadata)
                .execute(&mut *tx)
                .await
                .map_err(|e| store_error(&context, e))?
                .rows_affected()
                    == 1
            }
            Replacing::View { owner } => {
                self.delete_view_in(&mut tx, database, name, owner, &context)
                    .await?
            }
            Replacing::Nothing => sqlx::query(
                "SELECT 1 FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? \
                 AND table_name = ?",
            )
            .bind(&self.catalog_name)
            .bind(database)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| store_error(&context, e))?
            .is_none(),
        };
        let inserted = name_free
            && sqlx::query(
                "INSERT INTO mdw_views (catalog_name, view_namespace, view_name, sql_text, \
                 description, column_comments, owner, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP) ON CONFLICT DO NOTHING",
            )
            .bind(&self.catalog_name)
            .bind(database)
            .bind(name)
            .bind(&view.sql)
            .bind(&view.description)
            .bind(comments)
            .bind(&view.owner)
            .execute(&mut *tx)
            .await
            .map_err(|e| store_error(&context, e))?
            .rows_affected()
                == 1;
        if !inserted {
            return Err(conflict(&context, "the name"));
        }
        tx.commit().await.map_err(|e| store_error(&context, e))
    }

    pub(crate) async fn drop_table(
        &self,
        database: &str,
        name: &str,
        metadata_location: &str,
    ) -> Result<(), EngineError> {
        let context = format!("dropping table {database}.{name}");
        let deleted = sqlx::query(
            "DELETE FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? \
             AND table_name = ? AND metadata_location = ?",
        )
        .bind(&self.catalog_name)
        .bind(database)
        .bind(name)
        .bind(metadata_location)
        .execute(&self.pool)
        .await
        .map_err(|e| store_error(&context, e))?;
        if deleted.rows_affected() != 1 {
            return Err(conflict(&context, "the table"));
        }
        Ok(())
    }

    async fn relation_versions(
        &self,
        database: &str,
    ) -> Result<BTreeMap<String, String>, EngineError> {
        let context = format!("listing the relations of {database}");
        let error = |e| store_error(&context, e);
        let rows = |sql: &'static str| {
            sqlx::query(sql)
                .bind(&self.catalog_name)
                .bind(database)
                .fetch_all(&self.pool)
        };
        let tables = rows(
            "SELECT table_name, metadata_location FROM iceberg_tables \
             WHERE catalog_name = ? AND table_namespace = ?",
        )
        .await
        .map_err(error)?;
        let views = rows(
            "SELECT view_name, sql_text, description, column_comments, owner FROM mdw_views \
             WHERE catalog_name = ? AND view_namespace = ?",
        )
        .await
        .map_err(error)?;
        let mut versions = BTreeMap::new();
        for row in &tables {
            let location: Option<String> = row.try_get("metadata_location").map_err(error)?;
            if let Some(location) = location {
                versions.insert(row.try_get("table_name").map_err(error)?, location);
            }
        }
        for row in &views {
            let name: String = row.try_get("view_name").map_err(error)?;
            versions.insert(name, sqlite_view_version(&stored_view(row, &context)?));
        }
        Ok(versions)
    }

    pub(crate) async fn get_view(
        &self,
        database: &str,
        name: &str,
    ) -> Result<Option<StoredView>, EngineError> {
        let context = format!("reading view {database}.{name}");
        let row = sqlx::query(
            "SELECT sql_text, description, column_comments, owner FROM mdw_views \
             WHERE catalog_name = ? AND view_namespace = ? AND view_name = ?",
        )
        .bind(&self.catalog_name)
        .bind(database)
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| store_error(&context, e))?;
        row.map(|row| stored_view(&row, &context)).transpose()
    }

    pub(crate) async fn delete_view(
        &self,
        database: &str,
        name: &str,
        owner: Option<&str>,
    ) -> Result<bool, EngineError> {
        let context = format!("dropping view {database}.{name}");
        let mut tx = self
            .pool
            .begin_with(BEGIN_WRITE)
            .await
            .map_err(|e| store_error(&context, e))?;
        let deleted = self
            .delete_view_in(&mut tx, database, name, owner, &context)
            .await?;
        tx.commit().await.map_err(|e| store_error(&context, e))?;
        Ok(deleted)
    }
}
