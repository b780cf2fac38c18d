//! The data tests of one model, held by the model's resource (`data_tests`) rather than as a
//! resource each: `dbt build` runs a model's tests right after it builds the model, and what
//! reads the model waits for them — which a resource that builds and then tests gives with no
//! edge of its own. A project then has one Terraform resource per model instead of ~3, which
//! is most of Terraform's own time at 1,000+ models (bench/SCALE.md).
//!
//! The tests run at apply, never at plan: when the model (re)builds, when a test's definition
//! or `test_run_trigger` changes, or when a test did not pass or warn last time. An
//! error-severity failure fails the apply with every failing test of the model; the model's new
//! build stays (as with `dbt build`) and is recorded, so only the tests run again next time.

use std::collections::BTreeMap;

use mdw_engine::Engine;
use tfplugin::{AttributePath, Diagnostic, Diagnostics, PlanChange, Value};

use crate::models::data_test_run::{
    Status, StoredFailures, TestDefinition, validate_condition, validate_fail_calc, validate_limit,
    validate_severity, validate_store_as,
};
use crate::models::validators::{validate_identifier, validate_sql};

tfplugin::model! {
    /// One data test of a model (an element of `data_tests`, keyed by dbt's test name).
    pub(crate) struct TestSpec {
        /// The compiled test query: it selects the failing rows (what dbt writes to `target/compiled`).
        #[tf(required, validate = validate_sql)]
        pub(crate) sql: String,
        /// `error` (when unset): a failure fails the apply and holds back what reads the model; `warn`: a warning.
        #[tf(validate = validate_severity)]
        pub(crate) severity: Option<String>,
        /// dbt's condition on the failure count that makes a warning (`!= 0` when unset).
        #[tf(validate = validate_condition)]
        pub(crate) warn_if: Option<String>,
        /// dbt's condition on the failure count that makes an error (`!= 0` when unset).
        #[tf(validate = validate_condition)]
        pub(crate) error_if: Option<String>,
        /// dbt's `fail_calc` over the failing rows (`count(*)` when unset).
        #[tf(validate = validate_fail_calc)]
        pub(crate) fail_calc: Option<String>,
        /// dbt's `limit`: count at most this many failing rows.
        #[tf(validate = validate_limit)]
        pub(crate) limit: Option<i64>,
        /// Keep the failing rows of the last run as a relation named after the test in `audit_database`.
        #[tf()]
        pub(crate) store_failures: Option<bool>,
        /// `table` (when unset) or `view`.
        #[tf(validate = validate_store_as)]
        pub(crate) store_failures_as: Option<String>,
        /// Where stored failures go (dbt's audit schema, `<target schema>_dbt_test__audit`).
        #[tf(validate = validate_identifier)]
        pub(crate) audit_database: Option<String>,
        /// Where the test is defined, e.g. `models/sta/_sta.yml:12`, named in messages.
        #[tf()]
        pub(crate) source_file: Option<String>,
        /// dbt tags of the test; informational.
        #[tf()]
        pub(crate) test_tags: Option<Vec<String>>,
        /// dbt meta of the test; informational.
        #[tf()]
        pub(crate) meta: Option<BTreeMap<String, String>>,
    }
}

/// The tests as configured: name → definition.
pub(crate) type Tests = BTreeMap<String, TestSpec>;

impl TestSpec {
    /// The test as it runs, dbt's defaults applied; `model` names the tested model in messages.
    fn definition(&self, name: &str, model: &str, lineage: Option<&str>) -> TestDefinition {
        let defaults = TestDefinition::default();
        let or = |value: &Option<String>, default: String| value.clone().unwrap_or(default);
        TestDefinition {
            name: name.to_string(),
            sql: self.sql.clone(),
            severity: or(&self.severity, defaults.severity),
            warn_if: or(&self.warn_if, defaults.warn_if),
            error_if: or(&self.error_if, defaults.error_if),
            fail_calc: or(&self.fail_calc, defaults.fail_calc),
            limit: self.limit,
            stored: self.stored_failures(name, lineage),
            attached_node: Some(format!("model {model}")),
            source_file: self.source_file.clone(),
        }
    }

    fn stored_failures(&self, name: &str, lineage: Option<&str>) -> Option<StoredFailures> {
        StoredFailures::configured(
            self.store_failures,
            self.audit_database.as_deref(),
            self.store_failures_as.as_deref(),
            lineage,
            name,
        )
    }
}

/// `store_failures` needs a database to keep them in: each such test, by path.
pub(crate) fn validate(attribute: &str, config: &Value, diags: &mut Diagnostics) {
    let Value::Map(tests) = config.get(attribute) else {
        return;
    };
    for (name, test) in tests {
        if test.get(TestSpec::store_failures).as_bool() == Some(true)
            && test.get(TestSpec::audit_database).is_null()
        {
            diags.push(
                Diagnostic::error(
                    format!("Data test {name}: store_failures needs audit_database"),
                    "Name the database the failing rows are kept in, e.g. audit_database = \"mdw_dbt_test__audit\".",
                )
                .at(AttributePath::root(attribute)
                    .key(name)
                    .attribute(TestSpec::audit_database)),
            );
        }
    }
}

