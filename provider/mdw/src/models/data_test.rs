//! `mdw_data_test`: a dbt data test with `dbt build`'s semantics.
//!
//! The test runs when it is created or what it reads changed (`upstream` holds the build ids of
//! the tested nodes, `run_trigger` lets a user re-run every test): at apply, never at plan —
//! reading its state runs no query. An error-severity failure fails the apply with the test, the
//! tested node, its file and line, the failure count and sample rows; Terraform then builds
//! nothing that depends on the test (mdwc makes every model depend on the error-severity tests of
//! the nodes it reads), while independent branches go on. A warn-severity failure is a warning.
//! The next apply runs a failed test again: a failed create leaves no state, a failed update
//! keeps the prior one, which the plan still differs from.

use std::collections::BTreeMap;

use async_trait::async_trait;
use mdw_engine::{BuildId, DropRelation, EngineError, Ownership, TableBuild, ViewDefinition};
use tfplugin::{
    ApplyError, Diagnostic, Diagnostics, Maybe, Model, PlanChange, Resource, Schema, Value,
    from_value, to_value, validators,
};

use crate::client::Client;
use crate::engines::engine_error;
use crate::models::ownership::{self, OwnedKind};
use crate::models::test_run;
use crate::models::validators::{validate_identifier, validate_lineage, validate_sql};

pub(crate) struct DataTest;

const TYPE_NAME: &str = "mdw_data_test";
const SEVERITIES: &[&str] = &["error", "warn"];
const STORE_AS: &[&str] = &["table", "view"];
/// Failing rows shown in an error, as dbt's `--store-failures` hint shows a few.
const SAMPLE_ROWS: usize = 5;

fn validate_severity(value: &Value) -> Result<(), String> {
    validators::one_of(SEVERITIES)(value)
}

fn validate_store_as(value: &Value) -> Result<(), String> {
    validators::one_of(STORE_AS)(value)
}

/// dbt's `warn_if` / `error_if`: a comparison operator and a number (`!= 0`, `>10`, `>= 5`).
fn validate_condition(value: &Value) -> Result<(), String> {
    let Some(condition) = value.as_str() else {
        return Ok(());
    };
    let text = condition.trim();
    let operator_len = ["!=", "<>", ">=", "<=", "==", "=", ">", "<"]
        .iter()
        .find(|op| text.starts_with(**op))
        .map(|op| op.len());
    let number = operator_len.map(|n| text[n..].trim());
    match number {
        Some(n) if !n.is_empty() && n.parse::<f64>().is_ok() => Ok(()),
        _ => Err(format!(
            "{condition:?} is not a condition on the failure count: write an operator and a number, e.g. \"!= 0\" or \">10\"."
        )),
    }
}

/// dbt's `fail_calc`: an aggregate over the failing rows (`count(*)`, `sum(n_records)`); it is
/// put into SQL as written, so nothing that could end or add a statement.
fn validate_fail_calc(value: &Value) -> Result<(), String> {
    match value.as_str() {
        Some(calc) if calc.trim().is_empty() || calc.contains(';') || calc.contains("--") => {
            Err(format!(
                "fail_calc {calc:?} must be one aggregate expression over the failing rows, e.g. \"count(*)\"."
            ))
        }
        _ => Ok(()),
    }
}

fn validate_limit(value: &Value) -> Result<(), String> {
    match value.as_i64() {
        Some(n) if n < 1 => Err("limit must be a whole number ≥ 1.".to_string()),
        _ => Ok(()),
    }
}

