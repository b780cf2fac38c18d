//! A microbatch model's settings as `mdw_iceberg_model`'s `microbatch` attribute: dbt's config
//! (checked at parse, `config::types::check_model`) in the provider's names, its backfill
//! bounds the module variables `microbatch_start`/`microbatch_end` (`dbt run
//! --event-time-start/--event-time-end`).

use serde_json::{Map, Value as Json, json};

use super::terraform::Text;
use crate::compile::CompiledModel;
use crate::config;
use crate::jinja::objects::deferred_marker;

/// The variables of a backfill: set, every microbatch model's next run covers them instead of
/// its lookback window.
pub(super) const START_VARIABLE: &str = "microbatch_start";
pub(super) const END_VARIABLE: &str = "microbatch_end";

pub(super) fn variables() -> Map<String, Json> {
    let mut body = Map::new();
    body.insert(
        "variable".into(),
        json!({
            START_VARIABLE: {
                "type": "string",
                "default": "",
                "description": "A backfill's start (ISO date or timestamp, UTC), as `dbt run --event-time-start`: set, microbatch models run from it instead of their lookback window; empty: unset.",
            },
            END_VARIABLE: {
                "type": "string",
                "default": "",
                "description": "A backfill's end (exclusive), as `dbt run --event-time-end`; empty: now.",
            },
        }),
    );
    body
}

/// The `microbatch` object of a microbatch model.
pub(super) fn settings(model: &CompiledModel, text: Text) -> Json {
    let config = &model.config;
    let mut out = Map::new();
    if let Some(size) = config::as_str(config, "batch_size") {
        out.insert("batch_size".into(), json!(size));
    }
    if let Some(begin) = config::as_str(config, "begin") {
        out.insert("begin".into(), json!(text.of(begin)));
    }
    if let Some(lookback) = config.get("lookback").and_then(Json::as_u64) {
        out.insert("lookback".into(), json!(lookback));
    }
    for (key, variable) in [
        ("event_time_start", START_VARIABLE),
        ("event_time_end", END_VARIABLE),
    ] {
        out.insert(key.into(), json!(text.of(&deferred_marker(variable))));
    }
    Json::Object(out)
}