/// Plans `status` (test name → last verdict): unknown — the tests run at apply — when the model
/// builds, a test or the trigger changed, or a test did not pass or warn last time (a failure,
/// an error, a test not run yet); null with no tests; else the prior verdicts stay.
pub(crate) fn plan(
    change: &mut PlanChange<'_>,
    builds: bool,
    tests: &str,
    trigger: &str,
    status: &str,
) {
    let names: Vec<String> = match change.planned.get(tests) {
        Value::Map(map) => map.keys().cloned().collect(),
        Value::Null => Vec::new(),
        // Not known until apply (a variable): they run then.
        _ => {
            change.planned.set(status, Value::unknown());
            return;
        }
    };
    if names.is_empty() {
        change.planned.set(status, Value::Null);
        return;
    }
    let prior = change.prior.get(status);
    let settled = |name: &String| matches!(prior.get(name).as_str(), Some("pass" | "warn"));
    let runs = builds
        || change.is_create()
        || change.changes(tests)
        || change.changes(trigger)
        || !names.iter().all(settled);
    if runs {
        change.planned.set(status, Value::unknown());
    }
}

/// What running a model's tests found: each test's status, and the failures and errors to
/// report (a warning is reported as it is found).
pub(crate) struct Outcome {
    pub(crate) status: BTreeMap<String, String>,
    pub(crate) errors: Diagnostics,
}

/// Runs every test of `model`, all of them even after a failure (dbt reports each).
pub(crate) async fn run(
    engine: &dyn Engine,
    tests: &Tests,
    attribute: &str,
    model: &str,
    lineage: Option<&str>,
) -> Outcome {
    let mut status = BTreeMap::new();
    let mut errors = Diagnostics::new();
    for (name, spec) in tests {
        let at = AttributePath::root(attribute).key(name);
        let verdict = match spec.definition(name, model, lineage).run(engine).await {
            Ok(verdict) => verdict,
            Err(e) => {
                status.insert(name.clone(), "error".to_string());
                errors.push(e.at(at.attribute("sql")));
                continue;
            }
        };
        status.insert(name.clone(), verdict.status.as_str().to_string());
        match (verdict.status, verdict.message) {
            (Status::Fail, Some(message)) => errors.push(message.at(at)),
            (_, Some(message)) => tfplugin::warn(message.at(at)),
            (_, None) => {}
        }
    }
    Outcome { status, errors }
}

/// Drops the stored failures of the tests in `prior` that `planned` no longer stores (all of
/// them when `planned` is empty: the model is destroyed).
pub(crate) async fn drop_unstored(
    engine: &dyn Engine,
    prior: &Tests,
    planned: &Tests,
    lineage: Option<&str>,
) -> Result<(), Diagnostic> {
    for (name, spec) in prior {
        let Some(stored) = spec.stored_failures(name, lineage) else {
            continue;
        };
        let kept = planned
            .get(name)
            .and_then(|p| p.stored_failures(name, lineage))
            .is_some_and(|p| p == stored);
        if !kept {
            stored.drop(engine, name).await?;
        }
    }
    Ok(())
}

/// The tests of a model value (none when unset).
pub(crate) fn of(tests: &Option<Tests>) -> Tests {
    tests.clone().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TESTS: &str = "data_tests";
    const TRIGGER: &str = "test_run_trigger";
    const STATUS: &str = "data_test_status";

    fn model(tests: &[(&str, &str)], trigger: &str, status: Option<&[(&str, &str)]>) -> Value {
        let tests = Value::object(tests.iter().map(|(name, sql)| {
            (
                name.to_string(),
                Value::object([("sql", Value::from(*sql))]),
            )
        }));
        let status = match status {
            Some(pairs) => Value::object(
                pairs
                    .iter()
                    .map(|(name, verdict)| (name.to_string(), Value::from(*verdict))),
            ),
            None => Value::Null,
        };
        Value::object([
            (TESTS, tests),
            (TRIGGER, Value::from(trigger)),
            (STATUS, status),
        ])
    }

    /// Whether the plan from `prior` to `planned` runs the tests.
    fn runs(prior: &Value, planned: &Value, builds: bool) -> bool {
        let mut change = PlanChange {
            prior,
            config: planned,
            planned: planned.clone(),
            requires_replace: Vec::new(),
        };
        plan(&mut change, builds, TESTS, TRIGGER, STATUS);
        crate::models::test_run::run_planned(&change.planned, STATUS)
    }

    #[test]
    fn tests_run_when_the_model_builds_or_a_test_changes_or_did_not_pass() {
        let passed = model(&[("t", "select 1")], "", Some(&[("t", "pass")]));
        let same = model(&[("t", "select 1")], "", Some(&[("t", "pass")]));
        assert!(!runs(&passed, &same, false), "nothing changed");
        assert!(runs(&passed, &same, true), "the model builds");
        assert!(runs(&Value::Null, &same, false), "created");
        let edited = model(&[("t", "select 2")], "", Some(&[("t", "pass")]));
        assert!(runs(&passed, &edited, false), "the test changed");
        let triggered = model(&[("t", "select 1")], "again", Some(&[("t", "pass")]));
        assert!(runs(&passed, &triggered, false), "the trigger changed");
        let failed = model(&[("t", "select 1")], "", Some(&[("t", "fail")]));
        assert!(runs(&failed, &failed, false), "it failed last time");
        let warned = model(&[("t", "select 1")], "", Some(&[("t", "warn")]));
        assert!(!runs(&warned, &warned, false), "a warning is settled");
    }

    #[test]
    fn no_tests_plan_no_status() {
        let prior = model(&[("t", "select 1")], "", Some(&[("t", "pass")]));
        let none = model(&[], "", Some(&[("t", "pass")]));
        let mut change = PlanChange {
            prior: &prior,
            config: &none,
            planned: none.clone(),
            requires_replace: Vec::new(),
        };
        plan(&mut change, true, TESTS, TRIGGER, STATUS);
        assert!(change.planned.get(STATUS).is_null());
    }
}
