//! A model of a group as JSON: its definition in `models` (the keys it takes, read with
//! `mdw_iceberg_model`'s validators and defaults, a misspelt key refused) and what its builds
//! left in `builds`; diagnostics pointed at the model.

use std::collections::BTreeMap;

use tfplugin::schema::AttributeKind;
use tfplugin::value::{from_json, to_json_text};
use tfplugin::{
    Attribute, AttributePath, Diagnostic, Diagnostics, Model, Nesting, Schema, Type, Value,
};

use super::schema::GroupModel;
use crate::models::model::ModelModel;

/// In a model's definition: the keys of the group's `upstream` it reads.
pub(super) const READS: &str = "upstream";
/// In a model's definition: the keys of the group's models it reads.
pub(super) const AFTER: &str = "after";
/// In a model's state: the `build_id` of each `after` model it was last built from — one that
/// differs (a build of it this model missed, say because it failed) rebuilds this model.
pub(super) const AFTER_BUILDS: &str = "after_builds";
/// In a model's state: its table's version in the catalog as of its build or last refresh
/// (`Engine::relation_versions`): a refresh that lists the same version does not read the table.
pub(super) const CATALOG_VERSION: &str = "catalog_version";
/// The attributes of `mdw_iceberg_model` a group sets for all its models.
pub(super) const FROM_GROUP: [&str; 3] = [
    ModelModel::lineage,
    ModelModel::upstream,
    ModelModel::test_run_trigger,
];

/// The keys a model's definition takes: `mdw_iceberg_model`'s arguments but the group's, with
/// `upstream` as a list of keys and `after`.
pub(crate) fn definition_attributes() -> Vec<Attribute> {
    let mut attributes: Vec<Attribute> = ModelModel::attributes()
        .into_iter()
        .filter(|a| (a.required || a.optional) && !FROM_GROUP.contains(&a.name.as_str()))
        // A model that changes table is built anew there and its old table dropped by the
        // group's apply: nothing replaces the group.
        .map(|a| Attribute {
            requires_replace: false,
            ..a
        })
        .collect();
    attributes.push(Attribute::string_list(READS).describe(
        "Keys of the group's `upstream` this model reads: a change of one of those builds rebuilds it.",
    ));
    attributes.push(Attribute::string_list(AFTER).describe(
        "Keys of the models of this group this one reads: it builds after them, and again whenever one of them does.",
    ));
    attributes
}

/// How the group reads and writes its models' JSON.
pub(super) struct Shapes {
    /// A model's definition: validators and defaults as in `mdw_iceberg_model`.
    pub(super) definition: Schema,
    /// What a model's `builds` entry holds.
    pub(super) built: Type,
}

impl Shapes {
    pub(super) fn new() -> Shapes {
        let mut built: BTreeMap<String, Type> = ModelModel::attributes()
            .iter()
            .filter(|a| !(a.required || a.optional) || FROM_GROUP.contains(&a.name.as_str()))
            .map(|a| (a.name.clone(), a.ty()))
            .collect();
        built.insert(AFTER_BUILDS.to_string(), Type::map(Type::String));
        built.insert(CATALOG_VERSION.to_string(), Type::String);
        Shapes {
            definition: Schema::new("A model of mdw_model_group", definition_attributes()),
            built: Type::Object(built),
        }
    }

    /// A model's definition from its JSON, with defaults; an error at `models["key"]` when it
    /// is not JSON of a definition (a key it does not take is refused, not dropped).
    pub(super) fn definition(&self, key: &str, text: &str) -> Result<Value, Diagnostics> {
        let json: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            within(
                key,
                Diagnostic::error(
                    "A model's definition is not JSON",
                    format!("{e}. Each element of models is the JSON of an object: write jsonencode({{ database = …, name = …, sql = … }})."),
                )
                .into(),
            )
        })?;
        let mut diags = Diagnostics::new();
        unsupported_keys(
            &self.definition.attributes,
            &json,
            &AttributePath::default(),
            &mut diags,
        );
        if diags.has_errors() {
            return Err(within(key, diags));
        }
        let value = from_json(&self.definition.ty(), text.as_bytes()).map_err(|e| {
            within(
                key,
                Diagnostic::error(
                    "Invalid model definition",
                    format!("{e}. The keys take the types of mdw_iceberg_model's arguments."),
                )
                .into(),
            )
        })?;
        Ok(tfplugin::plan::plan_new_state(
            &self.definition,
            &Value::Null,
            &value,
            &value,
        ))
    }

    /// A model's `builds` entry as the attributes it holds.
    pub(super) fn built(&self, key: &str, text: &str) -> Result<Value, Diagnostics> {
        from_json(&self.built, text.as_bytes()).map_err(|e| {
            within(
                key,
                Diagnostic::error(
                    "Cannot read the model's stored state",
                    format!("{e}. The state may have been edited by hand."),
                )
                .into(),
            )
        })
    }

    /// A model's `builds` entry: its state's attributes that are not in its definition, as
    /// JSON (nulls left out), or unknown while any of them is.
    pub(super) fn built_text(&self, member: &Value) -> Value {
        let Type::Object(attributes) = &self.built else {
            return Value::Null;
        };
        let built = Value::Map(
            attributes
                .keys()
                .map(|name| (name.clone(), member.get(name).clone()))
                .filter(|(_, v)| !v.is_null())
                .collect(),
        );
        to_json_text(&built).map_or_else(Value::unknown, Value::from)
    }
}

