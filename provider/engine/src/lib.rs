//! The engine abstraction of mdw: what the Terraform resources (`mdw_iceberg_model`, `mdw_seed`,
//! `data.mdw_source`, `data.mdw_query`) ask of a warehouse engine.
//!
//! This crate is deliberately light (serde, thiserror, async-trait): the provider, its tests and
//! plan-time validation use these types without building DataFusion or the AWS SDK. Engines live
//! in their own crates (`mdw-engine-embedded` on DataFusion + iceberg-rust; an Athena one later).

mod build_id;
pub mod checks;
mod error;
pub mod fault;
pub mod microbatch;
mod names;
mod ownership;
pub mod presto;
mod seed;
pub mod snapshot;
mod types;

use std::collections::BTreeMap;
use std::path::PathBuf;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use build_id::{BuildId, is_build_id, is_build_location};
pub use error::EngineError;
pub use mdw_sql_types::{SeedColumn, SqlType};
pub use names::{normalize_identifier, relation_name};
pub use ownership::{OWNER_KEY, Ownership, RESERVED_PREFIX, RUN_KEY};
pub use types::{PartitionField, PartitionTransform};

/// Default catalog name used in three-part relation names (`"awsdatacatalog"."schema"."table"`).
pub const DEFAULT_CATALOG_NAME: &str = "awsdatacatalog";

/// A model materialized as a table (dbt `materialized='table'`), or the first run of an
/// incremental model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TableBuild {
    /// Glue database / Iceberg namespace (dbt `schema`).
    pub database: String,
    /// Table name (dbt alias).
    pub name: String,
    /// The compiled `select`; relations are written `"catalog"."schema"."table"` or `schema.table`.
    pub sql: String,
    /// Iceberg partition transforms (`col`, `day(ts)`, `bucket(id, 16)`, ... parsed by the
    /// caller, which can point at the attribute that holds a bad one).
    pub partitioned_by: Vec<PartitionField>,
    /// Iceberg table properties, written as given.
    pub table_properties: BTreeMap<String, String>,
    /// Root under which each build gets a fresh unique location
    /// (`<root>/<database>/<name>/<build id>`); `None` = the engine's warehouse.
    pub external_location: Option<String>,
    /// Table comment.
    pub description: Option<String>,
    /// Column name → comment. Names of columns the query does not produce are an error.
    pub column_descriptions: BTreeMap<String, String>,
    /// The marker the table gets, and what it may replace.
    pub ownership: Ownership,
}

/// How an incremental run adds the model's rows to the existing table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncrementalStrategy {
    /// Insert the query's rows (the default for Iceberg: dbt-athena's `insert_overwrite` does not
    /// apply to Iceberg tables).
    #[default]
    Append,
    /// Rows whose `unique_key` matches an existing row replace it; the others are inserted.
    Merge,
}

/// What an incremental run does when the query's columns differ from the table's (dbt).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnSchemaChange {
    /// Keep the table's columns: new query columns are dropped, missing ones become NULL.
    #[default]
    Ignore,
    /// Fail, naming the added and removed columns.
    Fail,
    /// Add the new columns to the table (existing rows get NULL); keep removed ones (NULL).
    AppendNewColumns,
    /// Make the table's columns exactly the query's (add, remove, change types).
    SyncAllColumns,
}

/// An incremental model run (dbt `materialized='incremental'`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncrementalBuild {
    /// The model; used as is for the first run, when the table does not exist yet.
    pub table: TableBuild,
    /// The query for runs on an existing table (the model rendered with dbt's
    /// `is_incremental()` true, e.g. only rows newer than the table's); `None`: `table.sql`.
    pub incremental_sql: Option<String>,
    pub strategy: IncrementalStrategy,
    /// Required for `merge`.
    pub unique_key: Vec<String>,
    /// Extra merge conditions; they may refer to the existing rows as `target` and to the new
    /// rows as `src` (dbt-athena's aliases).
    pub incremental_predicates: Vec<String>,
    /// Merge: columns updated on a match (default: all). Exclusive with `merge_exclude_columns`.
    pub merge_update_columns: Vec<String>,
    /// Merge: columns kept from the existing row on a match.
    pub merge_exclude_columns: Vec<String>,
    pub on_schema_change: OnSchemaChange,
    /// Identifies this run: the same key for every attempt of one planned change, another for
    /// the next change. A run whose key the table already carries was committed by an earlier
    /// attempt (the provider died before Terraform heard of it) and is not applied again.
    pub run_key: Option<String>,
}

