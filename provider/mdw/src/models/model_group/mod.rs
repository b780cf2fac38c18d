//! `mdw_model_group`: many dbt models in one resource (`mdwc compile --group-by`), each planned,
//! built, tested and dropped exactly as `mdw_iceberg_model` does its one (`models::model`).
//!
//! Why: Terraform's own time grows with the resources of a root and with the values in their
//! state (bench/SCALE.md). A few resources holding hundreds of models each keep the first
//! small; holding each model as one JSON string — its definition in `models`, what its builds
//! left in `builds` — keeps the second small, where nested objects made Terraform walk some
//! thirty values per model several times per plan. Terraform still shows each model's change:
//! it renders a JSON string's diff field by field.
//!
//! Inside a group, a model lists the group's models it reads in `after` (a resource cannot
//! reference itself): the plan rebuilds it when one of them rebuilds, and apply builds the
//! group's models in that order, up to `parallelism` at once. A model that fails keeps its old
//! table and holds back only the models of the group that read it; the apply fails, and the
//! state records what was built, so the next apply does only what is left. Models removed from
//! the group are dropped (readers first) after the builds.
//!
//! A model's computed values are one string, unknown as a whole in a plan where the model
//! builds, so the apply cannot read what the plan decided from them: it plans the models again
//! from the same prior state and planned values (`model::Stage::Apply`), which decides the same.

use std::collections::BTreeMap;

use async_trait::async_trait;
use tfplugin::{ApplyError, Diagnostic, Diagnostics, Model, PlanChange, Resource, Schema, Value};

mod apply;
mod definition;
mod members;
mod order;
mod plan;
mod refresh;
mod schema;

#[cfg(test)]
pub(crate) use definition::definition_attributes;

use crate::client::Client;
use crate::models::model::{self, ModelModel, Stage};
use crate::models::model_tests;
use definition::{Members, READS, Shapes, within};
use members::{relation, stored_members, summarize};
use order::build_order;
use plan::{plan_members, same_meaning};
use schema::{GroupModel, SCHEMA_VERSION, TYPE_NAME};

pub(crate) struct ModelGroup;

#[async_trait]
impl Resource<Client> for ModelGroup {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "Many dbt models in one resource, each built, tested and dropped as mdw_iceberg_model \
             does its one, in the order they read each other: what `mdwc compile --group-by` \
             emits for projects of thousands of models.",
            GroupModel::attributes(),
        )
        .with_version(SCHEMA_VERSION)
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let shapes = Shapes::new();
        let mut diags = Diagnostics::new();
        let upstream = config.get(GroupModel::upstream);
        let mut members = Members::new();
        let mut all_known = true;
        let Value::Map(texts) = config.get(GroupModel::models) else {
            return diags;
        };
        for (key, text) in texts {
            // Not known yet (it uses a value known at plan): checked then.
            let Some(text) = text.as_str() else {
                all_known &= !text.is_unknown();
                continue;
            };
            let definition = match shapes.definition(key, text) {
                Ok(d) => d,
                Err(d) => {
                    diags.extend(d);
                    continue;
                }
            };
            let mut own = shapes.definition.validate(&definition);
            own.extend(model::cross_checks(&definition));
            model_tests::validate(ModelModel::data_tests, &definition, &mut own);
            let no_builds = BTreeMap::new();
            let builds = match upstream {
                Value::Map(builds) => Some(builds),
                Value::Null => Some(&no_builds),
                _ => None,
            };
            if let Some(builds) = builds {
                for read in definition.get(READS).string_list() {
                    if !builds.contains_key(&read) {
                        own.push(
                            Diagnostic::error(
                                format!("Model {key} reads {read:?}, which the group's upstream does not have"),
                                format!("Add \"{read}\" = <its build id> to the group's upstream, or remove it from the model's upstream."),
                            )
                            .at_attribute(READS),
                        );
                    }
                }
            }
            diags.extend(within(key, own));
            members.insert(key.clone(), definition);
        }
        let mut relations: BTreeMap<(String, String), &str> = BTreeMap::new();
        for (key, member) in &members {
            let relation = relation(member);
            if relation.0.is_empty() || relation.1.is_empty() {
                continue;
            }
            if let Some(other) = relations.insert(relation.clone(), key) {
                diags.extend(within(
                    key,
                    Diagnostic::error(
                        format!("Models {other} and {key} build the same table"),
                        format!(
                            "Both build {}.{}; give one another name or database.",
                            relation.0, relation.1
                        ),
                    )
                    .at_attribute(ModelModel::name)
                    .into(),
                ));
            }
        }
        if all_known
            && !diags.has_errors()
            && let Err(order) = build_order(&members)
        {
            diags.extend(order);
        }
        diags
    }

    async fn plan(&self, client: &Client, change: &mut PlanChange<'_>) -> Result<(), Diagnostics> {
        let shapes = Shapes::new();
        let models = change.planned.get(GroupModel::models);
        let known = matches!(models, Value::Map(m) if m.values().all(|v| !v.is_unknown()));
        if !known {
            // A definition not known yet: neither is what the group will hold. The apply
            // plans the models again once they are known.
            for attribute in [
                GroupModel::builds,
                GroupModel::build_ids,
                GroupModel::data_test_status,
            ] {
                change.planned.set(attribute, Value::unknown());
            }
            return Ok(());
        }
        let stage = Stage::Plan(TYPE_NAME);
        let members = plan_members(client, &shapes, change.prior, &change.planned, stage).await?;
        // The same query laid out differently is the same model: keep the stored text, so
        // the plan shows no change.
        if !change.is_create()
            && change.changes(GroupModel::models)
            && same_meaning(&shapes, change.prior, &change.planned)
        {
            let kept = change.prior.get(GroupModel::models).clone();
            change.planned.set(GroupModel::models, kept);
        }
        summarize(&shapes, &mut change.planned, &members);
        Ok(())
    }

    async fn create(&self, client: &Client, planned: &Value) -> Result<Value, ApplyError> {
        apply::apply(client, &Value::Null, planned).await
    }

    /// Each model as the catalog has it (`refresh`).
    async fn read(&self, client: &Client, state: &Value) -> Result<Option<Value>, Diagnostics> {
        refresh::refresh(client, state).await.map(Some)
    }

    async fn update(
        &self,
        client: &Client,
        prior: &Value,
        planned: &Value,
    ) -> Result<Value, ApplyError> {
        apply::apply(client, prior, planned).await
    }

    /// Drops every model, readers first; one that cannot be dropped fails the destroy (the
    /// group stays in state with it, and the rest are gone).
    async fn delete(&self, client: &Client, state: &Value) -> Result<(), Diagnostics> {
        let models = stored_members(&Shapes::new(), state)?;
        let order = build_order(&models).unwrap_or_else(|_| models.keys().cloned().collect());
        let mut diags = Diagnostics::new();
        for key in order.iter().rev() {
            if models[key].get(ModelModel::build_id).is_null() {
                continue;
            }
            if let Err(d) = model::drop(client, &models[key]).await {
                diags.extend(within(key, d));
            }
        }
        if diags.has_errors() {
            Err(diags)
        } else {
            Ok(())
        }
    }

    async fn import(&self, _client: &Client, id: &str) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error(
            format!("{TYPE_NAME} cannot be imported ({id})"),
            "Import each table as an mdw_iceberg_model, or apply the group: its models adopt the tables their owner ids mark (the same as the mdw_iceberg_model of the same lineage, database and name).",
        )
        .into())
    }
}