tfplugin::model! {
    /// The attributes of `mdw_data_test`.
    pub(crate) struct DataTestModel {
        /// dbt's unique name of the test, e.g. `not_null_stg_orders_order_id`.
        #[tf(required)]
        pub(crate) name: String,
        /// The compiled test query: it selects the failing rows (what dbt writes to `target/compiled`).
        #[tf(required, validate = validate_sql)]
        pub(crate) sql: String,
        /// `error` (default): a failure fails the apply and holds back what depends on the test; `warn`: a warning.
        #[tf(default = "error", validate = validate_severity)]
        pub(crate) severity: Maybe<String>,
        /// dbt's condition on the failure count that makes a warning (default `!= 0`).
        #[tf(default = "!= 0", validate = validate_condition)]
        pub(crate) warn_if: Maybe<String>,
        /// dbt's condition on the failure count that makes an error (default `!= 0`).
        #[tf(default = "!= 0", validate = validate_condition)]
        pub(crate) error_if: Maybe<String>,
        /// dbt's `fail_calc`: how the failure count is computed over the failing rows (default `count(*)`).
        #[tf(default = "count(*)", validate = validate_fail_calc)]
        pub(crate) fail_calc: Maybe<String>,
        /// dbt's `limit`: count at most this many failing rows.
        #[tf(validate = validate_limit)]
        pub(crate) limit: Option<i64>,
        /// Keep the failing rows of the last run as a relation named after the test in `audit_database` (dbt's `store_failures`).
        #[tf(default = false)]
        pub(crate) store_failures: Maybe<bool>,
        /// `table` (default) or `view` (dbt's `store_failures_as`).
        #[tf(default = "table", validate = validate_store_as)]
        pub(crate) store_failures_as: Maybe<String>,
        /// Where stored failures go; mdwc writes dbt's audit schema, `<target schema>_dbt_test__audit`.
        #[tf(validate = validate_identifier)]
        pub(crate) audit_database: Option<String>,
        /// The tested node, e.g. `model.stg_orders`, named in messages.
        #[tf()]
        pub(crate) attached_node: Option<String>,
        /// Where the test is defined, e.g. `models/sta/_sta.yml:12`, named in messages.
        #[tf()]
        pub(crate) source_file: Option<String>,
        /// dbt tags of the test; informational.
        #[tf()]
        pub(crate) test_tags: Option<Vec<String>>,
        /// dbt meta of the test; informational.
        #[tf()]
        pub(crate) meta: Option<BTreeMap<String, String>>,
        /// Build ids / snapshot ids of the nodes the test reads: a change runs it again.
        #[tf()]
        pub(crate) upstream: Option<BTreeMap<String, String>>,
        /// Any value; a change runs the test again (mdwc passes `var.data_test_run`).
        #[tf()]
        pub(crate) run_trigger: Option<String>,
        /// The root's `mdw_lineage` id: owner of the stored failures.
        #[tf(validate = validate_lineage)]
        pub(crate) lineage: Option<String>,
        /// `pass` or `warn` (an error-severity failure fails the apply instead).
        #[tf(computed)]
        pub(crate) status: Maybe<String>,
        /// The failure count of the last run, as text.
        #[tf(computed)]
        pub(crate) failures: Maybe<String>,
        /// New on every run.
        #[tf(computed)]
        pub(crate) run_id: Maybe<String>,
    }
}

/// What a run reads: a change to any of them runs the test again.
const RUN_INPUTS: [&str; 11] = [
    DataTestModel::sql,
    DataTestModel::severity,
    DataTestModel::warn_if,
    DataTestModel::error_if,
    DataTestModel::fail_calc,
    DataTestModel::limit,
    DataTestModel::store_failures,
    DataTestModel::store_failures_as,
    DataTestModel::audit_database,
    DataTestModel::upstream,
    DataTestModel::run_trigger,
];
/// What a run reports.
const RUN_OUTPUTS: [&str; 3] = [
    DataTestModel::status,
    DataTestModel::failures,
    DataTestModel::run_id,
];

fn schema() -> Schema {
    Schema::new(
        "A dbt data test, run at apply when what it tests was rebuilt (never at plan): an \
         error-severity failure fails the apply and holds back the models that depend on it.",
        DataTestModel::attributes(),
    )
}

/// What one run found.
struct Verdict {
    failures: String,
    should_warn: bool,
    should_error: bool,
}

impl DataTestModel {
    fn text<'a>(value: &'a Maybe<String>, default: &'a str) -> &'a str {
        value.known().map_or(default, String::as_str)
    }

    fn severity_level(&self) -> &str {
        Self::text(&self.severity, "error")
    }

    fn stores_failures(&self) -> bool {
        self.store_failures.known().copied().unwrap_or(false)
    }

