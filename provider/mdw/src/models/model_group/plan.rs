//! Planning a group's models: each as `mdw_iceberg_model` plans its one, in build order, a
//! model rebuilt when one of the group's models it reads is.

use std::collections::BTreeSet;

use tfplugin::{Diagnostics, PlanChange, Type, Value};

use super::definition::{
    AFTER_BUILDS, CATALOG_VERSION, FROM_GROUP, Members, Shapes, after, within,
};
use super::members::{configured, definitions, relation, stored_members};
use super::order::build_order;
use crate::client::Client;
use crate::models::model::{self, ModelModel, Stage};
use crate::models::sql_text;

/// Plans every model of `group` (the configuration at plan, the planned value at apply)
/// against the prior state, in build order: the planned model values by key.
pub(super) async fn plan_members(
    client: &Client,
    shapes: &Shapes,
    prior_group: &Value,
    group: &Value,
    stage: Stage,
) -> Result<Members, Diagnostics> {
    let prior_members = stored_members(shapes, prior_group)?;
    let mut configured_members = Members::new();
    let mut diags = Diagnostics::new();
    for (key, text) in definitions(group) {
        match shapes.definition(&key, &text) {
            Ok(definition) => {
                configured_members.insert(key, configured(&definition, group));
            }
            Err(d) => diags.extend(d),
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    let order = build_order(&configured_members)?;
    let mut rebuilt: BTreeSet<String> = BTreeSet::new();
    let mut planned_members = Members::new();
    for key in order {
        let config_member = configured_members[&key].clone();
        // A model that now builds another table is a new model there; its old table is
        // dropped at apply once the new one is built.
        let prior_member = prior_members
            .get(&key)
            .filter(|p| relation(p) == relation(&config_member))
            .cloned()
            .unwrap_or(Value::Null);
        // Computed values stay as they were; a new model's are known after apply.
        let mut planned_member = config_member.clone();
        if let Type::Object(attributes) = &shapes.built {
            for name in attributes.keys() {
                if planned_member.get(name).is_null() && !FROM_GROUP.contains(&name.as_str()) {
                    let value = if prior_member.is_null() {
                        Value::unknown()
                    } else {
                        prior_member.get(name).clone()
                    };
                    planned_member.set(name, value);
                }
            }
        }
        // Rebuilt with a model it reads, or built from another build of one than that
        // model has now (it missed a build, say because it failed then).
        let parents = after(&config_member);
        let built_from = prior_member.get(AFTER_BUILDS);
        let forced = parents.iter().any(|p| {
            rebuilt.contains(p)
                || planned_members
                    .get(p)
                    .map(|m: &Value| m.get(ModelModel::build_id))
                    != Some(built_from.get(p))
        });
        let mut change = PlanChange {
            prior: &prior_member,
            config: &config_member,
            planned: planned_member,
            requires_replace: Vec::new(),
        };
        if let Err(d) = model::plan(client, &mut change, stage, forced).await {
            diags.extend(within(&key, d));
        }
        if model::builds(&change.planned) {
            rebuilt.insert(key.clone());
            change.planned.set(AFTER_BUILDS, Value::unknown());
            change.planned.set(CATALOG_VERSION, Value::unknown());
        }
        planned_members.insert(key, change.planned);
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(planned_members)
    }
}

/// Whether two sets of definitions mean the same: the same models, differing at most in the
/// layout of their SQL (comments, whitespace), which rebuilds nothing.
pub(super) fn same_meaning(shapes: &Shapes, prior: &Value, config: &Value) -> bool {
    let (prior, config) = (definitions(prior), definitions(config));
    if prior.len() != config.len() {
        return false;
    }
    let normalized = |key: &str, text: &str| {
        let mut definition = shapes.definition(key, text).ok()?;
        for attribute in [ModelModel::sql, ModelModel::incremental_sql] {
            if let Some(sql) = definition.get(attribute).as_str() {
                let sql = sql_text::normalize(sql);
                definition.set(attribute, sql);
            }
        }
        Some(definition)
    };
    prior.iter().all(|(key, a)| {
        config.get(key).is_some_and(|b| {
            if a == b {
                return true;
            }
            let before = normalized(key, a);
            before.is_some() && before == normalized(key, b)
        })
    })
}
