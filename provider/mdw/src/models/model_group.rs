//! `mdw_model_group`: many dbt models in one resource (`mdwc compile --group-by`), each planned,
//! built, tested and dropped exactly as `mdw_iceberg_model` does its one (`models::model`).
//!
//! Why: Terraform's own time grows with the resources of a root and the size of their state
//! (bench/SCALE.md); a few resources holding hundreds of models each keep it small, while the
//! plan still shows each model's change (`models["x"]`). Inside a group, a model lists the
//! group's models it reads in `after` (a resource cannot reference itself): the plan rebuilds
//! it when one of them rebuilds, and apply builds the group's models in that order, up to
//! `parallelism` at once. A model that fails keeps its old table and holds back only the
//! models of the group that read it; the apply fails, and the state records what was built,
//! so the next apply does only what is left. Models removed from the group are dropped
//! (readers first) after the builds.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use async_trait::async_trait;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tfplugin::schema::AttributeKind;
use tfplugin::{
    ApplyError, AttributePath, Diagnostic, Diagnostics, Maybe, Model, PlanChange, Resource, Schema,
    Value,
};

use crate::client::Client;
use crate::models::model::{self, ModelModel};
use crate::models::model_tests;

pub(crate) struct ModelGroup;

const TYPE_NAME: &str = "mdw_model_group";
const DEFAULT_PARALLELISM: i64 = 4;

fn validate_parallelism(value: &Value) -> Result<(), String> {
    match value.as_i64() {
        Some(n) if !(1..=64).contains(&n) => {
            Err(format!("parallelism {n} is out of range: use 1 to 64."))
        }
        _ => Ok(()),
    }
}

tfplugin::model! {
    /// One model of a group: the attributes of `mdw_iceberg_model`, and the group's models it reads.
    pub(crate) struct Member {
        #[tf(flatten)]
        #[serde(flatten)]
        pub(crate) model: ModelModel,
        /// Keys of the models of this group this one reads: it builds after them, and again whenever one of them does.
        #[tf()]
        pub(crate) after: Option<Vec<String>>,
        /// The `build_id` of each `after` model this model was last built from: one that differs (a build of it that this model missed, say because it failed) rebuilds this model.
        #[tf(computed)]
        pub(crate) after_builds: Maybe<BTreeMap<String, String>>,
    }
}

tfplugin::model! {
    /// The attributes of `mdw_model_group`.
    pub(crate) struct GroupModel {
        /// The group's models by key (mdwc: the model's name), each with the attributes of `mdw_iceberg_model` and `after`.
        #[tf(required)]
        pub(crate) models: BTreeMap<String, Member>,
        /// How many of the group's models build at once.
        #[tf(default = DEFAULT_PARALLELISM, validate = validate_parallelism)]
        pub(crate) parallelism: Maybe<i64>,
        /// Each model's `build_id` by key: what readers of the group's models reference (`build_ids["stg_orders"]`), unknown in a plan for exactly the models that build.
        #[tf(computed)]
        pub(crate) build_ids: Maybe<BTreeMap<String, String>>,
        /// Each data test of the group's models by test name: `pass`, `warn`, `fail` or `error`.
        #[tf(computed)]
        pub(crate) data_test_status: Maybe<BTreeMap<String, String>>,
    }
}

/// Sets the group's summaries from its models. Readers reference these rather than
/// `models["x"].build_id`: Terraform analyses a reference into an attribute written in the
/// configuration by reading that attribute's whole expression — all of `models` — once per
/// reference (to report what contributed to a plan), which is quadratic in a large group; a
/// computed attribute has no expression to read.
fn summarize(group: &mut Value) {
    let models = members(group);
    let mut builds = BTreeMap::new();
    let mut statuses = BTreeMap::new();
    for (key, model) in &models {
        builds.insert(key.clone(), model.get(ModelModel::build_id).clone());
        let status = model.get(ModelModel::data_test_status);
        if let Value::Map(tests) = model.get(ModelModel::data_tests) {
            for name in tests.keys() {
                let verdict = if status.is_unknown() {
                    Value::unknown()
                } else {
                    status.get(name).clone()
                };
                statuses.insert(name.clone(), verdict);
            }
        }
    }
    group.set(GroupModel::build_ids, Value::Map(builds));
    group.set(GroupModel::data_test_status, Value::Map(statuses));
}

