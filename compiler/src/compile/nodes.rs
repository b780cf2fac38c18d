//! Which files are which nodes: models (and model versions) and singular tests, each with its
//! fully qualified name and the config the project tree and properties give it; and where a
//! config value was written, for errors.

use std::collections::{HashMap, HashSet};

use serde_json::Value as Json;

use super::{Compiler, model_name};
use crate::config::{self, Config};
use crate::error::{Diagnostic, Location};
use crate::jinja::context::search_name;
use crate::project::{PROJECT_FILE, SourceFile};
use crate::properties::NodeProperties;
use crate::yaml::{self, Step};

/// A node to render: a model or a singular test.
pub(super) struct Renderable<'a> {
    pub file: &'a SourceFile,
    pub name: String,
    /// `v` of a model version (then `name` is the model's name, without the suffix).
    pub version: Option<String>,
    pub resource_type: &'static str,
    pub fqn: Vec<String>,
    pub config: Config,
    pub description: String,
}

impl Renderable<'_> {
    /// dbt's `search_name`: the name refs resolve by, `name` or `name.v<version>`.
    pub(super) fn key(&self) -> String {
        search_name(&self.name, self.version.as_deref())
    }

    pub(super) fn unique_id(&self, project: &str) -> String {
        format!("{}.{project}.{}", self.resource_type, self.key())
    }

    /// A node built as a relation of its own: a model or a snapshot (a snapshot is a model
    /// materialized as `snapshot` everywhere but in its unique id and manifest entry).
    pub(super) fn is_model(&self) -> bool {
        matches!(self.resource_type, "model" | "snapshot")
    }

    pub(super) fn is_snapshot(&self) -> bool {
        self.resource_type == "snapshot"
    }

    /// The name of the node's template: its file's path, but for a snapshot defined in yml
    /// (several may share a file).
    pub(super) fn template(&self) -> String {
        if self.is_snapshot() {
            crate::snapshots::template_name(&self.file.path, &self.name)
        } else {
            self.file.path.clone()
        }
    }
}

/// `[project, folders..., name]` for a file under one of `roots`.
pub(super) fn fqn_of(project: &str, roots: &[String], path: &str) -> Vec<String> {
    let relative = roots
        .iter()
        .find_map(|root| path.strip_prefix(&format!("{root}/")))
        .unwrap_or(path);
    let mut fqn = vec![project.to_string()];
    let mut parts: Vec<&str> = relative.split('/').collect();
    let file = parts.pop().unwrap_or_default();
    fqn.extend(parts.iter().map(|p| p.to_string()));
    fqn.push(model_name(file));
    fqn
}

