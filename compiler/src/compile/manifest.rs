//! dbt's manifest: every node, source and macro with its config, relation and dependencies,
//! in dbt's shape (`target/manifest.json`, schema v12), so tools that read dbt's manifest keep
//! working. The same node dicts are the `graph` context variable while compiling.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde_json::{Map, Value as Json, json};
use sha2::{Digest, Sha256};

use super::generic_tests::GenericTest;
use super::nodes::Renderable;
use super::parse::Parsed;
use super::relations::Relations;
use super::{Compiled, Compiler, NodeRef, enabled, node_ref_id, source_id};
use crate::graph::Graph;
use crate::jinja::objects::Relation;
use crate::project::DBT_VERSION;
use crate::properties::Column;

/// The nodes, sources and macros of the manifest, by unique id, each kept as compact JSON
/// text: thousands of nodes as JSON values would take ten times the memory.
#[derive(Debug, Default, Clone)]
pub(crate) struct Manifest {
    pub(crate) nodes: Vec<(String, String)>,
    pub(crate) sources: Vec<(String, String)>,
    pub(crate) macros: Vec<(String, String)>,
}

fn text(value: &Json) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// `(id, JSON text)` entries as a JSON object.
fn object(entries: &[(String, String)]) -> Json {
    Json::Object(
        entries
            .iter()
            .filter_map(|(id, text)| Some((id.clone(), serde_json::from_str(text).ok()?)))
            .collect(),
    )
}

fn sha256(text: &str) -> Json {
    let digest = Sha256::digest(text.as_bytes());
    json!({
        "name": "sha256",
        "checksum": digest.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    })
}

fn columns_json(columns: &[Column]) -> Json {
    let mut out = Map::new();
    for column in columns {
        out.insert(
            column.name.clone(),
            json!({
                "name": column.name,
                "description": column.description,
                "meta": {},
                "data_type": null,
                "constraints": [],
                "quote": null,
                "tags": [],
                "granularity": null,
                "config": {"meta": {}, "tags": []},
                "doc_blocks": [],
            }),
        );
    }
    Json::Object(out)
}

/// A node's config with dbt's defaults for what it does not set.
fn config_json(config: &crate::config::Config, materialized_default: &str) -> Json {
    let mut out: Map<String, Json> = config.clone().into_iter().collect();
    // dbt keeps hooks unrendered, each as {sql, transaction, index}.
    for key in ["pre-hook", "post-hook"] {
        if let Some(value) = out.get(key) {
            let transaction =
                |v: &Json| v.get("transaction").and_then(Json::as_bool).unwrap_or(true);
            let items: Vec<&Json> = match value {
                Json::Array(items) => items.iter().collect(),
                Json::Null => Vec::new(),
                other => vec![other],
            };
            let hooks: Vec<Json> = items
                .into_iter()
                .filter_map(|item| {
                    let sql = match item {
                        Json::String(sql) => sql.clone(),
                        Json::Object(map) => map.get("sql")?.as_str()?.to_string(),
                        _ => return None,
                    };
                    Some(json!({"sql": sql, "transaction": transaction(item), "index": null}))
                })
                .collect();
            out.insert(key.to_string(), Json::Array(hooks));
        }
    }
    let defaults = json!({
        "enabled": true, "alias": null, "schema": null, "database": null, "tags": [],
        "meta": {}, "group": null, "materialized": materialized_default,
        "incremental_strategy": null, "persist_docs": {}, "post-hook": [], "pre-hook": [],
        "quoting": {}, "column_types": {}, "full_refresh": null, "unique_key": null,
        "on_schema_change": "ignore", "on_configuration_change": "apply", "grants": {},
        "packages": [], "docs": {"show": true, "node_color": null},
        "contract": {"enforced": false, "alias_types": true}, "access": "protected",
    });
    if let Json::Object(defaults) = defaults {
        for (key, value) in defaults {
            out.entry(key).or_insert(value);
        }
    }
    Json::Object(out)
}

