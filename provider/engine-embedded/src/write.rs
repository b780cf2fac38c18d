//! Building tables: run the query, write a brand-new Iceberg table at a fresh location, swap
//! the catalog pointer, then delete what the replaced table had.
//!
//! iceberg-rust 0.10 can only append (no overwrite commit, no CTAS through SQL), and staging
//! tables in the user's catalog are what dbt-athena users lose tables to. So each build writes
//! its table through a private in-memory catalog (nothing visible, nothing to clean up in the
//! real catalog after a crash), and the only change to the real catalog is one compare-and-swap
//! of the table's metadata pointer (see `store.rs`). Until that swap, readers see the old table;
//! if anything fails before it, the fresh location is deleted and nothing else changed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{Array, UInt64Array};
use datafusion::arrow::datatypes::Schema as ArrowSchema;
use datafusion::common::{Column, ScalarValue};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::{Expr, cast, lit};
use datafusion::prelude::{DataFrame, SessionContext};
use datafusion::sql::TableReference;
use iceberg::arrow::schema_to_arrow_schema;
use iceberg::memory::{MEMORY_CATALOG_WAREHOUSE, MemoryCatalog, MemoryCatalogBuilder};
use iceberg::spec::{Schema as IcebergSchema, Transform, UnboundPartitionSpec};
use iceberg::table::Table;
use iceberg::{Catalog, CatalogBuilder, ErrorKind, NamespaceIdent, TableCreation, TableIdent};
use iceberg_datafusion::IcebergCatalogProvider;
use mdw_engine::{
    BuildId, BuildOutcome, DropRelation, EngineError, OWNER_KEY, Ownership, PartitionField,
    PartitionTransform, RESERVED_PREFIX, RUN_KEY, RelationInfo, RelationKind, TableBuild,
    ViewDefinition, checks, fault, is_build_location, normalize_identifier,
};

use crate::Inner;
use crate::barrier::behind_barrier;
use crate::errors::{catalog_error, sql_error, storage_error};
use crate::janitor::sweep_builds;
use crate::nullable::as_nullable;
use crate::session::new_session;
use crate::store::{Lookup, Replacing, StoredView};
use crate::trash;
use crate::types::{columns_of, columns_of_arrow, iceberg_schema, normalize_schema};

/// Name of the private catalog that staged writes go through, inside a session.
const STAGING_CATALOG: &str = "mdw_staging";
const STAGING_NAMESPACE: &str = "stage";
const STAGING_TABLE: &str = "t";
/// Iceberg's table property for the table comment (what Athena/Trino show as the comment).
const COMMENT_PROPERTY: &str = "comment";

/// What a name currently is in the catalog.
pub(crate) enum Existing {
    Table(Box<Table>),
    View(StoredView),
    Missing,
}

impl Existing {
    /// The owner marker of what is there.
    pub(crate) fn owner(&self) -> Option<&str> {
        match self {
            Existing::Table(table) => table
                .metadata()
                .properties()
                .get(OWNER_KEY)
                .map(String::as_str),
            Existing::View(view) => view.owner.as_deref(),
            Existing::Missing => None,
        }
    }

    /// What a commit in its place expects to replace.
    pub(crate) fn replacing(&self) -> Replacing<'_> {
        match self {
            // A table loaded from the catalog always has a metadata file; an empty location
            // never matches, so the commit would fail rather than replace blindly.
            Existing::Table(table) => Replacing::Table(table.metadata_location().unwrap_or("")),
            Existing::View(view) => Replacing::View {
                owner: view.owner.as_deref(),
            },
            Existing::Missing => Replacing::Nothing,
        }
    }

    /// `Ok` when `ownership` may replace or drop what is there.
    pub(crate) fn check(
        &self,
        ownership: &Ownership,
        database: &str,
        name: &str,
    ) -> Result<(), EngineError> {
        match self {
            Existing::Missing => Ok(()),
            _ => ownership.check(database, name, self.owner()),
        }
    }
}