impl Compiler {
    /// Models (then singular tests), with their configs from the project tree and properties.
    /// A second model of one name is an error and left out.
    pub(super) fn renderables(&self) -> Vec<Renderable<'_>> {
        let project_name = &self.project.name;
        let mut renderables = Vec::new();
        let mut names: HashMap<String, String> = HashMap::new();
        let versioned = self.versioned_files();
        for file in &self.project.models {
            let stem = model_name(&file.path);
            let (name, version) = match versioned.get(&stem) {
                Some((name, v)) => (name.clone(), Some(v.clone())),
                None => (stem, None),
            };
            let key = search_name(&name, version.as_deref());
            if let Some(other) = names.insert(key.clone(), file.path.clone()) {
                self.fail(
                    None,
                    Diagnostic::new(format!(
                        "two models are named '{key}': {other} and {}",
                        file.path
                    ))
                    .model(&key)
                    .at(Location::new(&file.path, 1, 1))
                    .help("model names must be unique across the project; rename one file"),
                );
                continue;
            }
            let mut fqn = fqn_of(project_name, &self.project.model_paths, &file.path);
            if let Some(v) = &version {
                // dbt: the last part is the model's name, then `v<version>`.
                if let Some(last) = fqn.last_mut() {
                    *last = name.clone();
                }
                fqn.push(format!("v{v}"));
            }
            let fqn_refs: Vec<&str> = fqn.iter().map(String::as_str).collect();
            let mut config = Config::from([("materialized".to_string(), Json::from("view"))]);
            config::merge_all(
                &mut config,
                &config::tree_config(&self.project.models_tree, &fqn_refs)
                    .into_iter()
                    .collect(),
            );
            let mut description = String::new();
            if let Some(p) = self.model_props(&name, version.as_deref()) {
                config::merge_all(&mut config, &p.config);
                description = p.description.clone();
            }
            renderables.push(Renderable {
                file,
                name,
                version,
                resource_type: "model",
                fqn,
                config,
                description,
            });
        }
        for block in &self.project.snapshots {
            let name = block.name.clone();
            if let Some(other) = names.insert(name.clone(), block.file.path.clone()) {
                self.fail(
                    None,
                    Diagnostic::new(format!(
                        "a model or snapshot named '{name}' is defined twice: {other} and {}",
                        block.file.path
                    ))
                    .node("snapshot", &name)
                    .at(Location::new(&block.file.path, 1, 1))
                    .help("refs name models and snapshots alike; rename one"),
                );
                continue;
            }
            // dbt: a snapshot's fqn has its file's name before its own; one defined in yml
            // has the yml's folders only.
            let roots: Vec<String> = (self.project.snapshot_paths.iter())
                .chain(&self.project.model_paths)
                .cloned()
                .collect();
            let mut fqn = fqn_of(project_name, &roots, &block.file.path);
            if block.template() != block.file.path {
                fqn.pop();
            }
            fqn.push(name.clone());
            let fqn_refs: Vec<&str> = fqn.iter().map(String::as_str).collect();
            let mut config = Config::from([("materialized".to_string(), Json::from("snapshot"))]);
            config::merge_all(
                &mut config,
                &config::tree_config(&self.project.snapshots_tree, &fqn_refs)
                    .into_iter()
                    .collect(),
            );
            let mut description = String::new();
            if let Some(p) = self.props.snapshots.get(&name) {
                config::merge_all(&mut config, &p.config);
                description = p.description.clone();
            }
            renderables.push(Renderable {
                file: &block.file,
                name,
                version: None,
                resource_type: "snapshot",
                fqn,
                config,
                description,
            });
        }
        for file in &self.project.singular_tests {
            let name = model_name(&file.path);
            let fqn = fqn_of(project_name, &self.project.test_paths, &file.path);
            let fqn_refs: Vec<&str> = fqn.iter().map(String::as_str).collect();
            let config = config::tree_config(&self.project.tests_tree, &fqn_refs);
            renderables.push(Renderable {
                file,
                name,
                version: None,
                resource_type: "test",
                fqn,
                config,
                description: String::new(),
            });
        }
        renderables
    }

    /// Model files that define a version: file stem → (model name, `v`). As in dbt, a version
    /// lives in `defined_in`, else `<model>_v<v>`; the latest may also be `<model>` itself.
    fn versioned_files(&self) -> HashMap<String, (String, String)> {
        let stems: HashSet<String> = self
            .project
            .models
            .iter()
            .map(|f| model_name(&f.path))
            .collect();
        let mut out = HashMap::new();
        for (name, props) in &self.props.models {
            for version in &props.versions {
                let mut stem = version
                    .defined_in
                    .clone()
                    .unwrap_or_else(|| format!("{name}_v{}", version.v));
                if !stems.contains(&stem) && props.latest_version.as_ref() == Some(&version.v) {
                    stem = name.clone();
                }
                // A version without a file is skipped (dbt warns).
                if stems.contains(&stem) {
                    out.insert(stem, (name.clone(), version.v.clone()));
                }
            }
        }
        out
    }

    /// The properties of a model or snapshot (`r`).
    pub(super) fn node_props(&self, r: &Renderable) -> Option<&NodeProperties> {
        if r.is_snapshot() {
            self.props.snapshots.get(&r.name)
        } else {
            self.model_props(&r.name, r.version.as_deref())
        }
    }

    /// The properties of a model, or of one of its versions.
    pub(super) fn model_props(&self, name: &str, version: Option<&str>) -> Option<&NodeProperties> {
        let props = self.props.models.get(name)?;
        match version {
            Some(v) => props.versions.iter().find(|x| x.v == v).map(|x| &x.props),
            // The yml of a versioned model describes its versions, not a same-named file.
            None if !props.versions.is_empty() => None,
            None => Some(props),
        }
    }

    /// Where a model's `key` config is set: its `config()` call, its properties yml, or the
    /// deepest level of the project tree along its folders; else the model file.
    pub(super) fn config_origin(&self, r: &Renderable, key: &str) -> Location {
        let text = &r.file.text;
        if key == "sql_header"
            && let Some(at) = text.find("set_sql_header")
        {
            return Location::at_offset(&r.file.path, text, at);
        }
        let mut from = 0;
        while let Some(found) = text[from..].find(key) {
            let at = from + found;
            let after = text[at + key.len()..].trim_start();
            if after.starts_with('=') && !after.starts_with("==") {
                return Location::at_offset(&r.file.path, text, at);
            }
            from = at + key.len();
        }
        if let Some(props) = self.node_props(r)
            && props.config.contains_key(key)
            && let Some(file) = self
                .project
                .properties
                .iter()
                .find(|f| f.path == props.file)
        {
            return yaml::locate(
                &file.path,
                &file.text,
                &[
                    Step::key(if r.is_snapshot() {
                        "snapshots"
                    } else {
                        "models"
                    }),
                    Step::named(&r.name),
                    Step::key("config"),
                    Step::key(key),
                ],
            );
        }
        for depth in (0..=r.fqn.len()).rev() {
            let (tree, root) = if r.is_snapshot() {
                (&self.project.snapshots_tree, "snapshots")
            } else {
                (&self.project.models_tree, "models")
            };
            let mut level = tree;
            let mut path = vec![Step::key(root)];
            let mut found = true;
            for part in &r.fqn[..depth] {
                match level.get(part) {
                    Some(next @ Json::Object(_)) => {
                        level = next;
                        path.push(Step::key(part));
                    }
                    _ => {
                        found = false;
                        break;
                    }
                }
            }
            if !found {
                continue;
            }
            for spelled in [format!("+{key}"), key.to_string()] {
                if level.get(&spelled).is_some_and(|v| !v.is_object()) {
                    path.push(Step::Key(spelled));
                    return yaml::locate(PROJECT_FILE, &self.project.file_text, &path);
                }
            }
        }
        Location::new(&r.file.path, 1, 1)
    }

    /// Where a model's relation name comes from: its alias or schema config, or its file.
    pub(super) fn naming_origin(&self, r: &Renderable) -> Location {
        for key in ["alias", "schema"] {
            let location = self.config_origin(r, key);
            if location != Location::new(&r.file.path, 1, 1) {
                return location;
            }
        }
        Location::new(&r.file.path, 1, 1)
    }
}
