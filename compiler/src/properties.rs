//! Properties yml (`models/**/*.yml`): sources, model and seed docs, columns, data tests, and
//! `config:` blocks.

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;

use serde_json::{Map, Value as Json};

use crate::config::render::ConfigRenderer;
use crate::config::types::{Checker, NodeKind};
use crate::error::{Diagnostic, Location, Result};
use crate::project::{SourceFile, type_name};
use crate::yaml::{self, Step};

mod unit_tests;
pub(crate) use unit_tests::{Fixture, UnitTestSpec, csv_rows};

/// One table of a `sources:` entry.
#[derive(Debug, Clone)]
pub(crate) struct SourceTable {
    pub source_name: String,
    pub table_name: String,
    /// Catalog; `None` means the target's database.
    pub database: Option<String>,
    pub schema: String,
    pub identifier: String,
    pub description: String,
    pub columns: Vec<Column>,
    pub tests: Vec<TestSpec>,
    pub location: Location,
    /// `quoting:` of the source, with the table's over it.
    pub quoting: Option<Json>,
    /// `config: {event_time: …}` of the table, else of the source: the column a microbatch
    /// model's batch filters this source on.
    pub event_time: Option<String>,
    /// `config: {enabled: …}` of the table, else of the source, rendered; `None` when neither
    /// says (dbt_project.yml's `sources:` may).
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Column {
    pub name: String,
    pub description: String,
    pub tests: Vec<TestSpec>,
    /// `quote:` as written.
    pub quote: Option<bool>,
}

/// A data test as written in yml: `not_null`, `{accepted_values: {values: [...]}}`, …
#[derive(Debug, Clone)]
pub(crate) struct TestSpec {
    /// As written, possibly namespaced (`dbt_utils.expression_is_true`).
    pub test_name: String,
    pub column: Option<String>,
    pub args: Map<String, Json>,
    pub config: Map<String, Json>,
    /// A `name:` given in yml replaces the synthesized one.
    pub custom_name: Option<String>,
    pub file: String,
    /// The yml text and the test's path in it; the location is only searched for when an
    /// error needs it.
    text: Arc<str>,
    path: Vec<Step>,
}

impl TestSpec {
    pub(crate) fn location(&self) -> Location {
        yaml::locate(&self.file, &self.text, &self.path)
    }
}

/// Docs, columns, tests and config of a model or seed.
#[derive(Debug, Clone, Default)]
pub(crate) struct NodeProperties {
    pub description: String,
    pub columns: Vec<Column>,
    pub tests: Vec<TestSpec>,
    pub config: Map<String, Json>,
    pub file: String,
    /// Model versions (`versions:`), each with its properties already merged with the
    /// model's; empty for an unversioned node.
    pub versions: Vec<ModelVersion>,
    /// `latest_version:`, else the highest `v`.
    pub latest_version: Option<String>,
}

/// One entry of a model's `versions:`.
#[derive(Debug, Clone)]
pub(crate) struct ModelVersion {
    /// `v`, as written (`2`, `1.5`, `"beta"`).
    pub v: String,
    /// The file stem that defines it: `defined_in:`, else `<model>_v<v>`.
    pub defined_in: Option<String>,
    /// Description, columns (after `include`/`exclude`), tests and config for this version.
    pub props: NodeProperties,
}

#[derive(Debug, Default)]
pub(crate) struct Properties {
    pub sources: Vec<SourceTable>,
    pub models: BTreeMap<String, NodeProperties>,
    pub seeds: BTreeMap<String, NodeProperties>,
    pub snapshots: BTreeMap<String, NodeProperties>,
    /// Snapshots defined in yml (dbt 1.9+ `relation:`), in file order.
    pub yml_snapshots: Vec<YmlSnapshot>,
    /// dbt 1.8+ unit tests, in file order.
    pub unit_tests: Vec<UnitTestSpec>,
}

/// A snapshot defined in properties yml: its name and `relation:` (`ref(...)`/`source(...)`).
#[derive(Debug, Clone)]
pub(crate) struct YmlSnapshot {
    pub name: String,
    pub relation: String,
    /// Where `relation:` is written.
    pub location: Location,
}

/// Test properties that are configs rather than arguments of the test macro.
const TEST_CONFIG_KEYS: &[&str] = &[
    "severity",
    "where",
    "tags",
    "enabled",
    "warn_if",
    "error_if",
    "store_failures",
    "store_failures_as",
    "limit",
    "meta",
    "alias",
    "schema",
    "database",
    "fail_calc",
];

/// Reads every properties file; a file with an error is left out, and the error returned.
pub(crate) fn parse(
    files: &[SourceFile],
    checker: &Checker,
    renderer: &ConfigRenderer,
) -> (Properties, Vec<Diagnostic>) {
    // YAML parsing is the slow part: do it in parallel, then merge in file order.
    let docs: Vec<Result<Json>> = files
        .par_iter()
        .map(|file| yaml::parse(&file.path, &file.text))
        .collect();
    let mut properties = Properties::default();
    let mut errors = Vec::new();
    for (file, doc) in files.iter().zip(docs) {
        // Each file is read into a copy, so a file that fails half-way adds nothing.
        let mut with_file = std::mem::take(&mut properties);
        match doc.and_then(|doc| parse_file(file, doc, checker, renderer, &mut with_file)) {
            Ok(()) => properties = with_file,
            Err(error) => {
                errors.push(error);
                properties = without_file(with_file, &file.path);
            }
        }
    }
    (properties, errors)
}

/// `properties` without what `file` added.
fn without_file(mut properties: Properties, file: &str) -> Properties {
    properties.sources.retain(|t| t.location.file != file);
    properties.models.retain(|_, p| p.file != file);
    properties.seeds.retain(|_, p| p.file != file);
    properties.snapshots.retain(|_, p| p.file != file);
    properties.yml_snapshots.retain(|s| s.location.file != file);
    properties.unit_tests.retain(|t| t.location.file != file);
    properties
}

fn parse_file(
    file: &SourceFile,
    doc: Json,
    checker: &Checker,
    renderer: &ConfigRenderer,
    out: &mut Properties,
) -> Result<()> {
    let doc = match doc {
        Json::Object(map) => map,
        Json::Null => return Ok(()),
        _ => {
            return Err(Diagnostic::new("a properties file must be a mapping")
                .at(Location::new(&file.path, 1, 1))
                .help("start the file with `version: 2` and top-level keys such as `models:`"));
        }
    };
    let reader = Reader {
        file,
        text: Arc::from(file.text.as_str()),
        checker,
        renderer,
    };
    if let Some(sources) = doc.get("sources") {
        let path = [Step::key("sources")];
        for (index, source) in reader.list(sources, &path)?.iter().enumerate() {
            reader.source(source, &step(&path, Step::Index(index)), &mut out.sources)?;
        }
    }
    if let Some(unit_tests) = doc.get("unit_tests") {
        reader.unit_tests(unit_tests, &mut out.unit_tests)?;
    }
    for (key, kind, target) in [
        ("models", NodeKind::Model, &mut out.models),
        ("seeds", NodeKind::Seed, &mut out.seeds),
        ("snapshots", NodeKind::Snapshot, &mut out.snapshots),
    ] {
        if let Some(nodes) = doc.get(key) {
            let path = [Step::key(key)];
            for (index, node) in reader.list(nodes, &path)?.iter().enumerate() {
                let name = reader.name(node, &step(&path, Step::Index(index)))?;
                let at = step(&path, Step::named(&name));
                if kind == NodeKind::Snapshot
                    && let Some(relation) = node.get("relation")
                {
                    let location = reader.locate(&step(&at, Step::key("relation")));
                    let relation = relation.as_str().map(str::trim).unwrap_or_default();
                    let call = |f: &str| relation.starts_with(f) && relation.ends_with(')');
                    if !call("ref(") && !call("source(") {
                        return Err(Diagnostic::new(format!(
                            "snapshot '{name}': relation must be a ref() or source() call, not {relation:?}"
                        ))
                        .at(location)
                        .help("write relation: ref('model') or relation: source('source', 'table')"));
                    }
                    out.yml_snapshots.push(YmlSnapshot {
                        name: name.clone(),
                        relation: relation.to_string(),
                        location,
                    });
                }
                if target.contains_key(&name) {
                    return Err(Diagnostic::new(format!(
                        "{key} entry '{name}' is described twice"
                    ))
                    .at(reader.locate(&at))
                    .help("keep one properties entry per node"));
                }
                let props = reader.node(node, &name, kind, &at)?;
                target.insert(name, props);
            }
        }
    }
    Ok(())
}

/// `path` followed by `next`.
fn step(path: &[Step], next: Step) -> Vec<Step> {
    let mut out = path.to_vec();
    out.push(next);
    out
}

/// dbt's `deep_merge`: nested mappings merge key by key, anything else is replaced.
fn deep_merge(base: &mut Map<String, Json>, over: Map<String, Json>) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Json::Object(existing)), Json::Object(new)) => deep_merge(existing, new),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Orders versions as dbt does: numerically when both are numbers, else as text.
pub(crate) fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    }
}