/// The fields every node of the manifest has.
#[allow(clippy::too_many_arguments)]
fn node_json(
    project: &str,
    resource_type: &str,
    unique_id: &str,
    name: &str,
    original_file_path: &str,
    path: &str,
    fqn: &[String],
    relation: Option<&Relation>,
    config: Json,
    description: &str,
    columns: Json,
    raw_code: &str,
    depends_on: Vec<String>,
) -> Json {
    let tags = config.get("tags").cloned().unwrap_or(json!([]));
    json!({
        "database": relation.map(|r| r.database.clone()),
        "schema": relation.map(|r| r.schema.clone()),
        "name": name,
        "resource_type": resource_type,
        "package_name": project,
        "path": path,
        "original_file_path": original_file_path,
        "unique_id": unique_id,
        "fqn": fqn,
        "alias": relation.map_or_else(
            || name.to_string(),
            |r| r.identifier.trim_start_matches(super::ephemeral::CTE_PREFIX).to_string(),
        ),
        "checksum": sha256(raw_code),
        "config": config,
        "tags": tags,
        "description": description,
        "columns": columns,
        "meta": {},
        "group": null,
        "docs": {"show": true, "node_color": null},
        "patch_path": null,
        "build_path": null,
        "unrendered_config": {},
        "relation_name": relation.filter(|r| !r.is_ephemeral()).map(Relation::rendered),
        "raw_code": raw_code,
        "language": "sql",
        "refs": [],
        "sources": [],
        "metrics": [],
        "depends_on": {"macros": [], "nodes": depends_on},
        "compiled_path": null,
        "contract": {"enforced": false, "alias_types": true, "checksum": null},
        "access": "protected",
        "constraints": [],
        "version": null,
        "latest_version": null,
        "deprecation_date": null,
        "primary_key": [],
        "time_spine": null,
        "functions": [],
        "doc_blocks": [],
        "created_at": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
    })
}

