//! The statements sent to Athena, built from checked names and escaped literals only.
//!
//! Athena has two dialects: DDL (`ALTER TABLE`, `DROP TABLE`, `CREATE EXTERNAL TABLE`) is
//! Hive's and quotes identifiers with backticks; DML and CTAS are Trino's and quote with double
//! quotes. Names reaching this module went through `normalize_identifier` (`[a-z0-9_]`), but
//! every identifier is still quoted and every literal escaped, so nothing in a name, a property
//! or a comment can end a statement early.

use std::collections::BTreeMap;

use mdw_engine::{EngineError, PartitionField};

/// `"name"` for Trino statements.
pub(crate) fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// `` `name` `` for Hive DDL; a backtick inside cannot be escaped there, so it is refused.
pub(crate) fn quote_ddl(ident: &str) -> Result<String, EngineError> {
    if ident.contains('`') {
        return Err(EngineError::InvalidInput(format!(
            "{ident:?} contains a backtick, which Athena DDL cannot quote"
        )));
    }
    Ok(format!("`{ident}`"))
}

/// `'text'` with quotes doubled.
pub(crate) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `"db"."name"` for Trino statements.
pub(crate) fn relation(database: &str, name: &str) -> String {
    format!("{}.{}", quote(database), quote(name))
}

/// `` `db`.`name` `` for Hive DDL.
pub(crate) fn ddl_relation(database: &str, name: &str) -> Result<String, EngineError> {
    Ok(format!("{}.{}", quote_ddl(database)?, quote_ddl(name)?))
}

/// Properties Athena's Iceberg CTAS sets itself; a model may not override them.
const RESERVED_PROPERTIES: &[&str] = &[
    "table_type",
    "is_external",
    "location",
    "partitioning",
    "format",
];

/// `create table … with (table_type='ICEBERG', …) as <select>`: the model's query written as a
/// new Iceberg table at `location`.
pub(crate) fn create_table_as(
    database: &str,
    name: &str,
    location: &str,
    partitioned_by: &[PartitionField],
    table_properties: &BTreeMap<String, String>,
    select: &str,
) -> Result<String, EngineError> {
    let mut with = vec![
        "table_type = 'ICEBERG'".to_string(),
        "is_external = false".to_string(),
        format!("location = {}", literal(location)),
    ];
    if !partitioned_by.is_empty() {
        let fields: Vec<String> = partitioned_by
            .iter()
            .map(|f| literal(&f.to_string()))
            .collect();
        with.push(format!("partitioning = ARRAY[{}]", fields.join(", ")));
    }
    let format = table_properties
        .get("format")
        .map(String::as_str)
        .unwrap_or("parquet");
    with.push(format!("format = {}", literal(format)));
    for (key, value) in table_properties {
        // Athena's Iceberg tables are format v2: dbt-athena projects often say so explicitly.
        if key == "format-version" && value.trim() == "2" {
            continue;
        }
        if RESERVED_PROPERTIES.contains(&key.as_str()) {
            if key == "format" {
                continue;
            }
            return Err(EngineError::InvalidInput(format!(
                "table property {key:?} is set by mdw on Athena; remove it from table_properties"
            )));
        }
        check_property_key(key)?;
        with.push(format!("{key} = {}", literal(value)));
    }
    Ok(format!(
        "CREATE TABLE {} WITH ({}) AS\n{}",
        relation(database, name),
        with.join(", "),
        strip_trailing_semicolon(select)
    ))
}

/// Athena's CTAS takes property names as bare words: only `[a-z0-9_]` may pass.
fn check_property_key(key: &str) -> Result<(), EngineError> {
    let valid = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(EngineError::InvalidInput(format!(
            "table property {key:?} is not a name Athena accepts in CREATE TABLE AS (use \
             lower-case letters, digits and '_', e.g. vacuum_max_snapshot_age_seconds)"
        )))
    }
}

pub(crate) fn rename_table(database: &str, from: &str, to: &str) -> Result<String, EngineError> {
    Ok(format!(
        "ALTER TABLE {} RENAME TO {}",
        ddl_relation(database, from)?,
        ddl_relation(database, to)?
    ))
}

/// Drops an Iceberg table; Athena deletes its data and metadata files too.
pub(crate) fn drop_table(database: &str, name: &str) -> Result<String, EngineError> {
    Ok(format!(
        "DROP TABLE IF EXISTS {}",
        ddl_relation(database, name)?
    ))
}

pub(crate) fn drop_view(database: &str, name: &str) -> String {
    format!("DROP VIEW IF EXISTS {}", relation(database, name))
}

/// A new view (a stage name no other build used: never `or replace`).
pub(crate) fn create_view(database: &str, name: &str, select: &str) -> String {
    format!(
        "CREATE VIEW {} AS\n{}",
        relation(database, name),
        strip_trailing_semicolon(select)
    )
}

/// The query's columns without reading data: Athena plans `limit 0` without scanning.
pub(crate) fn probe_columns(select: &str) -> String {
    format!(
        "SELECT * FROM (\n{}\n) LIMIT 0",
        strip_trailing_semicolon(select)
    )
}

pub(crate) fn insert_into(database: &str, name: &str, columns: &[String], select: &str) -> String {
    let list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
    format!(
        "INSERT INTO {} ({})\nSELECT {} FROM (\n{}\n)",
        relation(database, name),
        list.join(", "),
        list.join(", "),
        strip_trailing_semicolon(select)
    )
}

