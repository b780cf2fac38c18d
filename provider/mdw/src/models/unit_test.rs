//! `mdw_unit_test`: a dbt (1.8+) unit test — the model's logic on fixed input rows — run by the
//! provider's engine at apply, with a row diff on failure.
//!
//! mdwc renders the model with every input the test gives replaced by `"__mdw_given_<i>"`; here
//! each input becomes a CTE of that name holding the fixture rows, cast to the columns of the
//! real input (which exists: the test runs after its inputs are built, as dbt's does), and the
//! model's result is compared, as a multiset of rows rendered by the engine, with the expected
//! rows cast to the types the model returns. Only the columns the expected rows name are
//! compared, as in dbt. Reading state runs nothing.

use std::collections::BTreeMap;

use async_trait::async_trait;
use mdw_engine::{BuildId, ColumnInfo, Engine, EngineError};
use tfplugin::{
    ApplyError, Diagnostic, Diagnostics, Maybe, Model, PlanChange, Resource, Schema, Value,
    from_value, to_value,
};

use crate::client::Client;
use crate::engines::engine_error;
use crate::models::rows;
use crate::models::test_run;
use crate::models::validators::validate_sql;

pub(crate) struct UnitTest;

const TYPE_NAME: &str = "mdw_unit_test";
/// Rows a unit test may produce or expect: fixtures are written by hand.
const MAX_ROWS: usize = 10_000;
/// Rows of each side a failure message shows.
const SHOWN_ROWS: usize = 20;

tfplugin::model! {
    /// One input of the model, replaced by fixture rows.
    pub(crate) struct Given {
        /// The real input's three-part name (`"awsdatacatalog"."sta"."stg_orders"`), whose columns type the fixture rows; null for `format: sql`.
        #[tf()]
        pub(crate) relation: Option<String>,
        /// The fixture rows as a JSON array of objects (column → value); null for `format: sql`.
        #[tf()]
        pub(crate) rows_json: Option<String>,
        /// `format: sql`: the fixture query as written.
        #[tf()]
        pub(crate) fixture_sql: Option<String>,
    }
}

tfplugin::model! {
    /// The attributes of `mdw_unit_test`.
    pub(crate) struct UnitTestModel {
        /// The unit test's name.
        #[tf(required)]
        pub(crate) name: String,
        /// The tested node, `model.<name>`.
        #[tf(required)]
        pub(crate) model: String,
        /// Where the test is defined, e.g. `models/_unit.yml:12`, named in messages.
        #[tf()]
        pub(crate) source_file: Option<String>,
        /// The model rendered with the test's overrides, every given input replaced by `"__mdw_given_<i>"`.
        #[tf(required, validate = validate_sql)]
        pub(crate) sql: String,
        /// The inputs, in the order their placeholders number them.
        #[tf(required)]
        pub(crate) given: Vec<Given>,
        /// The expected rows as a JSON array of objects; only the columns they name are compared.
        #[tf()]
        pub(crate) expect_rows_json: Option<String>,
        /// `format: sql` expectations: a query returning the expected rows.
        #[tf(validate = validate_sql)]
        pub(crate) expect_sql: Option<String>,
        /// Build ids of the given inputs' nodes: the test runs after they exist and again when they change.
        #[tf()]
        pub(crate) upstream: Option<BTreeMap<String, String>>,
        /// Any value; a change runs the test again (mdwc passes `var.data_test_run`).
        #[tf()]
        pub(crate) run_trigger: Option<String>,
        /// `pass` (a failure fails the apply).
        #[tf(computed)]
        pub(crate) status: Maybe<String>,
        /// New on every run.
        #[tf(computed)]
        pub(crate) run_id: Maybe<String>,
    }
}

const RUN_INPUTS: [&str; 6] = [
    UnitTestModel::sql,
    UnitTestModel::given,
    UnitTestModel::expect_rows_json,
    UnitTestModel::expect_sql,
    UnitTestModel::upstream,
    UnitTestModel::run_trigger,
];
const RUN_OUTPUTS: [&str; 2] = [UnitTestModel::status, UnitTestModel::run_id];

