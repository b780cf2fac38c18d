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
use mdw_engine::BuildId;
use tfplugin::{
    ApplyError, Diagnostic, Diagnostics, Maybe, Model, PlanChange, Resource, Schema, Value,
    from_value, to_value,
};

use crate::client::Client;
use crate::models::data_test_run::{
    Status, StoredFailures, TestDefinition, validate_condition, validate_fail_calc, validate_limit,
    validate_severity, validate_store_as,
};
use crate::models::test_run;
use crate::models::validators::{validate_identifier, validate_lineage, validate_sql};

pub(crate) struct DataTest;

const TYPE_NAME: &str = "mdw_data_test";

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

impl DataTestModel {
    /// The test as it runs, dbt's defaults applied.
    fn definition(&self) -> TestDefinition {
        let text = |value: &Maybe<String>, default: &str| {
            value.known().map_or(default, String::as_str).to_string()
        };
        let stored = StoredFailures::configured(
            self.store_failures.known().copied(),
            self.audit_database.as_deref(),
            self.store_failures_as.known().map(String::as_str),
            self.lineage.as_deref(),
            &self.name,
        );
        TestDefinition {
            name: self.name.clone(),
            sql: self.sql.clone(),
            severity: text(&self.severity, "error"),
            warn_if: text(&self.warn_if, "!= 0"),
            error_if: text(&self.error_if, "!= 0"),
            fail_calc: text(&self.fail_calc, "count(*)"),
            limit: self.limit,
            stored,
            attached_node: self.attached_node.clone(),
            source_file: self.source_file.clone(),
        }
    }
}

impl DataTest {
    async fn run(&self, client: &Client, planned: &Value) -> Result<Value, ApplyError> {
        let test: DataTestModel = from_value(planned)?;
        let engine = client.engines.get().await?;
        let verdict = test
            .definition()
            .run(engine.as_ref())
            .await
            .map_err(|d| d.at_attribute(DataTestModel::sql))?;
        match (verdict.status, verdict.message) {
            (Status::Fail, Some(message)) => return Err(message.into()),
            (_, Some(message)) => tfplugin::warn(message),
            (_, None) => {}
        }
        let state = DataTestModel {
            status: Maybe::Known(verdict.status.as_str().to_string()),
            failures: Maybe::Known(verdict.failures),
            run_id: Maybe::Known(BuildId::new().to_string()),
            ..test
        };
        Ok(to_value(&state)?)
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
        let Some(stored) = test.definition().stored else {
            return Ok(());
        };
        let engine = client.engines.get().await?;
        Ok(stored.drop(engine.as_ref(), &test.name).await?)
    }

    async fn import(&self, _client: &Client, id: &str) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error(
            format!("{TYPE_NAME} cannot be imported ({id})"),
            "A data test holds no remote object to adopt; apply the configuration, which runs it.",
        )
        .into())
    }
}