/// Keys of a definition (or of an object inside it) that are not attributes: Terraform's JSON
/// decoding would drop them without a word.
fn unsupported_keys(
    attributes: &[Attribute],
    json: &serde_json::Value,
    at: &AttributePath,
    diags: &mut Diagnostics,
) {
    let Some(object) = json.as_object() else {
        return;
    };
    let names: Vec<&str> = attributes.iter().map(|a| a.name.as_str()).collect();
    for (key, value) in object {
        let Some(attribute) = attributes.iter().find(|a| a.name == *key) else {
            let path = at.clone().attribute(key);
            diags.push(
                Diagnostic::error(
                    format!("Unsupported key {key:?}"),
                    format!(
                        "A model's definition takes {}; check the spelling ({path}).",
                        tfplugin::validators::quoted_list(&names)
                    ),
                )
                .at(path),
            );
            continue;
        };
        let path = at.clone().attribute(key);
        match &attribute.kind {
            AttributeKind::Nested(Nesting::Single | Nesting::Keyed, inner) => {
                unsupported_keys(inner, value, &path, diags)
            }
            AttributeKind::Nested(Nesting::Map, inner) => {
                for (k, element) in value.as_object().into_iter().flatten() {
                    unsupported_keys(inner, element, &path.clone().key(k), diags);
                }
            }
            AttributeKind::Nested(Nesting::List | Nesting::Set, inner) => {
                for (i, element) in value.as_array().into_iter().flatten().enumerate() {
                    unsupported_keys(inner, element, &path.clone().index(i as i64), diags);
                }
            }
            AttributeKind::Typed(_) => {}
        }
    }
}

/// Diagnostics of one model, pointed at its element: `models["key"]`, with the place inside
/// its definition in the summary (Terraform's paths end at the string).
pub(super) fn within(key: &str, diags: Diagnostics) -> Diagnostics {
    Diagnostics(
        diags
            .0
            .into_iter()
            .map(|d| {
                let summary = match &d.path {
                    Some(inner) if !inner.0.is_empty() => {
                        format!("{} (model {key}, at {inner})", d.summary)
                    }
                    _ => format!("{} (model {key})", d.summary),
                };
                let path = AttributePath::root(GroupModel::models).key(key);
                Diagnostic { summary, ..d }.at(path)
            })
            .collect(),
    )
}

/// The group's models in the shape `models::model` works with — `mdw_iceberg_model`'s
/// attributes, with `after` and `after_builds` — by key.
pub(super) type Members = BTreeMap<String, Value>;

/// The keys of the group's models a model reads.
pub(super) fn after(member: &Value) -> Vec<String> {
    member.get(AFTER).string_list()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_definition_is_read_with_defaults_and_a_misspelt_key_refused() {
        let shapes = Shapes::new();
        let definition = shapes
            .definition(
                "m",
                r#"{"database":"mdw","name":"m","sql":"select 1","upstream":["seed.s"],"data_tests":{"t":{"sql":"select 1 where false"}}}"#,
            )
            .unwrap_or_default();
        assert_eq!(
            definition.get(ModelModel::materialized).as_str(),
            Some("table")
        );
        assert_eq!(definition.get(READS).string_list(), vec!["seed.s"]);
        let misspelt = shapes.definition(
            "m",
            r#"{"database":"mdw","name":"m","sql":"select 1","data_tests":{"t":{"sql":"x","severty":"warn"}}}"#,
        );
        let Err(diags) = misspelt else {
            panic!("a misspelt key was accepted");
        };
        let text = format!("{diags:?}");
        assert!(
            text.contains("severty") && text.contains("model m"),
            "{text}"
        );
        assert!(shapes.definition("m", "{not json").is_err());
        // Lineage and upstream builds are the group's, not a model's.
        assert!(
            shapes
                .definition(
                    "m",
                    r#"{"database":"d","name":"m","sql":"s","lineage":"x"}"#
                )
                .is_err()
        );
    }

    #[test]
    fn a_models_state_round_trips_through_its_json() {
        let shapes = Shapes::new();
        let mut member = Value::object([
            (ModelModel::database, Value::from("mdw")),
            (ModelModel::build_id, Value::from("b1")),
            (ModelModel::lineage, Value::from("l")),
            (
                ModelModel::upstream,
                Value::Map(BTreeMap::from([("seed.s".to_string(), Value::from("x"))])),
            ),
        ]);
        let text = shapes.built_text(&member);
        let Some(text) = text.as_str() else {
            panic!("a known state encodes");
        };
        assert!(
            !text.contains("mdw"),
            "the definition is not repeated: {text}"
        );
        let back = shapes.built("m", text).unwrap_or_default();
        assert_eq!(back.get(ModelModel::build_id).as_str(), Some("b1"));
        assert_eq!(back.get(ModelModel::upstream).string_map().len(), 1);
        member.set(ModelModel::build_id, Value::unknown());
        assert!(shapes.built_text(&member).is_unknown());
    }
}
