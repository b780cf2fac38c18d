//! `mdw_unit_test` per dbt unit test (docs/resources/unit_test.md): the model's SQL with its
//! inputs replaced by `"__mdw_given_<i>"`, the fixture rows of each input, the expected rows,
//! and the builds of the inputs (their columns type the fixture rows). The tested model
//! `depends_on` its unit tests, as `dbt build` runs them before building it.

use serde_json::{Map, Value as Json, json};

use super::layout::Layout;
use super::terraform::{RUN_TRIGGER, build_expression, resource_name, tf_string, upstream_key};
use crate::compile::{CompiledExpect, CompiledUnitTest};

/// The resource name: unit test names are unique per model, not per project.
pub(crate) fn key(test: &CompiledUnitTest) -> String {
    resource_name(&format!("{}__{}", test.model, test.name))
}

/// The Terraform address of the test's resource.
pub(crate) fn address(test: &CompiledUnitTest) -> String {
    format!("mdw_unit_test.{}", key(test))
}

/// The `mdw_unit_test` resource of `test`.
pub(crate) fn resource(test: &CompiledUnitTest, layout: &Layout) -> Map<String, Json> {
    let mut out = Map::new();
    out.insert("name".into(), json!(tf_string(&test.name)));
    out.insert(
        "model".into(),
        json!(format!("model.{}", resource_name(&test.model))),
    );
    out.insert("source_file".into(), json!(tf_string(&test.source_file)));
    out.insert("sql".into(), json!(tf_string(test.sql_with_markers.trim())));
    let given: Vec<Json> = test
        .given
        .iter()
        .map(|given| {
            // Every attribute of the object type, null where unused.
            json!({
                "relation": given.relation.as_deref().map(tf_string),
                "rows_json": given.rows_json.as_deref().map(tf_string),
                "fixture_sql": given.fixture_sql.as_deref().map(tf_string),
            })
        })
        .collect();
    out.insert("given".into(), Json::Array(given));
    match &test.expect {
        CompiledExpect::RowsJson(rows) => {
            out.insert("expect_rows_json".into(), json!(tf_string(rows)));
        }
        CompiledExpect::Sql(sql) => {
            out.insert("expect_sql".into(), json!(tf_string(sql)));
        }
    }
    let upstream: Map<String, Json> = test
        .given
        .iter()
        .map(|given| {
            (
                upstream_key(&given.node),
                json!(build_expression(&given.node, layout)),
            )
        })
        .collect();
    if !upstream.is_empty() {
        out.insert("upstream".into(), Json::Object(upstream));
    }
    out.insert("run_trigger".into(), json!(RUN_TRIGGER));
    out
}