/// `merge into … using (<select>) src on (…)`: matched rows take the query's values for
/// `update_columns`, the others are inserted. `target` and `src` are the aliases dbt-athena
/// gives, so `incremental_predicates` written for it work unchanged.
pub(crate) fn merge_into(
    database: &str,
    name: &str,
    columns: &[String],
    unique_key: &[String],
    update_columns: &[String],
    predicates: &[String],
    select: &str,
) -> String {
    let mut on: Vec<String> = unique_key
        .iter()
        .map(|k| format!("target.{} = src.{}", quote(k), quote(k)))
        .collect();
    on.extend(predicates.iter().map(|p| format!("({p})")));
    let set: Vec<String> = update_columns
        .iter()
        .map(|c| format!("{} = src.{}", quote(c), quote(c)))
        .collect();
    let list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
    let values: Vec<String> = columns
        .iter()
        .map(|c| format!("src.{}", quote(c)))
        .collect();
    let matched = if set.is_empty() {
        String::new()
    } else {
        format!("\nWHEN MATCHED THEN UPDATE SET {}", set.join(", "))
    };
    format!(
        "MERGE INTO {} AS target\nUSING (\n{}\n) AS src\nON ({}){matched}\nWHEN NOT MATCHED THEN INSERT ({}) VALUES ({})",
        relation(database, name),
        strip_trailing_semicolon(select),
        on.join(" AND "),
        list.join(", "),
        values.join(", ")
    )
}

/// `alter table … add columns (…)`; `columns` are (name, Hive type) pairs.
pub(crate) fn add_columns(
    database: &str,
    name: &str,
    columns: &[(String, String)],
) -> Result<String, EngineError> {
    let mut list = Vec::new();
    for (column, ty) in columns {
        list.push(format!("{} {ty}", quote_ddl(column)?));
    }
    Ok(format!(
        "ALTER TABLE {} ADD COLUMNS ({})",
        ddl_relation(database, name)?,
        list.join(", ")
    ))
}

pub(crate) fn drop_column(database: &str, name: &str, column: &str) -> Result<String, EngineError> {
    Ok(format!(
        "ALTER TABLE {} DROP COLUMN {}",
        ddl_relation(database, name)?,
        quote_ddl(column)?
    ))
}

fn strip_trailing_semicolon(sql: &str) -> &str {
    sql.trim_end().trim_end_matches(';').trim_end()
}

pub(crate) use mdw_sql_types::{hive_name as hive_type, trino_name as trino_type};

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(specs: &[&str]) -> Vec<PartitionField> {
        specs.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn ctas_carries_location_partitioning_and_properties() {
        let props = BTreeMap::from([(
            "vacuum_max_snapshot_age_seconds".to_string(),
            "86400".to_string(),
        )]);
        let sql = create_table_as(
            "mart",
            "sales__mdw_tmp_1",
            "s3://lake/mart/sales/b1",
            &fields(&["day(ts)", "bucket(16, id)"]),
            &props,
            "select 1 as id;",
        )
        .unwrap();
        assert_eq!(
            sql,
            "CREATE TABLE \"mart\".\"sales__mdw_tmp_1\" WITH (table_type = 'ICEBERG', \
             is_external = false, location = 's3://lake/mart/sales/b1', partitioning = \
             ARRAY['day(ts)', 'bucket(id, 16)'], format = 'parquet', \
             vacuum_max_snapshot_age_seconds = '86400') AS\nselect 1 as id"
        );
    }

    #[test]
    fn nothing_in_a_property_or_name_escapes_its_quotes() {
        let props = BTreeMap::from([("comment".to_string(), "it's') AS select 1; --".to_string())]);
        let sql = create_table_as("d", "t", "s3://b/x'y", &[], &props, "select 1").unwrap();
        assert!(sql.contains("location = 's3://b/x''y'"));
        assert!(sql.contains("comment = 'it''s'') AS select 1; --'"));
        let bad = BTreeMap::from([("a = 1) as select 2 --".to_string(), "x".to_string())]);
        assert!(create_table_as("d", "t", "s3://b/x", &[], &bad, "select 1").is_err());
        let v2 = BTreeMap::from([("format-version".to_string(), "2".to_string())]);
        assert!(
            !create_table_as("d", "t", "s3://b/x", &[], &v2, "select 1")
                .unwrap()
                .contains("format-version")
        );
        let reserved = BTreeMap::from([("location".to_string(), "s3://elsewhere".to_string())]);
        assert!(create_table_as("d", "t", "s3://b/x", &[], &reserved, "select 1").is_err());
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
        assert!(quote_ddl("a`b").is_err());
    }

    #[test]
    fn merge_uses_dbt_athena_aliases() {
        let sql = merge_into(
            "d",
            "t",
            &["id".into(), "v".into()],
            &["id".into()],
            &["v".into()],
            &["target.v < src.v".into()],
            "select 1 as id, 2 as v",
        );
        assert_eq!(
            sql,
            "MERGE INTO \"d\".\"t\" AS target\nUSING (\nselect 1 as id, 2 as v\n) AS src\n\
             ON (target.\"id\" = src.\"id\" AND (target.v < src.v))\n\
             WHEN MATCHED THEN UPDATE SET \"v\" = src.\"v\"\n\
             WHEN NOT MATCHED THEN INSERT (\"id\", \"v\") VALUES (src.\"id\", src.\"v\")"
        );
    }

    #[test]
    fn types_convert_between_hive_and_trino() {
        for (trino, hive) in [
            ("varchar", "string"),
            ("integer", "int"),
            ("bigint", "bigint"),
            ("decimal(10,2)", "decimal(10,2)"),
            ("timestamp(6)", "timestamp"),
            ("array(varchar)", "array<string>"),
            ("map(varchar, bigint)", "map<string,bigint>"),
            (
                "row(a integer, b array(varchar))",
                "struct<a:int,b:array<string>>",
            ),
        ] {
            assert_eq!(hive_type(trino), hive, "{trino}");
            assert_eq!(trino_type(hive), trino, "{hive}");
        }
    }
}
