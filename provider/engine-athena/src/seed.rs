//! Seeds on Athena, as dbt-athena loads them: the CSV goes to S3 as is, an external CSV table
//! of strings is laid over it, and the model path builds the Iceberg table from it with casts
//! (a CTAS, swapped in like any model). The external table and the upload are removed after.
//!
//! Types are inferred from every value the way the embedded engine infers them (bigint,
//! double, boolean, date, timestamp, else varchar), so a project builds the same tables on
//! both engines; `column_types` overrides per column. Empty fields are NULL, as in dbt.

use std::collections::BTreeMap;

use mdw_engine::{EngineError, SeedLoad, SqlType};

use crate::sql::{literal, quote, quote_ddl};

/// A CSV header and the type each column loads as.
pub struct SeedColumns {
    pub columns: Vec<(String, SqlType)>,
}

pub fn read_columns(seed: &SeedLoad, context: &str) -> Result<SeedColumns, EngineError> {
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
            Some((_, given)) => given
                .parse::<SqlType>()
                .map_err(|e| invalid(format!("column {name:?}: {e}")))?,
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
pub fn create_csv_table(
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
pub fn select_typed(database: &str, csv_table: &str, columns: &SeedColumns) -> String {
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
pub fn unknown_columns<'a>(
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
            column_types: BTreeMap::from([("Label".to_string(), "varchar(10)".to_string())]),
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
