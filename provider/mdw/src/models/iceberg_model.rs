//! `mdw_iceberg_model`: one dbt model materialized as an Iceberg table, an incremental table or
//! a view, by the configured engine, with its data tests. What a model is and how it is
//! planned, built, tested and dropped is `models::model`, shared with `mdw_model_group`.

use async_trait::async_trait;
use mdw_engine::RelationKind;
use tfplugin::{
    ApplyError, Diagnostic, Diagnostics, Maybe, Model, PlanChange, Resource, Schema, Value,
    to_value,
};

use crate::client::Client;
use crate::engines::engine_error;
use crate::models::model::{self, ModelModel, Stage, Tested};
use crate::models::model_tests;

pub(crate) struct IcebergModel;

const TYPE_NAME: &str = "mdw_iceberg_model";

fn schema() -> Schema {
    Schema::new(
        "A dbt model as an Iceberg table, incremental table or view, built by the provider's engine \
         from its compiled SQL.",
        ModelModel::attributes(),
    )
}

/// A model whose tests failed: the apply fails. On update the new state — the new build, the
/// verdicts — is recorded with the error, so the next apply runs only the tests again. On
/// create with a lineage nothing is recorded: the retried create finds its own table by its
/// owner id and builds it again in place, where recording a failed create would make
/// Terraform taint it and drop the table before the retry. Without a lineage the table would
/// then be unreachable (its random owner id lost), so the state is recorded (and tainted).
fn finish(prior: &Value, tested: Tested) -> Result<Value, ApplyError> {
    if !tested.failures.has_errors() {
        return Ok(tested.state);
    }
    let error = ApplyError::from(tested.failures);
    if prior.is_null() && tested.state.get(ModelModel::lineage).as_str().is_some() {
        return Err(error);
    }
    Err(error.with_partial_state(tested.state))
}

#[async_trait]
impl Resource<Client> for IcebergModel {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = model::cross_checks(config);
        model_tests::validate(ModelModel::data_tests, config, &mut diags);
        diags
    }

    async fn plan(&self, client: &Client, change: &mut PlanChange<'_>) -> Result<(), Diagnostics> {
        model::plan(client, change, Stage::Plan(TYPE_NAME), false).await
    }

    async fn create(&self, client: &Client, planned: &Value) -> Result<Value, ApplyError> {
        finish(
            &Value::Null,
            model::apply(client, &Value::Null, planned).await?,
        )
    }

    /// A relation that is gone or not this model's plans a create, which refuses to replace
    /// another owner's relation and says how to adopt it.
    async fn read(&self, client: &Client, state: &Value) -> Result<Option<Value>, Diagnostics> {
        model::read(client, state).await
    }

    async fn update(
        &self,
        client: &Client,
        prior: &Value,
        planned: &Value,
    ) -> Result<Value, ApplyError> {
        finish(prior, model::apply(client, prior, planned).await?)
    }

    async fn delete(&self, client: &Client, state: &Value) -> Result<(), Diagnostics> {
        model::drop(client, state).await
    }

    async fn import(&self, client: &Client, id: &str) -> Result<Value, Diagnostics> {
        let Some((database, name)) = id
            .split_once('.')
            .filter(|(d, n)| !d.is_empty() && !n.is_empty() && !n.contains('.'))
        else {
            return Err(Diagnostic::error(
                format!("Invalid import id {id:?}"),
                format!("The import id of {TYPE_NAME} is DATABASE.TABLE, e.g. mdw.stg_stores."),
            )
            .into());
        };
        let engine = client.engines.get().await?;
        let info = engine
            .describe(database, name)
            .await
            .map_err(|e| engine_error(&format!("reading {id}"), &e))?
            .ok_or_else(|| {
                Diagnostic::error(
                    format!("Cannot import {id}"),
                    format!(
                        "No table or view {id} exists in catalog {}.",
                        client.engines.catalog()
                    ),
                )
            })?;
        // The SQL that built a table is not stored with it: the first plan after import
        // rebuilds it from the configuration. A view's SQL is known. Whatever owner marker the
        // relation has is adopted: the rebuild writes this resource's.
        let state = ModelModel {
            database: database.to_string(),
            name: name.to_string(),
            materialized: Maybe::Known(
                if info.kind == RelationKind::View {
                    "view"
                } else {
                    "table"
                }
                .to_string(),
            ),
            on_schema_change: Maybe::Known("ignore".to_string()),
            on_destroy: Maybe::Known("drop".to_string()),
            sql: info.view_sql.clone().unwrap_or_default(),
            owner_id: Maybe::from_option(info.owner.clone()),
            description: info.description.clone(),
            build_id: Maybe::Known(format!("imported-{}", info.snapshot_id.unwrap_or_default())),
            partitioned_by: Some(info.partitioned_by.clone()).filter(|p| !p.is_empty()),
            table_properties: Some(info.table_properties.clone()).filter(|p| !p.is_empty()),
            ..ModelModel::default()
        };
        let mut value = to_value(&state.with_relation(&info))?;
        if info.view_sql.is_none() {
            value.set(ModelModel::sql, Value::Null);
        }
        Ok(value)
    }
}