    /// dbt-core's `get_test_sql`: the failure count and both conditions over the failing rows.
    fn verdict_sql(&self) -> String {
        let calc = Self::text(&self.fail_calc, "count(*)");
        let limit = self
            .limit
            .map(|n| format!("\nlimit {n}"))
            .unwrap_or_default();
        format!(
            "select\n  {calc} as failures,\n  {calc} {warn_if} as should_warn,\n  {calc} {error_if} as should_error\nfrom (\n{sql}{limit}\n) dbt_internal_test",
            warn_if = Self::text(&self.warn_if, "!= 0"),
            error_if = Self::text(&self.error_if, "!= 0"),
            sql = self.sql.trim_end().trim_end_matches(';'),
        )
    }

    /// Where the test is, for messages: `name (model.x, models/x.yml:12)`.
    fn described(&self) -> String {
        let place: Vec<&str> = [self.attached_node.as_deref(), self.source_file.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if place.is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, place.join(", "))
        }
    }

    /// The stored failures' relation, when they are kept.
    fn audit_relation(&self) -> Option<(String, String)> {
        if !self.stores_failures() {
            return None;
        }
        let database = self.audit_database.clone()?;
        Some((database, self.name.to_ascii_lowercase()))
    }

    /// The owner of the stored failures: derived from the lineage (a retried run finds its own
    /// relation), else from the test's name alone.
    fn failures_owner(&self) -> Ownership {
        let lineage = self.lineage.as_deref().unwrap_or("mdw_data_test");
        let (database, name) = self.audit_relation().unwrap_or_default();
        Ownership::exclusive(ownership::owner_id(
            OwnedKind::TestFailures,
            lineage,
            &database,
            &name,
        ))
    }
}

fn truthy(value: Option<&str>) -> bool {
    matches!(
        value.map(str::to_ascii_lowercase).as_deref(),
        Some("true" | "1")
    )
}

/// Up to `SAMPLE_ROWS` failing rows as a small text table.
fn sample_table(result: &mdw_engine::QueryResult) -> String {
    let mut lines = vec![result.columns.join(" | ")];
    for row in &result.rows {
        let cells: Vec<String> = result
            .columns
            .iter()
            .map(|c| {
                row.get(c)
                    .cloned()
                    .flatten()
                    .unwrap_or_else(|| "NULL".to_string())
            })
            .collect();
        lines.push(cells.join(" | "));
    }
    lines.join("\n")
}

impl DataTest {
    async fn run(&self, client: &Client, planned: &Value) -> Result<Value, ApplyError> {
        let test: DataTestModel = from_value(planned)?;
        let engine = client.engines.get().await?;
        let doing = format!("running data test {}", test.described());
        let verdict_sql = test.verdict_sql();
        let result = engine
            .query(&verdict_sql, 1)
            .await
            .map_err(|e| engine_error(&doing, &e).at_attribute(DataTestModel::sql))?;
        let row = result.rows.first().cloned().unwrap_or_default();
        let value = |column: &str| row.get(column).cloned().flatten();
        let verdict = Verdict {
            failures: value("failures").unwrap_or_else(|| "0".to_string()),
            should_warn: truthy(value("should_warn").as_deref()),
            should_error: truthy(value("should_error").as_deref()),
        };
        if let Some((database, name)) = test.audit_relation() {
            self.store_failures(client, &test, &database, &name).await?;
        }
        // dbt: with severity error, error_if decides a failure; otherwise (or when error_if
        // does not hold) warn_if decides a warning. With severity warn, error_if is not read.
        let fails = verdict.should_error && test.severity_level() == "error";
        let warns = !fails && verdict.should_warn;
        if fails || warns {
            let samples = engine
                .query(
                    &format!(
                        "select * from (\n{}\n) dbt_internal_sample limit {SAMPLE_ROWS}",
                        test.sql.trim_end().trim_end_matches(';')
                    ),
                    SAMPLE_ROWS,
                )
                .await
                .map(|r| sample_table(&r))
                .unwrap_or_else(|e| format!("(the failing rows could not be read: {e})"));
            let summary = format!(
                "Data test {} failed: {} failing row(s)",
                test.name, verdict.failures
            );
            let detail = format!(
                "{}, severity {}.\nFailing rows (at most {SAMPLE_ROWS}):\n{samples}",
                test.described(),
                test.severity_level()
            );
            if fails {
                return Err(Diagnostic::error(
                    summary,
                    format!(
                        "{detail}\nWhat depends on the tested node is not built in this apply. Fix the data or the model and apply again: the test runs again."
                    ),
                )
                .into());
            }
            tfplugin::warn(Diagnostic::warning(summary, detail));
        }
        let state = DataTestModel {
            status: Maybe::Known(if warns { "warn" } else { "pass" }.to_string()),
            failures: Maybe::Known(verdict.failures),
            run_id: Maybe::Known(BuildId::new().to_string()),
            ..test
        };
        Ok(to_value(&state)?)
    }

