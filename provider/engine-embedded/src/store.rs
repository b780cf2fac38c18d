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
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use crate::glue_store::GlueStore;

/// A view as stored by the engine.
#[derive(Debug, Clone)]
pub struct StoredView {
    pub sql: String,
    pub description: Option<String>,
    pub column_comments: BTreeMap<String, String>,
    /// The view's columns when it was created; Glue keeps them (Athena needs them), SQLite
    /// does not (the engine plans the SQL on every read anyway).
    pub columns: Vec<ColumnInfo>,
}

/// What the store knows about a name before the Iceberg catalog is asked.
#[derive(Debug)]
pub enum Lookup {
    View(StoredView),
    /// The store has an Iceberg table of that name (load it through the catalog).
    Table,
    Missing,
    /// The store holds views only (SQLite): ask the catalog.
    NotAView,
}

/// Where the engine keeps table pointers and views: beside iceberg-rust's SQLite catalog, or
/// in Glue.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Glue(GlueStore),
}

impl Store {
    /// Points the table at `new_metadata`, only if `expected` is still its current metadata
    /// (`None`: the table must not exist). See `SqliteStore::swap_table_pointer`.
    pub async fn swap_table_pointer(
        &self,
        database: &str,
        name: &str,
        expected: Option<&str>,
        new_metadata: &str,
        metadata: &TableMetadata,
    ) -> Result<(), EngineError> {
        match self {
            Store::Sqlite(store) => {
                store
                    .swap_table_pointer(database, name, expected, new_metadata)
                    .await
            }
            Store::Glue(store) => {
                store
                    .swap_table_pointer(database, name, expected, new_metadata, metadata)
                    .await
            }
        }
    }

    pub async fn put_view(
        &self,
        database: &str,
        name: &str,
        view: &StoredView,
        replaced_table: Option<&str>,
    ) -> Result<(), EngineError> {
        match self {
            Store::Sqlite(store) => store.put_view(database, name, view, replaced_table).await,
            Store::Glue(store) => store.put_view(database, name, view, replaced_table).await,
        }
    }

    /// Views first: Glue holds views and tables under one name, and the Iceberg catalog neither
    /// loads a view nor (iceberg-catalog-glue 0.10) says "not found" in a way one can match.
    pub async fn lookup(&self, database: &str, name: &str) -> Result<Lookup, EngineError> {
        match self {
            Store::Sqlite(store) => Ok(match store.get_view(database, name).await? {
                Some(view) => Lookup::View(view),
                None => Lookup::NotAView,
            }),
            Store::Glue(store) => store.lookup(database, name).await,
        }
    }

    pub async fn delete_view(&self, database: &str, name: &str) -> Result<bool, EngineError> {
        match self {
            Store::Sqlite(store) => store.delete_view(database, name).await,
            Store::Glue(store) => store.delete_view(database, name).await,
        }
    }
}

/// The engine's connection to the catalog's SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    catalog_name: String,
}

fn store_error(context: &str, error: sqlx::Error) -> EngineError {
    EngineError::Catalog {
        context: context.to_string(),
        message: error.to_string(),
    }
}