pub(crate) async fn find_relation(
    inner: &Inner,
    database: &str,
    name: &str,
) -> Result<Existing, EngineError> {
    match inner.store.lookup(database, name).await? {
        Lookup::View(view) => return Ok(Existing::View(view)),
        Lookup::Missing => return Ok(Existing::Missing),
        Lookup::Table | Lookup::NotAView => {}
    }
    let ident = TableIdent::new(NamespaceIdent::new(database.to_string()), name.to_string());
    match inner.catalog.load_table(&ident).await {
        Ok(table) => Ok(Existing::Table(Box::new(table))),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::TableNotFound | ErrorKind::NamespaceNotFound
            ) =>
        {
            Ok(Existing::Missing)
        }
        Err(e) => Err(catalog_error(
            &format!("reading table {database}.{name}"),
            e,
        )),
    }
}

/// Plans a SQL text that must be a query (models, views): DDL, DML and `SET`-like statements
/// are refused by DataFusion with a message naming the statement.
pub(crate) async fn read_only_sql(
    ctx: &SessionContext,
    sql: &str,
    context: &str,
) -> Result<DataFrame, EngineError> {
    checks::check_model_sql(sql)
        .map_err(|e| EngineError::InvalidInput(format!("{context}: {e}")))?;
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    // Athena's SQL: planned through the Trino layer (see session.rs).
    let plan = mdw_sql_trino::plan(&ctx.state(), sql)
        .await
        .map_err(|e| sql_error(context, e))?;
    options
        .verify_plan(&plan)
        .map_err(|e| sql_error(context, e))?;
    ctx.execute_logical_plan(plan)
        .await
        .map_err(|e| sql_error(context, e))
}

/// Everything needed to create the new table.
pub(crate) struct FreshTable {
    pub database: String,
    pub name: String,
    pub schema: IcebergSchema,
    pub partitions: Vec<PartitionField>,
    pub properties: HashMap<String, String>,
    pub external_location: Option<String>,
}