impl Compiler {
    /// The manifest's nodes and sources as the parse phase knows them (no compiled code yet).
    pub(super) fn manifest(
        &self,
        renderables: &[Renderable],
        parsed: &[Option<Parsed>],
        relations: &Relations,
        generic: &[GenericTest],
        graph: &Graph,
    ) -> Manifest {
        let project = &self.project.name;
        let parents = |unique_id: &str| -> Vec<String> {
            graph.index(unique_id).map_or_else(Vec::new, |i| {
                graph.parents[i]
                    .iter()
                    .map(|&p| graph.nodes[p].unique_id.clone())
                    .collect()
            })
        };
        let mut manifest = Manifest::default();
        // Thousands of nodes: built in parallel, kept in file order.
        let built: Vec<Option<(String, String)>> = renderables
            .par_iter()
            .enumerate()
            .map(|(i, r)| {
                let p = parsed[i].as_ref()?;
                if !enabled(&p.config) {
                    return None;
                }
                let unique_id = r.unique_id(project);
                let relation = relations.models.get(i).and_then(Option::as_ref);
                let props = self.node_props(r);
                let root = if r.is_snapshot() {
                    &self.project.snapshot_paths
                } else if r.is_model() {
                    &self.project.model_paths
                } else {
                    &self.project.test_paths
                };
                let path = root
                    .iter()
                    .find_map(|root| r.file.path.strip_prefix(&format!("{root}/")))
                    .unwrap_or(&r.file.path);
                let mut node = node_json(
                    project,
                    r.resource_type,
                    &unique_id,
                    &r.name,
                    &r.file.path,
                    path,
                    &r.fqn,
                    relation,
                    config_json(
                        &p.config,
                        if r.is_snapshot() {
                            "snapshot"
                        } else if r.is_model() {
                            "view"
                        } else {
                            "test"
                        },
                    ),
                    &r.description,
                    columns_json(props.map_or(&[][..], |p| p.columns.as_slice())),
                    &r.file.text,
                    parents(&unique_id),
                );
                node["refs"] = Json::Array(
                p.captured
                    .refs
                    .iter()
                    .map(|call| {
                        json!({"name": call.name, "package": call.package, "version": call.version})
                    })
                    .collect(),
            );
                node["sources"] = Json::Array(
                    p.captured
                        .sources
                        .iter()
                        .map(|(s, t)| json!([s, t]))
                        .collect(),
                );
                if let Some(version) = &r.version {
                    node["version"] = json!(version);
                }
                Some((unique_id, text(&node)))
            })
            .collect();
        manifest.nodes.extend(built.into_iter().flatten());
        for seed in &relations.seeds {
            let unique_id = format!("seed.{project}.{}", seed.name);
            let props = self.props.seeds.get(&seed.name);
            let mut node = node_json(
                project,
                "seed",
                &unique_id,
                &seed.name,
                &seed.file,
                seed.file.split_once('/').map_or(&seed.file[..], |(_, p)| p),
                &seed.fqn,
                Some(&seed.relation),
                config_json(&seed.config, "seed"),
                props.map_or("", |p| p.description.as_str()),
                columns_json(props.map_or(&[][..], |p| p.columns.as_slice())),
                "",
                Vec::new(),
            );
            node["root_path"] = json!(self.project.dir.display().to_string());
            manifest.nodes.push((unique_id, text(&node)));
        }
        let built: Vec<(String, String)> = generic
            .par_iter()
            .map(|test| {
                let unique_id = format!("test.{project}.{}", test.key);
                let file = &test.spec.file;
                let mut node = node_json(
                    project,
                    "test",
                    &unique_id,
                    &test.name,
                    file,
                    &format!("{}.sql", test.name),
                    &[project.clone(), test.name.clone()],
                    None,
                    config_json(&test.config, "test"),
                    "",
                    json!({}),
                    &format!(
                        "{{{{ test_{}(**_dbt_generic_test_kwargs) }}}}",
                        test.spec.test_name.rsplit('.').next().unwrap_or_default()
                    ),
                    test.depends_on
                        .iter()
                        .map(|d| node_ref_id(project, d))
                        .collect(),
                );
                node["column_name"] = json!(test.spec.column);
                node["attached_node"] = json!(node_ref_id(project, &test.depends_on_owner));
                node["file_key_name"] = json!(match &test.depends_on_owner {
                    NodeRef::Source(s, _) => format!("sources.{s}"),
                    NodeRef::Model(m) | NodeRef::Seed(m) => format!("models.{m}"),
                });
                let (namespace, name) = match test.spec.test_name.split_once('.') {
                    Some((ns, name)) => (Some(ns), name),
                    None => (None, test.spec.test_name.as_str()),
                };
                node["test_metadata"] = json!({
                    "name": name,
                    "kwargs": test.spec.args,
                    "namespace": namespace,
                });
                (unique_id, text(&node))
            })
            .collect();
        manifest.nodes.extend(built);
        for source in &relations.sources {
            let t = &source.table;
            let unique_id = source_id(project, &t.source_name, &t.table_name);
            manifest.sources.push((
                unique_id.clone(),
                text(&json!({
                    "database": source.relation.database,
                    "schema": source.relation.schema,
                    "name": t.table_name,
                    "resource_type": "source",
                    "package_name": project,
                    "path": t.location.file,
                    "original_file_path": t.location.file,
                    "unique_id": unique_id,
                    "fqn": [project, t.source_name, t.table_name],
                    "source_name": t.source_name,
                    "source_description": "",
                    "loader": "",
                    "identifier": t.identifier,
                    "quoting": {"database": null, "schema": null, "identifier": null, "column": null},
                    "loaded_at_field": null,
                    "freshness": null,
                    "external": null,
                    "description": t.description,
                    "columns": columns_json(&t.columns),
                    "meta": {},
                    "source_meta": {},
                    "tags": [],
                    "config": {"enabled": true},
                    "patch_path": null,
                    "unrendered_config": {},
                    "relation_name": source.relation.rendered(),
                })),
            ));
        }
        for (package, macros) in &self.engine.registry.packages {
            for (name, entry) in macros {
                let unique_id = format!("macro.{package}.{name}");
                manifest.macros.push((
                    unique_id.clone(),
                    text(&json!({
                        "name": name,
                        "resource_type": "macro",
                        "package_name": package,
                        "path": entry.file,
                        "original_file_path": entry.file,
                        "unique_id": unique_id,
                        "macro_sql": "",
                        "depends_on": {"macros": []},
                        "description": "",
                        "meta": {},
                        "docs": {"show": true, "node_color": null},
                        "patch_path": null,
                        "arguments": entry.signature.params.iter().map(|p| json!({"name": p, "type": null, "description": ""})).collect::<Vec<_>>(),
                        "supported_languages": null,
                    })),
                ));
            }
        }
        manifest
    }
}

impl Compiled {
    /// The compiled fields of each compiled node, by unique id.
    fn compiled_fields(&self) -> BTreeMap<String, Json> {
        let project = &self.project.name;
        let target = &self.project.target_path;
        let mut out = BTreeMap::new();
        // `dbt compile` leaves snapshots uncompiled (they compile when they run).
        for model in self.models.iter().filter(|m| m.resource_type != "snapshot") {
            out.insert(
                model.unique_id(project),
                json!({
                    "compiled": true,
                    "compiled_code": model.sql,
                    "compiled_path": format!("{target}/compiled/{project}/{}", model.file),
                    "extra_ctes_injected": true,
                    "extra_ctes": [],
                }),
            );
        }
        for test in &self.tests {
            out.insert(
                format!("test.{project}.{}", test.key),
                json!({
                    "compiled": true,
                    "compiled_code": test.sql,
                    "compiled_path": format!("{target}/compiled/{project}/{}", test.compiled_path),
                    "extra_ctes_injected": true,
                    "extra_ctes": [],
                }),
            );
        }
        out
    }

