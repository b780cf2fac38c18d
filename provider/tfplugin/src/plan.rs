//! The protocol's plan and apply rules, implemented once: Terraform rejects a provider that breaks
//! them ("Provider produced invalid plan" / "inconsistent result after apply").

use crate::diag::{AttributePath, Diagnostic, Diagnostics};
use crate::schema::{Attribute, AttributeKind, Nesting, Schema};
use crate::value::Value;

/// The planned state for a create (`prior` null) or update, before the resource's own `plan`:
/// - an attribute the configuration sets is planned as configured;
/// - a computed attribute the configuration leaves out gets its default, else keeps its prior
///   value on update, else is unknown ("known after apply") on create.
pub fn plan_new_state(schema: &Schema, prior: &Value, config: &Value, proposed: &Value) -> Value {
    plan_attributes(&schema.attributes, prior, config, proposed)
}

fn plan_attributes(attrs: &[Attribute], prior: &Value, config: &Value, proposed: &Value) -> Value {
    let mut planned = match proposed {
        Value::Map(_) => proposed.clone(),
        _ => Value::Map(Default::default()),
    };
    for attr in attrs {
        let configured = config.get(&attr.name);
        let value = if configured.is_null() {
            if !attr.computed {
                Value::Null
            } else if let Some(default) = &attr.default {
                default.clone()
            } else if prior.is_null() {
                Value::unknown()
            } else {
                prior.get(&attr.name).clone()
            }
        } else {
            match &attr.kind {
                // Inside a nested object, the same rules apply attribute by attribute.
                AttributeKind::Nested(Nesting::Single, inner)
                    if configured.is_wholly_known() || matches!(configured, Value::Map(_)) =>
                {
                    plan_attributes(
                        inner,
                        prior.get(&attr.name),
                        configured,
                        proposed.get(&attr.name),
                    )
                }
                // A map of objects: each element by the same rules, against the prior element
                // of the same key (a new key has none).
                AttributeKind::Nested(Nesting::Map, inner) => match configured {
                    Value::Map(elements) => Value::Map(
                        elements
                            .iter()
                            .map(|(key, element)| {
                                let planned_element = if element.is_null() {
                                    Value::Null
                                } else {
                                    plan_attributes(
                                        inner,
                                        prior.get(&attr.name).get(key),
                                        element,
                                        proposed.get(&attr.name).get(key),
                                    )
                                };
                                (key.clone(), planned_element)
                            })
                            .collect(),
                    ),
                    _ => configured.clone(),
                },
                _ => configured.clone(),
            }
        };
        planned.set(&attr.name, value);
    }
    planned
}

/// Attributes marked `requires_replace` whose planned value differs from the prior state.
pub fn replacement_paths(schema: &Schema, prior: &Value, planned: &Value) -> Vec<AttributePath> {
    if prior.is_null() {
        return Vec::new();
    }
    schema
        .attributes
        .iter()
        .filter(|a| a.requires_replace && prior.get(&a.name) != planned.get(&a.name))
        .map(|a| AttributePath::root(&a.name))
        .collect()
}

/// The state to hand back after apply: every value that was known in the plan exactly as planned
/// (the user's spelling, not the API's normal form), every unknown from what the resource
/// returned. An attribute still unknown is a provider bug, reported rather than sent.
pub fn reconcile_applied(
    schema: &Schema,
    planned: &Value,
    applied: Value,
    type_name: &str,
    provider_name: &str,
) -> Result<Value, Diagnostics> {
    let mut state = applied;
    let mut diags = Diagnostics::new();
    for attr in &schema.attributes {
        let planned_value = planned.get(&attr.name);
        if planned_value.is_wholly_known() {
            state.set(&attr.name, planned_value.clone());
        } else if !state.get(&attr.name).is_wholly_known() {
            diags.push(
                Diagnostic::error(
                    format!("{type_name}: {} was not set by apply", attr.name),
                    format!("This is a bug in the {provider_name} provider; please report it with the plan that showed it."),
                )
                .at_attribute(&attr.name),
            );
            state.set(&attr.name, Value::Null);
        }
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Attribute;

    fn schema() -> Schema {
        Schema::new(
            "test",
            vec![
                Attribute::string("name").required().requires_replace(),
                Attribute::string("description"),
                Attribute::string("arn").computed(),
                Attribute::bool("force_destroy").default(false),
                Attribute::string("region").optional_computed(),
            ],
        )
    }

    fn object(pairs: &[(&str, Value)]) -> Value {
        Value::object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }

    #[test]
    fn create_marks_computed_unknown_and_applies_defaults() {
        let config = object(&[("name", "a".into())]);
        let planned = plan_new_state(&schema(), &Value::Null, &config, &config);
        assert!(planned.get("arn").is_unknown());
        assert!(planned.get("region").is_unknown());
        assert_eq!(planned.get("force_destroy"), &Value::Bool(false));
        assert!(planned.get("description").is_null());
    }

    #[test]
    fn update_keeps_prior_computed_values_and_flags_replacement() {
        let prior = object(&[
            ("name", "a".into()),
            ("arn", "arn:x".into()),
            ("region", "r".into()),
            ("force_destroy", false.into()),
        ]);
        let config = object(&[("name", "b".into()), ("force_destroy", true.into())]);
        let planned = plan_new_state(&schema(), &prior, &config, &config);
        assert_eq!(planned.get("arn").as_str(), Some("arn:x"));
        assert_eq!(planned.get("region").as_str(), Some("r"));
        assert_eq!(planned.get("force_destroy"), &Value::Bool(true));
        assert_eq!(
            replacement_paths(&schema(), &prior, &planned),
            vec![AttributePath::root("name")]
        );
    }

    #[test]
    fn apply_keeps_planned_spelling_and_fills_unknowns() {
        let planned = object(&[
            ("name", "a".into()),
            ("description", "Mixed Case".into()),
            ("arn", Value::unknown()),
        ]);
        let applied = object(&[
            ("name", "a".into()),
            ("description", "mixed case".into()),
            ("arn", "arn:y".into()),
        ]);
        let state = reconcile_applied(&schema(), &planned, applied, "t", "p").unwrap();
        assert_eq!(state.get("description").as_str(), Some("Mixed Case"));
        assert_eq!(state.get("arn").as_str(), Some("arn:y"));
        let unfinished = object(&[("name", "a".into()), ("arn", Value::unknown())]);
        assert!(reconcile_applied(&schema(), &planned, unfinished, "t", "p").is_err());
    }
}
