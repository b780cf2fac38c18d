//! Terraform JSON for the compiled project, per docs/model-resources.md: one
//! `mdw_iceberg_model` per model, `mdw_glue_database` per schema, `mdw_seed` per seed,
//! `data.mdw_source` per source table, a `check` block per data test, and `variable` blocks for
//! deferred vars. Every string that comes from the project is escaped for Terraform's template
//! engine (`${` → `$${`, `%{` → `%%{`); deferred vars become `${var.<name>}`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rayon::prelude::*;
use serde_json::{Map, Value as Json, json};

use super::files::{GENERATED_MARKER, relative_path};
use crate::compile::{Compiled, CompiledModel, CompiledTest, NodeRef};
use crate::config::{self, Config};
use crate::error::{Diagnostic, Location, Result};
use crate::jinja::objects::replace_deferred;
use crate::values::json_scalar_text;

/// Escapes a project string for a Terraform JSON string value and turns deferred-var markers
/// into interpolations.
pub(crate) fn tf_string(text: &str) -> String {
    let escaped = text.replace("${", "$${").replace("%{", "%%{");
    replace_deferred(&escaped, |name| format!("${{var.{name}}}"))
}

/// A Terraform-safe resource name for a dbt name.
pub(crate) fn resource_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

pub(crate) fn source_resource_name(source: &str, table: &str) -> String {
    resource_name(&format!("{source}__{table}"))
}

fn file_json(origin: &str, body: Map<String, Json>) -> String {
    let mut root = Map::new();
    root.insert(
        "//".into(),
        Json::String(format!("{GENERATED_MARKER} from {origin}; do not edit.")),
    );
    root.extend(body);
    let mut text = serde_json::to_string_pretty(&Json::Object(root)).unwrap_or_default();
    text.push('\n');
    text
}

fn string_list(value: Option<&Json>) -> Option<Json> {
    let items = config::as_string_list(value);
    (!items.is_empty())
        .then(|| Json::Array(items.iter().map(|s| Json::String(tf_string(s))).collect()))
}

fn string_map(value: Option<&Json>) -> Option<Json> {
    let Some(Json::Object(map)) = value else {
        return None;
    };
    let out: Map<String, Json> = map
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                Json::String(tf_string(
                    &json_scalar_text(v).unwrap_or_else(|| v.to_string()),
                )),
            )
        })
        .collect();
    (!out.is_empty()).then_some(Json::Object(out))
}

fn reference(node: &NodeRef) -> String {
    match node {
        NodeRef::Model(name) => format!("mdw_iceberg_model.{}", resource_name(name)),
        NodeRef::Seed(name) => format!("mdw_seed.{}", resource_name(name)),
        NodeRef::Source(s, t) => format!("data.mdw_source.{}", source_resource_name(s, t)),
    }
}

/// Builds every `*.tf.json` file: `(file name, content)`, sorted by name.
pub fn render(compiled: &Compiled, out_dir: &Path) -> Result<Vec<(String, String)>> {
    let files = std::sync::Mutex::new(Vec::new());
    visit(compiled, out_dir, &|name, content| {
        files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((name.to_string(), content.to_string()));
        Ok(())
    })?;
    let mut files = files.into_inner().unwrap_or_else(|p| p.into_inner());
    files.sort();
    Ok(files)
}

