//! Reading a dbt project from disk: `dbt_project.yml` (its keys checked against dbt's types),
//! and the files under its model, macro, seed, snapshot and test paths. Nothing here
//! interprets SQL or Jinja.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::Value as Json;

use crate::error::{Diagnostic, Location, Result};
use crate::jinja::objects::Quoting;
use crate::snapshots::SnapshotBlock;
use crate::yaml::{self, Step};

/// A text file of the project, with its path relative to the project directory (`/`-separated,
/// as dbt prints it in `original_file_path`).
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    pub path: String,
    pub text: String,
}

/// A seed CSV. Its content is not kept: Terraform hashes it (`filesha256`) at plan time.
#[derive(Debug, Clone)]
pub(crate) struct SeedFile {
    pub path: String,
    pub absolute: PathBuf,
}

/// The project as found on disk.
#[derive(Debug)]
pub(crate) struct Project {
    pub dir: PathBuf,
    pub name: String,
    pub profile: String,
    pub model_paths: Vec<String>,
    pub test_paths: Vec<String>,
    pub seed_paths: Vec<String>,
    pub snapshot_paths: Vec<String>,
    pub target_path: String,
    /// The text of dbt_project.yml, to point errors at its keys.
    pub file_text: String,
    /// The `vars:` block as written (global vars plus project-scoped blocks).
    pub vars: Json,
    /// The `models:`, `seeds:`, `snapshots:` and `data_tests:` config trees.
    pub models_tree: Json,
    pub seeds_tree: Json,
    pub snapshots_tree: Json,
    /// dbt_project.yml's `sources:` configs (mdwc reads `enabled`).
    pub sources_tree: Json,
    pub tests_tree: Json,
    /// Which of `data_tests:`/`tests:` holds the tests tree (for locating its keys).
    pub tests_tree_key: &'static str,
    /// Where packages are installed (`packages-install-path`, default `dbt_packages`).
    pub packages_install_path: String,
    /// The `dispatch:` config: macro namespace → packages to search, in order.
    pub dispatch: HashMap<String, Vec<String>>,
    /// The `quoting:` config: which relation name parts are quoted.
    pub quoting: Quoting,
    pub models: Vec<SourceFile>,
    pub properties: Vec<SourceFile>,
    pub macros: Vec<SourceFile>,
    pub seeds: Vec<SeedFile>,
    pub singular_tests: Vec<SourceFile>,
    /// The snapshot blocks of the snapshot paths' `.sql` files.
    pub snapshots: Vec<SnapshotBlock>,
    /// Unit test fixture files (`<test path>/fixtures/**/*.csv|sql`), found by file stem.
    pub fixtures: Vec<SourceFile>,
    /// `on-run-start` / `on-run-end`, in order (checked in `compile::run_hooks`).
    pub run_hooks: Vec<RunHook>,
}

/// Which end of a run a project hook runs at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunHookKind {
    Start,
    End,
}

impl RunHookKind {
    pub(crate) fn key(self) -> &'static str {
        match self {
            RunHookKind::Start => "on-run-start",
            RunHookKind::End => "on-run-end",
        }
    }
}

/// One statement of `on-run-start` / `on-run-end`.
#[derive(Debug, Clone)]
pub(crate) struct RunHook {
    pub kind: RunHookKind,
    /// Its position in the key's list.
    pub index: usize,
    pub sql: String,
    pub location: Location,
}

pub(crate) const PROJECT_FILE: &str = "dbt_project.yml";

/// The dbt version mdwc renders like; `require-dbt-version` is checked against it.
pub(crate) const DBT_VERSION: (u64, u64, u64) = (1, 11, 0);

/// Reads `dbt_project.yml`'s keys, each error pointing at the key.
struct ProjectFile<'a> {
    text: &'a str,
    config: &'a serde_json::Map<String, Json>,
}