fn schema() -> Schema {
    let mut attributes = GroupModel::attributes();
    // Inside a group a model that changes table is built anew there and its old table dropped
    // by the group's apply: nothing replaces the group.
    for attribute in &mut attributes {
        if let AttributeKind::Nested(_, inner) = &mut attribute.kind {
            for inner in inner.iter_mut() {
                inner.requires_replace = false;
            }
        }
    }
    Schema::new(
        "Many dbt models in one resource, each built, tested and dropped as mdw_iceberg_model \
         does its one, in the order they read each other: what `mdwc compile --group-by` emits \
         for projects of thousands of models.",
        attributes,
    )
}

/// A diagnostic of one model, pointed inside the group: `models["key"].…`.
fn within(key: &str, diags: Diagnostics) -> Diagnostics {
    Diagnostics(
        diags
            .0
            .into_iter()
            .map(|d| {
                let mut path = AttributePath::root(GroupModel::models).key(key);
                if let Some(inner) = &d.path {
                    path.0.extend(inner.0.iter().cloned());
                }
                let summary = format!("{} (model {key})", d.summary);
                Diagnostic { summary, ..d }.at(path)
            })
            .collect(),
    )
}

/// The models of a group value by key (none when null or unknown).
fn members(value: &Value) -> BTreeMap<String, Value> {
    match value.get(GroupModel::models) {
        Value::Map(models) => models.clone(),
        _ => BTreeMap::new(),
    }
}

fn after(member: &Value) -> Vec<String> {
    member.get(Member::after).string_list()
}

fn relation(member: &Value) -> (String, String) {
    let text = |attribute| {
        member
            .get(attribute)
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
    };
    (text(ModelModel::database), text(ModelModel::name))
}

/// The keys in an order where every model comes after the ones it reads; an `after` naming no
/// model of the group, or a cycle, is an error at that model.
fn build_order(models: &BTreeMap<String, Value>) -> Result<Vec<String>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut readers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut waiting: BTreeMap<&str, usize> = BTreeMap::new();
    for (key, member) in models {
        let parents = after(member);
        for parent in &parents {
            if let Some((parent, _)) = models.get_key_value(parent) {
                readers.entry(parent.as_str()).or_default().push(key);
            } else {
                diags.push(
                    Diagnostic::error(
                        format!("Model {key} reads {parent:?}, which is not in this group"),
                        "`after` lists keys of this group's models; a model of another resource is read through `upstream`.",
                    )
                    .at(AttributePath::root(GroupModel::models).key(key).attribute(Member::after)),
                );
            }
        }
        let known = parents.iter().filter(|p| models.contains_key(*p)).count();
        waiting.insert(key, known);
    }
    let mut ready: VecDeque<&str> = waiting
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(k, _)| *k)
        .collect();
    let mut order = Vec::new();
    while let Some(key) = ready.pop_front() {
        order.push(key.to_string());
        for reader in readers.get(key).into_iter().flatten() {
            if let Some(n) = waiting.get_mut(reader) {
                *n -= 1;
                if *n == 0 {
                    ready.push_back(reader);
                }
            }
        }
    }
    if order.len() < models.len() && !diags.has_errors() {
        let stuck: Vec<&str> = waiting
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, _)| *k)
            .collect();
        diags.push(
            Diagnostic::error(
                "The group's models read each other in a cycle",
                format!(
                    "These models wait for each other through `after`: {}. A model cannot read itself through others.",
                    stuck.join(", ")
                ),
            )
            .at_attribute(GroupModel::models),
        );
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(order)
    }
}

/// What became of one model in an apply.
enum Outcome {
    /// Built and tested, or nothing to do: its new state.
    Done(Value),
    /// Failed (its build, or an error-severity test): its state to keep, and why.
    Failed(Option<Value>, Diagnostics),
    /// Not attempted, because a model it reads failed: its prior state.
    Skipped,
}

impl Outcome {
    fn succeeded(&self) -> bool {
        matches!(self, Outcome::Done(_))
    }
}

