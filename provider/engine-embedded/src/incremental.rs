//! Incremental models: `append` and `merge` on `unique_key`, with dbt's `on_schema_change`.
//!
//! A plain append (same columns) adds one snapshot to the existing table: the append is
//! committed in a private in-memory catalog on top of the table's current metadata, then the
//! real catalog's pointer is swapped with a compare-and-swap, exactly like a full build. New
//! data files go to a directory of their own (`<location>/data/<build id>/`, via the Iceberg
//! `write.data.path` property, set only while writing), so a failed run deletes exactly what it
//! wrote.
//!
//! iceberg-rust 0.10 has no overwrite or row-delta commit, so `merge` and any schema change are
//! copy-on-write: the merged result (kept old rows + new rows) is built as a fresh table at a
//! fresh location and swapped in, like a full build. Correct and safe, but it rewrites the
//! table: fine for the embedded engine's sizes.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema as ArrowSchema};
use datafusion::catalog::{CatalogProvider, MemoryCatalogProvider, MemorySchemaProvider};
use datafusion::prelude::{DataFrame, SessionContext};
use datafusion::sql::TableReference;
use iceberg::arrow::schema_to_arrow_schema;
use iceberg::memory::MemoryCatalog;
use iceberg::spec::Schema as IcebergSchema;
use iceberg::table::Table;
use iceberg::transaction::{ApplyTransactionAction, Transaction};
use iceberg::{Catalog, ErrorKind};
use iceberg_datafusion::IcebergStaticTableProvider;
use mdw_engine::{
    BuildId, BuildOutcome, EngineError, IncrementalBuild, IncrementalStrategy, OWNER_KEY,
    OnSchemaChange, Ownership, RUN_KEY, fault, normalize_identifier,
};

use crate::Inner;
use crate::errors::{catalog_error, sql_error};
use crate::janitor::{sweep_appends, sweep_builds};
use crate::session::new_session;
use crate::types::{iceberg_schema, iceberg_type_of, normalize_schema};
use crate::write::{
    Existing, FreshTable, build_fresh, build_table_with_run_key, conform, find_relation, outcome,
    prefixed, read_only_sql, staging_catalog, staging_ident, table_properties, write_into_staging,
};

/// Iceberg table property that directs where new data files go.
const WRITE_DATA_PATH: &str = "write.data.path";
/// Where a merge's two sides are registered in the session.
const WORK_CATALOG: &str = "mdw_work";
const WORK_SCHEMA: &str = "merge";
const WORK_TARGET: &str = "target_rows";
const WORK_SOURCE: &str = "source_rows";
/// Marks target rows in the merge join (a name no model column will have).
const MATCHED_MARKER: &str = "__mdw_matched";
/// Numbers the existing rows while checking that no two new rows match one of them.
const ROW_MARKER: &str = "__mdw_row";

