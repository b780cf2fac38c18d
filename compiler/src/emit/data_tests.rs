//! dbt data tests as Terraform (docs/resources/data_test.md, docs/resources/iceberg_model.md):
//! the compiled failing-rows query as dbt writes it to target/compiled, dbt's test configs where
//! the project sets them (the provider holds dbt's defaults).
//!
//! A test that reads one model and nothing else runs inside that model's `mdw_iceberg_model`
//! (`data_tests`): `dbt build` tests a model right after building it, and one resource per
//! model instead of one per model and test is most of Terraform's time on large projects
//! (bench/SCALE.md). Any other test — of a seed or source, or reading several nodes, such as
//! `relationships` — is a `mdw_data_test` of its own, with the builds of what it reads in
//! `upstream`, so it runs at apply when one of them was rebuilt.

use std::collections::BTreeSet;

use serde_json::{Map, Value as Json, json};

use super::layout::Layout;
use super::terraform::{
    LINEAGE_ID, RUN_TRIGGER, Text, build_expression, resource_name, string_list, string_map,
    tf_string, upstream_key,
};
use crate::compile::{CompiledTest, NodeRef, stores_failures};
use crate::config::{self, Config};
use crate::values::json_scalar_text;

/// dbt's severity of a test (`error` unless configured; dbt accepts any case).
pub(crate) fn severity(config: &Config) -> String {
    config::as_str(config, "severity")
        .unwrap_or("error")
        .to_lowercase()
}

/// Whether a failure of the test fails the build (and holds back what reads the tested nodes).
pub(crate) fn is_error(test: &CompiledTest) -> bool {
    severity(&test.config) != "warn"
}

/// The model whose resource runs `test`: the one model it reads, when that model has a
/// resource (`models` holds the names of those that do).
pub(crate) fn held_by<'a>(test: &'a CompiledTest, models: &BTreeSet<&str>) -> Option<&'a str> {
    match test.depends_on.as_slice() {
        [NodeRef::Model(name)] if models.contains(name.as_str()) => Some(name),
        _ => None,
    }
}

/// `test` as an element of its model's `data_tests` (keyed by `test.key`).
pub(crate) fn spec(test: &CompiledTest, text: Text) -> Map<String, Json> {
    let config = &test.config;
    let mut out = Map::new();
    out.insert("sql".into(), json!(text.of(test.sql_with_markers.trim())));
    if config.contains_key("severity") {
        out.insert("severity".into(), json!(severity(config)));
    }
    for key in ["warn_if", "error_if", "fail_calc"] {
        if let Some(value) = config.get(key).and_then(json_scalar_text) {
            out.insert(key.into(), json!(text.of(value.trim())));
        }
    }
    if let Some(limit) = config.get("limit").and_then(Json::as_i64) {
        out.insert("limit".into(), json!(limit));
    }
    if config.contains_key("store_failures") || config.contains_key("store_failures_as") {
        out.insert("store_failures".into(), json!(stores_failures(config)));
    }
    if let Some(kind @ ("table" | "view")) = config::as_str(config, "store_failures_as") {
        out.insert("store_failures_as".into(), json!(kind));
    }
    if let Some(schema) = &test.audit_schema {
        out.insert("audit_database".into(), json!(text.of(schema)));
    }
    let source_file = match test.line {
        Some(line) => format!("{}:{line}", test.file),
        None => test.file.clone(),
    };
    out.insert("source_file".into(), json!(text.of(&source_file)));
    if let Some(tags) = string_list(config.get("tags"), text) {
        out.insert("test_tags".into(), tags);
    }
    if let Some(meta) = string_map(config.get("meta"), text) {
        out.insert("meta".into(), meta);
    }
    out
}

/// The `mdw_data_test` resource of a test no model holds.
pub(crate) fn resource(test: &CompiledTest, layout: &Layout) -> Map<String, Json> {
    let mut out = Map::new();
    out.insert("name".into(), json!(tf_string(&test.key)));
    out.extend(spec(test, Text::Template));
    if let Some(node) = &test.attached_node {
        out.insert(
            "attached_node".into(),
            json!(tf_string(&upstream_key(node))),
        );
    }
    let upstream: Map<String, Json> = test
        .depends_on
        .iter()
        .map(|node| (upstream_key(node), json!(build_expression(node, layout))))
        .collect();
    if !upstream.is_empty() {
        out.insert("upstream".into(), Json::Object(upstream));
    }
    out.insert("run_trigger".into(), json!(RUN_TRIGGER));
    out.insert("lineage".into(), json!(LINEAGE_ID));
    out
}

/// The Terraform address of the test's resource.
pub(crate) fn address(test: &CompiledTest) -> String {
    format!("mdw_data_test.{}", resource_name(&test.key))
}