    fn maps(&self) -> (BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>) {
        let mut parent_map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut child_map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (i, node) in self.graph.nodes.iter().enumerate() {
            let ids = |list: &[usize]| -> Vec<String> {
                list.iter()
                    .map(|&n| self.graph.nodes[n].unique_id.clone())
                    .collect()
            };
            parent_map.insert(node.unique_id.clone(), ids(&self.graph.parents[i]));
            child_map.insert(node.unique_id.clone(), ids(&self.graph.children[i]));
        }
        (parent_map, child_map)
    }

    fn metadata(&self, invocation_id: &str, generated_at: &str) -> Json {
        let project = &self.project.name;
        let (major, minor, patch) = DBT_VERSION;
        json!({
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
            "dbt_version": format!("{major}.{minor}.{patch}"),
            "generated_at": generated_at,
            "invocation_id": invocation_id,
            "env": {},
            "project_name": project,
            "project_id": crate::jinja::globals::local_md5(project.clone()),
            "user_id": null,
            "send_anonymous_usage_stats": false,
            "adapter_type": "athena",
        })
    }

    /// Writes `target/manifest.json` as dbt writes it, node by node (it can be large).
    pub(crate) fn write_manifest(
        &self,
        out: &mut impl std::io::Write,
        invocation_id: &str,
        generated_at: &str,
    ) -> std::io::Result<()> {
        let compiled = self.compiled_fields();
        write!(
            out,
            "{{\"metadata\":{},\"nodes\":{{",
            text(&self.metadata(invocation_id, generated_at))
        )?;
        for (index, (id, node)) in self.manifest.nodes.iter().enumerate() {
            if index > 0 {
                out.write_all(b",")?;
            }
            write!(out, "{}:", text(&Json::String(id.clone())))?;
            match compiled.get(id).and_then(Json::as_object) {
                // The node's text ends with its closing brace: add the compiled fields.
                Some(fields) if node.ends_with('}') => {
                    out.write_all(&node.as_bytes()[..node.len() - 1])?;
                    for (key, value) in fields {
                        write!(out, ",{}:{}", text(&Json::String(key.clone())), text(value))?;
                    }
                    out.write_all(b"}")?;
                }
                _ => out.write_all(node.as_bytes())?,
            }
        }
        out.write_all(b"}")?;
        for (key, entries) in [
            ("sources", &self.manifest.sources),
            ("macros", &self.manifest.macros),
        ] {
            write!(out, ",\"{key}\":{{")?;
            for (index, (id, entry)) in entries.iter().enumerate() {
                if index > 0 {
                    out.write_all(b",")?;
                }
                write!(out, "{}:{entry}", text(&Json::String(id.clone())))?;
            }
            out.write_all(b"}")?;
        }
        let (parent_map, child_map) = self.maps();
        write!(
            out,
            ",\"parent_map\":{},\"child_map\":{}",
            text(&json!(parent_map)),
            text(&json!(child_map))
        )?;
        for key in [
            "docs",
            "exposures",
            "metrics",
            "groups",
            "selectors",
            "disabled",
            "group_map",
            "saved_queries",
            "semantic_models",
            "unit_tests",
            "functions",
        ] {
            write!(out, ",\"{key}\":{{}}")?;
        }
        out.write_all(b"}")
    }

    /// The manifest as a JSON value (for tests; [`Compiled::write_manifest`] writes it).
    pub fn manifest_json(&self, invocation_id: &str, generated_at: &str) -> Json {
        let mut buffer = Vec::new();
        let _ = self.write_manifest(&mut buffer, invocation_id, generated_at);
        serde_json::from_slice(&buffer).unwrap_or_default()
    }
}

/// The `graph` context variable: the manifest's nodes and sources.
pub(crate) fn graph_value(manifest: &Manifest) -> minijinja::Value {
    crate::values::json_to_jinja(&json!({
        "nodes": object(&manifest.nodes),
        "sources": object(&manifest.sources),
        "exposures": {},
        "metrics": {},
        "groups": {},
        "semantic_models": {},
        "saved_queries": {},
    }))
}