pub(crate) async fn run(
    inner: &Arc<Inner>,
    build: &IncrementalBuild,
) -> Result<BuildOutcome, EngineError> {
    let database = inner.ensure_database(&build.table.database).await?;
    let name = normalize_identifier("table name", &build.table.name)?;
    let context = format!("incremental run of {database}.{name}");
    validate(build, &context)?;

    let existing = find_relation(inner, &database, &name).await?;
    existing.check(&build.table.ownership, &database, &name)?;
    let Existing::Table(table) = existing else {
        // First run (or the relation was a view): dbt builds the table from the full query.
        return build_table_with_run_key(inner, &build.table, build.run_key.as_deref()).await;
    };
    if let Some(key) = &build.run_key
        && table.metadata().properties().get(RUN_KEY) == Some(key)
    {
        // An earlier attempt of this very run committed, then the provider died before
        // Terraform heard of it: applying it again would add its rows twice.
        tracing::info!("{context}: run {key} is already committed; not applying it again");
        // The provider died after the swap, before removing the build it replaced (a merge
        // rebuilds the table): remove it now, as the build would have.
        let location = table
            .metadata()
            .location()
            .trim_end_matches('/')
            .to_string();
        let mut warnings = Vec::new();
        if let Some((table_root, _)) = location.rsplit_once('/') {
            warnings = sweep_builds(inner, table_root, &location, &BuildId::new()).await;
        }
        for warning in &warnings {
            tracing::warn!("{context}: {warning}");
        }
        let mut done = outcome(&table, BuildId::new().to_string(), 0, warnings);
        done.replayed = true;
        return Ok(done);
    }

    let ctx = new_session(inner, &database);
    let query = build.incremental_sql.as_deref().unwrap_or(&build.table.sql);
    let df = read_only_sql(&ctx, query, &context).await?;
    let query_schema =
        normalize_schema(df.schema().as_arrow()).map_err(|e| prefixed(&context, e))?;
    let table_schema = table.metadata().current_schema().clone();
    let changes = compare(&query_schema, &table_schema)?;

    let target_arrow = match build.on_schema_change {
        OnSchemaChange::Ignore => table_arrow_schema(&table_schema, &context)?,
        OnSchemaChange::Fail if !changes.is_empty() => {
            return Err(EngineError::SchemaChanged {
                context,
                added: changes.added,
                removed: changes.removed,
                changed: changes.changed,
            });
        }
        OnSchemaChange::Fail => table_arrow_schema(&table_schema, &context)?,
        OnSchemaChange::AppendNewColumns => {
            let mut fields: Vec<Field> = table_arrow_schema(&table_schema, &context)?
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect();
            for added in &changes.added {
                if let Ok(field) = query_schema.field_with_name(added) {
                    fields.push(field.clone());
                }
            }
            ArrowSchema::new(fields)
        }
        OnSchemaChange::SyncAllColumns => query_schema.clone(),
    };
    let schema_changes = match build.on_schema_change {
        OnSchemaChange::AppendNewColumns => !changes.added.is_empty(),
        OnSchemaChange::SyncAllColumns => !changes.is_empty(),
        OnSchemaChange::Ignore | OnSchemaChange::Fail => false,
    };

    if build.strategy == IncrementalStrategy::Append && !schema_changes {
        let conformed = conform(df, &target_arrow).map_err(|e| sql_error(&context, e))?;
        let marks = RunMarks {
            ownership: &build.table.ownership,
            run_key: build.run_key.as_deref(),
        };
        return append_in_place(inner, &ctx, conformed, &table, marks, &context).await;
    }

    // Copy-on-write: old rows and new rows, both shaped like the new table.
    let new_schema = new_iceberg_schema(&target_arrow, &table_schema, build, &context)?;
    let shape = normalize_schema(&target_arrow).map_err(|e| prefixed(&context, e))?;
    let old_rows = {
        let provider = IcebergStaticTableProvider::try_new_from_table(table.as_ref().clone())
            .await
            .map_err(|e| catalog_error(&context, e))?;
        let old = ctx
            .read_table(Arc::new(provider))
            .map_err(|e| sql_error(&context, e))?;
        conform(old, &shape).map_err(|e| sql_error(&context, e))?
    };
    let new_rows = conform(df, &shape).map_err(|e| sql_error(&context, e))?;
    let result = match build.strategy {
        IncrementalStrategy::Append => old_rows
            .union(new_rows)
            .map_err(|e| sql_error(&context, e))?,
        IncrementalStrategy::Merge => {
            merged(&ctx, old_rows, new_rows, &shape, build, &context).await?
        }
    };
    let fresh = FreshTable {
        database,
        name,
        schema: new_schema,
        partitions: build.table.partitioned_by.clone(),
        properties: table_properties(
            &build.table.table_properties,
            build.table.description.as_deref(),
            &build.table.ownership,
            build.run_key.as_deref(),
        )
        .map_err(|e| prefixed(&context, e))?,
        external_location: build.table.external_location.clone(),
    };
    build_fresh(
        inner,
        &ctx,
        result,
        fresh,
        &Existing::Table(table),
        &context,
    )
    .await
}

