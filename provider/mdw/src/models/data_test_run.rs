//! Running one dbt data test with `dbt build`'s semantics — shared by `mdw_data_test` (a test
//! as a resource of its own) and `mdw_iceberg_model` (the tests of one model, run after it
//! builds), so both judge a failure the same way.
//!
//! The verdict is dbt-core's `get_test_sql`: the failure count and both conditions computed
//! over the failing rows in one query. With severity error, `error_if` decides a failure;
//! otherwise (or when `error_if` does not hold) `warn_if` decides a warning; with severity warn
//! `error_if` is not read.

use mdw_engine::{DropRelation, Engine, EngineError, Ownership, TableBuild, ViewDefinition};
use tfplugin::{Diagnostic, validators};

use crate::engines::engine_error;
use crate::models::ownership::{self, OwnedKind};
use crate::models::rows;

/// Failing rows shown in an error, as dbt's `--store-failures` hint shows a few.
const SAMPLE_ROWS: usize = 5;
const SEVERITIES: &[&str] = &["error", "warn"];
const STORE_AS: &[&str] = &["table", "view"];

pub(crate) fn validate_severity(value: &tfplugin::Value) -> Result<(), String> {
    validators::one_of(SEVERITIES)(value)
}

pub(crate) fn validate_store_as(value: &tfplugin::Value) -> Result<(), String> {
    validators::one_of(STORE_AS)(value)
}

/// dbt's `warn_if` / `error_if`: a comparison operator and a number (`!= 0`, `>10`, `>= 5`).
pub(crate) fn validate_condition(value: &tfplugin::Value) -> Result<(), String> {
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
pub(crate) fn validate_fail_calc(value: &tfplugin::Value) -> Result<(), String> {
    match value.as_str() {
        Some(calc) if calc.trim().is_empty() || calc.contains(';') || calc.contains("--") => {
            Err(format!(
                "fail_calc {calc:?} must be one aggregate expression over the failing rows, e.g. \"count(*)\"."
            ))
        }
        _ => Ok(()),
    }
}

pub(crate) fn validate_limit(value: &tfplugin::Value) -> Result<(), String> {
    match value.as_i64() {
        Some(n) if n < 1 => Err("limit must be a whole number ≥ 1.".to_string()),
        _ => Ok(()),
    }
}

/// One data test as it runs: dbt's defaults already applied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TestDefinition {
    pub(crate) name: String,
    /// The failing-rows query.
    pub(crate) sql: String,
    pub(crate) severity: String,
    pub(crate) warn_if: String,
    pub(crate) error_if: String,
    pub(crate) fail_calc: String,
    pub(crate) limit: Option<i64>,
    /// Where the failing rows are kept (`store_failures` with an audit database).
    pub(crate) stored: Option<StoredFailures>,
    pub(crate) attached_node: Option<String>,
    pub(crate) source_file: Option<String>,
}

impl Default for TestDefinition {
    fn default() -> Self {
        TestDefinition {
            name: String::new(),
            sql: String::new(),
            severity: "error".to_string(),
            warn_if: "!= 0".to_string(),
            error_if: "!= 0".to_string(),
            fail_calc: "count(*)".to_string(),
            limit: None,
            stored: None,
            attached_node: None,
            source_file: None,
        }
    }
}

/// The relation a test's failing rows are kept in, replaced on every run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredFailures {
    pub(crate) database: String,
    pub(crate) name: String,
    pub(crate) as_view: bool,
    /// The owner id of the relation: derived from the lineage, so a retried run finds its own
    /// relation, and the same for the test wherever it is declared.
    pub(crate) owner_id: String,
}

impl StoredFailures {
    fn new(lineage: Option<&str>, database: &str, test: &str, as_view: bool) -> Self {
        let name = test.to_ascii_lowercase();
        StoredFailures {
            owner_id: ownership::owner_id(
                OwnedKind::TestFailures,
                lineage.unwrap_or("mdw_data_test"),
                database,
                &name,
            ),
            database: database.to_string(),
            name,
            as_view,
        }
    }

    /// Where a test's failures go when it keeps them: `store_failures` with an audit
    /// database (`store_failures_as`: `table` unless `view`).
    pub(crate) fn configured(
        store_failures: Option<bool>,
        audit_database: Option<&str>,
        store_failures_as: Option<&str>,
        lineage: Option<&str>,
        test: &str,
    ) -> Option<Self> {
        match (store_failures, audit_database) {
            (Some(true), Some(database)) => Some(StoredFailures::new(
                lineage,
                database,
                test,
                store_failures_as == Some("view"),
            )),
            _ => None,
        }
    }

    fn ownership(&self) -> Ownership {
        Ownership::exclusive(self.owner_id.clone())
    }

    /// Drops the relation; one another owner holds now is left alone.
    pub(crate) async fn drop(&self, engine: &dyn Engine, test: &str) -> Result<(), Diagnostic> {
        let drop = DropRelation {
            database: self.database.clone(),
            name: self.name.clone(),
            purge: true,
            external_location: None,
            ownership: self.ownership(),
        };
        match engine.drop_relation(&drop).await {
            Ok(_) | Err(EngineError::NotOwned { .. }) => Ok(()),
            Err(e) => Err(engine_error(
                &format!("dropping the stored failures of {test}"),
                &e,
            )),
        }
    }
}

