//! `data "mdw_source"`: a dbt source table, checked at plan time. dbt finds out at run time that
//! a source is missing; here the plan fails, naming the table and what to check.
//!
//! When mdwc compiled models against the source's columns (read from Glue, `mdwc compile
//! --catalog glue`: `dbt_utils.star`, `union_relations`…), it writes them as `expect_columns`;
//! the plan fails when the table's columns are no longer those, since the models' SQL would
//! then be what dbt compiles for another table.

use async_trait::async_trait;
use tfplugin::{
    DataSource, Diagnostic, Diagnostics, Maybe, Model, Schema, Value, from_value, to_value,
};

use crate::client::Client;
use crate::engines::engine_error;
use crate::models::columns::{Column, columns};
use crate::models::validators::validate_identifier;
use mdw_engine::ColumnInfo;
use mdw_sql_types::{hive_name, trino_name};

pub(crate) struct Source;

tfplugin::model! {
    /// A column the models were compiled against.
    pub(crate) struct ExpectedColumn {
        /// The column's name.
        #[tf()]
        pub(crate) name: String,
        /// Its type as Glue names it (`string`, `bigint`, `decimal(10,2)` …).
        #[tf()]
        pub(crate) r#type: String,
    }
}

tfplugin::model! {
    /// The attributes of `data "mdw_source"`.
    pub(crate) struct SourceModel {
        /// The source's schema (Glue database).
        #[tf(required, validate = validate_identifier)]
        pub(crate) database: String,
        /// The table (dbt `identifier`, else the table's name).
        #[tf(required)]
        pub(crate) name: String,
        /// The columns mdwc compiled models against (`mdwc compile --catalog glue`), in order:
        /// the plan fails when the table's differ (a column added, dropped, renamed, or of
        /// another type), so that the models are compiled again.
        #[tf()]
        pub(crate) expect_columns: Option<Vec<ExpectedColumn>>,
        /// The table's columns: name, type, comment.
        #[tf(computed)]
        pub(crate) columns: Maybe<Vec<Column>>,
        /// Current snapshot: new data changes it, which rebuilds the models that list the source
        /// in `upstream`. Where the engine reads no snapshot id (the Athena engine reads Glue),
        /// the Iceberg table's metadata location stands in, which every commit changes; a Hive
        /// table has neither, and is `unversioned`: new data in it rebuilds nothing.
        #[tf(computed)]
        pub(crate) snapshot_id: Maybe<String>,
        /// Where the table's data lives.
        #[tf(computed)]
        pub(crate) location: Maybe<String>,
    }
}

#[async_trait]
impl DataSource<Client> for Source {
    fn type_name(&self) -> &'static str {
        "mdw_source"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "A source table that models read; the plan fails when it does not exist.",
            SourceModel::attributes(),
        )
    }

    async fn read(&self, client: &Client, config: &Value) -> Result<Value, Diagnostics> {
        let config: SourceModel = from_value(config)?;
        let (database, name) = (&config.database, &config.name);
        let engine = client.engines.get().await?;
        let relation = format!("\"{}\".\"{database}\".\"{name}\"", client.engines.catalog());
        let info = engine
            .describe(database, name)
            .await
            .map_err(|e| engine_error(&format!("reading source {relation}"), &e))?;
        let Some(info) = info else {
            return Err(Diagnostic::error(
                format!("Source table {relation} does not exist"),
                "Models read it, so they cannot be built. Check the source's schema and identifier in the \
                 dbt project's sources yml, that the loader (e.g. Airbyte) has run, or load it with mdw_seed.",
            )
            .at_attribute(SourceModel::name)
            .into());
        };
        if let Some(expected) = &config.expect_columns
            && let Some(difference) = columns_differ(expected, &info.columns)
        {
            return Err(Diagnostic::error(
                format!("Source table {relation} is not what the models were compiled against"),
                format!(
                    "{difference}. mdwc wrote the models' SQL from the columns it read; run `mdwc compile --catalog glue` again."
                ),
            )
            .at_attribute(SourceModel::expect_columns)
            .into());
        }
        let state = SourceModel {
            columns: Maybe::Known(columns(&info.columns)),
            snapshot_id: Maybe::Known(data_version(&info)),
            location: Maybe::from_option(info.location),
            ..config
        };
        Ok(to_value(&state)?)
    }
}