fn validate(build: &IncrementalBuild, context: &str) -> Result<(), EngineError> {
    if build.strategy == IncrementalStrategy::Merge {
        if build.unique_key.is_empty() {
            return Err(EngineError::InvalidInput(format!(
                "{context}: incremental_strategy 'merge' needs unique_key"
            )));
        }
        if !build.merge_update_columns.is_empty() && !build.merge_exclude_columns.is_empty() {
            return Err(EngineError::InvalidInput(format!(
                "{context}: set merge_update_columns or merge_exclude_columns, not both"
            )));
        }
    } else if !build.incremental_predicates.is_empty() {
        return Err(EngineError::InvalidInput(format!(
            "{context}: incremental_predicates only apply to the 'merge' strategy"
        )));
    }
    Ok(())
}

#[derive(Debug, Default)]
struct SchemaChanges {
    added: Vec<String>,
    removed: Vec<String>,
    changed: Vec<String>,
}

impl SchemaChanges {
    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

fn compare(query: &ArrowSchema, table: &IcebergSchema) -> Result<SchemaChanges, EngineError> {
    let mut changes = SchemaChanges::default();
    for field in query.fields() {
        match table.field_by_name(field.name()) {
            None => changes.added.push(field.name().clone()),
            Some(existing) => {
                let query_type = iceberg_type_of(field.name(), field.data_type())?;
                if query_type != *existing.field_type {
                    changes.changed.push(field.name().clone());
                }
            }
        }
    }
    for field in table.as_struct().fields() {
        if query.field_with_name(&field.name).is_err() {
            changes.removed.push(field.name.clone());
        }
    }
    Ok(changes)
}

fn table_arrow_schema(schema: &IcebergSchema, context: &str) -> Result<ArrowSchema, EngineError> {
    schema_to_arrow_schema(schema).map_err(|e| catalog_error(context, e))
}

/// The schema of the rewritten table: column comments carried over from the old table unless
/// the model gives new ones.
fn new_iceberg_schema(
    target: &ArrowSchema,
    old: &IcebergSchema,
    build: &IncrementalBuild,
    context: &str,
) -> Result<IcebergSchema, EngineError> {
    let shape = normalize_schema(target).map_err(|e| prefixed(context, e))?;
    let mut comments = build.table.column_descriptions.clone();
    for field in old.as_struct().fields() {
        if let Some(doc) = &field.doc
            && shape.field_with_name(&field.name).is_ok()
        {
            comments
                .entry(field.name.clone())
                .or_insert_with(|| doc.clone());
        }
    }
    iceberg_schema(&shape, &comments).map_err(|e| prefixed(context, e))
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Copy-on-write MERGE: the old rows no new row matches, plus every new row, where matched
/// rows keep the old values of columns the merge does not update. The aliases `target` and
/// `src` are dbt-athena's, so `incremental_predicates` read the same.
async fn merged(
    ctx: &SessionContext,
    old_rows: DataFrame,
    new_rows: DataFrame,
    shape: &ArrowSchema,
    build: &IncrementalBuild,
    context: &str,
) -> Result<DataFrame, EngineError> {
    let columns: Vec<String> = shape.fields().iter().map(|f| f.name().clone()).collect();
    let column_set: BTreeSet<&str> = columns.iter().map(String::as_str).collect();
    let lowered = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .map(|n| n.trim().to_ascii_lowercase())
            .collect()
    };
    let keys = lowered(&build.unique_key);
    let update_only = lowered(&build.merge_update_columns);
    let exclude = lowered(&build.merge_exclude_columns);
    for (what, names) in [
        ("unique_key", &keys),
        ("merge_update_columns", &update_only),
        ("merge_exclude_columns", &exclude),
    ] {
        let unknown: Vec<&String> = names
            .iter()
            .filter(|n| !column_set.contains(n.as_str()))
            .collect();
        if !unknown.is_empty() {
            return Err(EngineError::InvalidInput(format!(
                "{context}: {what} names columns the table does not have: {unknown:?} (columns: {columns:?})"
            )));
        }
    }

    // The session's default schema is the warehouse (read-only here): the two sides live in a
    // scratch catalog of this session.
    let scratch = MemoryCatalogProvider::new();
    scratch
        .register_schema(WORK_SCHEMA, Arc::new(MemorySchemaProvider::new()))
        .map_err(|e| sql_error(context, e))?;
    ctx.register_catalog(WORK_CATALOG, Arc::new(scratch));
    for (name, rows) in [(WORK_TARGET, old_rows), (WORK_SOURCE, new_rows)] {
        ctx.register_table(
            TableReference::full(WORK_CATALOG, WORK_SCHEMA, name),
            rows.into_view(),
        )
        .map_err(|e| sql_error(context, e))?;
    }

    let mut on: Vec<String> = keys
        .iter()
        .map(|k| format!("target.{c} = src.{c}", c = quoted(k)))
        .collect();
    on.extend(
        build
            .incremental_predicates
            .iter()
            .map(|p| format!("({p})")),
    );
    let on = on.join(" AND ");

    let updated = |column: &str| {
        if !update_only.is_empty() {
            update_only.iter().any(|c| c == column)
        } else {
            !exclude.iter().any(|c| c == column)
        }
    };
    let select_new: Vec<String> = columns
        .iter()
        .map(|c| {
            let q = quoted(c);
            if updated(c) || keys.contains(c) {
                format!("src.{q} AS {q}")
            } else {
                format!(
                    "CASE WHEN target.{m} THEN target.{q} ELSE src.{q} END AS {q}",
                    m = quoted(MATCHED_MARKER)
                )
            }
        })
        .collect();
    let select_old: Vec<String> = columns
        .iter()
        .map(|c| format!("target.{}", quoted(c)))
        .collect();
    // Athena's MERGE fails when one existing row matches two new rows ("One MERGE target table
    // row matched more than one source row"); the union below would keep both.
    let twice = format!(
        "SELECT 1 FROM (SELECT *, row_number() OVER () AS {rid} \
         FROM {WORK_CATALOG}.{WORK_SCHEMA}.{WORK_TARGET}) AS target \
         JOIN {WORK_CATALOG}.{WORK_SCHEMA}.{WORK_SOURCE} AS src ON {on} \
         GROUP BY target.{rid} HAVING count(*) > 1 LIMIT 1",
        rid = quoted(ROW_MARKER),
    );
    let found = ctx
        .sql(&twice)
        .await
        .map_err(|e| sql_error(context, e))?
        .count()
        .await
        .map_err(|e| sql_error(context, e))?;
    if found > 0 {
        return Err(EngineError::InvalidInput(format!(
            "{context}: a row of the table matches more than one new row on unique_key {keys:?}: Athena's MERGE fails the same way (\"One MERGE target table row matched more than one source row\"); nothing was written. Make the model return one row per unique_key"
        )));
    }
    let sql = format!(
        "SELECT {old} FROM {t} AS target LEFT ANTI JOIN {s} AS src ON {on} \
         UNION ALL \
         SELECT {new} FROM {s} AS src LEFT JOIN \
         (SELECT *, TRUE AS {m} FROM {t}) AS target ON {on}",
        t = format!("{WORK_CATALOG}.{WORK_SCHEMA}.{WORK_TARGET}"),
        s = format!("{WORK_CATALOG}.{WORK_SCHEMA}.{WORK_SOURCE}"),
        old = select_old.join(", "),
        new = select_new.join(", "),
        m = quoted(MATCHED_MARKER),
    );
    ctx.sql(&sql).await.map_err(|e| sql_error(context, e))
}

/// The markers an append leaves on the table with its rows, in the same commit.
#[derive(Clone, Copy)]
struct RunMarks<'a> {
    ownership: &'a Ownership,
    run_key: Option<&'a str>,
}