fn schema() -> Schema {
    Schema::new(
        "A dbt unit test: the model's SQL on fixed input rows, compared with the expected rows at \
         apply; a difference fails the apply with the rows that differ.",
        UnitTestModel::attributes(),
    )
}

type Row = BTreeMap<String, serde_json::Value>;

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// A JSON fixture value as a SQL literal cast to `ty`.
fn literal(value: &serde_json::Value, ty: &str) -> String {
    let text = match value {
        serde_json::Value::Null => return format!("cast(null as {ty})"),
        serde_json::Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Number(n) => format!("'{n}'"),
        other => format!("'{}'", other.to_string().replace('\'', "''")),
    };
    format!("cast({text} as {ty})")
}

/// `select cast(…) as "c", …` per row (`union all`), or an empty relation of those columns.
fn rows_sql(rows: &[Row], columns: &[ColumnInfo]) -> String {
    let select = |row: Option<&Row>| {
        columns
            .iter()
            .map(|c| {
                let value = row
                    .and_then(|r| {
                        r.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(&c.name))
                            .map(|(_, v)| v)
                    })
                    .unwrap_or(&serde_json::Value::Null);
                format!("{} as {}", literal(value, &c.data_type), quote(&c.name))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    if rows.is_empty() {
        return format!("select {} where 1 = 0", select(None));
    }
    rows.iter()
        .map(|row| format!("select {}", select(Some(row))))
        .collect::<Vec<_>>()
        .join("\nunion all\n")
}

fn parse_rows(json: &str, what: &str, attribute: &str) -> Result<Vec<Row>, Diagnostic> {
    serde_json::from_str::<Vec<Row>>(json).map_err(|e| {
        Diagnostic::error(
            format!("{what} are not a JSON array of rows"),
            format!("{e}. mdwc writes them from the unit test's rows; compile the project again."),
        )
        .at_attribute(attribute)
    })
}

/// `"catalog"."database"."table"` (or `database.table`) → database and table.
fn split_relation(relation: &str) -> Option<(String, String)> {
    let parts: Vec<String> = relation
        .split('.')
        .map(|p| p.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    match parts.as_slice() {
        [.., database, table] if !database.is_empty() && !table.is_empty() => {
            Some((database.clone(), table.clone()))
        }
        _ => None,
    }
}

/// Rows as multisets of rendered lines: what is in `a` and not in `b`.
fn missing_from(a: &[String], b: &[String]) -> Vec<String> {
    let mut remaining: BTreeMap<&str, usize> = BTreeMap::new();
    for row in b {
        *remaining.entry(row.as_str()).or_default() += 1;
    }
    a.iter()
        .filter(|row| match remaining.get_mut(row.as_str()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .cloned()
        .collect()
}

impl UnitTestModel {
    fn described(&self) -> String {
        match &self.source_file {
            Some(file) => format!("{} of {} ({file})", self.name, self.model),
            None => format!("{} of {}", self.name, self.model),
        }
    }
}

impl UnitTest {
    /// The `with` clause holding every given input's fixture.
    async fn fixtures(
        &self,
        engine: &dyn Engine,
        test: &UnitTestModel,
    ) -> Result<String, ApplyError> {
        let mut ctes = Vec::new();
        for (i, given) in test.given.iter().enumerate() {
            let name = quote(&format!("__mdw_given_{i}"));
            let body = match (&given.fixture_sql, &given.relation, &given.rows_json) {
                (Some(sql), _, _) => sql.trim_end().trim_end_matches(';').to_string(),
                (None, Some(relation), Some(rows)) => {
                    let (database, table) = split_relation(relation).ok_or_else(|| {
                        Diagnostic::error(
                            format!("Unit test {}: input {relation:?} is not a relation name", test.name),
                            "mdwc writes it as \"catalog\".\"database\".\"table\"; compile the project again.",
                        )
                        .at_attribute(UnitTestModel::given)
                    })?;
                    let info = engine
                        .describe(&database, &table)
                        .await
                        .map_err(|e| engine_error(&format!("reading input {relation}"), &e))?
                        .ok_or_else(|| {
                            Diagnostic::error(
                                format!("Unit test {}: input {relation} does not exist", test.name),
                                "Its columns type the fixture rows, as in dbt: build the input first (it is in the test's upstream).",
                            )
                        })?;
                    rows_sql(
                        &parse_rows(rows, "The fixture rows", UnitTestModel::given)?,
                        &info.columns,
                    )
                }
                _ => {
                    return Err(Diagnostic::error(
                        format!("Unit test {}: input {i} has neither rows nor a fixture query", test.name),
                        "Each given input needs rows (with the relation they replace) or fixture_sql.",
                    )
                    .at_attribute(UnitTestModel::given)
                    .into());
                }
            };
            ctes.push(format!("{name} as (\n{body}\n)"));
        }
        Ok(if ctes.is_empty() {
            String::new()
        } else {
            format!("with {}\n", ctes.join(",\n"))
        })
    }

    async fn run(&self, client: &Client, planned: &Value) -> Result<Value, ApplyError> {
        let test: UnitTestModel = from_value(planned)?;
        let engine = client.engines.get().await?;
        let doing = format!("running unit test {}", test.described());
        let with = self.fixtures(engine.as_ref(), &test).await?;
        let model_sql = test.sql.trim_end().trim_end_matches(';');
        let actual_sql = format!("{with}select * from (\n{model_sql}\n) mdw_actual");
        let returned = engine
            .describe_query(&actual_sql)
            .await
            .map_err(|e| engine_error(&doing, &e).at_attribute(UnitTestModel::sql))?;
        let (columns, expected_sql) = match (&test.expect_sql, &test.expect_rows_json) {
            (Some(sql), _) => (
                returned.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
                format!(
                    "{with}select * from (\n{}\n) mdw_expected",
                    sql.trim_end().trim_end_matches(';')
                ),
            ),
            (None, Some(json)) => {
                let rows = parse_rows(json, "The expected rows", UnitTestModel::expect_rows_json)?;
                let mut named: Vec<ColumnInfo> = Vec::new();
                for key in rows.iter().flat_map(|r| r.keys()) {
                    if named.iter().any(|c| c.name.eq_ignore_ascii_case(key)) {
                        continue;
                    }
                    let column = returned
                        .iter()
                        .find(|c| c.name.eq_ignore_ascii_case(key))
                        .ok_or_else(|| {
                            Diagnostic::error(
                                format!(
                                    "Unit test {}: the model returns no column {key:?}",
                                    test.name
                                ),
                                format!(
                                    "The expected rows name {key:?}; the model returns {:?}.",
                                    returned.iter().map(|c| &c.name).collect::<Vec<_>>()
                                ),
                            )
                            .at_attribute(UnitTestModel::expect_rows_json)
                        })?;
                    named.push(column.clone());
                }
                // In the order the model returns them, as a reader compares them.
                named.sort_by_key(|c| returned.iter().position(|r| r.name == c.name));
                (
                    named.iter().map(|c| c.name.clone()).collect(),
                    rows_sql(&rows, &named),
                )
            }
            (None, None) => {
                return Err(Diagnostic::error(
                    format!("Unit test {} expects nothing", test.name),
                    "Give expect_rows_json or expect_sql.",
                )
                .into());
            }
        };
        let projection = columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ");
        let failed = |e: EngineError| engine_error(&doing, &e);
        let actual = engine
            .query(
                &format!("{with}select {projection} from (\n{model_sql}\n) mdw_actual"),
                MAX_ROWS,
            )
            .await
            .map_err(failed)?;
        let expected = engine
            .query(
                &format!("select {projection} from (\n{expected_sql}\n) mdw_expected"),
                MAX_ROWS,
            )
            .await
            .map_err(failed)?;
        let (actual_rows, expected_rows) = (
            rows::lines(&actual, &columns),
            rows::lines(&expected, &columns),
        );
        let missing = missing_from(&expected_rows, &actual_rows);
        let unexpected = missing_from(&actual_rows, &expected_rows);
        if !missing.is_empty() || !unexpected.is_empty() {
            let mut diff = vec![format!("  {}", columns.join(" | "))];
            diff.extend(missing.iter().take(SHOWN_ROWS).map(|r| format!("- {r}")));
            diff.extend(unexpected.iter().take(SHOWN_ROWS).map(|r| format!("+ {r}")));
            return Err(Diagnostic::error(
                format!("Unit test {} failed", test.name),
                format!(
                    "{}: {} expected row(s) missing (-), {} unexpected row(s) (+):\n{}\nThe model is not built in this apply; fix it (or the test) and apply again.",
                    test.described(),
                    missing.len(),
                    unexpected.len(),
                    diff.join("\n")
                ),
            )
            .into());
        }
        let state = UnitTestModel {
            status: Maybe::Known("pass".to_string()),
            run_id: Maybe::Known(BuildId::new().to_string()),
            ..test
        };
        Ok(to_value(&state)?)
    }
}

#[async_trait]
impl Resource<Client> for UnitTest {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn plan(&self, _client: &Client, change: &mut PlanChange<'_>) -> Result<(), Diagnostics> {
        test_run::plan_run(change, &RUN_INPUTS, &RUN_OUTPUTS);
        Ok(())
    }

    async fn create(&self, client: &Client, planned: &Value) -> Result<Value, ApplyError> {
        self.run(client, planned).await
    }

    /// The last run's verdict is what state says: reading it runs no query.
    async fn read(&self, _client: &Client, state: &Value) -> Result<Option<Value>, Diagnostics> {
        Ok(Some(state.clone()))
    }

    async fn update(
        &self,
        client: &Client,
        _prior: &Value,
        planned: &Value,
    ) -> Result<Value, ApplyError> {
        if test_run::run_planned(planned, UnitTestModel::run_id) {
            return self.run(client, planned).await;
        }
        Ok(planned.clone())
    }

    async fn delete(&self, _client: &Client, _state: &Value) -> Result<(), Diagnostics> {
        Ok(())
    }

    async fn import(&self, _client: &Client, id: &str) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error(
            format!("{TYPE_NAME} cannot be imported ({id})"),
            "A unit test holds no remote object; applying the configuration runs it.",
        )
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, ty: &str) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            data_type: ty.into(),
            comment: None,
        }
    }

    #[test]
    fn fixture_rows_become_typed_selects() {
        let rows: Vec<Row> =
            serde_json::from_str(r#"[{"id": 1, "email": "a@b.c"}, {"id": 2}]"#).unwrap();
        let sql = rows_sql(&rows, &[column("id", "bigint"), column("email", "varchar")]);
        assert_eq!(
            sql,
            "select cast('1' as bigint) as \"id\", cast('a@b.c' as varchar) as \"email\"\nunion all\nselect cast('2' as bigint) as \"id\", cast(null as varchar) as \"email\""
        );
        assert!(rows_sql(&[], &[column("id", "bigint")]).ends_with("where 1 = 0"));
    }

    #[test]
    fn rows_compare_as_multisets() {
        let a = vec!["1".to_string(), "1".to_string(), "2".to_string()];
        let b = vec!["1".to_string(), "2".to_string()];
        assert_eq!(missing_from(&a, &b), ["1"]);
        assert!(missing_from(&b, &a).is_empty());
    }

    #[test]
    fn relations_split_into_database_and_table() {
        assert_eq!(
            split_relation("\"awsdatacatalog\".\"sta\".\"Orders\""),
            Some(("sta".into(), "orders".into()))
        );
        assert_eq!(split_relation("orders"), None);
    }
}