impl ProjectFile<'_> {
    fn at(&self, key: &str) -> Location {
        yaml::locate(PROJECT_FILE, self.text, &[Step::key(key)])
    }

    fn error(&self, key: &str, message: String, help: impl Into<String>) -> Diagnostic {
        Diagnostic::new(message).at(self.at(key)).help(help)
    }

    fn string(&self, key: &str) -> Result<Option<String>> {
        match self.config.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.error(
                key,
                format!("`{key}` must be a string, not {}", type_name(other)),
                format!("write `{key}: <text>`"),
            )),
        }
    }

    /// A path key (`model-paths: [models]`): a list of folders inside the project.
    fn paths(&self, keys: &[&str], default: &str) -> Result<(Vec<String>, bool)> {
        for key in keys {
            let items = match self.config.get(*key) {
                None | Some(Json::Null) => continue,
                Some(Json::Array(items)) => items,
                Some(other) => {
                    return Err(self.error(
                        key,
                        format!("`{key}` must be a list of paths, not {}", type_name(other)),
                        format!("write `{key}: [\"{default}\"]`"),
                    ));
                }
            };
            let mut paths = Vec::new();
            for item in items {
                let Some(path) = item.as_str() else {
                    return Err(self.error(
                        key,
                        format!(
                            "`{key}` must be a list of paths, but holds {}",
                            type_name(item)
                        ),
                        format!("write `{key}: [\"{default}\"]`"),
                    ));
                };
                let path = clean_relative(path);
                let escapes = Path::new(&path).is_absolute()
                    || Path::new(&path)
                        .components()
                        .any(|c| matches!(c, std::path::Component::ParentDir));
                if escapes || path.is_empty() {
                    return Err(self.error(
                        key,
                        format!("`{key}` entry '{path}' is not a folder inside the project"),
                        "paths are relative to the folder that holds dbt_project.yml, without `..`",
                    ));
                }
                paths.push(path);
            }
            return Ok((paths, true));
        }
        Ok((vec![default.to_string()], false))
    }

    fn mapping(&self, key: &str) -> Result<Json> {
        match self.config.get(key) {
            None | Some(Json::Null) => Ok(Json::Null),
            Some(value @ Json::Object(_)) => Ok(value.clone()),
            Some(other) => Err(self.error(
                key,
                format!("`{key}` must be a mapping, not {}", type_name(other)),
                format!("write `{key}:` followed by indented `key: value` lines"),
            )),
        }
    }
}