/// Appends `df` to `table` as one new snapshot (see the module comment).
async fn append_in_place(
    inner: &Inner,
    ctx: &SessionContext,
    df: DataFrame,
    table: &Table,
    marks: RunMarks<'_>,
    context: &str,
) -> Result<BuildOutcome, EngineError> {
    let build_id = BuildId::new();
    let Some(original_metadata) = table.metadata_location().map(str::to_string) else {
        return Err(EngineError::Catalog {
            context: context.to_string(),
            message: "the table has no metadata file".into(),
        });
    };
    let location = table
        .metadata()
        .location()
        .trim_end_matches('/')
        .to_string();
    let data_dir = format!("{location}/data/{build_id}");
    let staging = staging_catalog(inner, context).await?;
    staging
        .register_table(&staging_ident(), original_metadata.clone())
        .await
        .map_err(|e| catalog_error(context, e))?;

    let attempt = async {
        let previous_data_path = table.metadata().properties().get(WRITE_DATA_PATH).cloned();
        set_properties(
            &staging,
            &[(WRITE_DATA_PATH, Some(data_dir.clone()))],
            context,
        )
        .await?;
        let rows = write_into_staging(ctx, staging.clone(), df)
            .await
            .map_err(|e| sql_error(context, e))?;
        if rows == 0 {
            return Ok(None);
        }
        // The run key (and owner) travel in the commit that adds the rows: a retry finds the
        // key exactly when the rows are there.
        set_properties(
            &staging,
            &[
                (WRITE_DATA_PATH, previous_data_path),
                (RUN_KEY, marks.run_key.map(str::to_string)),
                (OWNER_KEY, marks.ownership.owner.clone()),
            ],
            context,
        )
        .await?;
        let staged = load_staged(&staging, context).await?;
        let Some(new_metadata) = staged.metadata_location() else {
            return Err(EngineError::Catalog {
                context: context.to_string(),
                message: "the staged table has no metadata file".into(),
            });
        };
        let (database, name) = (
            table.identifier().namespace().join("."),
            table.identifier().name().to_string(),
        );
        fault::point("append.before_swap");
        inner
            .store
            .swap_table_pointer(
                &database,
                &name,
                crate::store::Replacing::Table(&original_metadata),
                new_metadata,
                staged.metadata(),
            )
            .await?;
        if fault::fails("append.swap_answer_lost") {
            return Err(EngineError::Catalog {
                context: context.to_string(),
                message: "the catalog's answer to the swap was lost (fault injection)".into(),
            });
        }
        Ok(Some((staged, rows)))
    }
    .await;

    match attempt {
        Ok(Some((staged, rows))) => {
            fault::point("append.after_swap");
            let warnings = sweep_appends(inner, &staged, &build_id).await;
            for warning in &warnings {
                tracing::warn!("{context}: {warning}");
            }
            Ok(outcome(&staged, build_id.to_string(), rows, warnings))
        }
        Ok(None) => {
            // Nothing to append: leave the table exactly as it was.
            discard_staged(inner, &staging, table, &data_dir).await;
            Ok(outcome(table, build_id.to_string(), 0, Vec::new()))
        }
        Err(error) => {
            // A swap can fail after it committed (a lost answer): then the staged files are
            // the table's now and stay (an unreferenced append directory is swept later).
            if staged_may_be_current(inner, &staging, table).await {
                tracing::warn!("{context}: the catalog may point at the staged append; kept");
                return Err(error);
            }
            discard_staged(inner, &staging, table, &data_dir).await;
            Err(error)
        }
    }
}

