//! Seed files checked before they reach Terraform: a seed must have a header of distinct,
//! named columns and rows of the same width, as dbt (agate) requires; Terraform only hashes
//! the file, so a broken seed would otherwise surface at apply.
//!
//! The check also works out the type each column will load as, by the rule both engines load
//! seeds with ([`SeedColumn`]), so `adapter.get_columns_in_relation` answers a seed's types.

use mdw_sql_types::{SeedColumn, SqlType};

use crate::compile::KnownColumn;
use crate::error::{Diagnostic, Location, Result};
use crate::project::{SeedFile, utf8};

/// Checks `seed`'s content, read with `delimiter` (dbt's `delimiter` config, default `,`), and
/// returns its columns as the table has them (names trimmed and lower case, as Glue's) with
/// the type each loads as when `column_types` does not give one.
pub(crate) fn check(seed: &SeedFile, delimiter: u8) -> Result<Vec<(String, SqlType)>> {
    let bytes = std::fs::read(&seed.absolute)
        .map_err(|err| Diagnostic::new(format!("cannot read {}: {err}", seed.path)))?;
    let text = utf8(&seed.path, bytes)?;
    let at = |line: u64| Location::new(&seed.path, line as usize, 1);
    if text.trim().is_empty() {
        return Err(Diagnostic::new(format!("seed {} is empty", seed.path))
            .at(at(1))
            .help("a seed needs a header line naming its columns, e.g. `id,name`"));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut width = None;
    let mut columns = Vec::new();
    let mut types: Vec<SeedColumn> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|err| {
            let line = err.position().map_or(1, |p| p.line());
            Diagnostic::new(format!("cannot read seed {}: {err}", seed.path)).at(at(line))
        })?;
        let line = record.position().map_or(1, |p| p.line());
        let Some(expected) = width else {
            let mut seen = std::collections::HashSet::new();
            for (index, column) in record.iter().enumerate() {
                let name = column.trim();
                if name.is_empty() {
                    return Err(Diagnostic::new(format!(
                        "column {} of seed {} has no name",
                        index + 1,
                        seed.path
                    ))
                    .at(at(line))
                    .help("name every column in the header line"));
                }
                columns.push(name.to_ascii_lowercase());
                if !seen.insert(name.to_ascii_lowercase()) {
                    return Err(Diagnostic::new(format!(
                        "seed {} has column '{name}' twice (the table's column names are lower case)",
                        seed.path
                    ))
                    .at(at(line))
                    .help("give every column of the header a different name"));
                }
            }
            width = Some(record.len());
            types = vec![SeedColumn::default(); record.len()];
            continue;
        };
        // A blank line reads as one empty field; agate skips it too.
        if record.len() == 1 && record.get(0).is_some_and(str::is_empty) {
            continue;
        }
        if record.len() != expected {
            return Err(Diagnostic::new(format!(
                "row of seed {} has {} values, but the header has {expected} columns",
                seed.path,
                record.len()
            ))
            .at(at(line))
            .help(
                "give every row one value per column (quote values that contain the delimiter)",
            ));
        }
        for (column, value) in types.iter_mut().zip(record.iter()) {
            column.observe(value);
        }
    }
    Ok(columns
        .into_iter()
        .zip(types.iter().map(SeedColumn::sql_type))
        .collect())
}

/// The seed's columns with the types Glue will have for them: `column_types` (dbt's seed
/// config, any key case) over the inferred ones. A type the provider does not take is left
/// unknown here; the provider refuses it at plan.
pub(crate) fn glue_columns(
    columns: Vec<(String, SqlType)>,
    given: Option<&serde_json::Value>,
) -> Vec<KnownColumn> {
    let given = given.and_then(serde_json::Value::as_object);
    columns
        .into_iter()
        .map(|(name, inferred)| {
            let configured = given.and_then(|types| {
                types
                    .iter()
                    .find(|(column, _)| column.trim().eq_ignore_ascii_case(&name))
                    .map(|(_, ty)| ty.as_str().and_then(|t| t.parse::<SqlType>().ok()))
            });
            KnownColumn {
                name,
                sql_type: configured.unwrap_or(Some(inferred)),
            }
        })
        .collect()
}
