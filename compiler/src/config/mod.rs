//! Node configs and dbt's precedence rules.
//!
//! Precedence, low to high: the project tree (`models:` in dbt_project.yml) along the node's
//! folder path → the properties yml `config:` → the model's own `{{ config(...) }}`.
//! `tags`, `pre-hook` and `post-hook` append; `meta` (and other dict-valued configs dbt merges)
//! merge; everything else replaces.

pub(crate) mod render;
pub(crate) mod types;

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::error::Diagnostic;
use crate::project::PROJECT_FILE;
use crate::yaml::{self, Step};
use types::{Checker, NodeKind};

pub(crate) type Config = BTreeMap<String, Json>;

/// Configs whose values accumulate instead of being replaced.
fn is_appending(key: &str) -> bool {
    matches!(key, "tags" | "pre-hook" | "post-hook")
}

/// Dict-valued configs that dbt merges key by key.
fn is_merging(key: &str) -> bool {
    matches!(key, "meta" | "docs" | "persist_docs" | "column_types")
}

/// A hook config's statements in order: a string, a `{sql: …}` map, or a list of either (dbt's
/// forms). `None` when the value is none of these.
pub(crate) fn hooks(value: &Json) -> Option<Vec<String>> {
    fn one(value: &Json) -> Option<String> {
        match value {
            Json::String(sql) => Some(sql.clone()),
            Json::Object(map) => map.get("sql").and_then(Json::as_str).map(str::to_string),
            _ => None,
        }
    }
    match value {
        Json::Null => Some(Vec::new()),
        Json::Array(items) => items.iter().map(one).collect(),
        other => one(other).map(|sql| vec![sql]),
    }
}

/// `+materialized` → `materialized`; `pre_hook` (a Python kwarg in `config()`) → `pre-hook`.
pub(crate) fn normalize_key(key: &str) -> String {
    let key = key.strip_prefix('+').unwrap_or(key);
    match key {
        "pre_hook" => "pre-hook".to_string(),
        "post_hook" => "post-hook".to_string(),
        other => other.to_string(),
    }
}

/// Applies one config value with dbt's merge behaviour.
pub(crate) fn merge(config: &mut Config, key: &str, value: Json) {
    let key = normalize_key(key);
    if is_appending(&key) {
        let is_set = key == "tags";
        let entry = config.entry(key).or_insert_with(|| Json::Array(Vec::new()));
        let mut items = match std::mem::take(entry) {
            Json::Array(items) => items,
            Json::Null => Vec::new(),
            single => vec![single],
        };
        let new_items = match value {
            Json::Array(new) => new,
            Json::Null => Vec::new(),
            single => vec![single],
        };
        // dbt concatenates hooks (the same statement twice runs twice); tags are a set.
        for item in new_items {
            if !is_set || !items.contains(&item) {
                items.push(item);
            }
        }
        *entry = Json::Array(items);
    } else if is_merging(&key) {
        match (config.get_mut(&key), value) {
            (Some(Json::Object(existing)), Json::Object(new)) => existing.extend(new),
            (_, value) => {
                config.insert(key, value);
            }
        }
    } else {
        config.insert(key, value);
    }
}

pub(crate) fn merge_all(config: &mut Config, values: &serde_json::Map<String, Json>) {
    for (key, value) in values {
        merge(config, key, value.clone());
    }
}

/// Collects the configs of a project tree (`models:`/`seeds:`/`data_tests:`) along `fqn`
/// (`[project, folder..., name]`). In the tree a `+key` is always a config, a plain key with a
/// non-dict value is a config, and a plain key with a dict value is a folder (or node) name.
pub(crate) fn tree_config(tree: &Json, fqn: &[&str]) -> Config {
    let mut config = Config::new();
    let mut level = tree;
    apply_level(&mut config, level);
    for part in fqn {
        match level.get(*part) {
            Some(next @ Json::Object(_)) => {
                level = next;
                apply_level(&mut config, level);
            }
            _ => break,
        }
    }
    config
}

fn apply_level(config: &mut Config, level: &Json) {
    let Json::Object(map) = level else { return };
    for (key, value) in map {
        if key.starts_with('+') || !value.is_object() {
            merge(config, key, value.clone());
        }
    }
}

/// Checks every config value of a project tree (`models:`, `seeds:`, `data_tests:`), each error
/// at its key in dbt_project.yml.
pub(crate) fn check_tree(
    checker: &Checker,
    kind: NodeKind,
    tree: &Json,
    root: &str,
    file_text: &str,
) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let mut pending = vec![(vec![Step::key(root)], tree)];
    while let Some((path, level)) = pending.pop() {
        let Json::Object(map) = level else { continue };
        for (key, value) in map {
            let mut at = path.clone();
            at.push(Step::key(key));
            if key.starts_with('+') || !value.is_object() {
                if let Err(invalid) = checker.check(kind, &normalize_key(key), value) {
                    errors.push(
                        Diagnostic::new(invalid.message)
                            .at(yaml::locate(PROJECT_FILE, file_text, &at))
                            .help(invalid.help),
                    );
                }
            } else {
                pending.push((at, value));
            }
        }
    }
    errors
}

pub(crate) fn as_string_list(value: Option<&Json>) -> Vec<String> {
    match value {
        Some(Json::Array(items)) => items
            .iter()
            .filter_map(crate::values::json_scalar_text)
            .collect(),
        Some(Json::Null) | None => Vec::new(),
        Some(single) => crate::values::json_scalar_text(single)
            .into_iter()
            .collect(),
    }
}

pub(crate) fn as_str<'a>(config: &'a Config, key: &str) -> Option<&'a str> {
    config.get(key).and_then(Json::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tree_applies_along_the_path_with_merge_rules() {
        let tree = json!({
            "+tags": ["all"],
            "retail": {
                "+materialized": "view",
                "+meta": {"owner": "a"},
                "sta": {"+materialized": "table", "+tags": "sta", "+meta": {"tier": 1},
                        "schema": "staging", "dbt_x": {"+alias": "x"}},
                "mart": {"+materialized": "incremental"}
            }
        });
        let config = tree_config(&tree, &["retail", "sta", "dbt_x"]);
        assert_eq!(config["materialized"], json!("table"));
        assert_eq!(config["tags"], json!(["all", "sta"]));
        assert_eq!(config["meta"], json!({"owner": "a", "tier": 1}));
        assert_eq!(config["schema"], json!("staging"));
        assert_eq!(config["alias"], json!("x"));
        let other = tree_config(&tree, &["retail", "other", "y"]);
        assert_eq!(other["materialized"], json!("view"));
        assert!(!other.contains_key("alias"));
    }
}
