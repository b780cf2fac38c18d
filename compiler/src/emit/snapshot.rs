//! A snapshot's settings as `mdw_iceberg_model`'s `snapshot` attribute: dbt's snapshot config
//! (checked at parse, `config::types::check_snapshot`) in the provider's names.

use serde_json::{Map, Value as Json, json};

use super::terraform::{Text, string_list, string_map};
use crate::compile::CompiledModel;
use crate::config;

/// The variable whose change runs every snapshot (each snapshot's `run_trigger`): a snapshot
/// otherwise runs only when what it reads changes, and history that depends on the day
/// (`where end_date >= current_date`) would be recorded late.
pub(super) const RUN_VARIABLE: &str = "snapshot_run";

pub(super) fn run_variable() -> Map<String, Json> {
    let mut body = Map::new();
    body.insert(
        "variable".into(),
        json!({RUN_VARIABLE: {
            "type": "string",
            "default": "",
            "description": "Any new value (e.g. a timestamp) runs every snapshot, as `dbt snapshot` does; without one a snapshot runs when what it reads changes.",
        }}),
    );
    body
}

/// The `snapshot` object of a snapshot model.
pub(super) fn settings(model: &CompiledModel, text: Text) -> Json {
    let config = &model.config;
    let mut out = Map::new();
    let mut put = |key: &str, value: Option<Json>| {
        if let Some(value) = value {
            out.insert(key.into(), value);
        }
    };
    // dbt reads these with `config.get(key) or default`: an empty value is unset.
    let string = |key: &str| {
        config::as_str(config, key)
            .filter(|s| !s.trim().is_empty())
            .map(|s| json!(text.of(s)))
    };
    put("strategy", string("strategy"));
    put("unique_key", string_list(config.get("unique_key"), text));
    put("updated_at", string("updated_at"));
    put("check_cols", string_list(config.get("check_cols"), text));
    // dbt-core's `get_hard_deletes_behavior`: the older `invalidate_hard_deletes: true` is
    // `invalidate` (both set is refused at parse).
    let hard_deletes = match config.get("invalidate_hard_deletes") {
        Some(Json::Bool(true)) => Some(json!("invalidate")),
        _ => string("hard_deletes"),
    };
    put("hard_deletes", hard_deletes);
    put("valid_to_current", string("dbt_valid_to_current"));
    // dbt's `snapshot_meta_column_names`; an empty name keeps the default.
    let names = match config.get("snapshot_meta_column_names") {
        Some(Json::Object(names)) => Json::Object(
            names
                .iter()
                .filter(|(_, v)| v.as_str().is_some_and(|s| !s.trim().is_empty()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => Json::Null,
    };
    put("column_names", string_map(Some(&names), text));
    Json::Object(out)
}