/// False only when the catalog, read now, is known not to point at the staged metadata.
async fn staged_may_be_current(inner: &Inner, staging: &MemoryCatalog, original: &Table) -> bool {
    let staged = match staging.load_table(&staging_ident()).await {
        Ok(staged) => staged,
        // Nothing was staged, so nothing of it can be current.
        Err(e) if e.kind() == ErrorKind::TableNotFound => return false,
        Err(_) => return true,
    };
    let (database, name) = (
        original.identifier().namespace().join("."),
        original.identifier().name().to_string(),
    );
    match crate::write::find_relation(inner, &database, &name).await {
        Ok(crate::write::Existing::Table(current)) => {
            current.metadata_location().is_some()
                && current.metadata_location() == staged.metadata_location()
        }
        Ok(_) => false,
        Err(_) => true,
    }
}

/// Sets (`Some`) or removes (`None`) table properties in one commit of the staged table; a
/// removal of a property the table does not have is left out.
async fn set_properties(
    staging: &MemoryCatalog,
    changes: &[(&str, Option<String>)],
    context: &str,
) -> Result<(), EngineError> {
    let table = load_staged(staging, context).await?;
    let current = table.metadata().properties();
    let tx = Transaction::new(&table);
    let mut action = tx.update_table_properties();
    for (key, value) in changes {
        action = match value {
            Some(value) => action.set(key.to_string(), value.clone()),
            None if current.contains_key(*key) => action.remove(key.to_string()),
            None => action,
        };
    }
    action
        .apply(tx)
        .map_err(|e| catalog_error(context, e))?
        .commit(staging)
        .await
        .map_err(|e| catalog_error(context, e))?;
    Ok(())
}