impl SqliteStore {
    /// Opens the file (iceberg-catalog-sql has already created it and its tables) and creates
    /// the views table.
    pub async fn open(path: &Path, catalog_name: &str) -> Result<Self, EngineError> {
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
                updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
                PRIMARY KEY (catalog_name, view_namespace, view_name))",
        )
        .execute(&pool)
        .await
        .map_err(|e| store_error(&context, e))?;
        Ok(Self {
            pool,
            catalog_name: catalog_name.to_string(),
        })
    }

    /// Points the table at `new_metadata` — creating its row when `expected` is `None`, or
    /// replacing `expected` only if it is still the current metadata (someone else's commit in
    /// between makes this fail with `Conflict`). A view of the same name is removed in the same
    /// transaction, so the name is never missing.
    pub async fn swap_table_pointer(
        &self,
        database: &str,
        name: &str,
        expected: Option<&str>,
        new_metadata: &str,
    ) -> Result<(), EngineError> {
        let context = format!("committing table {database}.{name}");
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| store_error(&context, e))?;
        let changed = match expected {
            None => sqlx::query(
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
            .rows_affected(),
            Some(old) => sqlx::query(
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
        };
        if changed != 1 {
            return Err(EngineError::Conflict {
                context,
                message: "the table was created or changed by someone else during this build; \
                          nothing was changed, run it again"
                    .into(),
            });
        }
        self.delete_view_in(&mut tx, database, name, &context)
            .await?;
        tx.commit().await.map_err(|e| store_error(&context, e))
    }

    async fn delete_view_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        database: &str,
        name: &str,
        context: &str,
    ) -> Result<bool, EngineError> {
        let deleted = sqlx::query(
            "DELETE FROM mdw_views WHERE catalog_name = ? AND view_namespace = ? AND view_name = ?",
        )
        .bind(&self.catalog_name)
        .bind(database)
        .bind(name)
        .execute(&mut **tx)
        .await
        .map_err(|e| store_error(context, e))?;
        Ok(deleted.rows_affected() > 0)
    }

    /// Creates or replaces a view. When a table of that name exists (`replaced_table` holds its
    /// current metadata location) its catalog row is removed in the same transaction, only if
    /// it is still at that metadata.
    pub async fn put_view(
        &self,
        database: &str,
        name: &str,
        view: &StoredView,
        replaced_table: Option<&str>,
    ) -> Result<(), EngineError> {
        let context = format!("creating view {database}.{name}");
        let comments = serde_json::to_string(&view.column_comments)
            .map_err(|e| EngineError::InvalidInput(format!("{context}: column comments: {e}")))?;
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| store_error(&context, e))?;
        if let Some(metadata) = replaced_table {
            let deleted = sqlx::query(
                "DELETE FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? \
                 AND table_name = ? AND metadata_location = ?",
            )
            .bind(&self.catalog_name)
            .bind(database)
            .bind(name)
            .bind(metadata)
            .execute(&mut *tx)
            .await
            .map_err(|e| store_error(&context, e))?;
            if deleted.rows_affected() != 1 {
                return Err(EngineError::Conflict {
                    context,
                    message: "the table this view replaces was changed by someone else; \
                              nothing was changed, run it again"
                        .into(),
                });
            }
        }
        sqlx::query(
            "INSERT INTO mdw_views (catalog_name, view_namespace, view_name, sql_text, \
             description, column_comments, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP) \
             ON CONFLICT (catalog_name, view_namespace, view_name) DO UPDATE SET \
             sql_text = excluded.sql_text, description = excluded.description, \
             column_comments = excluded.column_comments, updated_at = excluded.updated_at",
        )
        .bind(&self.catalog_name)
        .bind(database)
        .bind(name)
        .bind(&view.sql)
        .bind(&view.description)
        .bind(comments)
        .execute(&mut *tx)
        .await
        .map_err(|e| store_error(&context, e))?;
        tx.commit().await.map_err(|e| store_error(&context, e))
    }

    pub async fn get_view(
        &self,
        database: &str,
        name: &str,
    ) -> Result<Option<StoredView>, EngineError> {
        let context = format!("reading view {database}.{name}");
        let row = sqlx::query(
            "SELECT sql_text, description, column_comments FROM mdw_views \
             WHERE catalog_name = ? AND view_namespace = ? AND view_name = ?",
        )
        .bind(&self.catalog_name)
        .bind(database)
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| store_error(&context, e))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let comments: String = row
            .try_get("column_comments")
            .map_err(|e| store_error(&context, e))?;
        Ok(Some(StoredView {
            sql: row
                .try_get("sql_text")
                .map_err(|e| store_error(&context, e))?,
            description: row
                .try_get("description")
                .map_err(|e| store_error(&context, e))?,
            // A hand-edited, unreadable comments column must not make the view unreadable.
            column_comments: serde_json::from_str(&comments).unwrap_or_default(),
            columns: Vec::new(),
        }))
    }

    pub async fn delete_view(&self, database: &str, name: &str) -> Result<bool, EngineError> {
        let context = format!("dropping view {database}.{name}");
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| store_error(&context, e))?;
        let deleted = self
            .delete_view_in(&mut tx, database, name, &context)
            .await?;
        tx.commit().await.map_err(|e| store_error(&context, e))?;
        Ok(deleted)
    }
}