/// Builds every `*.tf.json` file and hands each to `sink` as soon as it is built (in parallel,
/// so thousands of model files are never all in memory). Returns the file names.
pub(crate) fn visit(
    compiled: &Compiled,
    out_dir: &Path,
    sink: &(dyn Fn(&str, &str) -> Result<()> + Sync),
) -> Result<Vec<String>> {
    let seeds: BTreeSet<&str> = compiled.seeds.iter().map(|s| s.name.as_str()).collect();
    let databases: BTreeSet<String> = compiled
        .models
        .iter()
        .filter(|m| !m.ephemeral)
        .map(|m| m.relation.schema.clone())
        .chain(compiled.seeds.iter().map(|s| s.relation.schema.clone()))
        .collect();

    let model_files: Result<Vec<String>> = compiled
        .models
        .par_iter()
        .filter(|model| !model.ephemeral)
        .map(|model| {
            let resource = model_resource(model, &seeds)?;
            let mut body = Map::new();
            body.insert(
                "resource".into(),
                json!({"mdw_iceberg_model": {resource_name(&model.name): resource}}),
            );
            let name = format!("model_{}.tf.json", resource_name(&model.name));
            sink(&name, &file_json(&model.file, body))?;
            Ok(name)
        })
        .collect();
    let mut names = model_files?;
    let mut files = Vec::new();

    files.push((
        "versions.tf.json".to_string(),
        file_json(
            &compiled.project.name,
            json!({"terraform": {"required_providers": {"mdw": {"source": "mdw/mdw"}}}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        ),
    ));

    for seed in &compiled.seeds {
        let path = format!(
            "${{path.module}}/{}",
            relative_path(
                &super::files::absolute(out_dir),
                &super::files::absolute(&seed.absolute)
            )
        );
        let mut resource = Map::new();
        resource.insert("database".into(), json!(tf_string(&seed.relation.schema)));
        resource.insert(
            "depends_on".into(),
            json!([database_address(&seed.relation.schema)]),
        );
        resource.insert("name".into(), json!(tf_string(&seed.relation.identifier)));
        resource.insert("path".into(), json!(path));
        resource.insert(
            "content_sha256".into(),
            json!(format!("${{filesha256(\"{path}\")}}")),
        );
        if let Some(types) = string_map(seed.config.get("column_types")) {
            resource.insert("column_types".into(), types);
        }
        if let Some(delimiter) = config::as_str(&seed.config, "delimiter") {
            resource.insert("delimiter".into(), json!(tf_string(delimiter)));
        }
        let mut body = Map::new();
        body.insert(
            "resource".into(),
            json!({"mdw_seed": {resource_name(&seed.name): resource}}),
        );
        files.push((
            format!("seed_{}.tf.json", resource_name(&seed.name)),
            file_json(&seed.file, body),
        ));
    }

    if !compiled.sources.is_empty() {
        let mut sources = Map::new();
        for source in &compiled.sources {
            let mut data = Map::new();
            data.insert("database".into(), json!(tf_string(&source.relation.schema)));
            data.insert("name".into(), json!(tf_string(&source.relation.identifier)));
            // A seed standing in for the source (the offline demo loads sources from seeds):
            // read the table only after the seed has been loaded.
            let seeded: Vec<Json> = compiled
                .seeds
                .iter()
                .filter(|s| {
                    s.relation.schema == source.relation.schema
                        && s.relation.identifier == source.relation.identifier
                })
                .map(|s| json!(format!("mdw_seed.{}", resource_name(&s.name))))
                .collect();
            if !seeded.is_empty() {
                data.insert("depends_on".into(), Json::Array(seeded));
            }
            sources.insert(
                source_resource_name(&source.table.source_name, &source.table.table_name),
                Json::Object(data),
            );
        }
        let mut body = Map::new();
        body.insert("data".into(), json!({"mdw_source": sources}));
        files.push((
            "sources.tf.json".to_string(),
            file_json("the project's sources", body),
        ));
    }

    {
        // The schemas exist in the engine's catalog once a model is built into them. As Glue
        // databases they are resources only where the catalog is AWS Glue (Athena): the
        // offline demo's embedded catalog needs no AWS account.
        let mut resources = Map::new();
        for database in &databases {
            resources.insert(
                resource_name(database),
                json!({
                    "count": "${var.glue_databases ? 1 : 0}",
                    "name": tf_string(database),
                }),
            );
        }
        let mut body = Map::new();
        body.insert(
            "variable".into(),
            json!({"glue_databases": {
                "type": "bool",
                "default": false,
                "description": "Declare the models' schemas as mdw_glue_database resources (true where the catalog is AWS Glue).",
            }}),
        );
        if !resources.is_empty() {
            body.insert("resource".into(), json!({"mdw_glue_database": resources}));
        }
        body.insert(
            "output".into(),
            json!({"databases": {
                "description": "The schemas (Glue databases) the models and seeds are built in.",
                "value": databases.iter().map(|d| tf_string(d)).collect::<Vec<_>>(),
            }}),
        );
        files.push((
            "databases.tf.json".to_string(),
            file_json("the schemas of models and seeds", body),
        ));
    }

    if !compiled.tests.is_empty() {
        let mut checks = Map::new();
        let mut queries = Map::new();
        for test in &compiled.tests {
            let (query, check) = check_block(test);
            queries.insert(resource_name(&test.key), query);
            checks.insert(resource_name(&test.key), check);
        }
        let mut body = Map::new();
        body.insert("data".into(), json!({"mdw_query": queries}));
        body.insert("check".into(), Json::Object(checks));
        files.push((
            "tests.tf.json".to_string(),
            file_json("the project's data tests", body),
        ));
    }

    if !compiled.deferred_vars.is_empty() {
        let mut variables = Map::new();
        for (name, default) in &compiled.deferred_vars {
            variables.insert(
                name.clone(),
                json!({
                    "type": "string",
                    "default": json_scalar_text(default).unwrap_or_default(),
                    "description": format!("dbt var '{name}' (deferred by mdwc; its default is the value in dbt_project.yml)"),
                }),
            );
        }
        let mut body = Map::new();
        body.insert("variable".into(), Json::Object(variables));
        files.push((
            "variables.tf.json".to_string(),
            file_json("dbt vars not bound by --vars", body),
        ));
    }

    for (name, content) in files {
        sink(&name, &content)?;
        names.push(name);
    }
    Ok(names)
}

/// The (counted) database resource of a schema, for `depends_on`.
fn database_address(schema: &str) -> String {
    format!("mdw_glue_database.{}", resource_name(schema))
}

fn model_error(model: &CompiledModel, message: String, help: &str) -> Diagnostic {
    Diagnostic::new(message)
        .model(&model.name)
        .at(Location::new(&model.file, 1, 1))
        .help(help)
}

fn model_resource(model: &CompiledModel, seeds: &BTreeSet<&str>) -> Result<Map<String, Json>> {
    let config: &Config = &model.config;
    let materialized = config::as_str(config, "materialized").unwrap_or("view");
    match materialized {
        "table" | "view" | "incremental" => {}
        other => {
            return Err(model_error(
                model,
                format!("unknown materialization '{other}'"),
                "use materialized='table', 'view' or 'incremental'",
            ));
        }
    }
    let mut resource = Map::new();
    resource.insert("database".into(), json!(tf_string(&model.relation.schema)));
    resource.insert(
        "depends_on".into(),
        json!([database_address(&model.relation.schema)]),
    );
    resource.insert("name".into(), json!(tf_string(&model.relation.identifier)));
    resource.insert("materialized".into(), json!(materialized));
    resource.insert("sql".into(), json!(tf_string(&model.sql_with_markers)));
    if materialized == "incremental"
        && let Some(incremental_sql) = &model.incremental_sql_with_markers
    {
        resource.insert("incremental_sql".into(), json!(tf_string(incremental_sql)));
    }

    if materialized == "incremental" {
        let strategy = config::as_str(config, "incremental_strategy").unwrap_or("append");
        match strategy {
            "append" | "merge" => {}
            "insert_overwrite" => {
                return Err(model_error(
                    model,
                    "incremental_strategy 'insert_overwrite' does not apply to Iceberg tables"
                        .into(),
                    "use incremental_strategy='merge' with a unique_key, or 'append'",
                ));
            }
            other => {
                return Err(model_error(
                    model,
                    format!("unknown incremental_strategy '{other}'"),
                    "use incremental_strategy='append' or 'merge'",
                ));
            }
        }
        resource.insert("incremental_strategy".into(), json!(strategy));
        if strategy == "merge" && config::as_string_list(config.get("unique_key")).is_empty() {
            return Err(model_error(
                model,
                "incremental_strategy 'merge' needs a unique_key".into(),
                "add unique_key='id' (or a list of columns) to the model's config",
            ));
        }
    }
    for key in [
        "unique_key",
        "incremental_predicates",
        "merge_update_columns",
        "merge_exclude_columns",
        "partitioned_by",
    ] {
        // dbt-athena creates views without partitions, whatever the config says.
        if key == "partitioned_by" && materialized == "view" {
            continue;
        }
        if let Some(list) = string_list(config.get(key)) {
            resource.insert(key.into(), list);
        }
    }
    if let Some(on_schema_change) = config::as_str(config, "on_schema_change") {
        match on_schema_change {
            "ignore" | "fail" | "append_new_columns" | "sync_all_columns" => {
                resource.insert("on_schema_change".into(), json!(on_schema_change));
            }
            other => {
                return Err(model_error(
                    model,
                    format!("unknown on_schema_change '{other}'"),
                    "use 'ignore', 'fail', 'append_new_columns' or 'sync_all_columns'",
                ));
            }
        }
    }
    if let Some(properties) = string_map(config.get("table_properties")) {
        resource.insert("table_properties".into(), properties);
    }
    if let Some(location) = config::as_str(config, "external_location") {
        resource.insert("external_location".into(), json!(tf_string(location)));
    }
    if let Some(on_destroy) = config::as_str(config, "on_destroy") {
        if !matches!(on_destroy, "drop" | "retain") {
            return Err(model_error(
                model,
                format!("unknown on_destroy '{on_destroy}'"),
                "use 'drop' or 'retain'",
            ));
        }
        resource.insert("on_destroy".into(), json!(on_destroy));
    }
    if !model.description.is_empty() {
        resource.insert("description".into(), json!(tf_string(&model.description)));
    }
    if !model.column_descriptions.is_empty() {
        let docs: BTreeMap<&String, String> = model
            .column_descriptions
            .iter()
            .map(|(k, v)| (k, tf_string(v)))
            .collect();
        resource.insert("column_descriptions".into(), json!(docs));
    }
    if let Some(tags) = string_list(config.get("tags")) {
        resource.insert("model_tags".into(), tags);
    }
    let mut upstream = Map::new();
    for name in &model.refs {
        let node = if seeds.contains(name.as_str()) {
            NodeRef::Seed(name.clone())
        } else {
            NodeRef::Model(name.clone())
        };
        let (key, attribute) = match &node {
            NodeRef::Seed(_) => (format!("seed.{name}"), "build_id"),
            // A model version's key is its resource name: `model.dim_customers_v2`.
            _ => (format!("model.{}", resource_name(name)), "build_id"),
        };
        upstream.insert(key, json!(format!("${{{}.{attribute}}}", reference(&node))));
    }
    for (source, table) in &model.sources {
        let node = NodeRef::Source(source.clone(), table.clone());
        upstream.insert(
            format!("source.{source}.{table}"),
            json!(format!("${{{}.snapshot_id}}", reference(&node))),
        );
    }
    if !upstream.is_empty() {
        resource.insert("upstream".into(), Json::Object(upstream));
    }
    Ok(resource)
}

/// A data test as a `data "mdw_query"` counting failing rows, read after the nodes it tests, and
/// a Terraform `check` asserting the count is zero (a failing test is a warning, as in
/// `dbt build --warn-error` off). The query is a module-level data source, not one scoped in the
/// check: Terraform re-reads scoped ones on every apply, so a plan would never be empty.
fn check_block(test: &CompiledTest) -> (Json, Json) {
    let name = resource_name(&test.key);
    let fail_calc = config::as_str(&test.config, "fail_calc").unwrap_or("count(*)");
    let sql = format!(
        "select {fail_calc} as failures from (\n{}\n) dbt_internal_test",
        test.sql_with_markers.trim()
    );
    // The query names the build of every node it tests instead of `depends_on`: Terraform then
    // re-reads it during apply exactly when one of them is rebuilt, and during plan otherwise —
    // a check data source with `depends_on` is re-read on every plan, which is never empty.
    let builds: Vec<String> = test
        .depends_on
        .iter()
        .map(|n| match n {
            NodeRef::Source(..) => {
                let snapshot = format!("{}.snapshot_id", reference(n));
                format!("${{{snapshot} == null ? \"\" : {snapshot}}}")
            }
            _ => format!("${{{}.build_id}}", reference(n)),
        })
        .collect();
    let sql_text = if builds.is_empty() {
        tf_string(&sql)
    } else {
        format!("-- mdw builds: {}\n{}", builds.join(" "), tf_string(&sql))
    };
    let severity = config::as_str(&test.config, "severity")
        .unwrap_or("error")
        .to_lowercase();
    let failures = format!("data.mdw_query.{name}.rows[0].failures");
    let query = json!({"sql": sql_text});
    let check = json!({
        "assert": [{
            "condition": format!("${{tonumber(lookup({}, \"failures\", \"0\")) == 0}}", failures.trim_end_matches(".failures")),
            "error_message": format!("dbt test {} ({}, severity {severity}) found ${{{failures}}} failing rows.", tf_string(&test.name), tf_string(&test.file)),
        }],
    });
    (query, check)
}