impl Project {
    pub(crate) fn load(dir: &Path) -> Result<Project> {
        let project_file = dir.join(PROJECT_FILE);
        let bytes = std::fs::read(&project_file).map_err(|err| {
            Diagnostic::new(format!(
                "cannot read {PROJECT_FILE} in {}: {err}",
                dir.display()
            ))
            .help("run mdwc from a dbt project directory or pass --project-dir")
        })?;
        let text = utf8(PROJECT_FILE, bytes)?;
        let config = yaml::parse(PROJECT_FILE, &text)?;
        let Json::Object(config) = config else {
            return Err(Diagnostic::new(format!("{PROJECT_FILE} must be a mapping"))
                .at(Location::new(PROJECT_FILE, 1, 1))
                .help("write `name: my_project` and the other keys at the top level"));
        };
        let file = ProjectFile {
            text: &text,
            config: &config,
        };
        let name = match config.get("name") {
            Some(Json::String(name)) if is_identifier(name) => name.clone(),
            Some(Json::String(name)) => {
                return Err(file.error(
                    "name",
                    format!("project name '{name}' is not valid"),
                    "dbt project names are letters, digits and underscores, not starting with a digit",
                ));
            }
            Some(other) => {
                return Err(file.error(
                    "name",
                    format!("`name` must be a string, not {}", type_name(other)),
                    "write `name: my_project`",
                ));
            }
            None => {
                return Err(Diagnostic::new(format!("{PROJECT_FILE} has no `name`"))
                    .at(Location::new(PROJECT_FILE, 1, 1))
                    .help("add `name: my_project` at the top of dbt_project.yml"));
            }
        };
        let profile = file.string("profile")?.unwrap_or_else(|| name.clone());
        let (model_paths, models_declared) =
            file.paths(&["model-paths", "source-paths"], "models")?;
        let (macro_paths, _) = file.paths(&["macro-paths"], "macros")?;
        let (seed_paths, _) = file.paths(&["seed-paths", "data-paths"], "seeds")?;
        let (test_paths, _) = file.paths(&["test-paths"], "tests")?;
        let (snapshot_paths, _) = file.paths(&["snapshot-paths"], "snapshots")?;
        let target_path = file
            .string("target-path")?
            .unwrap_or_else(|| "target".to_string());
        if models_declared {
            for path in &model_paths {
                if !dir.join(path).is_dir() {
                    let key = if config.contains_key("model-paths") {
                        "model-paths"
                    } else {
                        "source-paths"
                    };
                    return Err(file.error(
                        key,
                        format!("model path '{path}' does not exist"),
                        format!("create the folder {path}/ or fix `{key}` (models would compile to nothing)"),
                    ));
                }
            }
        }
        let mut run_hooks = Vec::new();
        for key in ["on-run-start", "on-run-end"] {
            let statements: Vec<&Json> = match config.get(key) {
                None | Some(Json::Null) => Vec::new(),
                Some(Json::Array(items)) => items.iter().collect(),
                Some(one) => vec![one],
            };
            for (index, statement) in statements.into_iter().enumerate() {
                let Some(sql) = statement.as_str() else {
                    return Err(file.error(
                        key,
                        format!("`{key}` must be a statement or a list of statements"),
                        format!("write `{key}: [\"<sql>\", …]`"),
                    ));
                };
                run_hooks.push(RunHook {
                    kind: if key == "on-run-start" {
                        RunHookKind::Start
                    } else {
                        RunHookKind::End
                    },
                    index,
                    sql: sql.to_string(),
                    location: yaml::locate(
                        PROJECT_FILE,
                        &text,
                        &[Step::key(key), Step::Index(index)],
                    ),
                });
            }
        }
        // mdwc renders dbt's behavior flags at their defaults (`adapter.behavior.*` is false):
        // a project that turns one on would get other SQL from dbt.
        if let Some(Json::Object(flags)) = config.get("flags") {
            for (flag, value) in flags {
                if flag == "enable_truthy_nulls_equals_macro" && value == &Json::Bool(true) {
                    return Err(file.error(
                        "flags",
                        format!("behavior flag {flag}: true is not supported"),
                        "mdwc renders `equals()` (and snapshots' key joins) with `=`, dbt's default: remove the flag or set it to false",
                    ));
                }
            }
        }
        if let Some(required) = config.get("require-dbt-version") {
            check_dbt_version(&file, required)?;
        }
        let quoting = Quoting::default().with(Some(&file.mapping("quoting")?));
        let dispatch = dispatch_config(&file)?;
        let packages_install_path = match file.string("packages-install-path")? {
            Some(path) => path,
            None => file
                .string("modules-path")?
                .unwrap_or_else(|| "dbt_packages".to_string()),
        };
        let vars = file.mapping("vars")?;
        let models_tree = file.mapping("models")?;
        let seeds_tree = file.mapping("seeds")?;
        let snapshots_tree = file.mapping("snapshots")?;
        // Source configs in the project file are not read; an event time set there would
        // leave a microbatch model reading every row of the source in every batch.
        let sources_tree = file.mapping("sources")?;
        if sets_event_time(&sources_tree) {
            return Err(file.error(
                "sources",
                "`event_time` under `sources:` in dbt_project.yml is not read by mdwc".into(),
                "set it on the source (or its table) in the properties yml: `config: {event_time: <column>}`",
            ));
        }
        let tests_tree_key = if config.contains_key("data_tests") {
            "data_tests"
        } else {
            "tests"
        };
        let tests_tree = file.mapping(tests_tree_key)?;

        let mut model_files = Vec::new();
        let mut property_files = Vec::new();
        for root in &model_paths {
            for path in list_files(dir, root)? {
                if path.ends_with(".sql") {
                    model_files.push(path);
                } else if path.ends_with(".yml") || path.ends_with(".yaml") {
                    property_files.push(path);
                }
            }
        }
        let mut macro_files = Vec::new();
        for root in &macro_paths {
            macro_files.extend(
                list_files(dir, root)?
                    .into_iter()
                    .filter(|p| p.ends_with(".sql")),
            );
        }
        let mut test_files = Vec::new();
        let mut fixture_files = Vec::new();
        for root in &test_paths {
            for path in list_files(dir, root)? {
                // `tests/fixtures/` holds unit test fixture files (`.csv`, `.sql`), as in dbt.
                if path.starts_with(&format!("{root}/fixtures/")) {
                    if path.ends_with(".csv") || path.ends_with(".sql") {
                        fixture_files.push(path);
                    }
                    continue;
                }
                if !path.ends_with(".sql") {
                    continue;
                }
                // `tests/generic/` holds `{% test %}` blocks: they are macros, not singular tests.
                if path.starts_with(&format!("{root}/generic/")) {
                    macro_files.push(path);
                } else {
                    test_files.push(path);
                }
            }
        }
        let mut seeds = Vec::new();
        for root in &seed_paths {
            for path in list_files(dir, root)? {
                if path.ends_with(".csv") {
                    seeds.push(SeedFile {
                        absolute: dir.join(&path),
                        path,
                    });
                } else if path.ends_with(".yml") || path.ends_with(".yaml") {
                    // dbt reads properties (seed docs, column tests) beside the seeds too.
                    property_files.push(path);
                }
            }
        }
        let mut snapshot_files = Vec::new();
        for root in &snapshot_paths {
            for path in list_files(dir, root)? {
                if path.ends_with(".sql") {
                    snapshot_files.push(path);
                } else if path.ends_with(".yml") || path.ends_with(".yaml") {
                    property_files.push(path);
                }
            }
        }
        let mut snapshots = Vec::new();
        for file in read_all(dir, snapshot_files)? {
            snapshots.extend(crate::snapshots::blocks(&file)?);
        }

        Ok(Project {
            // Absolute, so seed paths can be made relative to any --out directory.
            dir: crate::emit::files::absolute(dir),
            name,
            profile,
            model_paths,
            test_paths,
            seed_paths,
            snapshot_paths,
            target_path,
            vars,
            models_tree,
            seeds_tree,
            snapshots_tree,
            sources_tree,
            tests_tree,
            tests_tree_key,
            packages_install_path: clean_relative(&packages_install_path),
            dispatch,
            quoting,
            models: read_all(dir, model_files)?,
            properties: read_all(dir, property_files)?,
            macros: read_all(dir, macro_files)?,
            seeds,
            singular_tests: read_all(dir, test_files)?,
            snapshots,
            fixtures: read_all(dir, fixture_files)?,
            run_hooks,
            file_text: text,
        })
    }