async fn load_staged(staging: &MemoryCatalog, context: &str) -> Result<Table, EngineError> {
    staging
        .load_table(&staging_ident())
        .await
        .map_err(|e| catalog_error(context, e))
}

/// Deletes what a failed (or empty) append wrote: its data directory, and the metadata files,
/// manifest list and manifests the staging commits added on top of the original metadata.
async fn discard_staged(inner: &Inner, staging: &MemoryCatalog, original: &Table, data_dir: &str) {
    let mut leftovers: Vec<String> = Vec::new();
    if let Err(e) = inner.file_io.delete_prefix(data_dir).await {
        leftovers.push(format!("{data_dir}: {e}"));
    }
    let staged = match staging.load_table(&staging_ident()).await {
        Ok(staged) => staged,
        Err(e) if e.kind() == ErrorKind::TableNotFound => return,
        Err(e) => {
            tracing::warn!("cleaning up a failed append: reading the staged table: {e}");
            return;
        }
    };
    let original_meta = original.metadata();
    let known: BTreeSet<&str> = original_meta
        .metadata_log()
        .iter()
        .map(|m| m.metadata_file.as_str())
        .chain(original.metadata_location())
        .collect();
    let mut files: Vec<String> = staged
        .metadata()
        .metadata_log()
        .iter()
        .map(|m| m.metadata_file.clone())
        .chain(staged.metadata_location().map(str::to_string))
        .filter(|f| !known.contains(f.as_str()))
        .collect();
    if let Some(snapshot) = staged.metadata().current_snapshot()
        && Some(snapshot.snapshot_id()) != original_meta.current_snapshot_id()
    {
        files.push(snapshot.manifest_list().to_string());
        if let Ok(list) = staged.manifest_list_reader(snapshot).load().await {
            files.extend(
                list.entries()
                    .iter()
                    .filter(|m| m.added_snapshot_id == snapshot.snapshot_id())
                    .map(|m| m.manifest_path.clone()),
            );
        }
    }
    for file in files {
        if let Err(e) = inner.file_io.delete(&file).await {
            leftovers.push(format!("{file}: {e}"));
        }
    }
    if !leftovers.is_empty() {
        tracing::warn!(
            "cleaning up a failed append left files behind: {}",
            leftovers.join("; ")
        );
    }
}
