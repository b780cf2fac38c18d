//! Terraform JSON for the compiled project, per docs/model-resources.md: one
//! `mdw_iceberg_model` per model, `mdw_glue_database` per schema, `mdw_seed` per seed,
//! `data.mdw_source` per source table, data tests (in their model's resource, or a
//! `mdw_data_test` each; see `data_tests`), `mdw_unit_test` per unit test, one `mdw_lineage` owning them, and `variable` blocks for deferred vars. Every string
//! that comes from the project is escaped for Terraform's template engine (`${` → `$${`,
//! `%{` → `%%{`); deferred vars become `${var.<name>}`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rayon::prelude::*;
use serde_json::{Map, Value as Json, json};

use super::build_order::{self, ModelReads, TestReads};
use super::files::{GENERATED_MARKER, relative_path};
use super::layout::{EmitOptions, Layout};
use super::{data_tests, unit_tests};
use crate::compile::{Compiled, CompiledModel, CompiledTest, NodeRef};
use crate::config::{self, Config};
use crate::error::{Diagnostic, Location, Result};
use crate::jinja::objects::{DEFERRED_END, DEFERRED_START, deferred_marker, replace_deferred};
use crate::values::json_scalar_text;

/// Escapes a project string for a Terraform JSON string value and turns deferred-var markers
/// into interpolations.
pub(crate) fn tf_string(text: &str) -> String {
    let escaped = text.replace("${", "$${").replace("%{", "%%{").replace(
        &format!("${DEFERRED_START}"),
        &format!("{DOLLAR}{DEFERRED_START}"),
    );
    replace_deferred(&escaped, |name| format!("${{var.{name}}}"))
}

/// A `$` right before an interpolation, which written as itself would make `$${`: the escape
/// of a literal `${`.
const DOLLAR: &str = "${\"$\"}";

/// How project strings are written into an attribute's JSON.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Text {
    /// As a Terraform string: escaped, deferred vars interpolated ([`tf_string`]).
    Template,
    /// As they are, deferred-var markers kept: for JSON that becomes one Terraform string as a
    /// whole ([`hcl_json_string`]).
    Raw,
}

impl Text {
    pub(crate) fn of(self, text: &str) -> String {
        match self {
            Text::Template => tf_string(text),
            Text::Raw => text.to_string(),
        }
    }
}

/// JSON holding [`Text::Raw`] strings as a quoted string of HCL's native syntax: escaped for
/// HCL and its template engine, each deferred var interpolated JSON-escaped (its `jsonencode`
/// without the quotes), so a value with quotes or backslashes stays valid JSON. JSON escapes
/// the markers (control characters), so they travel as two private-use characters; `None`
/// when the project's text holds one of those itself.
pub(crate) fn hcl_json_string(json: &Json) -> Option<String> {
    const START: char = '\u{E000}';
    const END: char = '\u{E001}';
    fn carry(json: &Json) -> Option<Json> {
        Some(match json {
            Json::String(s) if s.contains([START, END]) => return None,
            Json::String(s) => Json::String(
                s.replace(DEFERRED_START, &START.to_string())
                    .replace(DEFERRED_END, &END.to_string()),
            ),
            Json::Array(items) => Json::Array(items.iter().map(carry).collect::<Option<_>>()?),
            Json::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| Some((k.clone(), carry(v)?)))
                    .collect::<Option<_>>()?,
            ),
            other => other.clone(),
        })
    }
    let text = carry(json)?.to_string();
    let mut out = String::from("\"");
    let mut rest = text.as_str();
    while let Some(start) = rest.find(START) {
        let literal = &rest[..start];
        match literal.strip_suffix('$') {
            Some(before) => {
                out.push_str(&hcl_literal(before));
                out.push_str(DOLLAR);
            }
            None => out.push_str(&hcl_literal(literal)),
        }
        let after = &rest[start + START.len_utf8()..];
        let end = after.find(END)?;
        let name = &after[..end];
        out.push_str(&format!(
            "${{trimsuffix(trimprefix(jsonencode(var.{name}), \"\\\"\"), \"\\\"\")}}"
        ));
        rest = &after[end + END.len_utf8()..];
    }
    out.push_str(&hcl_literal(rest));
    out.push('"');
    Some(out)
}