    /// Where dbt writes a node's compiled SQL: `target/compiled/<project>/<original path>`.
    pub(crate) fn compiled_path(&self, original_path: &str) -> PathBuf {
        self.dir
            .join(&self.target_path)
            .join("compiled")
            .join(&self.name)
            .join(original_path)
    }
}

/// dbt names: letters, digits and underscores, not starting with a digit.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

pub(crate) fn type_name(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a mapping",
    }
}

/// `dispatch: [{macro_namespace: dbt_utils, search_order: [my_project, dbt_utils]}]`.
fn dispatch_config(file: &ProjectFile) -> Result<HashMap<String, Vec<String>>> {
    let bad = |what: &str| {
        file.error(
            "dispatch",
            format!("`dispatch` {what}"),
            "write `dispatch: [{macro_namespace: dbt_utils, search_order: [my_project, dbt_utils]}]`",
        )
    };
    let entries = match file.config.get("dispatch") {
        None | Some(Json::Null) => return Ok(HashMap::new()),
        Some(Json::Array(entries)) => entries,
        Some(other) => return Err(bad(&format!("must be a list, not {}", type_name(other)))),
    };
    let mut out = HashMap::new();
    for entry in entries {
        let namespace = entry
            .get("macro_namespace")
            .and_then(Json::as_str)
            .ok_or_else(|| bad("entries need a `macro_namespace`"))?;
        let order: Option<Vec<String>> = match entry.get("search_order") {
            Some(Json::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect(),
            _ => None,
        };
        let order =
            order.ok_or_else(|| bad("entries need a `search_order` list of package names"))?;
        out.insert(namespace.to_string(), order);
    }
    Ok(out)
}

/// `require-dbt-version: ">=1.3.0"` or a list of such: each must hold for [`DBT_VERSION`].
fn check_dbt_version(file: &ProjectFile, required: &Json) -> Result<()> {
    let specs: Vec<&str> = match required {
        Json::String(spec) => vec![spec.as_str()],
        Json::Array(items) => items.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    };
    let key = "require-dbt-version";
    let bad_spec = |spec: &str| {
        file.error(
            key,
            format!("cannot read version requirement '{spec}'"),
            "write requirements such as \">=1.3.0\" or [\">=1.3.0\", \"<2.0.0\"]",
        )
    };
    if specs.is_empty() {
        return Err(bad_spec(&required.to_string()));
    }
    let (major, minor, patch) = DBT_VERSION;
    for spec in specs {
        let spec = spec.trim();
        let split = spec
            .find(|c: char| c.is_ascii_digit())
            .ok_or_else(|| bad_spec(spec))?;
        let (op, version) = spec.split_at(split);
        let mut parts = version.split('.').map(|p| {
            p.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse::<u64>()
        });
        let mut next = || parts.next().unwrap_or(Ok(0)).map_err(|_| bad_spec(spec));
        let wanted = (next()?, next()?, next()?);
        let ours = (major, minor, patch);
        let ok = match op.trim() {
            ">=" => ours >= wanted,
            ">" => ours > wanted,
            "<=" => ours <= wanted,
            "<" => ours < wanted,
            "" | "=" | "==" => ours == wanted,
            _ => return Err(bad_spec(spec)),
        };
        if !ok {
            return Err(file.error(
                key,
                format!("this project requires dbt {spec}; mdwc compiles like dbt {major}.{minor}"),
                "change require-dbt-version if the project works with dbt 1.11",
            ));
        }
    }
    Ok(())
}

fn clean_relative(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_end_matches('/')
        .to_string()
}

/// A file's text; invalid UTF-8 is an error at the line where it starts.
pub(crate) fn utf8(path: &str, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|err| {
        let valid = err.utf8_error().valid_up_to();
        let before = String::from_utf8_lossy(&err.as_bytes()[..valid]).into_owned();
        Diagnostic::new(format!("{path} is not valid UTF-8"))
            .at(Location::at_offset(path, &before, before.len()))
            .help("save the file as UTF-8")
    })
}

