//! Seeds: a CSV file becomes an Iceberg table, through the same build-then-swap as models.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema as ArrowSchema};
use datafusion::common::Column;
use datafusion::logical_expr::{Expr, cast};
use datafusion::prelude::CsvReadOptions;
use mdw_engine::{BuildOutcome, EngineError, SeedLoad, SqlType, normalize_identifier};

use crate::Inner;
use crate::errors::sql_error;
use crate::session::new_session;
use crate::types::{arrow_type_of_sql, iceberg_schema, normalize_schema};
use crate::write::{FreshTable, build_fresh, find_relation, prefixed, table_properties};

pub(crate) async fn load_csv(
    inner: &Arc<Inner>,
    seed: &SeedLoad,
) -> Result<BuildOutcome, EngineError> {
    let database = inner.ensure_database(&seed.database).await?;
    let name = normalize_identifier("seed name", &seed.name)?;
    let context = format!(
        "loading seed {database}.{name} from {}",
        seed.path.display()
    );
    if !seed.delimiter.is_ascii() {
        return Err(EngineError::InvalidInput(format!(
            "{context}: the delimiter must be one ASCII character, got {:?}",
            seed.delimiter
        )));
    }
    let path = seed
        .path
        .canonicalize()
        .map_err(|e| EngineError::InvalidInput(format!("{context}: cannot read the file: {e}")))?;
    let Some(path_str) = path.to_str() else {
        return Err(EngineError::InvalidInput(format!(
            "{context}: the path is not valid UTF-8"
        )));
    };
    // DataFusion filters files by extension: give it the file's own.
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| format!(".{e}"))
        .unwrap_or_default();
    let given: &BTreeMap<String, SqlType> = &seed.column_types;
    let properties = table_properties(
        &seed.table_properties,
        seed.description.as_deref(),
        &seed.ownership,
        None,
    )
    .map_err(|e| prefixed(&context, e))?;
    let existing = find_relation(inner, &database, &name).await?;
    existing.check(&seed.ownership, &database, &name)?;

    let ctx = new_session(inner, &database);
    let options = || {
        let mut options = CsvReadOptions::new()
            .has_header(true)
            .delimiter(seed.delimiter as u8)
            .file_extension(&extension);
        // dbt seeds load empty fields as NULL, for strings too.
        options.null_regex = Some("^$".to_string());
        options
    };
    let inferred = ctx
        .read_csv(path_str, options())
        .await
        .map_err(|e| sql_error(&context, e))?;
    let header: Vec<String> = inferred
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    if header.is_empty() || header.iter().all(|h| h.trim().is_empty()) {
        return Err(EngineError::InvalidInput(format!(
            "{context}: the file has no header line, so the seed would have no columns; the \
             first line must name the columns"
        )));
    }
    let unknown: Vec<&String> = given
        .keys()
        .filter(|c| !header.iter().any(|h| h.trim().eq_ignore_ascii_case(c)))
        .collect();
    if !unknown.is_empty() {
        return Err(EngineError::InvalidInput(format!(
            "{context}: column_types names columns the file does not have: {unknown:?} \
             (header: {header:?})"
        )));
    }

    // Columns with a given type are read as text and cast, so a value that does not fit the
    // type fails with the cast's message instead of a guess of the CSV reader.
    let read_schema = ArrowSchema::new(
        inferred
            .schema()
            .fields()
            .iter()
            .map(|f| {
                let lowered = f.name().trim().to_ascii_lowercase();
                let ty = if given.contains_key(&lowered) {
                    DataType::Utf8
                } else {
                    f.data_type().clone()
                };
                Field::new(f.name(), ty, true)
            })
            .collect::<Vec<_>>(),
    );
    let raw = ctx
        .read_csv(path_str, options().schema(&read_schema))
        .await
        .map_err(|e| sql_error(&context, e))?;
    let exprs: Vec<Expr> = read_schema
        .fields()
        .iter()
        .map(|f| {
            let lowered = f.name().trim().to_ascii_lowercase();
            let column = Expr::Column(Column::new_unqualified(f.name()));
            let value = match given.get(&lowered) {
                Some(ty) => cast(column, arrow_type_of_sql(*ty)),
                None => column,
            };
            value.alias(lowered)
        })
        .collect();
    let df = raw.select(exprs).map_err(|e| sql_error(&context, e))?;

    let normalized = normalize_schema(df.schema().as_arrow()).map_err(|e| prefixed(&context, e))?;
    let schema = iceberg_schema(&normalized, &seed.column_descriptions)
        .map_err(|e| prefixed(&context, e))?;
    let fresh = FreshTable {
        database,
        name,
        schema,
        partitions: Vec::new(),
        properties,
        external_location: seed.external_location.clone(),
    };
    build_fresh(inner, &ctx, df, fresh, &existing, &context).await
}
