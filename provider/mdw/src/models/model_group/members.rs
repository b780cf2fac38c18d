//! A group's models between its Terraform values and the shape `models::model` works with:
//! each definition joined with the group's `lineage`, `test_run_trigger` and the upstream
//! builds it lists, and with what its builds left; the group's computed summaries from them.

use std::collections::BTreeMap;

use tfplugin::{Diagnostics, Value};

use super::definition::{AFTER, AFTER_BUILDS, CATALOG_VERSION, Members, READS, Shapes};
use super::schema::GroupModel;
use crate::models::model::ModelModel;

/// A model as configured: its definition with the group's `lineage` and `test_run_trigger`,
/// and the builds of the `upstream` keys it lists.
pub(super) fn configured(definition: &Value, group: &Value) -> Value {
    let mut member = definition.clone();
    let keys = definition.get(READS).string_list();
    let builds = group.get(GroupModel::upstream);
    let upstream = if keys.is_empty() {
        Value::Null
    } else if builds.is_unknown() {
        Value::unknown()
    } else {
        Value::Map(
            keys.into_iter()
                .map(|k| {
                    let build = builds.get(&k).clone();
                    (k, build)
                })
                .collect(),
        )
    };
    member.set(ModelModel::upstream, upstream);
    for attribute in [ModelModel::lineage, ModelModel::test_run_trigger] {
        member.set(attribute, group.get(attribute).clone());
    }
    member
}

/// The models of a group's state: each definition with what its builds left.
pub(super) fn stored_members(shapes: &Shapes, group: &Value) -> Result<Members, Diagnostics> {
    let mut members = Members::new();
    let mut diags = Diagnostics::new();
    let builds = group.get(GroupModel::builds);
    for (key, text) in definitions(group) {
        let definition = match shapes.definition(&key, &text) {
            Ok(d) => d,
            Err(d) => {
                diags.extend(d);
                continue;
            }
        };
        let mut member = configured(&definition, group);
        // No entry: nothing of it was built (a new model whose apply failed).
        if let Some(text) = builds.get(&key).as_str() {
            match shapes.built(&key, text) {
                Ok(Value::Map(built)) => {
                    for (name, value) in built {
                        member.set(&name, value);
                    }
                }
                Ok(_) => {}
                Err(d) => diags.extend(d),
            }
        }
        members.insert(key, member);
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(members)
    }
}

/// The known definitions of a group value by key (none when null or unknown).
pub(super) fn definitions(group: &Value) -> BTreeMap<String, String> {
    match group.get(GroupModel::models) {
        Value::Map(models) => models
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect(),
        _ => BTreeMap::new(),
    }
}

pub(super) fn relation(member: &Value) -> (String, String) {
    let text = |attribute| {
        member
            .get(attribute)
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
    };
    (text(ModelModel::database), text(ModelModel::name))
}

/// Sets the group's summaries from its models. Readers reference these rather than a model's
/// own values: Terraform analyses a reference into an attribute written in the configuration
/// by reading that attribute's whole expression — all of `models` — once per reference (to
/// report what contributed to a plan), which is quadratic in a large group; a computed
/// attribute has no expression to read.
pub(super) fn summarize(shapes: &Shapes, group: &mut Value, members: &Members) {
    let mut builds = BTreeMap::new();
    let mut build_ids = BTreeMap::new();
    let mut statuses = BTreeMap::new();
    for (key, member) in members {
        builds.insert(key.clone(), shapes.built_text(member));
        build_ids.insert(key.clone(), member.get(ModelModel::build_id).clone());
        let status = member.get(ModelModel::data_test_status);
        if let Value::Map(tests) = member.get(ModelModel::data_tests) {
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
    group.set(GroupModel::builds, Value::Map(builds));
    group.set(GroupModel::build_ids, Value::Map(build_ids));
    group.set(GroupModel::data_test_status, Value::Map(statuses));
}

/// A build of a model in this apply: the builds of the group's models it read (`after`), and
/// the table's version in the catalog the engine reported.
pub(super) struct Built<'a> {
    pub(super) parents: &'a Value,
    pub(super) version: Option<String>,
}

/// The model's state with what the group keeps beyond `mdw_iceberg_model`'s attributes:
/// `after` as planned, and from `built` (as before when it was not built) the builds it read
/// and its table's catalog version.
pub(super) fn with_group_state(
    mut state: Value,
    planned: &Value,
    built: Option<Built<'_>>,
) -> Value {
    state.set(AFTER, planned.get(AFTER).clone());
    let (after_builds, version) = match built {
        Some(built) => (built.parents.clone(), Value::opt_string(built.version)),
        None => (
            planned.get(AFTER_BUILDS).clone(),
            planned.get(CATALOG_VERSION).clone(),
        ),
    };
    state.set(AFTER_BUILDS, after_builds);
    state.set(CATALOG_VERSION, version);
    state
}
