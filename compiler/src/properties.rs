//! Properties yml (`models/**/*.yml`): sources, model and seed docs, columns, data tests, and
//! `config:` blocks.

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;

use serde_json::{Map, Value as Json};

use crate::error::{Diagnostic, Location, Result, yaml_error};
use crate::project::SourceFile;
use crate::values::yaml_to_json;

/// One table of a `sources:` entry.
#[derive(Debug, Clone)]
pub struct SourceTable {
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
}

#[derive(Debug, Clone, Default)]
pub struct Column {
    pub name: String,
    pub description: String,
    pub tests: Vec<TestSpec>,
}

/// A data test as written in yml: `not_null`, `{accepted_values: {values: [...]}}`, …
#[derive(Debug, Clone)]
pub struct TestSpec {
    /// As written, possibly namespaced (`dbt_utils.expression_is_true`).
    pub test_name: String,
    pub column: Option<String>,
    pub args: Map<String, Json>,
    pub config: Map<String, Json>,
    /// A `name:` given in yml replaces the synthesized one.
    pub custom_name: Option<String>,
    pub file: String,
    /// The yml text and the name (column or node) the test is written under; the location is
    /// only searched for when an error needs it.
    text: Arc<str>,
    needle: String,
}

impl TestSpec {
    pub fn location(&self) -> Location {
        locate_name(&self.file, &self.text, &self.needle)
    }
}

/// Where `name: <name>` is written in a yml file.
fn locate_name(path: &str, text: &str, name: &str) -> Location {
    for pattern in [
        format!("name: {name}"),
        format!("name: '{name}'"),
        format!("name: \"{name}\""),
    ] {
        if let Some(offset) = text.find(&pattern) {
            return Location::at_offset(path, text, offset);
        }
    }
    Location::of_text(path, text, name)
}

/// Docs, columns, tests and config of a model or seed.
#[derive(Debug, Clone, Default)]
pub struct NodeProperties {
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
pub struct ModelVersion {
    /// `v`, as written (`2`, `1.5`, `"beta"`).
    pub v: String,
    /// The file stem that defines it: `defined_in:`, else `<model>_v<v>`.
    pub defined_in: Option<String>,
    /// Description, columns (after `include`/`exclude`), tests and config for this version.
    pub props: NodeProperties,
}

#[derive(Debug, Default)]
pub struct Properties {
    pub sources: Vec<SourceTable>,
    pub models: BTreeMap<String, NodeProperties>,
    pub seeds: BTreeMap<String, NodeProperties>,
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
    "limit",
    "meta",
    "alias",
    "schema",
    "database",
    "fail_calc",
];

pub fn parse(files: &[SourceFile]) -> Result<Properties> {
    // YAML parsing is the slow part: do it in parallel, then merge in file order.
    let docs: Vec<Result<Json>> = files
        .par_iter()
        .map(|file| {
            // Straight into JSON values: twice as fast as going through serde_norway::Value.
            // Keys that are not strings (`1: x`) fail that way and take the general path.
            if let Ok(json) = serde_norway::from_str::<Json>(&file.text) {
                return Ok(json);
            }
            let yaml: serde_norway::Value =
                serde_norway::from_str(&file.text).map_err(|err| yaml_error(&file.path, &err))?;
            Ok(yaml_to_json(&yaml))
        })
        .collect();
    let mut properties = Properties::default();
    for (file, doc) in files.iter().zip(docs) {
        parse_file(file, doc?, &mut properties)?;
    }
    Ok(properties)
}

fn parse_file(file: &SourceFile, doc: Json, out: &mut Properties) -> Result<()> {
    let doc = match doc {
        Json::Object(map) => map,
        Json::Null => return Ok(()),
        _ => {
            return Err(Diagnostic::new("a properties file must be a mapping")
                .in_file(&file.path)
                .help("start the file with `version: 2` and top-level keys such as `models:`"));
        }
    };
    let reader = Reader {
        file,
        text: Arc::from(file.text.as_str()),
    };
    if let Some(sources) = doc.get("sources") {
        for source in reader.list(sources, "sources")? {
            reader.source(source, &mut out.sources)?;
        }
    }
    for (key, target) in [("models", &mut out.models), ("seeds", &mut out.seeds)] {
        if let Some(nodes) = doc.get(key) {
            for node in reader.list(nodes, key)? {
                let name = reader.name(node, key)?;
                if target.contains_key(&name) {
                    return Err(Diagnostic::new(format!(
                        "{key} entry '{name}' is described twice"
                    ))
                    .at(reader.locate_name(&name))
                    .help("keep one properties entry per node"));
                }
                let props = reader.node(node, &name)?;
                target.insert(name, props);
            }
        }
    }
    Ok(())
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
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    }
}