/// What a run found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Pass,
    Warn,
    /// An error-severity failure: the run fails.
    Fail,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

pub(crate) struct Verdict {
    pub(crate) status: Status,
    /// The failure count, as text.
    pub(crate) failures: String,
    /// For a warning or a failure: what to show, with sample rows.
    pub(crate) message: Option<Diagnostic>,
}

impl TestDefinition {
    /// dbt-core's `get_test_sql`: the failure count and both conditions over the failing rows.
    pub(crate) fn verdict_sql(&self) -> String {
        let limit = self
            .limit
            .map(|n| format!("\nlimit {n}"))
            .unwrap_or_default();
        format!(
            "select\n  {calc} as failures,\n  {calc} {warn_if} as should_warn,\n  {calc} {error_if} as should_error\nfrom (\n{sql}{limit}\n) dbt_internal_test",
            calc = self.fail_calc,
            warn_if = self.warn_if,
            error_if = self.error_if,
            sql = self.query(),
        )
    }

    fn query(&self) -> &str {
        self.sql.trim_end().trim_end_matches(';')
    }

    /// Where the test is, for messages: `name (model.x, models/x.yml:12)`.
    pub(crate) fn described(&self) -> String {
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

    /// Runs the test: the verdict query, the stored failures when kept, sample rows when it
    /// warns or fails. `Err` is a query that could not run (not a failing test).
    pub(crate) async fn run(&self, engine: &dyn Engine) -> Result<Verdict, Diagnostic> {
        let doing = format!("running data test {}", self.described());
        let result = engine
            .query(&self.verdict_sql(), 1)
            .await
            .map_err(|e| engine_error(&doing, &e))?;
        let row = result.rows.first().cloned().unwrap_or_default();
        let value = |column: &str| row.get(column).cloned().flatten();
        let failures = value("failures").unwrap_or_else(|| "0".to_string());
        let should_warn = truthy(value("should_warn").as_deref());
        let should_error = truthy(value("should_error").as_deref());
        if let Some(stored) = &self.stored {
            self.store_failures(engine, stored).await?;
        }
        let fails = should_error && self.severity == "error";
        let status = if fails {
            Status::Fail
        } else if should_warn {
            Status::Warn
        } else {
            Status::Pass
        };
        let message = match status {
            Status::Pass => None,
            Status::Warn | Status::Fail => {
                Some(self.failure_message(engine, &failures, fails).await)
            }
        };
        Ok(Verdict {
            status,
            failures,
            message,
        })
    }

    async fn failure_message(
        &self,
        engine: &dyn Engine,
        failures: &str,
        fails: bool,
    ) -> Diagnostic {
        let samples = engine
            .query(
                &format!(
                    "select * from (\n{}\n) dbt_internal_sample limit {SAMPLE_ROWS}",
                    self.query()
                ),
                SAMPLE_ROWS,
            )
            .await
            .map(|r| sample_table(&r))
            .unwrap_or_else(|e| format!("(the failing rows could not be read: {e})"));
        let summary = format!("Data test {} failed: {failures} failing row(s)", self.name);
        let detail = format!(
            "{}, severity {}.\nFailing rows (at most {SAMPLE_ROWS}):\n{samples}",
            self.described(),
            self.severity
        );
        if fails {
            Diagnostic::error(
                summary,
                format!(
                    "{detail}\nWhat depends on the tested node is not built in this apply. Fix the data or the model and apply again: the test runs again."
                ),
            )
        } else {
            Diagnostic::warning(summary, detail)
        }
    }

    /// Keeps the failing rows as a table (or view) named after the test, as dbt's
    /// `store_failures` does; replaced on every run, owned by this test.
    async fn store_failures(
        &self,
        engine: &dyn Engine,
        stored: &StoredFailures,
    ) -> Result<(), Diagnostic> {
        let doing = format!(
            "storing the failures of {} in {}.{}",
            self.name, stored.database, stored.name
        );
        engine
            .ensure_database(&stored.database)
            .await
            .map_err(|e| engine_error(&doing, &e))?;
        let outcome = if stored.as_view {
            engine
                .create_view(&ViewDefinition {
                    database: stored.database.clone(),
                    name: stored.name.clone(),
                    sql: self.sql.clone(),
                    ownership: stored.ownership(),
                    ..ViewDefinition::default()
                })
                .await
                .map(|_| ())
        } else {
            engine
                .build_table(&TableBuild {
                    database: stored.database.clone(),
                    name: stored.name.clone(),
                    sql: self.sql.clone(),
                    ownership: stored.ownership(),
                    ..TableBuild::default()
                })
                .await
                .map(|_| ())
        };
        outcome.map_err(|e| engine_error(&doing, &e))
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
    lines.extend(rows::lines(result, &result.columns));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::Value;

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
        let test = TestDefinition {
            name: "not_null_t_id".into(),
            sql: "select * from t where id is null;".into(),
            limit: Some(10),
            ..TestDefinition::default()
        };
        assert_eq!(
            test.verdict_sql(),
            "select\n  count(*) as failures,\n  count(*) != 0 as should_warn,\n  count(*) != 0 as should_error\nfrom (\nselect * from t where id is null\nlimit 10\n) dbt_internal_test"
        );
    }
}
