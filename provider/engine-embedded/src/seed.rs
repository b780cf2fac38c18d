//! Seeds: a CSV file becomes an Iceberg table, through the same build-then-swap as models.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema as ArrowSchema};
use datafusion::common::Column;
use datafusion::functions::expr_fn::{btrim, nullif};
use datafusion::logical_expr::{Expr, cast, lit};
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
    let properties = table_properties(
        &seed.table_properties,
        seed.description.as_deref(),
        &seed.ownership,
        None,
    )
    .map_err(|e| prefixed(&context, e))?;
    let existing = find_relation(inner, &database, &name).await?;
    existing.check(&seed.ownership, &database, &name)?;

    // The types come from every value (the rule mdwc and the Athena engine use too); the
    // file is read as text and each typed column cast from its trimmed text, so a value that
    // does not fit a given type fails with the cast's message.
    let columns = seed.read_columns(&context)?;
    let ctx = new_session(inner, &database);
    let mut options = CsvReadOptions::new()
        .has_header(true)
        .delimiter(seed.delimiter as u8)
        .file_extension(&extension);
    // dbt seeds load empty fields as NULL, for strings too.
    options.null_regex = Some("^$".to_string());
    let read_schema = ArrowSchema::new(
        (0..columns.len())
            .map(|i| Field::new(format!("c{i}"), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    );
    let raw = ctx
        .read_csv(path_str, options.schema(&read_schema))
        .await
        .map_err(|e| sql_error(&context, e))?;
    let exprs: Vec<Expr> = columns
        .iter()
        .enumerate()
        .map(|(i, (name, ty))| {
            let text = Expr::Column(Column::new_unqualified(format!("c{i}")));
            let value = match ty {
                SqlType::Varchar => text,
                typed => cast(
                    nullif(btrim(vec![text]), lit("")),
                    arrow_type_of_sql(*typed),
                ),
            };
            value.alias(name)
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