struct Reader<'a> {
    file: &'a SourceFile,
    text: Arc<str>,
    checker: &'a Checker,
    renderer: &'a ConfigRenderer,
}

impl Reader<'_> {
    fn locate(&self, path: &[Step]) -> Location {
        yaml::locate(&self.file.path, &self.file.text, path)
    }

    fn list<'j>(&self, value: &'j Json, path: &[Step]) -> Result<&'j Vec<Json>> {
        let key = match path.last() {
            Some(Step::Key(key)) => key.as_str(),
            _ => "entries",
        };
        match value {
            Json::Array(items) => Ok(items),
            Json::Null => Ok(const { &Vec::new() }),
            other => Err(Diagnostic::new(format!(
                "`{key}:` must be a list, not {}",
                type_name(other)
            ))
            .at(self.locate(path))
            .help(format!("write `{key}:` followed by `- name: ...` entries"))),
        }
    }

    /// The `name:` of a list entry at `path`.
    fn name(&self, node: &Json, path: &[Step]) -> Result<String> {
        match node.get("name") {
            Some(Json::String(name)) if !name.is_empty() => Ok(name.clone()),
            Some(Json::Number(number)) => Ok(number.to_string()),
            _ => Err(Diagnostic::new("an entry has no `name`")
                .at(self.locate(path))
                .help("give every entry a `name:`")),
        }
    }

    /// A text property (`description:`): a string, or nothing.
    fn text(&self, node: &Json, key: &str, path: &[Step]) -> Result<String> {
        match node.get(key) {
            None | Some(Json::Null) => Ok(String::new()),
            Some(Json::String(text)) => Ok(text.clone()),
            Some(other) => Err(Diagnostic::new(format!(
                "`{key}:` must be a string, not {}",
                type_name(other)
            ))
            .at(self.locate(&step(path, Step::key(key))))
            .help(format!("write `{key}: some text`"))),
        }
    }

    /// A `config:` block, each value checked against dbt's types.
    fn config(&self, node: &Json, kind: NodeKind, path: &[Step]) -> Result<Map<String, Json>> {
        let at = step(path, Step::key("config"));
        let map = match node.get("config") {
            None | Some(Json::Null) => return Ok(Map::new()),
            Some(config @ Json::Object(_)) => {
                match self.renderer.render(config, &|| self.locate(&at))? {
                    Json::Object(map) => map,
                    _ => Map::new(),
                }
            }
            Some(other) => {
                return Err(Diagnostic::new(format!(
                    "`config:` must be a mapping, not {}",
                    type_name(other)
                ))
                .at(self.locate(&at))
                .help("write `config:` followed by indented `key: value` lines"));
            }
        };
        for (key, value) in &map {
            self.check_config(kind, key, value, &step(&at, Step::key(key)))?;
        }
        Ok(map)
    }

    fn check_config(&self, kind: NodeKind, key: &str, value: &Json, path: &[Step]) -> Result<()> {
        self.checker
            .check(kind, &crate::config::normalize_key(key), value)
            .map_err(|invalid| {
                Diagnostic::new(invalid.message)
                    .at(self.locate(path))
                    .help(invalid.help)
            })
    }

    fn node(
        &self,
        node: &Json,
        name: &str,
        kind: NodeKind,
        path: &[Step],
    ) -> Result<NodeProperties> {
        let mut config = self.config(node, kind, path)?;
        // Older projects put `tags:`/`meta:` beside `config:`; dbt still honours them.
        for key in ["tags", "meta", "docs"] {
            if let Some(value) = node.get(key) {
                let at = step(path, Step::key(key));
                let value = &self.renderer.render(value, &|| self.locate(&at))?;
                self.check_config(kind, key, value, &at)?;
                config.entry(key.to_string()).or_insert(value.clone());
            }
        }
        let mut props = NodeProperties {
            description: self.text(node, "description", path)?,
            columns: self.columns(node, name, path)?,
            tests: self.tests(node, name, None, path)?,
            config,
            file: self.file.path.clone(),
            versions: Vec::new(),
            latest_version: None,
        };
        if let Some(versions) = node.get("versions") {
            self.versions(node, name, versions, path, &mut props)?;
        }
        Ok(props)
    }

    /// `versions:` of a model, merged with the model's properties as dbt does: the version's
    /// description, docs and tests replace the model's when given; `config:` is deep-merged
    /// over the model's; columns are the model's (filtered by the version's
    /// `include`/`exclude`), then the version's own, a same-named one replacing the model's.
    fn versions(
        &self,
        node: &Json,
        name: &str,
        versions: &Json,
        path: &[Step],
        props: &mut NodeProperties,
    ) -> Result<()> {
        let versions_path = step(path, Step::key("versions"));
        let bad = |what: String, at: &[Step]| {
            Diagnostic::new(what)
                .at(self.locate(at))
                .help("write `versions: [{v: 1}, {v: 2}]`, each entry with a `v:`")
        };
        let base_columns: Vec<Json> = match node.get("columns") {
            Some(Json::Array(columns)) => columns.clone(),
            _ => Vec::new(),
        };
        for (index, version) in self.list(versions, &versions_path)?.iter().enumerate() {
            let version_path = step(&versions_path, Step::Index(index));
            let v = match version.get("v") {
                Some(Json::String(v)) if !v.is_empty() => v.clone(),
                Some(Json::Number(v)) => v.to_string(),
                _ => {
                    return Err(bad(
                        format!("a version of model '{name}' has no `v:` (a number or string)"),
                        &version_path,
                    ));
                }
            };
            if props.versions.iter().any(|other| other.v == v) {
                return Err(bad(
                    format!("found duplicate version: '{v}' in versions list of model '{name}'"),
                    &version_path,
                ));
            }
            // Columns: the model's that `include`/`exclude` keep, then the version's own.
            let mut include: Option<Vec<String>> = None; // None: all
            let mut exclude: Vec<String> = Vec::new();
            let mut own = Vec::new();
            let mut seen_include = false;
            if let Some(columns) = version.get("columns") {
                for column in self.list(columns, &step(&version_path, Step::key("columns")))? {
                    let Some(spec) = column.get("include") else {
                        own.push(column.clone());
                        continue;
                    };
                    if seen_include {
                        return Err(bad(
                            format!(
                                "version {v} of model '{name}' can have at most one include/exclude element"
                            ),
                            &version_path,
                        ));
                    }
                    seen_include = true;
                    let names = |value: Option<&Json>| -> Vec<String> {
                        match value {
                            Some(Json::Array(items)) => items
                                .iter()
                                .filter_map(|i| i.as_str().map(str::to_string))
                                .collect(),
                            Some(Json::String(single)) => vec![single.clone()],
                            _ => Vec::new(),
                        }
                    };
                    include = match spec {
                        Json::String(all) if all == "*" || all == "all" => None,
                        other => Some(names(Some(other))),
                    };
                    exclude = names(column.get("exclude"));
                }
            }
            let mut columns: Vec<Json> = base_columns
                .iter()
                .filter(|c| {
                    let Some(column) = c.get("name").and_then(Json::as_str) else {
                        return true;
                    };
                    include
                        .as_ref()
                        .is_none_or(|names| names.iter().any(|n| n == column))
                        && !exclude.iter().any(|n| n == column)
                })
                .cloned()
                .collect();
            for column in own {
                let same = columns
                    .iter()
                    .position(|c| c.get("name").is_some() && c.get("name") == column.get("name"));
                match same {
                    Some(at) => columns[at] = column,
                    None => columns.push(column),
                }
            }
            let columns_node = serde_json::json!({ "columns": columns });
            let mut config = props.config.clone();
            deep_merge(
                &mut config,
                self.config(version, NodeKind::Model, &version_path)?,
            );
            if let Some(docs) = version.get("docs") {
                config.insert("docs".to_string(), docs.clone());
            }
            let description = match self.text(version, "description", &version_path)? {
                text if text.is_empty() => props.description.clone(),
                text => text,
            };
            let tests = if version
                .get("data_tests")
                .or_else(|| version.get("tests"))
                .is_some()
            {
                self.tests(version, name, None, &version_path)?
            } else {
                props.tests.clone()
            };
            props.versions.push(ModelVersion {
                defined_in: version
                    .get("defined_in")
                    .and_then(Json::as_str)
                    .map(str::to_string),
                props: NodeProperties {
                    description,
                    columns: self.columns(&columns_node, name, &version_path)?,
                    tests,
                    config,
                    file: self.file.path.clone(),
                    versions: Vec::new(),
                    latest_version: None,
                },
                v,
            });
        }
        let latest = match node.get("latest_version") {
            None | Some(Json::Null) => props
                .versions
                .iter()
                .map(|version| version.v.clone())
                .max_by(|a, b| compare_versions(a, b)),
            Some(Json::String(v)) => Some(v.clone()),
            Some(Json::Number(v)) => Some(v.to_string()),
            Some(other) => Some(other.to_string()),
        };
        if let Some(latest) = &latest
            && !props.versions.iter().any(|version| &version.v == latest)
        {
            let all: Vec<&str> = props.versions.iter().map(|v| v.v.as_str()).collect();
            return Err(Diagnostic::new(format!(
                "latest_version: {latest} is not one of model '{name}' versions: [{}]",
                all.join(", ")
            ))
            .at(self.locate(&step(path, Step::key("latest_version"))))
            .help("set latest_version to one of the `v:` values listed under versions"));
        }
        props.latest_version = latest;
        Ok(())
    }

    fn columns(&self, node: &Json, owner: &str, path: &[Step]) -> Result<Vec<Column>> {
        let Some(columns) = node.get("columns") else {
            return Ok(Vec::new());
        };
        let columns_path = step(path, Step::key("columns"));
        let mut out = Vec::new();
        for (index, column) in self.list(columns, &columns_path)?.iter().enumerate() {
            let name = self.name(column, &step(&columns_path, Step::Index(index)))?;
            let at = step(&columns_path, Step::named(&name));
            out.push(Column {
                quote: column.get("quote").and_then(Json::as_bool),
                description: self.text(column, "description", &at)?,
                // `quote: true`: dbt passes the quoted name to the column's tests.
                tests: match column.get("quote") {
                    Some(Json::Bool(true)) => {
                        self.tests(column, owner, Some(&format!("\"{name}\"")), &at)?
                    }
                    _ => self.tests(column, owner, Some(&name), &at)?,
                },
                name,
            });
        }
        Ok(out)
    }

    fn tests(
        &self,
        node: &Json,
        owner: &str,
        column: Option<&str>,
        path: &[Step],
    ) -> Result<Vec<TestSpec>> {
        let (key, tests) = match (node.get("data_tests"), node.get("tests")) {
            (Some(tests), _) => ("data_tests", tests),
            (None, Some(tests)) => ("tests", tests),
            (None, None) => return Ok(Vec::new()),
        };
        let tests_path = step(path, Step::key(key));
        let mut out = Vec::new();
        for (index, test) in self.list(tests, &tests_path)?.iter().enumerate() {
            let test_path = step(&tests_path, Step::Index(index));
            let bad = || {
                Diagnostic::new(format!("cannot read a data test of '{owner}'"))
                    .at(self.locate(&test_path))
                    .help("write a test as `- not_null` or `- accepted_values: {arguments: {values: [a, b]}}`")
            };
            let (test_name, body) = match test {
                Json::String(name) => (name.clone(), Map::new()),
                Json::Object(map) => {
                    if let Some(Json::String(name)) = map.get("test_name") {
                        (name.clone(), map.clone())
                    } else if map.len() == 1 {
                        let (name, body) = map.iter().next().ok_or_else(bad)?;
                        match body {
                            Json::Object(body) => (name.clone(), body.clone()),
                            Json::Null => (name.clone(), Map::new()),
                            _ => return Err(bad()),
                        }
                    } else {
                        return Err(bad());
                    }
                }
                _ => return Err(bad()),
            };
            let mut args = Map::new();
            let mut config = Map::new();
            let mut custom_name = None;
            // Where the test's keys are written: under `- <test>:`, or beside `test_name:`.
            let body_path = if test.get("test_name").is_some() {
                test_path.clone()
            } else {
                step(&test_path, Step::key(&test_name))
            };
            let mut config_paths = Vec::new();
            for (key, value) in body {
                match key.as_str() {
                    "test_name" => {}
                    "name" => custom_name = value.as_str().map(str::to_string),
                    "config" => match value {
                        Json::Object(map) => {
                            let at = step(&body_path, Step::key("config"));
                            config_paths
                                .extend(map.keys().map(|k| (k.clone(), step(&at, Step::key(k)))));
                            config.extend(map);
                        }
                        Json::Null => {}
                        other => {
                            return Err(Diagnostic::new(format!(
                                "`config:` of a data test must be a mapping, not {}",
                                type_name(&other)
                            ))
                            .at(self.locate(&test_path))
                            .help("write `config: {severity: warn}`"));
                        }
                    },
                    "arguments" => match value {
                        Json::Object(map) => args.extend(map),
                        Json::Null => {}
                        other => {
                            return Err(Diagnostic::new(format!(
                                "`arguments:` of a data test must be a mapping, not {}",
                                type_name(&other)
                            ))
                            .at(self.locate(&test_path))
                            .help("write `arguments: {values: [a, b]}`"));
                        }
                    },
                    key if TEST_CONFIG_KEYS.contains(&key) => {
                        config_paths.push((key.to_string(), step(&body_path, Step::key(key))));
                        config.insert(key.to_string(), value);
                    }
                    _ => {
                        args.insert(key, value);
                    }
                }
            }
            for (key, at) in &config_paths {
                if let Some(value) = config.get(key) {
                    self.check_config(
                        NodeKind::Test,
                        &crate::config::normalize_key(key),
                        value,
                        at,
                    )?;
                }
            }
            out.push(TestSpec {
                test_name,
                column: column.map(str::to_string),
                args,
                config,
                custom_name,
                file: self.file.path.clone(),
                text: self.text.clone(),
                path: test_path,
            });
        }
        Ok(out)
    }

    fn source(&self, source: &Json, path: &[Step], out: &mut Vec<SourceTable>) -> Result<()> {
        let source_name = self.name(source, path)?;
        let path = step(
            &path[..path.len().saturating_sub(1)],
            Step::named(&source_name),
        );
        let text_or = |key: &str, default: Option<&str>| -> Result<Option<String>> {
            let at = step(&path, Step::key(key));
            let value = match source.get(key) {
                Some(value) => Some(self.renderer.render(value, &|| self.locate(&at))?),
                None => None,
            };
            match &value {
                None | Some(Json::Null) => Ok(default.map(str::to_string)),
                Some(Json::String(text)) => Ok(Some(text.clone())),
                Some(other) => Err(Diagnostic::new(format!(
                    "`{key}:` of source '{source_name}' must be a string, not {}",
                    type_name(other)
                ))
                .at(self.locate(&step(&path, Step::key(key))))
                .help(format!("write `{key}: name`"))),
            }
        };
        let database = text_or("database", None)?;
        let schema = text_or("schema", Some(&source_name))?.unwrap_or_default();
        let Some(tables) = source.get("tables") else {
            return Ok(());
        };
        let tables_path = step(&path, Step::key("tables"));
        for (index, table) in self.list(tables, &tables_path)?.iter().enumerate() {
            let table_name = self.name(table, &step(&tables_path, Step::Index(index)))?;
            let at = step(&tables_path, Step::Index(index));
            if out
                .iter()
                .any(|t| t.source_name == source_name && t.table_name == table_name)
            {
                return Err(Diagnostic::new(format!(
                    "source '{source_name}.{table_name}' is declared twice"
                ))
                .at(self.locate(&at))
                .help("declare each source table once"));
            }
            let owner = format!("{source_name}.{table_name}");
            let identifier_value = match table.get("identifier") {
                Some(value) => Some(self.renderer.render(value, &|| self.locate(&at))?),
                None => None,
            };
            let identifier = match identifier_value.as_ref() {
                None | Some(Json::Null) => table_name.clone(),
                Some(Json::String(identifier)) => identifier.clone(),
                Some(other) => {
                    return Err(Diagnostic::new(format!(
                        "`identifier:` of source table '{owner}' must be a string, not {}",
                        type_name(other)
                    ))
                    .at(self.locate(&at))
                    .help("write `identifier: table_name`"));
                }
            };
            let mut quoting = match source.get("quoting") {
                Some(Json::Object(map)) => map.clone(),
                _ => Map::new(),
            };
            if let Some(Json::Object(map)) = table.get("quoting") {
                quoting.extend(map.clone());
            }
            // The table's `event_time`, even null, over the source's (dbt's source patch).
            let event_time = |node: &Json| {
                node.get("config")
                    .and_then(|config| config.get("event_time"))
                    .map(|value| value.as_str().map(str::to_string))
            };
            let enabled = |node: &Json| -> Result<Option<bool>> {
                let Some(value) = node.get("config").and_then(|c| c.get("enabled")) else {
                    return Ok(None);
                };
                match self.renderer.render(value, &|| self.locate(&at))? {
                    Json::Bool(on) => Ok(Some(on)),
                    Json::Null => Ok(None),
                    other => Err(Diagnostic::new(format!(
                        "`enabled` of source table '{owner}' must be a boolean, not {}",
                        type_name(&other)
                    ))
                    .at(self.locate(&at))
                    .help("write `enabled: false` (or a template that renders true or false)")),
                }
            };
            let enabled = match enabled(table)? {
                Some(on) => Some(on),
                None => enabled(source)?,
            };
            out.push(SourceTable {
                enabled,
                event_time: event_time(table).or_else(|| event_time(source)).flatten(),
                quoting: (!quoting.is_empty()).then_some(Json::Object(quoting)),
                identifier,
                description: self.text(table, "description", &at)?,
                columns: self.columns(table, &owner, &at)?,
                tests: self.tests(table, &owner, None, &at)?,
                location: self.locate(&at),
                source_name: source_name.clone(),
                database: database.clone(),
                schema: schema.clone(),
                table_name,
            });
        }
        Ok(())
    }
}