/// The element's state: the model's, and what the model's own attributes do not include —
/// `after` as planned, and the builds of those models it was built from (`built_from`; as
/// before when it was not built).
fn with_after(mut state: Value, planned: &Value, built_from: Option<&Value>) -> Value {
    state.set(Member::after, planned.get(Member::after).clone());
    let after_builds = match built_from {
        Some(builds) => builds.clone(),
        None => planned.get(Member::after_builds).clone(),
    };
    state.set(Member::after_builds, after_builds);
    state
}

/// Applies one model of the group, as `mdw_iceberg_model` applies its one; `parents` are the
/// current build ids of the group's models it reads.
async fn apply_member(
    client: &Client,
    key: String,
    prior: Value,
    planned: Value,
    parents: Value,
) -> (String, Outcome) {
    let builds = model::builds(&planned);
    let built_from = builds.then_some(&parents);
    let outcome = match model::apply(client, &prior, &planned).await {
        Ok(tested) if !tested.failures.has_errors() => {
            Outcome::Done(with_after(tested.state, &planned, built_from))
        }
        // The model was built, a test failed: record the build and the verdicts (the next
        // plan runs only the tests), and hold back what reads it.
        Ok(tested) => Outcome::Failed(
            Some(with_after(tested.state, &planned, built_from)),
            within(&key, tested.failures),
        ),
        Err(e) => Outcome::Failed(None, within(&key, e.diagnostics)),
    };
    (key, outcome)
}

impl ModelGroup {
    /// Builds and tests the planned models (`prior` null on create) in build order, then
    /// drops the models no longer in the group.
    async fn apply(
        &self,
        client: &Client,
        prior: &Value,
        planned: &Value,
    ) -> Result<Value, ApplyError> {
        let planned_models = members(planned);
        let prior_models = members(prior);
        let parallelism = planned
            .get(GroupModel::parallelism)
            .as_i64()
            .unwrap_or(DEFAULT_PARALLELISM)
            .clamp(1, 64) as usize;
        let order = build_order(&planned_models)?;

        let mut done: BTreeMap<String, Outcome> = BTreeMap::new();
        let mut pending: VecDeque<String> = order.into();
        let mut running = FuturesUnordered::new();
        loop {
            let mut i = 0;
            while i < pending.len() && running.len() < parallelism {
                let key = &pending[i];
                let member = &planned_models[key];
                let parents = after(member);
                if !parents.iter().all(|p| done.contains_key(p)) {
                    i += 1;
                    continue;
                }
                let key = pending.remove(i).unwrap_or_default();
                if parents.iter().any(|p| !done[p].succeeded()) {
                    done.insert(key, Outcome::Skipped);
                    continue;
                }
                if member.is_wholly_known() {
                    // Nothing to build or test: the plan is the state.
                    done.insert(key, Outcome::Done(member.clone()));
                    continue;
                }
                let prior_member = prior_models
                    .get(&key)
                    .filter(|p| relation(p) == relation(member))
                    .cloned()
                    .unwrap_or(Value::Null);
                let parent_builds = Value::object(parents.iter().map(|p| {
                    let build = match &done[p] {
                        Outcome::Done(state) => state.get(ModelModel::build_id).clone(),
                        _ => Value::Null,
                    };
                    (p.clone(), build)
                }));
                running.push(apply_member(
                    client,
                    key,
                    prior_member,
                    member.clone(),
                    parent_builds,
                ));
            }
            match running.next().await {
                Some((key, outcome)) => {
                    done.insert(key, outcome);
                }
                None => break,
            }
        }

        let mut errors = Diagnostics::new();
        let mut state_models: BTreeMap<String, Value> = BTreeMap::new();
        let mut held_back = Vec::new();
        for (key, outcome) in done {
            let kept = match outcome {
                Outcome::Done(state) => Some(state),
                Outcome::Failed(state, diags) => {
                    errors.extend(diags);
                    state.or_else(|| prior_models.get(&key).cloned())
                }
                Outcome::Skipped => {
                    held_back.push(key.clone());
                    prior_models.get(&key).cloned()
                }
            };
            if let Some(state) = kept {
                state_models.insert(key, state);
            }
        }
        if !held_back.is_empty() {
            errors.push(Diagnostic::error(
                format!("{} model(s) of the group not built", held_back.len()),
                format!(
                    "They read a model that failed above, and keep their previous tables: {}. Fix the failure and apply again.",
                    held_back.join(", ")
                ),
            ));
        }

        // Models gone from the group, and the old relation of a model that moved: dropped once
        // the builds are done, readers first.
        let prior_order =
            build_order(&prior_models).unwrap_or_else(|_| prior_models.keys().cloned().collect());
        for key in prior_order.iter().rev() {
            let prior_member = &prior_models[key];
            let moved = planned_models
                .get(key)
                .is_some_and(|p| relation(p) != relation(prior_member));
            if planned_models.contains_key(key) && !moved {
                continue;
            }
            if let Err(diags) = model::drop(client, prior_member).await {
                errors.extend(within(key, diags));
                if !moved {
                    // Still there: keep it in state, so the next apply drops it.
                    state_models.insert(key.clone(), prior_member.clone());
                }
            }
        }

        let mut state = planned.clone();
        state.set(GroupModel::models, Value::Map(state_models));
        summarize(&mut state);
        if !errors.has_errors() {
            return Ok(state);
        }
        let error = ApplyError::from(errors);
        // A failed create records nothing: Terraform would taint the group and replace it —
        // dropping every table it built — where the retried create finds its own tables by
        // their owner ids (a group's models have a lineage) and builds them again in place.
        if prior.is_null() {
            return Err(error);
        }
        Err(error.with_partial_state(state))
    }
}

