//! Applying a group: its models built and tested in build order, up to `parallelism` at once,
//! a failure holding back only the group's readers of the failed model; then the models that
//! left the group dropped, readers first. The state records what was built.

use std::collections::{BTreeMap, VecDeque};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tfplugin::{ApplyError, Diagnostic, Diagnostics, Value};

use super::definition::{Members, Shapes, after, within};
use super::members::{Built, definitions, relation, stored_members, summarize, with_group_state};
use super::order::build_order;
use super::plan::plan_members;
use super::schema::{DEFAULT_PARALLELISM, GroupModel};
use crate::client::Client;
use crate::models::model::{self, ModelModel, Stage};

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
    let outcome = match model::apply(client, &prior, &planned).await {
        Ok(tested) => {
            let built = builds.then_some(Built {
                parents: &parents,
                version: tested.version,
            });
            let state = with_group_state(tested.state, &planned, built);
            if tested.failures.has_errors() {
                // The model was built, a test failed: record the build and the verdicts (the
                // next plan runs only the tests), and hold back what reads it.
                Outcome::Failed(Some(state), within(&key, tested.failures))
            } else {
                Outcome::Done(state)
            }
        }
        Err(e) => Outcome::Failed(None, within(&key, e.diagnostics)),
    };
    (key, outcome)
}

/// Builds and tests the planned models (`prior` null on create) in build order, then
/// drops the models no longer in the group.
pub(super) async fn apply(
    client: &Client,
    prior: &Value,
    planned: &Value,
) -> Result<Value, ApplyError> {
    let shapes = Shapes::new();
    let planned_models = plan_members(client, &shapes, prior, planned, Stage::Apply).await?;
    let prior_models = stored_members(&shapes, prior)?;
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

    // The state holds, per model, the definition it was built from: the planned one, or
    // the prior one for a model that was not built (failed or held back).
    let planned_definitions = definitions(planned);
    let prior_definitions = definitions(prior);
    let mut errors = Diagnostics::new();
    let mut state_models = Members::new();
    let mut state_definitions = BTreeMap::new();
    let mut held_back = Vec::new();
    for (key, outcome) in done {
        let kept = match outcome {
            Outcome::Done(state) => Some((state, &planned_definitions)),
            Outcome::Failed(Some(state), diags) => {
                errors.extend(diags);
                Some((state, &planned_definitions))
            }
            Outcome::Failed(None, diags) => {
                errors.extend(diags);
                prior_models
                    .get(&key)
                    .map(|p| (p.clone(), &prior_definitions))
            }
            Outcome::Skipped => {
                held_back.push(key.clone());
                prior_models
                    .get(&key)
                    .map(|p| (p.clone(), &prior_definitions))
            }
        };
        if let Some((state, texts)) = kept
            && let Some(text) = texts.get(&key)
        {
            state_definitions.insert(key.clone(), Value::from(text.as_str()));
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
            if !moved && let Some(text) = prior_definitions.get(key) {
                // Still there: keep it in state, so the next apply drops it.
                state_definitions.insert(key.clone(), Value::from(text.as_str()));
                state_models.insert(key.clone(), prior_member.clone());
            }
        }
    }

    let mut state = planned.clone();
    state.set(GroupModel::models, Value::Map(state_definitions));
    summarize(&shapes, &mut state, &state_models);
    if !errors.has_errors() {
        return Ok(state);
    }
    let error = ApplyError::from(errors);
    // A failed create records nothing: Terraform would taint the group and replace it —
    // dropping every table it built — where the retried create finds its own tables by
    // their owner ids (the group's lineage) and builds them again in place.
    if prior.is_null() {
        return Err(error);
    }
    Err(error.with_partial_state(state))
}
