//! Reading a dbt project from disk: `dbt_project.yml`, and the files under its model, macro,
//! seed and test paths. Nothing here interprets SQL or Jinja.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::Value as Json;

use crate::error::{Diagnostic, Location, Result, yaml_error};
use crate::values::yaml_to_json;

/// A text file of the project, with its path relative to the project directory (`/`-separated,
/// as dbt prints it in `original_file_path`).
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

/// A seed CSV. Its content is not read: Terraform hashes it (`filesha256`) at plan time.
#[derive(Debug, Clone)]
pub struct SeedFile {
    pub path: String,
    pub absolute: PathBuf,
}

/// The project as found on disk.
#[derive(Debug)]
pub struct Project {
    pub dir: PathBuf,
    pub name: String,
    pub profile: String,
    pub model_paths: Vec<String>,
    pub target_path: String,
    /// The `vars:` block as written (global vars plus project-scoped blocks).
    pub vars: Json,
    /// The `models:`, `seeds:` and `data_tests:` config trees.
    pub models_tree: Json,
    pub seeds_tree: Json,
    pub tests_tree: Json,
    pub models: Vec<SourceFile>,
    pub properties: Vec<SourceFile>,
    pub macros: Vec<SourceFile>,
    pub seeds: Vec<SeedFile>,
    pub singular_tests: Vec<SourceFile>,
}

pub const PROJECT_FILE: &str = "dbt_project.yml";

impl Project {
    pub fn load(dir: &Path) -> Result<Project> {
        let project_file = dir.join(PROJECT_FILE);
        let text = std::fs::read_to_string(&project_file).map_err(|err| {
            Diagnostic::new(format!(
                "cannot read {PROJECT_FILE} in {}: {err}",
                dir.display()
            ))
            .help("run mdwc from a dbt project directory or pass --project-dir")
        })?;
        let yaml: serde_norway::Value =
            serde_norway::from_str(&text).map_err(|err| yaml_error(PROJECT_FILE, &err))?;
        let config = yaml_to_json(&yaml);
        if !config.is_object() {
            return Err(
                Diagnostic::new(format!("{PROJECT_FILE} must be a mapping")).in_file(PROJECT_FILE)
            );
        }
        let name = match config.get("name").and_then(Json::as_str) {
            Some(name) if !name.is_empty() => name.to_string(),
            _ => {
                return Err(Diagnostic::new(format!("{PROJECT_FILE} has no `name`"))
                    .in_file(PROJECT_FILE)
                    .help("add `name: my_project` at the top of dbt_project.yml"));
            }
        };
        let profile = config
            .get("profile")
            .and_then(Json::as_str)
            .unwrap_or(&name)
            .to_string();
        let paths = |keys: &[&str], default: &str| -> Result<Vec<String>> {
            for key in keys {
                match config.get(*key) {
                    None => continue,
                    Some(Json::Array(items)) => {
                        return items
                            .iter()
                            .map(|item| {
                                item.as_str().map(clean_relative).ok_or_else(|| {
                                    Diagnostic::new(format!("`{key}` must be a list of paths"))
                                        .at(Location::of_text(PROJECT_FILE, &text, key))
                                })
                            })
                            .collect();
                    }
                    Some(_) => {
                        return Err(Diagnostic::new(format!("`{key}` must be a list of paths"))
                            .at(Location::of_text(PROJECT_FILE, &text, key)));
                    }
                }
            }
            Ok(vec![default.to_string()])
        };
        let model_paths = paths(&["model-paths", "source-paths"], "models")?;
        let macro_paths = paths(&["macro-paths"], "macros")?;
        let seed_paths = paths(&["seed-paths", "data-paths"], "seeds")?;
        let test_paths = paths(&["test-paths"], "tests")?;
        let target_path = config
            .get("target-path")
            .and_then(Json::as_str)
            .unwrap_or("target")
            .to_string();
        let tree = |key: &str| config.get(key).cloned().unwrap_or(Json::Null);

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
        for root in &test_paths {
            for path in list_files(dir, root)? {
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

        Ok(Project {
            // Absolute, so seed paths can be made relative to any --out directory.
            dir: crate::emit::files::absolute(dir),
            name,
            profile,
            model_paths,
            target_path,
            vars: tree("vars"),
            models_tree: tree("models"),
            seeds_tree: tree("seeds"),
            tests_tree: config
                .get("data_tests")
                .or_else(|| config.get("tests"))
                .cloned()
                .unwrap_or(Json::Null),
            models: read_all(dir, model_files)?,
            properties: read_all(dir, property_files)?,
            macros: read_all(dir, macro_files)?,
            seeds,
            singular_tests: read_all(dir, test_files)?,
        })
    }

    /// Where dbt writes a node's compiled SQL: `target/compiled/<project>/<original path>`.
    pub fn compiled_path(&self, original_path: &str) -> PathBuf {
        self.dir
            .join(&self.target_path)
            .join("compiled")
            .join(&self.name)
            .join(original_path)
    }
}

fn clean_relative(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_end_matches('/')
        .to_string()
}

/// All files under `dir/root`, as sorted project-relative paths. A missing root is no error:
/// dbt projects often have no `tests/` or `seeds/`.
fn list_files(dir: &Path, root: &str) -> Result<Vec<String>> {
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

fn read_all(dir: &Path, paths: Vec<String>) -> Result<Vec<SourceFile>> {
    paths
        .into_par_iter()
        .map(|path| {
            let text = std::fs::read_to_string(dir.join(&path))
                .map_err(|err| Diagnostic::new(format!("cannot read {path}: {err}")))?;
            Ok(SourceFile { path, text })
        })
        .collect()
}
