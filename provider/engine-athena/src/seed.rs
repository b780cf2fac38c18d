//! Seeds on Athena, as dbt-athena loads them: the CSV goes to S3 as is, an external CSV table
//! of strings is laid over it, and the model path builds the Iceberg table from it with casts
//! (a CTAS, swapped in like any model). The external table and the upload are removed after.
//!
//! Types are inferred from every value by [`SeedColumn`], the rule the embedded engine and
//! mdwc use too, so a project builds the same tables on both engines; `column_types`
//! overrides per column. Empty fields are NULL, as in dbt.

use std::collections::BTreeMap;

use mdw_engine::{BuildId, BuildOutcome, EngineError, SeedLoad, SqlType, TableBuild};

use crate::sql::{literal, quote, quote_ddl};
use crate::{AthenaEngine, CSV_MARK, names, sql};

/// A CSV header and the type each column loads as.
pub(crate) struct SeedColumns {
    pub(crate) columns: Vec<(String, SqlType)>,
}

pub(crate) fn read_columns(seed: &SeedLoad, context: &str) -> Result<SeedColumns, EngineError> {
    Ok(SeedColumns {
        columns: seed.read_columns(context)?,
    })
}

/// `create external table … (all string columns) … location …` over the uploaded CSV.
pub(crate) fn create_csv_table(
    database: &str,
    name: &str,
    columns: &SeedColumns,
    delimiter: char,
    location: &str,
) -> Result<String, EngineError> {
    let list = columns
        .columns
        .iter()
        .map(|(c, _)| Ok(format!("{} string", quote_ddl(c)?)))
        .collect::<Result<Vec<_>, EngineError>>()?;
    Ok(format!(
        "CREATE EXTERNAL TABLE {}.{} ({}) ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde' \
         WITH SERDEPROPERTIES ('separatorChar' = {}, 'quoteChar' = '\"', 'escapeChar' = '\\\\') \
         LOCATION {} TBLPROPERTIES ('skip.header.line.count' = '1')",
        quote_ddl(database)?,
        quote_ddl(name)?,
        list.join(", "),
        literal(&delimiter.to_string()),
        literal(location)
    ))
}

/// The seed's query: every column cast from its text, empty text as NULL.
pub(crate) fn select_typed(database: &str, csv_table: &str, columns: &SeedColumns) -> String {
    let list: Vec<String> = columns
        .columns
        .iter()
        .map(|(c, ty)| {
            let text = format!("NULLIF(TRIM({}), '')", quote(c));
            let value = match ty {
                SqlType::Varchar => format!("NULLIF({}, '')", quote(c)),
                SqlType::Boolean => format!("CAST(LOWER({text}) AS boolean)"),
                SqlType::Timestamp => format!("CAST(REPLACE({text}, 'T', ' ') AS timestamp(6))"),
                other => format!("CAST({text} AS {other})"),
            };
            format!("{value} AS {}", quote(c))
        })
        .collect();
    format!(
        "SELECT {} FROM {}.{}",
        list.join(", "),
        quote(database),
        quote(csv_table)
    )
}

/// `column_descriptions` keys that are not columns of the file.
pub(crate) fn unknown_columns<'a>(
    columns: &SeedColumns,
    described: &'a BTreeMap<String, String>,
) -> Vec<&'a String> {
    described
        .keys()
        .filter(|k| {
            !columns
                .columns
                .iter()
                .any(|(c, _)| c.eq_ignore_ascii_case(k))
        })
        .collect()
}