struct Reader<'a> {
    file: &'a SourceFile,
    text: Arc<str>,
}

impl Reader<'_> {
    fn locate_name(&self, name: &str) -> Location {
        locate_name(&self.file.path, &self.file.text, name)
    }

    fn list<'j>(&self, value: &'j Json, key: &str) -> Result<&'j Vec<Json>> {
        match value {
            Json::Array(items) => Ok(items),
            _ => Err(Diagnostic::new(format!("`{key}:` must be a list"))
                .at(Location::of_text(&self.file.path, &self.file.text, key))
                .help(format!("write `{key}:` followed by `- name: ...` entries"))),
        }
    }

    fn name(&self, node: &Json, key: &str) -> Result<String> {
        match node.get("name") {
            Some(Json::String(name)) if !name.is_empty() => Ok(name.clone()),
            _ => Err(
                Diagnostic::new(format!("an entry of `{key}:` has no `name`"))
                    .at(Location::of_text(&self.file.path, &self.file.text, key))
                    .help("give every entry a `name:`"),
            ),
        }
    }

    fn text(node: &Json, key: &str) -> String {
        node.get(key)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string()
    }

    fn config(&self, node: &Json, owner: &str) -> Result<Map<String, Json>> {
        match node.get("config") {
            None | Some(Json::Null) => Ok(Map::new()),
            Some(Json::Object(map)) => Ok(map.clone()),
            Some(_) => Err(
                Diagnostic::new(format!("`config:` of '{owner}' must be a mapping"))
                    .at(self.locate_name(owner)),
            ),
        }
    }

    fn node(&self, node: &Json, name: &str) -> Result<NodeProperties> {
        let mut config = self.config(node, name)?;
        // Older projects put `tags:`/`meta:` beside `config:`; dbt still honours them.
        for key in ["tags", "meta", "docs"] {
            if let Some(value) = node.get(key) {
                config.entry(key.to_string()).or_insert(value.clone());
            }
        }
        let mut props = NodeProperties {
            description: Self::text(node, "description"),
            columns: self.columns(node, name)?,
            tests: self.tests(node, name, None)?,
            config,
            file: self.file.path.clone(),
            versions: Vec::new(),
            latest_version: None,
        };
        if let Some(versions) = node.get("versions") {
            self.versions(node, name, versions, &mut props)?;
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
        props: &mut NodeProperties,
    ) -> Result<()> {
        let bad = |what: String| {
            Diagnostic::new(what)
                .at(self.locate_name(name))
                .help("write `versions: [{v: 1}, {v: 2}]`, each entry with a `v:`")
        };
        let base_columns: Vec<Json> = match node.get("columns") {
            Some(Json::Array(columns)) => columns.clone(),
            _ => Vec::new(),
        };
        for version in self.list(versions, "versions")? {
            let v = match version.get("v") {
                Some(Json::String(v)) if !v.is_empty() => v.clone(),
                Some(Json::Number(v)) => v.to_string(),
                _ => {
                    return Err(bad(format!(
                        "a version of model '{name}' has no `v:` (a number or string)"
                    )));
                }
            };
            if props.versions.iter().any(|other| other.v == v) {
                return Err(bad(format!(
                    "found duplicate version: '{v}' in versions list of model '{name}'"
                )));
            }
            // Columns: the model's that `include`/`exclude` keep, then the version's own.
            let mut include: Option<Vec<String>> = None; // None: all
            let mut exclude: Vec<String> = Vec::new();
            let mut own = Vec::new();
            let mut seen_include = false;
            if let Some(columns) = version.get("columns") {
                for column in self.list(columns, "columns")? {
                    let Some(spec) = column.get("include") else {
                        own.push(column.clone());
                        continue;
                    };
                    if seen_include {
                        return Err(bad(format!(
                            "version {v} of model '{name}' can have at most one include/exclude element"
                        )));
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
            deep_merge(&mut config, self.config(version, name)?);
            if let Some(docs) = version.get("docs") {
                config.insert("docs".to_string(), docs.clone());
            }
            let description = match Self::text(version, "description") {
                text if text.is_empty() => props.description.clone(),
                text => text,
            };
            let tests = if version
                .get("data_tests")
                .or_else(|| version.get("tests"))
                .is_some()
            {
                self.tests(version, name, None)?
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
                    columns: self.columns(&columns_node, name)?,
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
            .at(Location::of_text(
                &self.file.path,
                &self.file.text,
                "latest_version",
            ))
            .help("set latest_version to one of the `v:` values listed under versions"));
        }
        props.latest_version = latest;
        Ok(())
    }

    fn columns(&self, node: &Json, owner: &str) -> Result<Vec<Column>> {
        let Some(columns) = node.get("columns") else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for column in self.list(columns, "columns")? {
            let name = self.name(column, "columns")?;
            out.push(Column {
                description: Self::text(column, "description"),
                tests: self.tests(column, owner, Some(&name))?,
                name,
            });
        }
        Ok(out)
    }

    fn tests(&self, node: &Json, owner: &str, column: Option<&str>) -> Result<Vec<TestSpec>> {
        let Some(tests) = node.get("data_tests").or_else(|| node.get("tests")) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let needle = column
            .unwrap_or(owner)
            .rsplit('.')
            .next()
            .unwrap_or(owner)
            .to_string();
        for test in self.list(tests, "data_tests")? {
            let bad = || {
                Diagnostic::new(format!("cannot read a data test of '{owner}'"))
                    .at(self.locate_name(&needle))
                    .help("write a test as `- not_null` or `- accepted_values: {values: [a, b]}`")
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
            for (key, value) in body {
                match key.as_str() {
                    "test_name" => {}
                    "name" => custom_name = value.as_str().map(str::to_string),
                    "config" => {
                        if let Json::Object(map) = value {
                            config.extend(map);
                        }
                    }
                    "arguments" => {
                        if let Json::Object(map) = value {
                            args.extend(map);
                        }
                    }
                    key if TEST_CONFIG_KEYS.contains(&key) => {
                        config.insert(key.to_string(), value);
                    }
                    _ => {
                        args.insert(key, value);
                    }
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
                needle: needle.clone(),
            });
        }
        Ok(out)
    }

    fn source(&self, source: &Json, out: &mut Vec<SourceTable>) -> Result<()> {
        let source_name = self.name(source, "sources")?;
        let database = source
            .get("database")
            .and_then(Json::as_str)
            .map(str::to_string);
        let schema = source
            .get("schema")
            .and_then(Json::as_str)
            .unwrap_or(&source_name)
            .to_string();
        let Some(tables) = source.get("tables") else {
            return Ok(());
        };
        for table in self.list(tables, "tables")? {
            let table_name = self.name(table, "tables")?;
            if out
                .iter()
                .any(|t| t.source_name == source_name && t.table_name == table_name)
            {
                return Err(Diagnostic::new(format!(
                    "source '{source_name}.{table_name}' is declared twice"
                ))
                .at(self.locate_name(&table_name))
                .help("declare each source table once"));
            }
            let owner = format!("{source_name}.{table_name}");
            out.push(SourceTable {
                identifier: table
                    .get("identifier")
                    .and_then(Json::as_str)
                    .unwrap_or(&table_name)
                    .to_string(),
                description: Self::text(table, "description"),
                columns: self.columns(table, &owner)?,
                tests: self.tests(table, &owner, None)?,
                location: self.locate_name(&table_name),
                source_name: source_name.clone(),
                database: database.clone(),
                schema: schema.clone(),
                table_name,
            });
        }
        Ok(())
    }
}
