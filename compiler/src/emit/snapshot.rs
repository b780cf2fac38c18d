//! A snapshot's settings as `mdw_iceberg_model`'s `snapshot` attribute: dbt's snapshot config
//! (checked at parse, `config::types::check_snapshot`) in the provider's names.

use serde_json::{Map, Value as Json, json};

use super::terraform::{Text, string_list, string_map};
use crate::compile::CompiledModel;
use crate::config;

/// The `snapshot` object of a snapshot model.
pub(super) fn settings(model: &CompiledModel, text: Text) -> Json {
    let config = &model.config;
    let mut out = Map::new();
    let mut put = |key: &str, value: Option<Json>| {
        if let Some(value) = value {
            out.insert(key.into(), value);
        }
    };
    let string = |key: &str| config::as_str(config, key).map(|s| json!(text.of(s)));
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
    put(
        "column_names",
        string_map(config.get("snapshot_table_column_names"), text),
    );
    Json::Object(out)
}
