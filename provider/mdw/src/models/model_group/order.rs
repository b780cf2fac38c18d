//! The order a group's models build in: after the models of the group they read.

use std::collections::{BTreeMap, VecDeque};

use tfplugin::{Diagnostic, Diagnostics};

use super::definition::{AFTER, Members, after, within};
use super::schema::GroupModel;

/// The keys in an order where every model comes after the ones it reads; an `after` naming no
/// model of the group, or a cycle, is an error at that model.
pub(super) fn build_order(models: &Members) -> Result<Vec<String>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut readers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut waiting: BTreeMap<&str, usize> = BTreeMap::new();
    for (key, member) in models {
        let parents = after(member);
        for parent in &parents {
            if let Some((parent, _)) = models.get_key_value(parent) {
                readers.entry(parent.as_str()).or_default().push(key);
            } else {
                diags.extend(within(
                    key,
                    Diagnostic::error(
                        format!("Model {key} reads {parent:?}, which is not in this group"),
                        "`after` lists keys of this group's models; a model of another resource is read through `upstream`.",
                    )
                    .at_attribute(AFTER)
                    .into(),
                ));
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

#[cfg(test)]
mod tests {
    use tfplugin::Value;

    use super::*;

    fn member(after: &[&str]) -> Value {
        Value::object([(
            AFTER,
            Value::from(after.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        )])
    }

    fn group(members: &[(&str, &[&str])]) -> Members {
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