    /// Keeps the failing rows as a table (or view) named after the test, as dbt's
    /// `store_failures` does; replaced on every run, owned by this test.
    async fn store_failures(
        &self,
        client: &Client,
        test: &DataTestModel,
        database: &str,
        name: &str,
    ) -> Result<(), ApplyError> {
        let engine = client.engines.get().await?;
        let doing = format!("storing the failures of {} in {database}.{name}", test.name);
        engine
            .ensure_database(database)
            .await
            .map_err(|e| engine_error(&doing, &e))?;
        let outcome = if DataTestModel::text(&test.store_failures_as, "table") == "view" {
            engine
                .create_view(&ViewDefinition {
                    database: database.to_string(),
                    name: name.to_string(),
                    sql: test.sql.clone(),
                    ownership: test.failures_owner(),
                    ..ViewDefinition::default()
                })
                .await
                .map(|_| ())
        } else {
            engine
                .build_table(&TableBuild {
                    database: database.to_string(),
                    name: name.to_string(),
                    sql: test.sql.clone(),
                    ownership: test.failures_owner(),
                    ..TableBuild::default()
                })
                .await
                .map(|_| ())
        };
        outcome.map_err(|e| engine_error(&doing, &e).into())
    }
}

#[async_trait]
impl Resource<Client> for DataTest {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        if config.get(DataTestModel::store_failures).as_bool() == Some(true)
            && config.get(DataTestModel::audit_database).is_null()
        {
            diags.push(
                Diagnostic::error(
                    "store_failures needs audit_database",
                    "Name the database the failing rows are kept in, e.g. audit_database = \"mdw_dbt_test__audit\".",
                )
                .at_attribute(DataTestModel::audit_database),
            );
        }
        diags
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
        if test_run::run_planned(planned, DataTestModel::run_id) {
            return self.run(client, planned).await;
        }
        Ok(planned.clone())
    }

    async fn delete(&self, client: &Client, state: &Value) -> Result<(), Diagnostics> {
        let test: DataTestModel = from_value(state)?;
        let Some((database, name)) = test.audit_relation() else {
            return Ok(());
        };
        let engine = client.engines.get().await?;
        let drop = DropRelation {
            database,
            name,
            purge: true,
            external_location: None,
            ownership: test.failures_owner(),
        };
        match engine.drop_relation(&drop).await {
            Ok(_) | Err(EngineError::NotOwned { .. }) => Ok(()),
            Err(e) => Err(engine_error(
                &format!("dropping the stored failures of {}", test.name),
                &e,
            )
            .into()),
        }
    }

    async fn import(&self, _client: &Client, id: &str) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error(
            format!("{TYPE_NAME} cannot be imported ({id})"),
            "A data test holds no remote object to adopt; apply the configuration, which runs it.",
        )
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_are_an_operator_and_a_number() {
        for good in ["!= 0", ">10", ">= 5", "<> 0", "= 0"] {
            assert!(validate_condition(&Value::from(good)).is_ok(), "{good}");
        }
        for bad in ["", "10", "!= x", "; drop table t", "!= 0; select 1"] {
            assert!(validate_condition(&Value::from(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_verdict_query_is_dbts() {
        let test = DataTestModel {
            name: "not_null_t_id".into(),
            sql: "select * from t where id is null;".into(),
            limit: Some(10),
            ..DataTestModel::default()
        };
        assert_eq!(
            test.verdict_sql(),
            "select\n  count(*) as failures,\n  count(*) != 0 as should_warn,\n  count(*) != 0 as should_error\nfrom (\nselect * from t where id is null\nlimit 10\n) dbt_internal_test"
        );
    }
}