/// The Iceberg properties of a new table: the user's (never in mdw's own namespace), the
/// comment, the owner marker and the run key of the incremental run that builds it.
pub(crate) fn table_properties(
    properties: &BTreeMap<String, String>,
    description: Option<&str>,
    ownership: &Ownership,
    run_key: Option<&str>,
) -> Result<HashMap<String, String>, EngineError> {
    checks::check_table_properties(properties).map_err(EngineError::InvalidInput)?;
    // dbt-athena projects commonly set `format-version: '2'`; Iceberg reserves that key (it is
    // the table's format, v2 here, which Athena reads), so the request is met by dropping it.
    // Any other value still reaches Iceberg, which refuses it with its own message.
    let mut props: HashMap<String, String> = properties
        .iter()
        .filter(|(k, v)| {
            !(matches!(k.as_str(), "format-version" | "format_version") && v.trim() == "2")
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(description) = description.filter(|d| !d.is_empty()) {
        props.insert(COMMENT_PROPERTY.to_string(), description.to_string());
    }
    if let Some(owner) = &ownership.owner {
        props.insert(OWNER_KEY.to_string(), owner.clone());
    }
    if let Some(key) = run_key {
        props.insert(RUN_KEY.to_string(), key.to_string());
    }
    Ok(props)
}

fn partition_spec(
    schema: &IcebergSchema,
    partitions: &[PartitionField],
) -> Result<Option<UnboundPartitionSpec>, EngineError> {
    if partitions.is_empty() {
        return Ok(None);
    }
    let mut builder = UnboundPartitionSpec::builder();
    for partition in partitions {
        let Some(field) = schema.field_by_name(&partition.column) else {
            let columns: Vec<&str> = schema
                .as_struct()
                .fields()
                .iter()
                .map(|f| f.name.as_str())
                .collect();
            return Err(EngineError::InvalidInput(format!(
                "partitioned_by entry {partition} names column {:?}, which the query does not \
                 return (columns: {columns:?})",
                partition.column
            )));
        };
        let transform = match partition.transform {
            PartitionTransform::Identity => Transform::Identity,
            PartitionTransform::Year => Transform::Year,
            PartitionTransform::Month => Transform::Month,
            PartitionTransform::Day => Transform::Day,
            PartitionTransform::Hour => Transform::Hour,
            PartitionTransform::Bucket(n) => Transform::Bucket(n),
            PartitionTransform::Truncate(w) => Transform::Truncate(w),
        };
        builder = builder
            .add_partition_field(field.id, partition.field_name(), transform)
            .map_err(|e| {
                EngineError::InvalidInput(format!("partitioned_by entry {partition}: {e}"))
            })?;
    }
    Ok(Some(builder.build()))
}

/// Renders a table's partition spec back into `partitioned_by` entries.
fn partitioned_by_of(table: &Table) -> Vec<String> {
    let metadata = table.metadata();
    let schema = metadata.current_schema();
    metadata
        .default_partition_spec()
        .fields()
        .iter()
        .map(|field| {
            let column = schema
                .field_by_id(field.source_id)
                .map(|f| f.name.clone())
                .unwrap_or_else(|| format!("field_{}", field.source_id));
            let transform = match field.transform {
                Transform::Identity => PartitionTransform::Identity,
                Transform::Year => PartitionTransform::Year,
                Transform::Month => PartitionTransform::Month,
                Transform::Day => PartitionTransform::Day,
                Transform::Hour => PartitionTransform::Hour,
                Transform::Bucket(n) => PartitionTransform::Bucket(n),
                Transform::Truncate(w) => PartitionTransform::Truncate(w),
                Transform::Void | Transform::Unknown => return format!("void({column})"),
            };
            PartitionField { column, transform }.to_string()
        })
        .collect()
}

/// `<root>/<database>/<name>/<build id>`: a location no earlier build used, so a retried build
/// never meets files of a failed one (a common dbt-athena failure).
fn fresh_location(
    inner: &Inner,
    external_location: Option<&str>,
    database: &str,
    name: &str,
    build_id: &str,
) -> Result<String, EngineError> {
    let root = match external_location.map(str::trim).filter(|s| !s.is_empty()) {
        None => inner.warehouse.clone(),
        Some(path) if path.starts_with('/') => format!("file://{path}"),
        Some(url) if url.starts_with("file://") => url.to_string(),
        // On S3 storage an s3:// location is used as is.
        Some(url) if url.starts_with("s3://") && inner.warehouse.starts_with("s3://") => {
            url.to_string()
        }
        // On local disk a cloud location (the same project runs on Athena with s3://
        // locations) is mirrored under the warehouse, keeping its layout.
        Some(url) if url.contains("://") => {
            let (scheme, rest) = url.split_once("://").unwrap_or(("s3", url));
            format!(
                "{}/external/{scheme}/{}",
                inner.warehouse.trim_end_matches('/'),
                rest.trim_start_matches('/')
            )
        }
        Some(other) => {
            return Err(EngineError::InvalidInput(format!(
                "external_location {other:?} must be an absolute path or a URL such as file:///data"
            )));
        }
    };
    Ok(format!(
        "{}/{database}/{name}/{build_id}",
        root.trim_end_matches('/')
    ))
}

/// Projects `df` onto the table's Arrow schema: columns matched by name (case-insensitively),
/// cast to the stored types; columns the query lacks become NULL.
pub(crate) fn conform(df: DataFrame, target: &ArrowSchema) -> Result<DataFrame, DataFusionError> {
    let source: Vec<Column> = df.schema().iter().map(Column::from).collect();
    let exprs: Vec<Expr> = target
        .fields()
        .iter()
        .map(|field| {
            let value = source
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(field.name()))
                .map(|c| Expr::Column(c.clone()))
                .unwrap_or_else(|| lit(ScalarValue::Null));
            as_nullable(cast(value, field.data_type().clone())).alias(field.name())
        })
        .collect();
    df.select(exprs)
}

/// A private in-memory catalog for one build.
pub(crate) async fn staging_catalog(
    inner: &Inner,
    context: &str,
) -> Result<Arc<MemoryCatalog>, EngineError> {
    let catalog = MemoryCatalogBuilder::default()
        .with_storage_factory(inner.storage.clone())
        .load(
            STAGING_CATALOG,
            inner
                .file_io_props
                .clone()
                .into_iter()
                .chain([(
                    MEMORY_CATALOG_WAREHOUSE.to_string(),
                    inner.warehouse.clone(),
                )])
                .collect::<HashMap<_, _>>(),
        )
        .await
        .map_err(|e| catalog_error(context, e))?;
    catalog
        .create_namespace(
            &NamespaceIdent::new(STAGING_NAMESPACE.into()),
            HashMap::new(),
        )
        .await
        .map_err(|e| catalog_error(context, e))?;
    Ok(Arc::new(catalog))
}

pub(crate) fn staging_ident() -> TableIdent {
    TableIdent::new(
        NamespaceIdent::new(STAGING_NAMESPACE.into()),
        STAGING_TABLE.into(),
    )
}

/// Writes `df` into the staging table with DataFusion's INSERT path (partition-aware,
/// streaming, committed as one append snapshot). Returns the number of rows written.
pub(crate) async fn write_into_staging(
    ctx: &SessionContext,
    staging: Arc<MemoryCatalog>,
    df: DataFrame,
) -> Result<u64, DataFusionError> {
    let provider = IcebergCatalogProvider::try_new(staging)
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    ctx.register_catalog(STAGING_CATALOG, Arc::new(provider));
    let target = TableReference::full(STAGING_CATALOG, STAGING_NAMESPACE, STAGING_TABLE);
    let df = behind_barrier(ctx, df).await?;
    let batches = df
        .write_table(&target.to_string(), DataFrameWriteOptions::new())
        .await?;
    let mut rows = 0;
    for batch in &batches {
        if let Some(counts) = batch.column(0).as_any().downcast_ref::<UInt64Array>() {
            rows += counts.iter().flatten().sum::<u64>();
        }
    }
    Ok(rows)
}

pub(crate) fn outcome(
    table: &Table,
    build_id: String,
    rows_written: u64,
    warnings: Vec<String>,
) -> BuildOutcome {
    let metadata = table.metadata();
    let row_count = metadata
        .current_snapshot()
        .and_then(|s| s.summary().additional_properties.get("total-records"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(rows_written);
    BuildOutcome {
        build_id,
        columns: columns_of(metadata.current_schema()),
        location: metadata.location().to_string(),
        snapshot_id: metadata.current_snapshot_id(),
        row_count,
        rows_written,
        warnings,
        replayed: false,
        version: table.metadata_location().map(str::to_string),
    }
}

/// Builds `df` into a new table at a fresh location and swaps it in place of `existing`, then
/// deletes what the replaced table had and what interrupted builds of this table left.
pub(crate) async fn build_fresh(
    inner: &Inner,
    ctx: &SessionContext,
    df: DataFrame,
    fresh: FreshTable,
    existing: &Existing,
    context: &str,
) -> Result<BuildOutcome, EngineError> {
    let build_id = BuildId::new();
    let location = fresh_location(
        inner,
        fresh.external_location.as_deref(),
        &fresh.database,
        &fresh.name,
        &build_id.to_string(),
    )?;
    let attempt = write_and_swap(inner, ctx, df, &fresh, &location, existing, context).await;
    let (staged, rows_written) = match attempt {
        Ok(done) => done,
        Err(error) => {
            // A swap can fail after it committed (a lost answer, a timeout retried against a
            // catalog that already moved): the fresh location may be the table now. Remove it
            // only when the catalog is known to point elsewhere; otherwise it stays, and the
            // janitor never removes a table's current location.
            if !fresh_location_unreferenced(inner, &fresh, &location).await {
                return Err(with_note(
                    error,
                    &format!("the catalog may already point at {location}; it was kept"),
                ));
            }
            // Nothing references the fresh location: remove it so no partial files remain.
            if let Err(cleanup) = inner.file_io.delete_prefix(&location).await {
                return Err(with_note(
                    error,
                    &format!("also failed to delete the partial build at {location}: {cleanup}"),
                ));
            }
            return Err(error);
        }
    };
    fault::point("build.after_swap");
    let mut warnings = Vec::new();
    if let Existing::Table(old) = existing {
        warnings = purge_replaced(inner, old, &location).await;
    }
    if let Some((table_root, _)) = location.rsplit_once('/') {
        warnings.extend(sweep_builds(inner, table_root, &location, &build_id).await);
    }
    for warning in &warnings {
        tracing::warn!("{context}: {warning}");
    }
    Ok(outcome(
        &staged,
        build_id.to_string(),
        rows_written,
        warnings,
    ))
}

/// True when the catalog, read now, does not point into `location` (a failed build's own).
async fn fresh_location_unreferenced(inner: &Inner, fresh: &FreshTable, location: &str) -> bool {
    match find_relation(inner, &fresh.database, &fresh.name).await {
        Ok(Existing::Table(table)) => !table
            .metadata_location()
            .is_some_and(|current| current.starts_with(&format!("{location}/"))),
        Ok(Existing::View(_) | Existing::Missing) => true,
        Err(_) => false,
    }
}

fn with_note(error: EngineError, note: &str) -> EngineError {
    match error {
        EngineError::Sql { context, message } => EngineError::Sql {
            context,
            message: format!("{message} ({note})"),
        },
        other => EngineError::Storage {
            context: other.to_string(),
            message: note.to_string(),
        },
    }
}

async fn write_and_swap(
    inner: &Inner,
    ctx: &SessionContext,
    df: DataFrame,
    fresh: &FreshTable,
    location: &str,
    existing: &Existing,
    context: &str,
) -> Result<(Table, u64), EngineError> {
    let staging = staging_catalog(inner, context).await?;
    let creation = TableCreation::builder()
        .name(STAGING_TABLE.to_string())
        .location(location.to_string())
        .schema(fresh.schema.clone())
        .partition_spec_opt(partition_spec(&fresh.schema, &fresh.partitions)?)
        .properties(fresh.properties.clone())
        .build();
    let table = staging
        .create_table(&NamespaceIdent::new(STAGING_NAMESPACE.into()), creation)
        .await
        .map_err(|e| catalog_error(context, e))?;
    let target = schema_to_arrow_schema(table.metadata().current_schema())
        .map_err(|e| catalog_error(context, e))?;
    let conformed = conform(df, &target).map_err(|e| sql_error(context, e))?;
    let rows = write_into_staging(ctx, staging.clone(), conformed)
        .await
        .map_err(|e| sql_error(context, e))?;
    let staged = staging
        .load_table(&staging_ident())
        .await
        .map_err(|e| catalog_error(context, e))?;
    let Some(new_metadata) = staged.metadata_location() else {
        return Err(EngineError::Catalog {
            context: context.to_string(),
            message: "the staged table has no metadata file".into(),
        });
    };
    fault::point("build.before_swap");
    inner
        .store
        .swap_table_pointer(
            &fresh.database,
            &fresh.name,
            existing.replacing(),
            new_metadata,
            staged.metadata(),
        )
        .await?;
    if fault::fails("build.swap_answer_lost") {
        return Err(EngineError::Catalog {
            context: context.to_string(),
            message: "the catalog's answer to the swap was lost (fault injection)".into(),
        });
    }
    Ok((staged, rows))
}

/// Deletes what the replaced table had. Failures here do not fail the build (the new table is
/// already in place): they come back as warnings.
async fn purge_replaced(inner: &Inner, old: &Table, new_location: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    let old_location = old.metadata().location().trim_end_matches('/').to_string();
    if old_location == new_location.trim_end_matches('/') {
        return warnings;
    }
    if let Err(e) = iceberg::drop_table_data(old).await {
        warnings.push(format!(
            "deleting the replaced table's files under {old_location}: {e}"
        ));
    }
    if is_build_location(&old_location)
        && !new_location.starts_with(&format!("{old_location}/"))
        && let Err(e) = inner.file_io.delete_prefix(&old_location).await
    {
        warnings.push(format!(
            "deleting the replaced table's location {old_location}: {e}"
        ));
    }
    warnings
}

pub(crate) async fn build_table(
    inner: &Arc<Inner>,
    build: &TableBuild,
) -> Result<BuildOutcome, EngineError> {
    build_table_with_run_key(inner, build, None).await
}

/// Builds the table; an incremental model's first run also records its run key, so a retry
/// of that run after a crash finds it applied.
pub(crate) async fn build_table_with_run_key(
    inner: &Arc<Inner>,
    build: &TableBuild,
    run_key: Option<&str>,
) -> Result<BuildOutcome, EngineError> {
    let database = inner.ensure_database(&build.database).await?;
    let name = normalize_identifier("table name", &build.name)?;
    let context = format!("building table {database}.{name}");
    let properties = table_properties(
        &build.table_properties,
        build.description.as_deref(),
        &build.ownership,
        run_key,
    )
    .map_err(|e| prefixed(&context, e))?;
    let existing = find_relation(inner, &database, &name).await?;
    existing.check(&build.ownership, &database, &name)?;
    let ctx = new_session(inner, &database);
    let df = read_only_sql(&ctx, &build.sql, &context).await?;
    let normalized = normalize_schema(df.schema().as_arrow()).map_err(|e| prefixed(&context, e))?;
    let schema = iceberg_schema(&normalized, &build.column_descriptions)
        .map_err(|e| prefixed(&context, e))?;
    let fresh = FreshTable {
        database,
        name,
        schema,
        partitions: build.partitioned_by.clone(),
        properties,
        external_location: build.external_location.clone(),
    };
    build_fresh(inner, &ctx, df, fresh, &existing, &context).await
}

/// Puts the operation in front of an input error that does not say it yet.
pub(crate) fn prefixed(context: &str, error: EngineError) -> EngineError {
    match error {
        EngineError::InvalidInput(message) => {
            EngineError::InvalidInput(format!("{context}: {message}"))
        }
        other => other,
    }
}

pub(crate) async fn create_view(
    inner: &Arc<Inner>,
    view: &ViewDefinition,
) -> Result<RelationInfo, EngineError> {
    let database = inner.ensure_database(&view.database).await?;
    let name = normalize_identifier("view name", &view.name)?;
    let context = format!("creating view {database}.{name}");
    let ctx = new_session(inner, &database);
    // Planning checks the SQL and every relation it names now, not at first query.
    let df = read_only_sql(&ctx, &view.sql, &context).await?;
    let comments: BTreeMap<String, String> = view
        .column_descriptions
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    let columns =
        columns_of_arrow(df.schema().as_arrow(), &comments).map_err(|e| prefixed(&context, e))?;
    let unknown: Vec<&String> = comments
        .keys()
        .filter(|k| !columns.iter().any(|c| &c.name == *k))
        .collect();
    if !unknown.is_empty() {
        return Err(EngineError::InvalidInput(format!(
            "{context}: column_descriptions names columns the view does not return: {unknown:?}"
        )));
    }
    let existing = find_relation(inner, &database, &name).await?;
    existing.check(&view.ownership, &database, &name)?;
    let stored = StoredView {
        sql: view.sql.clone(),
        description: view.description.clone().filter(|d| !d.is_empty()),
        column_comments: comments,
        columns: columns.clone(),
        owner: view.ownership.owner.clone(),
        version: None,
    };
    // One catalog write puts the view where the table (or the previous view) was: the name
    // always holds a readable relation.
    inner
        .store
        .put_view(&database, &name, &stored, existing.replacing())
        .await?;
    fault::point("view.after_swap");
    let mut warnings = Vec::new();
    if let Existing::Table(old) = &existing {
        // dbt replaces a table by a view when the materialization changes: the table is gone
        // from the catalog now, its files go too.
        warnings.extend(purge_replaced(inner, old, "").await);
    }
    // A view has no files: any build directory of this name is left from a table it
    // replaced, also one whose purge an interrupted run never got to.
    if let Ok(probe) = fresh_location(inner, None, &database, &name, "x")
        && let Some((table_root, _)) = probe.rsplit_once('/')
    {
        warnings.extend(sweep_builds(inner, table_root, "", &BuildId::new()).await);
    }
    for warning in warnings {
        tracing::warn!("{context}: {warning}");
    }
    Ok(RelationInfo {
        database,
        name,
        kind: RelationKind::View,
        columns,
        location: None,
        snapshot_id: None,
        version: inner.store.written_view_version(&stored),
        description: stored.description,
        view_sql: Some(stored.sql),
        partitioned_by: Vec::new(),
        table_properties: BTreeMap::new(),
        owner: stored.owner,
    })
}

pub(crate) async fn describe(
    inner: &Arc<Inner>,
    database: &str,
    name: &str,
) -> Result<Option<RelationInfo>, EngineError> {
    let database = normalize_identifier("database", database)?;
    let name = normalize_identifier("name", name)?;
    match find_relation(inner, &database, &name).await? {
        Existing::Missing => Ok(None),
        Existing::Table(table) => {
            let metadata = table.metadata();
            let mut properties: BTreeMap<String, String> =
                metadata.properties().clone().into_iter().collect();
            let description = properties.remove(COMMENT_PROPERTY);
            let owner = properties.remove(OWNER_KEY);
            properties.retain(|k, _| !k.starts_with(RESERVED_PREFIX));
            Ok(Some(RelationInfo {
                columns: columns_of(metadata.current_schema()),
                location: Some(metadata.location().to_string()),
                snapshot_id: metadata.current_snapshot_id(),
                description,
                view_sql: None,
                partitioned_by: partitioned_by_of(&table),
                table_properties: properties,
                owner,
                version: table.metadata_location().map(str::to_string),
                kind: RelationKind::Table,
                database,
                name,
            }))
        }
        Existing::View(view) => {
            // A view whose upstream relations are gone still exists (drift detection must not
            // report it missing): its columns are then unknown, reported as none.
            let ctx = new_session(inner, &database);
            let reference = TableReference::full(
                inner.catalog_name.as_str(),
                database.as_str(),
                name.as_str(),
            );
            let columns = match ctx.table(reference).await {
                Ok(df) => columns_of_arrow(df.schema().as_arrow(), &view.column_comments)
                    .unwrap_or_default(),
                Err(e) => {
                    tracing::warn!("describing view {database}.{name}: {e}");
                    Vec::new()
                }
            };
            Ok(Some(RelationInfo {
                columns,
                location: None,
                snapshot_id: None,
                version: view.version.clone(),
                description: view.description,
                view_sql: Some(view.sql),
                partitioned_by: Vec::new(),
                table_properties: BTreeMap::new(),
                owner: view.owner,
                kind: RelationKind::View,
                database,
                name,
            }))
        }
    }
}

pub(crate) async fn drop_relation(
    inner: &Arc<Inner>,
    drop: &DropRelation,
) -> Result<bool, EngineError> {
    let database = normalize_identifier("database", &drop.database)?;
    let name = normalize_identifier("name", &drop.name)?;
    let context = format!("dropping {database}.{name}");
    let existing = find_relation(inner, &database, &name).await?;
    existing.check(&drop.ownership, &database, &name)?;
    match existing {
        Existing::Missing => Ok(false),
        Existing::View(view) => {
            inner
                .store
                .delete_view(&database, &name, view.owner.as_deref())
                .await
        }
        Existing::Table(table) => {
            let location = table
                .metadata()
                .location()
                .trim_end_matches('/')
                .to_string();
            let whole_location = drop.purge && is_build_location(&location);
            if whole_location {
                // Once the catalog forgets the table nothing points at its files: the journal
                // does until they are gone (see `trash`).
                trash::remember(inner, &database, &name, &location).await?;
            }
            inner
                .store
                .drop_table(&database, &name, table.metadata_location().unwrap_or(""))
                .await?;
            fault::point("drop.after_catalog");
            if !drop.purge {
                return Ok(true);
            }
            if whole_location {
                inner.file_io.delete_prefix(&location).await.map_err(|e| {
                    storage_error(
                        &context,
                        format!("the table is dropped, but deleting {location} failed: {e}"),
                    )
                })?;
                trash::forget(inner, &location).await;
            } else {
                iceberg::drop_table_data(&table).await.map_err(|e| {
                    storage_error(
                        &context,
                        format!(
                            "the table is dropped, but deleting its files under {location} failed: {e}"
                        ),
                    )
                })?;
            }
            Ok(true)
        }
    }
}