impl AthenaEngine {
    /// Loads the CSV: upload, external table of strings over it, typed CTAS swapped in like any
    /// model, then the external table and the upload go.
    pub(crate) async fn load(&self, seed: &SeedLoad) -> Result<BuildOutcome, EngineError> {
        let (database, name) = names(&seed.database, &seed.name)?;
        let context = format!(
            "loading seed {database}.{name} from {}",
            seed.path.display()
        );
        let columns = read_columns(seed, &context)?;
        let unknown = unknown_columns(&columns, &seed.column_descriptions);
        if !unknown.is_empty() {
            return Err(EngineError::InvalidInput(format!(
                "{context}: column_descriptions names columns the file does not have: {unknown:?}"
            )));
        }
        if let Some(entry) = self.glue.entries().get(&database, &name).await? {
            seed.ownership
                .check(&database, &name, mdw_engine_aws::glue::owner_of(&entry))?;
        }
        self.glue.ensure_database(&database).await?;
        // CSV tables of loads that died are dropped first (their uploads were per load).
        for stale in self
            .glue
            .table_names(&database, &format!("{name}{CSV_MARK}"))
            .await?
        {
            self.run(&context, &sql::drop_table(&database, &stale)?)
                .await?;
        }
        let upload_id = BuildId::new();
        let csv_table = format!("{name}{CSV_MARK}{}", upload_id.simple());
        let location = format!(
            "{}/{upload_id}",
            self.table_root(
                &database,
                &format!("{name}__mdw_csv"),
                seed.external_location.as_deref()
            )
            .await?
        );
        let key = self.upload(&location, seed, &context).await?;
        let loaded = async {
            let statement = create_csv_table(
                &database,
                &csv_table,
                &columns,
                seed.delimiter,
                &format!("{location}/"),
            )?;
            self.run(&context, &statement).await?;
            self.build(
                &TableBuild {
                    database: database.clone(),
                    name: name.clone(),
                    sql: select_typed(&database, &csv_table, &columns),
                    partitioned_by: Vec::new(),
                    table_properties: seed.table_properties.clone(),
                    external_location: seed.external_location.clone(),
                    description: seed.description.clone(),
                    column_descriptions: seed.column_descriptions.clone(),
                    ownership: seed.ownership.clone(),
                },
                None,
            )
            .await
        }
        .await;
        // The external table only names the upload: dropping it leaves the file, which goes too.
        let mut warnings = Vec::new();
        if let Err(e) = self
            .run(&context, &sql::drop_table(&database, &csv_table)?)
            .await
        {
            warnings.push(format!(
                "the CSV table {database}.{csv_table} is left ({e}); the next load drops it"
            ));
        }
        if let Err(e) = self
            .s3
            .delete_object()
            .bucket(&key.0)
            .key(&key.1)
            .send()
            .await
        {
            warnings.push(format!(
                "the uploaded file s3://{}/{} is left: {}",
                key.0,
                key.1,
                aws_sdk_s3::error::DisplayErrorContext(&e)
            ));
        }
        let mut outcome = loaded?;
        outcome.warnings.extend(warnings);
        Ok(outcome)
    }

    /// Puts the seed's file under `location`; returns its bucket and key.
    async fn upload(
        &self,
        location: &str,
        seed: &SeedLoad,
        context: &str,
    ) -> Result<(String, String), EngineError> {
        let Some((bucket, prefix)) = location
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
        else {
            return Err(EngineError::InvalidInput(format!(
                "{context}: {location} is not an s3://bucket/prefix location"
            )));
        };
        let key = format!("{prefix}/seed.csv");
        let body = aws_sdk_s3::primitives::ByteStream::from_path(&seed.path)
            .await
            .map_err(|e| {
                EngineError::InvalidInput(format!("{context}: cannot read the file: {e}"))
            })?;
        self.s3
            .put_object()
            .bucket(bucket)
            .key(&key)
            .body(body)
            .send()
            .await
            .map_err(|e| EngineError::Storage {
                context: format!("{context}: uploading to s3://{bucket}/{key}"),
                message: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
            })?;
        Ok((bucket.to_string(), key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_columns_are_cast_from_their_trimmed_text() {
        let columns = SeedColumns {
            columns: vec![
                ("id".to_string(), SqlType::Bigint),
                ("label".to_string(), SqlType::Varchar),
                ("at".to_string(), SqlType::Timestamp),
            ],
        };
        assert_eq!(
            select_typed("raw", "s__mdw_csv_1", &columns),
            "SELECT CAST(NULLIF(TRIM(\"id\"), '') AS bigint) AS \"id\", NULLIF(\"label\", '') AS \"label\", \
             CAST(REPLACE(NULLIF(TRIM(\"at\"), ''), 'T', ' ') AS timestamp(6)) AS \"at\" FROM \"raw\".\"s__mdw_csv_1\""
        );
    }
}