/// Text inside a quoted string of HCL's native syntax, as itself: HCL's escapes, and the
/// template engine's (`${` → `$${`, `%{` → `%%{`).
pub(crate) fn hcl_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.replace("${", "$${").replace("%{", "%%{")
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

pub(super) fn string_list(value: Option<&Json>, text: Text) -> Option<Json> {
    let items = config::as_string_list(value);
    (!items.is_empty())
        .then(|| Json::Array(items.iter().map(|s| Json::String(text.of(s))).collect()))
}

pub(super) fn string_map(value: Option<&Json>, text: Text) -> Option<Json> {
    let Some(Json::Object(map)) = value else {
        return None;
    };
    let out: Map<String, Json> = map
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                Json::String(text.of(&json_scalar_text(v).unwrap_or_else(|| v.to_string()))),
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

/// The module's `mdw_lineage` id, which every model, seed and data test is owned by.
pub(super) const LINEAGE_ID: &str = "${mdw_lineage.this.id}";
/// Every test's `run_trigger`: `terraform apply -var data_test_run=…` runs them all again.
pub(super) const RUN_TRIGGER: &str = "${var.data_test_run}";

/// A node's key in `upstream` maps: `model.<resource name>` (a model version's is
/// `model.<model>_v<v>`), `seed.<name>`, `source.<source>.<table>`.
pub(super) fn upstream_key(node: &NodeRef) -> String {
    match node {
        NodeRef::Model(name) => format!("model.{}", resource_name(name)),
        NodeRef::Seed(name) => format!("seed.{name}"),
        NodeRef::Source(s, t) => format!("source.{s}.{t}"),
    }
}

/// What changes when a node is rebuilt: a model's or seed's `build_id`; a source's
/// `snapshot_id`, which is null for a table with no snapshot (then "").
pub(super) fn build_expression(node: &NodeRef, layout: &Layout) -> String {
    match node {
        NodeRef::Source(..) => {
            let snapshot = format!("{}.snapshot_id", reference(node));
            format!("${{{snapshot} == null ? \"\" : {snapshot}}}")
        }
        NodeRef::Model(name) => format!("${{{}}}", layout.build_ref(name)),
        NodeRef::Seed(_) => format!("${{{}.build_id}}", reference(node)),
    }
}

/// Builds every `*.tf.json` file: `(file name, content)`, sorted by name.
pub fn render(
    compiled: &Compiled,
    out_dir: &Path,
    options: &EmitOptions,
) -> Result<Vec<(String, String)>> {
    let files = std::sync::Mutex::new(Vec::new());
    visit(compiled, out_dir, options, &|name, content| {
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
/// The variables the models module declares itself.
const MODULE_VARIABLES: [&str; 5] = [
    "glue_databases",
    "data_test_run",
    super::snapshot::RUN_VARIABLE,
    super::microbatch::START_VARIABLE,
    super::microbatch::END_VARIABLE,
];

pub(crate) fn visit(
    compiled: &Compiled,
    out_dir: &Path,
    options: &EmitOptions,
    sink: &(dyn Fn(&str, &str) -> Result<()> + Sync),
) -> Result<Vec<String>> {
    // The module declares these itself: a deferred dbt var of the same name would be declared
    // twice, which Terraform refuses far from the cause.
    for name in compiled.deferred_vars.keys() {
        if MODULE_VARIABLES.contains(&name.as_str()) {
            return Err(Diagnostic::new(format!(
                "var '{name}' is deferred to Terraform, where the models module declares a variable '{name}' of its own"
            ))
            .at(crate::error::Location::new(crate::project::PROJECT_FILE, 1, 1))
            .help(format!(
                "bind it at compile time (--vars '{{{name}: ...}}'), or rename the dbt var"
            )));
        }
    }
    let layout = Layout::new(compiled, options)?;
    let seeds: BTreeSet<&str> = compiled.seeds.iter().map(|s| s.name.as_str()).collect();
    let databases: BTreeSet<String> = compiled
        .models
        .iter()
        .filter(|m| !m.ephemeral)
        .map(|m| m.relation.schema.clone())
        .chain(compiled.seeds.iter().map(|s| s.relation.schema.clone()))
        .collect();

    let held = held_tests(compiled);
    let waits = waits_for(compiled, &seeds, &held);
    let no_waits = Vec::new();
    let no_tests = Vec::new();
    let mut files = Vec::new();
    let mut names = if layout.grouped() {
        files.extend(group_files(compiled, &layout, &seeds, &waits, &held)?);
        Vec::new()
    } else {
        let model_files: Result<Vec<String>> = compiled
            .models
            .par_iter()
            .filter(|model| !model.ephemeral)
            .map(|model| {
                let waits = waits.get(model.name.as_str()).unwrap_or(&no_waits);
                let tests = held.by_model.get(model.name.as_str()).unwrap_or(&no_tests);
                let resource = model_resource(model, &seeds, waits, tests, &layout)?;
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
        if let Some(file) = ungrouped_file(out_dir) {
            files.push(file);
        }
        model_files?
    };

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
        resource.insert("lineage".into(), json!(LINEAGE_ID));
        resource.insert("path".into(), json!(path));
        resource.insert(
            "content_sha256".into(),
            json!(format!("${{filesha256(\"{path}\")}}")),
        );
        if let Some(types) = string_map(seed.config.get("column_types"), Text::Template) {
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
            // Models were compiled against the columns Glue had: the plan checks they still are.
            let key = (
                source.relation.schema.to_lowercase(),
                source.relation.identifier.to_lowercase(),
            );
            if let Some(columns) = compiled.warehouse_reads.get(&key) {
                let expected: Vec<Json> = columns
                    .iter()
                    .map(|(name, ty)| json!({"name": tf_string(name), "type": tf_string(ty)}))
                    .collect();
                data.insert("expect_columns".into(), Json::Array(expected));
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

    files.push((
        "lineage.tf.json".to_string(),
        file_json(
            "the project",
            json!({"resource": {"mdw_lineage": {"this": {
                "description": tf_string(&format!("dbt project {}", compiled.project.name)),
            }}}})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        ),
    ));
    files.push((
        "tests.tf.json".to_string(),
        tests_file(compiled, &held, &layout),
    ));
    if !compiled.unit_tests.is_empty() {
        let resources: Map<String, Json> = compiled
            .unit_tests
            .iter()
            .map(|test| {
                (
                    unit_tests::key(test),
                    Json::Object(unit_tests::resource(test, &layout)),
                )
            })
            .collect();
        let mut body = Map::new();
        body.insert("resource".into(), json!({"mdw_unit_test": resources}));
        files.push((
            "unit_tests.tf.json".to_string(),
            file_json("the project's unit tests", body),
        ));
    }

    if compiled
        .models
        .iter()
        .any(|m| m.resource_type == "snapshot")
    {
        files.push((
            "snapshots.tf.json".to_string(),
            file_json("the project's snapshots", super::snapshot::run_variable()),
        ));
    }
    if compiled.models.iter().any(|m| {
        config::as_str(&m.config, "materialized") == Some("incremental")
            && config::as_str(&m.config, "incremental_strategy") == Some("microbatch")
    }) {
        files.push((
            "microbatch.tf.json".to_string(),
            file_json(
                "the project's microbatch models",
                super::microbatch::variables(),
            ),
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

/// `group_<g>.tf.json` per group (`--group-by`): its `mdw_model_group`, and a `removed` block
/// (`destroy = false`) per model for the `mdw_iceberg_model` address it had without groups, so
/// switching to groups forgets those resources instead of dropping their tables (the group
/// adopts the tables: the owner ids are the same).
fn group_files(
    compiled: &Compiled,
    layout: &Layout,
    seeds: &BTreeSet<&str>,
    waits: &BTreeMap<String, Vec<String>>,
    held: &HeldTests,
) -> Result<Vec<(String, String)>> {
    // What each test resource a model may wait for reads.
    let mut test_reads: BTreeMap<String, Vec<NodeRef>> = BTreeMap::new();
    for test in &compiled.tests {
        test_reads.insert(data_tests::address(test), test.depends_on.clone());
    }
    for test in &compiled.unit_tests {
        let reads = test.given.iter().map(|g| g.node.clone()).collect();
        test_reads.insert(unit_tests::address(test), reads);
    }
    let models: BTreeMap<&str, &CompiledModel> = compiled
        .models
        .iter()
        .map(|m| (m.name.as_str(), m))
        .collect();
    let no_tests = Vec::new();
    let mut files = Vec::new();
    for (group, names) in layout.groups() {
        let mut elements = Vec::new();
        let mut upstream = Map::new();
        let mut depends_on = BTreeSet::new();
        let mut removed = Vec::new();
        let mut tested = false;
        for name in names {
            let Some(model) = models.get(name) else {
                continue;
            };
            let tests = held.by_model.get(name).unwrap_or(&no_tests);
            tested |= !tests.is_empty();
            let mut definition = model_definition(model, tests, Text::Raw)?;
            let (reads, after) = model_reads(model, seeds, layout, Some(group));
            if !reads.is_empty() {
                definition.insert("upstream".into(), json!(reads.keys().collect::<Vec<_>>()));
            }
            if !after.is_empty() {
                definition.insert("after".into(), Json::Array(after));
            }
            upstream.extend(reads);
            let Some(element) = hcl_json_string(&Json::Object(definition)) else {
                return Err(model_error(
                    model,
                    "the model's text holds U+E000 or U+E001, which mdwc uses to carry Terraform variables inside a group's JSON".into(),
                    "remove the character, or compile with --group-by none",
                ));
            };
            depends_on.insert(database_address(&model.relation.schema));
            // A test that reads a model of this group cannot hold the group back: it waits
            // for the group itself. Inside the group the model then does not wait for it.
            for address in waits.get(name).into_iter().flatten() {
                let reads_group = test_reads
                    .get(address)
                    .is_some_and(|reads| reads.iter().any(|n| layout.in_group(n, group)));
                if !reads_group {
                    depends_on.insert(address.clone());
                }
            }
            elements.push((name, element));
            removed.push(json!({
                "from": format!("mdw_iceberg_model.{}", resource_name(name)),
                "lifecycle": {"destroy": false},
            }));
        }
        let mut resource = Map::new();
        resource.insert("depends_on".into(), json!(depends_on));
        resource.insert("lineage".into(), json!(LINEAGE_ID));
        if !upstream.is_empty() {
            resource.insert("upstream".into(), Json::Object(upstream));
        }
        if tested {
            resource.insert("test_run_trigger".into(), json!(RUN_TRIGGER));
        }
        resource.insert(
            "models".into(),
            json!(format!("${{local.{}}}", Layout::models_local(group))),
        );
        let mut body = Map::new();
        body.insert(
            "resource".into(),
            json!({"mdw_model_group": {group: resource}}),
        );
        body.insert("removed".into(), Json::Array(removed));
        body.insert(
            "locals".into(),
            json!({Layout::builds_local(group): format!("${{mdw_model_group.{group}.build_ids}}")}),
        );
        files.push((
            format!("group_{group}.tf.json"),
            file_json(&format!("the models of folder {group}"), body),
        ));
        files.push((
            format!("group_{group}_models.tf"),
            models_file(group, &elements),
        ));
    }
    Ok(files)
}

/// `group_<g>_models.tf`: the local holding each model's definition (the JSON string of
/// `mdw_model_group`'s `models`), in HCL's native syntax. In a `.tf.json` file every string is
/// a template Terraform lexes again each time it looks for references in it — several times
/// per plan, over every byte of every model's SQL (bench/SCALE.md); a `.tf` file is lexed once.
fn models_file(group: &str, elements: &[(&str, String)]) -> String {
    let mut text = format!(
        "# {GENERATED_MARKER} from the models of folder {group}; do not edit.\n\
         # Each model's definition for mdw_model_group.{group} (group_{group}.tf.json).\n\
         locals {{\n  {} = {{\n",
        Layout::models_local(group)
    );
    for (name, definition) in elements {
        text.push_str(&format!("    \"{}\" = {definition}\n", hcl_literal(name)));
    }
    text.push_str("  }\n}\n");
    text
}

/// The file that forgets the groups of an earlier `--group-by` compile when compiling without
/// it: a `removed` block (`destroy = false`) per group, so the `mdw_iceberg_model`s adopt the
/// tables instead of the groups dropping them. The groups are read from the earlier module in
/// `out_dir` (its `group_*.tf.json`, and this file itself, so a second compile before the
/// apply keeps them).
const UNGROUPED_FILE: &str = "removed_groups.tf.json";

fn ungrouped_file(out_dir: &Path) -> Option<(String, String)> {
    let mut groups = BTreeSet::new();
    for name in super::files::generated_files(out_dir) {
        let Ok(text) = std::fs::read_to_string(out_dir.join(&name)) else {
            continue;
        };
        let Ok(json) = serde_json::from_str::<Json>(&text) else {
            continue;
        };
        if name.starts_with("group_") {
            if let Some(Json::Object(declared)) = json.pointer("/resource/mdw_model_group") {
                groups.extend(declared.keys().map(|g| format!("mdw_model_group.{g}")));
            }
        } else if name == UNGROUPED_FILE {
            let earlier = json.get("removed").and_then(Json::as_array);
            groups.extend(
                earlier
                    .into_iter()
                    .flatten()
                    .filter_map(|block| block.get("from").and_then(Json::as_str))
                    .map(str::to_string),
            );
        }
    }
    if groups.is_empty() {
        return None;
    }
    let removed: Vec<Json> = groups
        .iter()
        .map(|from| json!({"from": from, "lifecycle": {"destroy": false}}))
        .collect();
    let mut body = Map::new();
    body.insert("removed".into(), Json::Array(removed));
    Some((
        UNGROUPED_FILE.to_string(),
        file_json("an earlier compile with --group-by", body),
    ))
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

/// Which data tests run inside their model's resource ([`data_tests::held_by`]).
struct HeldTests<'a> {
    by_model: BTreeMap<&'a str, Vec<&'a CompiledTest>>,
    /// The keys of all of them.
    keys: BTreeSet<&'a str>,
}

fn held_tests(compiled: &Compiled) -> HeldTests<'_> {
    let models: BTreeSet<&str> = compiled
        .models
        .iter()
        .filter(|m| !m.ephemeral)
        .map(|m| m.name.as_str())
        .collect();
    let mut held = HeldTests {
        by_model: BTreeMap::new(),
        keys: BTreeSet::new(),
    };
    for test in &compiled.tests {
        if let Some(model) = data_tests::held_by(test, &models) {
            held.by_model.entry(model).or_default().push(test);
            held.keys.insert(&test.key);
        }
    }
    held
}

/// The data tests a model's resource waits for (`dbt build`'s order; see
/// [`build_order`]): the error-severity tests of what it reads, by model name. Tests a model's
/// resource runs itself need no edge: whatever reads the model waits for its resource.
fn waits_for(
    compiled: &Compiled,
    seeds: &BTreeSet<&str>,
    held: &HeldTests,
) -> BTreeMap<String, Vec<String>> {
    let reads: Vec<(NodeRef, Vec<NodeRef>)> = compiled
        .models
        .iter()
        .filter(|model| !model.ephemeral)
        .map(|model| {
            let nodes = model
                .refs
                .iter()
                .map(|name| read_node(name, seeds))
                .chain(
                    model
                        .sources
                        .iter()
                        .map(|(s, t)| NodeRef::Source(s.clone(), t.clone())),
                )
                .collect();
            (NodeRef::Model(model.name.clone()), nodes)
        })
        .collect();
    let models: Vec<ModelReads> = reads
        .iter()
        .map(|(model, nodes)| ModelReads {
            model: model.clone(),
            reads: nodes,
        })
        .collect();
    let addresses: Vec<(String, &CompiledTest)> = compiled
        .tests
        .iter()
        .filter(|test| data_tests::is_error(test) && !held.keys.contains(test.key.as_str()))
        .map(|test| (data_tests::address(test), test))
        .collect();
    let tests: Vec<TestReads> = addresses
        .iter()
        .map(|(address, test)| TestReads {
            key: address,
            reads: &test.depends_on,
        })
        .collect();
    let mut waits: BTreeMap<String, Vec<String>> = build_order::blocking_tests(&models, &tests)
        .into_iter()
        .filter_map(|(node, keys)| match node {
            NodeRef::Model(name) => Some((name, keys)),
            _ => None,
        })
        .collect();
    // `dbt build` runs a model's unit tests before it builds the model.
    for test in &compiled.unit_tests {
        waits
            .entry(test.model.clone())
            .or_default()
            .push(unit_tests::address(test));
    }
    waits
}

/// A ref-ed name as the node it is: a seed or a model.
fn read_node(name: &str, seeds: &BTreeSet<&str>) -> NodeRef {
    if seeds.contains(name) {
        NodeRef::Seed(name.to_string())
    } else {
        NodeRef::Model(name.to_string())
    }
}

/// `tests.tf.json`: a `mdw_data_test` per data test no model holds, the `data_test_run`
/// variable every test's run trigger holds, and the `data_tests` output (test name → status).
fn tests_file(compiled: &Compiled, held: &HeldTests, layout: &Layout) -> String {
    let mut resources = Map::new();
    let mut statuses = Map::new();
    if !layout.grouped() {
        for (model, tests) in &held.by_model {
            for test in tests {
                statuses.insert(
                    test.key.clone(),
                    json!(format!(
                        "${{mdw_iceberg_model.{}.data_test_status[\"{}\"]}}",
                        resource_name(model),
                        tf_string(&test.key)
                    )),
                );
            }
        }
    }
    for test in &compiled.tests {
        if held.keys.contains(test.key.as_str()) {
            continue;
        }
        let name = resource_name(&test.key);
        statuses.insert(
            test.key.clone(),
            json!(format!("${{mdw_data_test.{name}.status}}")),
        );
        resources.insert(name, Json::Object(data_tests::resource(test, layout)));
    }
    // Grouped: the groups' status maps merged with the others', one reference per group (each
    // reference makes Terraform decode the whole group's state).
    let statuses = if layout.grouped() {
        let mut parts: Vec<String> = layout
            .groups()
            .keys()
            .map(|group| format!("mdw_model_group.{group}.data_test_status"))
            .collect();
        let others: Vec<String> = compiled
            .tests
            .iter()
            .filter(|test| !held.keys.contains(test.key.as_str()))
            .map(|test| {
                format!(
                    "{} = mdw_data_test.{}.status",
                    Json::String(tf_string(&test.key)),
                    resource_name(&test.key)
                )
            })
            .collect();
        parts.push(format!("{{ {} }}", others.join(", ")));
        json!(format!("${{merge({})}}", parts.join(", ")))
    } else {
        Json::Object(statuses)
    };
    let mut body = Map::new();
    body.insert(
        "variable".into(),
        json!({"data_test_run": {
            "type": "string",
            "default": "",
            "description": "Any new value (e.g. a timestamp) runs every data and unit test again without rebuilding a model.",
        }}),
    );
    if !resources.is_empty() {
        body.insert("resource".into(), json!({"mdw_data_test": resources}));
    }
    body.insert(
        "output".into(),
        json!({"data_tests": {
            "description": "Each data test's status after the apply: pass or warn.",
            "value": statuses,
        }}),
    );
    file_json("the project's data tests", body)
}

/// What a model is — its relation, SQL, materialization settings and data tests — as the
/// attributes of its `mdw_iceberg_model` or the JSON of its definition in a group, its
/// strings written as `text` says.
fn model_definition(
    model: &CompiledModel,
    tests: &[&CompiledTest],
    text: Text,
) -> Result<Map<String, Json>> {
    let config: &Config = &model.config;
    let materialized = config::as_str(config, "materialized").unwrap_or("view");
    match materialized {
        "table" | "view" | "incremental" | "snapshot" => {}
        other => {
            return Err(model_error(
                model,
                format!("unknown materialization '{other}'"),
                "use materialized='table', 'view' or 'incremental'",
            ));
        }
    }
    let mut resource = Map::new();
    resource.insert("database".into(), json!(text.of(&model.relation.schema)));
    resource.insert("name".into(), json!(text.of(&model.relation.identifier)));
    resource.insert("materialized".into(), json!(materialized));
    resource.insert("sql".into(), json!(text.of(&model.sql_with_markers)));
    if materialized == "incremental"
        && let Some(incremental_sql) = &model.incremental_sql_with_markers
    {
        resource.insert("incremental_sql".into(), json!(text.of(incremental_sql)));
    }

    if materialized == "incremental" {
        let strategy = config::as_str(config, "incremental_strategy").unwrap_or("append");
        match strategy {
            "append" | "merge" | "microbatch" => {}
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
        if strategy == "microbatch" {
            resource.insert(
                "microbatch".into(),
                super::microbatch::settings(model, text),
            );
        }
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
        // A snapshot's unique_key is one of its settings (below).
        if key == "unique_key" && materialized == "snapshot" {
            continue;
        }
        if let Some(list) = string_list(config.get(key), text) {
            resource.insert(key.into(), list);
        }
    }
    if materialized == "snapshot" {
        resource.insert("snapshot".into(), super::snapshot::settings(model, text));
        resource.insert(
            "run_trigger".into(),
            json!(text.of(&deferred_marker(super::snapshot::RUN_VARIABLE))),
        );
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
    if let Some(properties) = string_map(config.get("table_properties"), text) {
        resource.insert("table_properties".into(), properties);
    }
    if let Some(location) = config::as_str(config, "external_location") {
        resource.insert("external_location".into(), json!(text.of(location)));
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
    } else if materialized == "snapshot" {
        // A snapshot's history cannot be rebuilt from its sources: a snapshot removed from the
        // project leaves its table (and data) in place unless it says `on_destroy: drop`.
        resource.insert("on_destroy".into(), json!("retain"));
    }
    if !model.description.is_empty() {
        resource.insert("description".into(), json!(text.of(&model.description)));
    }
    if !model.column_descriptions.is_empty() {
        let docs: BTreeMap<&String, String> = model
            .column_descriptions
            .iter()
            .map(|(k, v)| (k, text.of(v)))
            .collect();
        resource.insert("column_descriptions".into(), json!(docs));
    }
    if let Some(tags) = string_list(config.get("tags"), text) {
        resource.insert("model_tags".into(), tags);
    }
    for (key, hooks) in [
        ("pre_hooks", &model.hooks.pre),
        ("post_hooks", &model.hooks.post),
    ] {
        if !hooks.is_empty() {
            let hooks: Vec<String> = hooks.iter().map(|h| text.of(h)).collect();
            resource.insert(key.into(), json!(hooks));
        }
    }
    if !tests.is_empty() {
        let specs: Map<String, Json> = tests
            .iter()
            .map(|test| {
                (
                    text.of(&test.key),
                    Json::Object(data_tests::spec(test, text)),
                )
            })
            .collect();
        resource.insert("data_tests".into(), Json::Object(specs));
    }
    Ok(resource)
}

/// The `upstream` entries of a model: the build of each model, seed and source it reads, by
/// key ([`upstream_key`]) — but the models of `group`, which it lists in `after`.
fn model_reads(
    model: &CompiledModel,
    seeds: &BTreeSet<&str>,
    layout: &Layout,
    group: Option<&str>,
) -> (Map<String, Json>, Vec<Json>) {
    let mut upstream = Map::new();
    let mut after = Vec::new();
    for name in &model.refs {
        let node = read_node(name, seeds);
        if let Some(group) = group
            && layout.in_group(&node, group)
        {
            after.push(json!(name));
            continue;
        }
        upstream.insert(upstream_key(&node), json!(build_expression(&node, layout)));
    }
    for (source, table) in &model.sources {
        let node = NodeRef::Source(source.clone(), table.clone());
        upstream.insert(
            upstream_key(&node),
            json!(format!("${{{}.snapshot_id}}", reference(&node))),
        );
    }
    (upstream, after)
}

/// The attributes of a model's `mdw_iceberg_model`.
fn model_resource(
    model: &CompiledModel,
    seeds: &BTreeSet<&str>,
    waits: &[String],
    tests: &[&CompiledTest],
    layout: &Layout,
) -> Result<Map<String, Json>> {
    let mut resource = model_definition(model, tests, Text::Template)?;
    let mut depends_on = vec![database_address(&model.relation.schema)];
    depends_on.extend(waits.iter().cloned());
    resource.insert("depends_on".into(), json!(depends_on));
    resource.insert("lineage".into(), json!(LINEAGE_ID));
    let (upstream, _) = model_reads(model, seeds, layout, None);
    if !upstream.is_empty() {
        resource.insert("upstream".into(), Json::Object(upstream));
    }
    if !tests.is_empty() {
        resource.insert("test_run_trigger".into(), json!(RUN_TRIGGER));
    }
    Ok(resource)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jinja::objects::deferred_marker;

    #[test]
    fn a_dollar_before_a_deferred_var_stays_a_dollar() {
        let text = format!("'${}' as price, '${{x}}'", deferred_marker("amount"));
        assert_eq!(
            tf_string(&text),
            r#"'${"$"}${var.amount}' as price, '$${x}'"#
        );
        let hcl = hcl_json_string(&json!({"sql": text})).unwrap_or_default();
        assert_eq!(
            hcl,
            r#""{\"sql\":\"'${"$"}${trimsuffix(trimprefix(jsonencode(var.amount), "\""), "\"")}' as price, '$${x}'\"}""#
        );
        assert_eq!(hcl_json_string(&json!({"sql": "\u{E000}"})), None);
    }
}
