//! A seed's columns and the types they load as, read the same way by both engines (and by
//! mdwc, through [`mdw_sql_types::SeedColumn`]): the header names the columns (trimmed, lower
//! case, as Glue has them), every value of a column decides its type, `column_types` overrides.

use crate::{EngineError, SeedColumn, SeedLoad, SqlType};

impl SeedLoad {
    /// The columns of the file with the type each loads as. `context` starts the messages.
    pub fn read_columns(&self, context: &str) -> Result<Vec<(String, SqlType)>, EngineError> {
        let invalid = |why: String| EngineError::InvalidInput(format!("{context}: {why}"));
        if !self.delimiter.is_ascii() {
            return Err(invalid(format!(
                "the delimiter must be one ASCII character, got {:?}",
                self.delimiter
            )));
        }
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(self.delimiter as u8)
            .from_path(&self.path)
            .map_err(|e| invalid(format!("cannot read the file: {e}")))?;
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| invalid(format!("cannot read the header: {e}")))?
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        if header.iter().all(String::is_empty) {
            return Err(invalid(
                "the file has no header line, so the seed would have no columns; the first \
                 line must name the columns"
                    .to_string(),
            ));
        }
        let unknown: Vec<&String> = self
            .column_types
            .keys()
            .filter(|c| !header.iter().any(|h| h.eq_ignore_ascii_case(c.trim())))
            .collect();
        if !unknown.is_empty() {
            return Err(invalid(format!(
                "column_types names columns the file does not have: {unknown:?} (header: \
                 {header:?})"
            )));
        }
        let mut inferred = vec![SeedColumn::default(); header.len()];
        let mut record = csv::StringRecord::new();
        let mut line = 1;
        // One record buffer for the whole file: a seed can have millions of rows.
        while reader
            .read_record(&mut record)
            .map_err(|e| invalid(format!("line {}: {e}", line + 1)))?
        {
            line += 1;
            for (column, value) in inferred.iter_mut().zip(record.iter()) {
                column.observe(value);
            }
        }
        Ok(header
            .into_iter()
            .zip(inferred)
            .map(|(name, seen)| {
                let given = self
                    .column_types
                    .iter()
                    .find(|(c, _)| c.trim().eq_ignore_ascii_case(&name))
                    .map(|(_, ty)| *ty);
                let ty = given.unwrap_or_else(|| seen.sql_type());
                (name, ty)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn types_are_inferred_from_every_value() {
        let dir = std::env::temp_dir().join(format!("mdw-seed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.csv");
        std::fs::write(
            &path,
            "ID,amount,ok,day,at,label,empty\n1,2.5,true,2026-11-28,2026-11-28 10:00:00,a,\n2,3,FALSE,2026-11-27,2026-11-27T09:30:00.5,\"b, c\",\n",
        )
        .unwrap();
        let seed = |column_types| SeedLoad {
            path: path.clone(),
            column_types,
            ..SeedLoad::default()
        };
        let given = BTreeMap::from([("label".to_string(), SqlType::Varchar)]);
        let types: Vec<String> = seed(given)
            .read_columns("seed")
            .unwrap()
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
        let unknown = BTreeMap::from([("nope".to_string(), SqlType::Date)]);
        let err = seed(unknown).read_columns("seed").unwrap_err().to_string();
        assert!(
            err.contains("column_types names columns the file does not have: [\"nope\"]"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