/// All files under `dir/root`, as sorted project-relative paths. A missing root is no error:
/// dbt projects often have no `tests/` or `seeds/`.
pub(crate) fn list_files(dir: &Path, root: &str) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_string()];
    while let Some(relative) = pending.pop() {
        let entries = match std::fs::read_dir(dir.join(&relative)) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => {
                return Err(Diagnostic::new(format!("cannot list {relative}: {err}")));
            }
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let child = format!("{relative}/{name}");
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => pending.push(child),
                Ok(_) => found.push(child),
                Err(_) => {}
            }
        }
    }
    found.sort();
    Ok(found)
}

pub(crate) fn read_all(dir: &Path, paths: Vec<String>) -> Result<Vec<SourceFile>> {
    paths
        .into_par_iter()
        .map(|path| {
            let bytes = std::fs::read(dir.join(&path))
                .map_err(|err| Diagnostic::new(format!("cannot read {path}: {err}")))?;
            let text = utf8(&path, bytes)?;
            Ok(SourceFile { path, text })
        })
        .collect()
}

/// Whether a config tree sets `event_time` anywhere: `+event_time`, or `event_time` with a
/// value that is not a mapping (a mapping is a source or table of that name).
fn sets_event_time(tree: &Json) -> bool {
    match tree {
        Json::Object(map) => map.iter().any(|(key, value)| match key.as_str() {
            "+event_time" => true,
            "event_time" if !value.is_object() => true,
            _ => sets_event_time(value),
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_identifier("jaffle_shop") && is_identifier("_x1"));
        assert!(!is_identifier("my-project") && !is_identifier("1x") && !is_identifier(""));
    }
}