#[async_trait]
impl Resource<Client> for ModelGroup {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let models = members(config);
        for (key, member) in &models {
            let mut own = model::cross_checks(member);
            model_tests::validate(ModelModel::data_tests, member, &mut own);
            if member.get(ModelModel::lineage).is_null() {
                own.push(
                    Diagnostic::error(
                        "A group's model needs a lineage",
                        "Set lineage = mdw_lineage.this.id (mdwc does): a create that fails part way records nothing, and the retry finds the tables it built by their owner ids, which the lineage makes known before the first build.",
                    )
                    .at_attribute(ModelModel::lineage),
                );
            }
            diags.extend(within(key, own));
        }
        let mut relations: BTreeMap<(String, String), &str> = BTreeMap::new();
        for (key, member) in &models {
            let relation = relation(member);
            if relation.0.is_empty() || relation.1.is_empty() {
                continue;
            }
            if let Some(other) = relations.insert(relation.clone(), key) {
                diags.push(
                    Diagnostic::error(
                        format!("Models {other} and {key} build the same table"),
                        format!(
                            "Both build {}.{}; give one another name or database.",
                            relation.0, relation.1
                        ),
                    )
                    .at(AttributePath::root(GroupModel::models)
                        .key(key)
                        .attribute(ModelModel::name)),
                );
            }
        }
        if models.values().all(|m| !m.get(Member::after).is_unknown())
            && let Err(order) = build_order(&models)
        {
            diags.extend(order);
        }
        diags
    }

    async fn plan(&self, client: &Client, change: &mut PlanChange<'_>) -> Result<(), Diagnostics> {
        let Value::Map(planned_models) = change.planned.get(GroupModel::models).clone() else {
            // Not known yet: neither are the summaries.
            change.planned.set(GroupModel::build_ids, Value::unknown());
            change
                .planned
                .set(GroupModel::data_test_status, Value::unknown());
            return Ok(());
        };
        let prior_models = members(change.prior);
        let config_models = members(change.config);
        let order = build_order(&planned_models)?;
        let mut rebuilt: BTreeSet<String> = BTreeSet::new();
        let mut diags = Diagnostics::new();
        let mut planned_out = BTreeMap::new();
        for key in order {
            let planned_member = planned_models[&key].clone();
            // A model that now builds another table is a new model there; its old table is
            // dropped at apply once the new one is built.
            let prior_member = prior_models
                .get(&key)
                .filter(|p| relation(p) == relation(&planned_member))
                .cloned()
                .unwrap_or(Value::Null);
            let config_member = config_models.get(&key).cloned().unwrap_or(Value::Null);
            // Rebuilt with a model it reads, or built from another build of one than that
            // model has now (it missed a build, say because it failed then).
            let parents = after(&planned_member);
            let built_from = prior_member.get(Member::after_builds);
            let forced = parents.iter().any(|p| {
                rebuilt.contains(p)
                    || planned_out
                        .get(p)
                        .map(|m: &Value| m.get(ModelModel::build_id))
                        != Some(built_from.get(p))
            });
            let mut member_change = PlanChange {
                prior: &prior_member,
                config: &config_member,
                planned: planned_member,
                requires_replace: Vec::new(),
            };
            if let Err(d) = model::plan(client, &mut member_change, TYPE_NAME, forced).await {
                diags.extend(within(&key, d));
            }
            if model::builds(&member_change.planned) {
                rebuilt.insert(key.clone());
                member_change
                    .planned
                    .set(Member::after_builds, Value::unknown());
            }
            planned_out.insert(key, member_change.planned);
        }
        if diags.has_errors() {
            return Err(diags);
        }
        change
            .planned
            .set(GroupModel::models, Value::Map(planned_out));
        summarize(&mut change.planned);
        Ok(())
    }

    async fn create(&self, client: &Client, planned: &Value) -> Result<Value, ApplyError> {
        self.apply(client, &Value::Null, planned).await
    }

    /// Each model as the catalog has it; one whose relation is gone or is not its own any more
    /// gets a null `build_id`, which plans its build (that refuses another owner's relation).
    async fn read(&self, client: &Client, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let models = members(state);
        let parallelism = state
            .get(GroupModel::parallelism)
            .as_i64()
            .unwrap_or(DEFAULT_PARALLELISM)
            .clamp(1, 64) as usize;
        let reads =
            futures_util::stream::iter(models.into_iter().map(|(key, member)| async move {
                let read = model::read(client, &member).await;
                (key, member, read)
            }))
            .buffer_unordered(parallelism)
            .collect::<Vec<_>>()
            .await;
        let mut refreshed = BTreeMap::new();
        let mut diags = Diagnostics::new();
        for (key, member, read) in reads {
            let value = match read {
                Ok(Some(current)) => with_after(current, &member, None),
                Ok(None) => {
                    let mut gone = member;
                    gone.set(ModelModel::build_id, Value::Null);
                    gone
                }
                Err(d) => {
                    diags.extend(within(&key, d));
                    member
                }
            };
            refreshed.insert(key, value);
        }
        if diags.has_errors() {
            return Err(diags);
        }
        let mut state = state.clone();
        state.set(GroupModel::models, Value::Map(refreshed));
        summarize(&mut state);
        Ok(Some(state))
    }

    async fn update(
        &self,
        client: &Client,
        prior: &Value,
        planned: &Value,
    ) -> Result<Value, ApplyError> {
        self.apply(client, prior, planned).await
    }

    /// Drops every model, readers first; one that cannot be dropped fails the destroy (the
    /// group stays in state with it, and the rest are gone).
    async fn delete(&self, client: &Client, state: &Value) -> Result<(), Diagnostics> {
        let models = members(state);
        let order = build_order(&models).unwrap_or_else(|_| models.keys().cloned().collect());
        let mut diags = Diagnostics::new();
        for key in order.iter().rev() {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn member(after: &[&str]) -> Value {
        Value::object([(
            Member::after,
            Value::from(after.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        )])
    }

    fn group(members: &[(&str, &[&str])]) -> BTreeMap<String, Value> {
        members
            .iter()
            .map(|(key, after)| (key.to_string(), member(after)))
            .collect()
    }

    #[test]
    fn models_build_after_the_ones_they_read() {
        let order = build_order(&group(&[
            ("c", &["b"]),
            ("b", &["a"]),
            ("a", &[]),
            ("d", &["a"]),
        ]))
        .unwrap_or_default();
        let position = |k: &str| order.iter().position(|o| o == k).unwrap_or(usize::MAX);
        assert!(position("a") < position("b") && position("b") < position("c"));
        assert!(position("a") < position("d"));
        assert_eq!(order.len(), 4);
    }

    #[test]
    fn a_cycle_or_an_unknown_key_is_an_error() {
        assert!(build_order(&group(&[("a", &["b"]), ("b", &["a"])])).is_err());
        assert!(build_order(&group(&[("a", &["z"])])).is_err());
    }
}