/// A view (dbt `materialized='view'`): `create or replace view`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ViewDefinition {
    pub database: String,
    pub name: String,
    pub sql: String,
    pub description: Option<String>,
    pub column_descriptions: BTreeMap<String, String>,
    pub ownership: Ownership,
}

/// A CSV file loaded as an Iceberg table (dbt seed / `mdw_seed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedLoad {
    pub database: String,
    pub name: String,
    /// The CSV file; the first line is the header.
    pub path: PathBuf,
    /// Field delimiter, one ASCII character.
    pub delimiter: char,
    /// Lower-cased column → type (`bigint`, `decimal(10,2)`, `date`, ...); others are inferred.
    pub column_types: BTreeMap<String, SqlType>,
    pub table_properties: BTreeMap<String, String>,
    pub external_location: Option<String>,
    pub description: Option<String>,
    pub column_descriptions: BTreeMap<String, String>,
    pub ownership: Ownership,
}

impl Default for SeedLoad {
    fn default() -> Self {
        Self {
            database: String::new(),
            name: String::new(),
            path: PathBuf::new(),
            delimiter: ',',
            column_types: BTreeMap::new(),
            table_properties: BTreeMap::new(),
            external_location: None,
            description: None,
            column_descriptions: BTreeMap::new(),
            ownership: Ownership::default(),
        }
    }
}

/// Whether a relation is a table or a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationKind {
    Table,
    View,
}

impl RelationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::Table => "table",
            RelationKind::View => "view",
        }
    }
}

/// One column as the catalog reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInfo {
    pub name: String,
    /// Athena/Trino-style type: `bigint`, `integer`, `double`, `decimal(10,2)`, `varchar`,
    /// `boolean`, `date`, `timestamp(6)`, `array(varchar)`, `row(a integer)`, ...
    pub data_type: String,
    pub comment: Option<String>,
}

/// What `describe` finds in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelationInfo {
    pub database: String,
    pub name: String,
    pub kind: RelationKind,
    pub columns: Vec<ColumnInfo>,
    /// Data location of a table (`None` for a view).
    pub location: Option<String>,
    /// Current snapshot of a table (`None` for a view or a table without data).
    pub snapshot_id: Option<i64>,
    pub description: Option<String>,
    /// The stored SQL of a view.
    pub view_sql: Option<String>,
    /// Partition transforms, rendered as Athena writes them (`day(ts)`, `bucket(id, 16)`).
    pub partitioned_by: Vec<String>,
    /// User properties; the engine's own (`mdw.*`) are left out.
    pub table_properties: BTreeMap<String, String>,
    /// The owner marker the relation carries (`None`: none).
    pub owner: Option<String>,
    /// Its version in the catalog, as [`Engine::relation_versions`] lists it, when the engine
    /// reports one.
    pub version: Option<String>,
}

/// What `drop_relation` removes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DropRelation {
    pub database: String,
    pub name: String,
    /// Also delete a table's data and metadata files; without it only the catalog entry goes
    /// and the files stay.
    pub purge: bool,
    /// The root the table was built under (`TableBuild::external_location`), where a drop
    /// retried after a crash looks for what the first attempt left.
    pub external_location: Option<String>,
    /// A relation this does not permit is left alone (the drop fails with `NotOwned`).
    pub ownership: Ownership,
}

/// The result of a build (table, incremental run or seed load).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildOutcome {
    /// New on every build; also the last segment of a freshly built table's location.
    pub build_id: String,
    pub columns: Vec<ColumnInfo>,
    /// The table's data location after the build.
    pub location: String,
    pub snapshot_id: Option<i64>,
    /// Rows in the table after the build.
    pub row_count: u64,
    /// Rows written by this build (equal to `row_count` for full builds).
    pub rows_written: u64,
    /// Things that went wrong after the new table was in place (e.g. the old data files could
    /// not all be deleted): the build succeeded, but someone may want to look.
    pub warnings: Vec<String>,
    /// True when an incremental run found its run key already committed by an earlier attempt
    /// and wrote nothing.
    pub replayed: bool,
    /// The table's version in the catalog after the build (its Iceberg metadata location),
    /// when the engine reports one: what [`Engine::relation_versions`] lists for it until
    /// someone changes the table.
    pub version: Option<String>,
}

