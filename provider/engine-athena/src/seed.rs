//! Seeds on Athena, as dbt-athena loads them: the CSV goes to S3 as is, an external CSV table
//! of strings is laid over it, and the model path builds the Iceberg table from it with casts
//! (a CTAS, swapped in like any model). The external table and the upload are removed after.
//!
//! Types are inferred from every value the way the embedded engine infers them (bigint,
//! double, boolean, date, timestamp, else varchar), so a project builds the same tables on
//! both engines; `column_types` overrides per column. Empty fields are NULL, as in dbt.

use std::collections::BTreeMap;

use mdw_engine::{BuildId, BuildOutcome, EngineError, SeedLoad, SqlType, TableBuild};

use crate::sql::{literal, quote, quote_ddl};
use crate::{AthenaEngine, CSV_MARK, names, sql};

/// A CSV header and the type each column loads as.
pub(crate) struct SeedColumns {
    pub(crate) columns: Vec<(String, SqlType)>,
}

pub(crate) fn read_columns(seed: &SeedLoad, context: &str) -> Result<SeedColumns, EngineError> {
    let invalid = |why: String| EngineError::InvalidInput(format!("{context}: {why}"));
    if !seed.delimiter.is_ascii() {
        return Err(invalid(format!(
            "the delimiter must be one ASCII character, got {:?}",
            seed.delimiter
        )));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(seed.delimiter as u8)
        .from_path(&seed.path)
        .map_err(|e| invalid(format!("cannot read the file: {e}")))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| invalid(format!("cannot read the header: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(invalid(
            "the file has no header line, so the seed would have no columns; the first line \
             must name the columns"
                .to_string(),
        ));
    }
    let mut inferred: Vec<Inferred> = vec![Inferred::default(); header.len()];
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| invalid(format!("line {}: {e}", line + 2)))?;
        for (i, value) in record.iter().enumerate().take(header.len()) {
            inferred[i].observe(value);
        }
    }
    let mut columns = Vec::with_capacity(header.len());
    for (name, seen) in header.into_iter().zip(inferred) {
        let ty = match seed
            .column_types
            .iter()
            .find(|(c, _)| c.trim().eq_ignore_ascii_case(&name))
        {
            Some((_, given)) => *given,
            None => seen.sql_type(),
        };
        columns.push((name, ty));
    }
    Ok(SeedColumns { columns })
}

/// Which types every non-empty value of a column fits.
#[derive(Clone)]
struct Inferred {
    int: bool,
    float: bool,
    boolean: bool,
    date: bool,
    timestamp: bool,
    any: bool,
}

impl Default for Inferred {
    fn default() -> Self {
        Inferred {
            int: true,
            float: true,
            boolean: true,
            date: true,
            timestamp: true,
            any: false,
        }
    }
}

impl Inferred {
    fn observe(&mut self, value: &str) {
        let v = value.trim();
        if v.is_empty() {
            return;
        }
        self.any = true;
        self.int &= v.parse::<i64>().is_ok();
        self.float &= v.parse::<f64>().is_ok() && v.chars().any(|c| c.is_ascii_digit());
        self.boolean &= v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false");
        self.date &= is_date(v);
        self.timestamp &= is_timestamp(v);
    }

    fn sql_type(&self) -> SqlType {
        match self {
            Inferred { any: false, .. } => SqlType::Varchar,
            Inferred { int: true, .. } => SqlType::Bigint,
            Inferred { float: true, .. } => SqlType::Double,
            Inferred { boolean: true, .. } => SqlType::Boolean,
            Inferred { date: true, .. } => SqlType::Date,
            Inferred {
                timestamp: true, ..
            } => SqlType::Timestamp,
            _ => SqlType::Varchar,
        }
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_date(v: &str) -> bool {
    let parts: Vec<&str> = v.split('-').collect();
    matches!(parts.as_slice(), [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2
        && digits(y) && digits(m) && digits(d))
}

fn is_timestamp(v: &str) -> bool {
    let Some((date, time)) = v.split_once([' ', 'T']) else {
        return false;
    };
    let time = time.split('.').next().unwrap_or_default();
    let parts: Vec<&str> = time.split(':').collect();
    is_date(date)
        && matches!(parts.as_slice(), [h, m, s] if [h, m, s].iter().all(|p| p.len() == 2 && digits(p)))
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
    fn types_are_inferred_from_every_value() {
        let dir = std::env::temp_dir().join(format!("mdw-seed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.csv");
        std::fs::write(
            &path,
            "id,amount,ok,day,at,label,empty\n1,2.5,true,2026-11-28,2026-11-28 10:00:00,a,\n2,3,FALSE,2026-11-27,2026-11-27T09:30:00.5,\"b, c\",\n",
        )
        .unwrap();
        let seed = SeedLoad {
            path: path.clone(),
            column_types: BTreeMap::from([("label".to_string(), SqlType::Varchar)]),
            ..SeedLoad::default()
        };
        let columns = read_columns(&seed, "seed").unwrap();
        let types: Vec<String> = columns
            .columns
            .iter()
            .map(|(c, t)| format!("{c}:{t}"))
            .collect();
        assert_eq!(
            types,
            [
                "id:bigint",
                "amount:double",
                "ok:boolean",
                "day:date",
                "at:timestamp(6)",
                "label:varchar",
                "empty:varchar"
            ]
        );
        let sql = select_typed("raw", "s__mdw_csv_1", &columns);
        assert!(
            sql.starts_with("SELECT CAST(NULLIF(TRIM(\"id\"), '') AS bigint) AS \"id\", "),
            "{sql}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