/// What changes when the source's data changes (see `snapshot_id`). Never null: a model's
/// `upstream` may not hold a null.
fn data_version(info: &mdw_engine::RelationInfo) -> String {
    match (info.snapshot_id, &info.version) {
        (Some(snapshot), _) => snapshot.to_string(),
        (None, Some(version)) => version.clone(),
        (None, None) => "unversioned".to_string(),
    }
}

/// How the table's columns differ from the expected ones, if they do: names in order (as
/// `dbt_utils.star` lists them), and types. The engine reports Trino's names and mdwc wrote
/// Glue's (Hive's); they agree when either side's translation of the other matches, since
/// each translation is lossy one way (`smallint` and `int` are both Trino's `integer`; a
/// `timestamp with time zone` is Glue's `timestamp`). A change between two types that both
/// translations merge (`int` to `smallint`, `string` to `varchar(10)`) is not seen.
fn columns_differ(expected: &[ExpectedColumn], actual: &[ColumnInfo]) -> Option<String> {
    let names = |list: Vec<&str>| list.join(", ");
    let expected_names: Vec<&str> = expected.iter().map(|c| c.name.as_str()).collect();
    let actual_names: Vec<&str> = actual.iter().map(|c| c.name.as_str()).collect();
    let same_names = expected_names.len() == actual_names.len()
        && expected_names
            .iter()
            .zip(&actual_names)
            .all(|(a, b)| a.eq_ignore_ascii_case(b));
    if !same_names {
        return Some(format!(
            "It was compiled against the columns ({}), the table has ({})",
            names(expected_names),
            names(actual_names)
        ));
    }
    let plain = |t: &str| -> String {
        t.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    expected.iter().zip(actual).find_map(|(e, a)| {
        let same = plain(&trino_name(&e.r#type)) == plain(&a.data_type)
            || plain(&hive_name(&a.data_type)) == plain(&e.r#type);
        (!same).then(|| {
            format!(
                "Column {} was {} when the models were compiled, it is {} now",
                e.name, e.r#type, a.data_type
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected(columns: &[(&str, &str)]) -> Vec<ExpectedColumn> {
        columns
            .iter()
            .map(|(name, ty)| ExpectedColumn {
                name: name.to_string(),
                r#type: ty.to_string(),
            })
            .collect()
    }

    fn actual(columns: &[(&str, &str)]) -> Vec<ColumnInfo> {
        columns
            .iter()
            .map(|(name, ty)| ColumnInfo {
                name: name.to_string(),
                data_type: ty.to_string(),
                comment: None,
            })
            .collect()
    }

    #[test]
    fn columns_are_compared_by_name_and_scalar_type() {
        let glue = expected(&[
            ("id", "bigint"),
            ("name", "string"),
            ("tags", "array<string>"),
        ]);
        let same = actual(&[
            ("id", "bigint"),
            ("Name", "varchar"),
            ("tags", "array(varchar)"),
        ]);
        assert_eq!(columns_differ(&glue, &same), None);
        let added = actual(&[
            ("id", "bigint"),
            ("name", "varchar"),
            ("tags", "array(varchar)"),
            ("x", "date"),
        ]);
        assert!(
            columns_differ(&glue, &added)
                .unwrap()
                .contains("the table has (id, name, tags, x)")
        );
        let retyped = actual(&[
            ("id", "varchar"),
            ("name", "varchar"),
            ("tags", "array(varchar)"),
        ]);
        assert_eq!(
            columns_differ(&glue, &retyped).as_deref(),
            Some("Column id was bigint when the models were compiled, it is varchar now")
        );
    }
}