/// Rows of a read-only query, every value rendered as a string, SQL NULL as `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryResult {
    /// Column names in the query's order (rows are maps and lose it).
    pub columns: Vec<String>,
    pub rows: Vec<BTreeMap<String, Option<String>>>,
    /// True when the query had more rows than `max_rows`.
    pub truncated: bool,
}

/// A warehouse engine. Every method is safe to call concurrently; writes to one table are
/// serialized by the catalog's optimistic concurrency (a conflicting write fails with
/// [`EngineError::Conflict`] and leaves the table as the other writer left it).
///
/// Builds, view changes and drops check the [`Ownership`] of what is in place before they
/// change anything, and never leave a name without a readable relation: a new relation is
/// built aside and swapped in with one catalog write, whatever its kind was before.
#[async_trait]
pub trait Engine: Send + Sync {
    /// The catalog name used in three-part relation names.
    fn catalog_name(&self) -> &str;

    /// Creates the database (namespace) when it does not exist.
    async fn ensure_database(&self, database: &str) -> Result<(), EngineError>;

    /// Runs the model's query into a fresh table at a fresh location and swaps it in. When the
    /// query or the write fails, the existing relation is untouched and nothing is left behind.
    async fn build_table(&self, build: &TableBuild) -> Result<BuildOutcome, EngineError>;

    /// Adds the model's rows to the table (append or merge); builds it on the first run.
    async fn incremental(&self, build: &IncrementalBuild) -> Result<BuildOutcome, EngineError>;

    /// `create or replace view`; replaces a table of the same name.
    async fn create_view(&self, view: &ViewDefinition) -> Result<RelationInfo, EngineError>;

    /// The relation as the catalog has it, `None` when it does not exist.
    async fn describe(
        &self,
        database: &str,
        name: &str,
    ) -> Result<Option<RelationInfo>, EngineError>;

    /// Each relation of `database` by name with its version in the catalog — a table's Iceberg
    /// metadata location, which every commit changes; a view's digest of its definition —
    /// from one listing of the catalog: a refresh that finds the version a build reported
    /// ([`BuildOutcome::version`], [`RelationInfo::version`]) knows the relation is as built
    /// without reading it. `None` when the engine cannot list versions in one call: describe
    /// each relation.
    async fn relation_versions(
        &self,
        _database: &str,
    ) -> Result<Option<BTreeMap<String, String>>, EngineError> {
        Ok(None)
    }

    /// Drops a table or view the request's ownership permits. Returns false when nothing
    /// existed.
    async fn drop_relation(&self, drop: &DropRelation) -> Result<bool, EngineError>;

    /// Loads a CSV file into a fresh table and swaps it in (same safety as `build_table`).
    async fn load_csv(&self, seed: &SeedLoad) -> Result<BuildOutcome, EngineError>;

    /// The columns a read-only query returns (names and Athena types), without reading data.
    async fn describe_query(&self, sql: &str) -> Result<Vec<ColumnInfo>, EngineError>;

    /// Runs a read-only query; anything that is not a query is rejected.
    async fn query(&self, sql: &str, max_rows: usize) -> Result<QueryResult, EngineError>;

    /// Checks a model's SQL without a catalog (at `terraform plan`): an engine that cannot run
    /// some construct as the warehouse would refuses it here, naming the construct with its
    /// line and column ([`EngineError::Unsupported`]). The default accepts everything (an
    /// engine that sends SQL to the warehouse as written).
    fn check_sql(&self, _sql: &str) -> Result<(), EngineError> {
        Ok(())
    }

    /// Runs one statement that returns no rows — a dbt hook (`OPTIMIZE … REWRITE DATA`,
    /// `VACUUM`, `ALTER TABLE …`) — and waits for it. Hooks are the user's SQL, run as written:
    /// no ownership check applies to them.
    async fn run_statement(&self, sql: &str) -> Result<(), EngineError>;

    /// Checks a statement for [`Engine::run_statement`] without a catalog (at `terraform plan`):
    /// an engine that cannot run it refuses it here ([`EngineError::Unsupported`]). The default
    /// accepts everything (an engine that sends SQL to the warehouse as written).
    fn check_statement(&self, _sql: &str) -> Result<(), EngineError> {
        Ok(())
    }
}
