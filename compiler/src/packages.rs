//! dbt packages: what `packages.yml` / `dependencies.yml` require, and the packages installed
//! in `dbt_packages/` (what `dbt deps` or `mdwc deps` writes) or named by a `local:` path.
//! Their macros are loaded under the package's name; models in packages are not supported.

use std::path::Path;

use serde_json::Value as Json;

use crate::error::{Diagnostic, Location, Result};
use crate::project::{Project, SourceFile, list_files, read_all, type_name, utf8};
use crate::yaml::{self, Step};

/// The files dbt reads package requirements from, in dbt's order.
pub(crate) const FILES: [&str; 2] = ["dependencies.yml", "packages.yml"];

/// An installed package.
#[derive(Debug)]
pub(crate) struct Package {
    /// The name in its dbt_project.yml: what `package.macro()` and dispatch use.
    pub name: String,
    pub macros: Vec<SourceFile>,
}

/// One entry of `packages:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Requirement {
    /// `package: dbt-labs/dbt_utils` with `version:` (one range or a list of them).
    Hub {
        package: String,
        versions: Vec<String>,
    },
    /// `git: <url>` with `revision:` and `subdirectory:`.
    Git {
        url: String,
        revision: Option<String>,
        subdirectory: Option<String>,
    },
    /// `local: <path>`, relative to the project.
    Local(String),
    /// `tarball:` / `private:` and anything else dbt knows: named, not installed by mdwc.
    Other(String),
}

/// A requirement and where it is written.
#[derive(Debug, Clone)]
pub(crate) struct Required {
    pub requirement: Requirement,
    pub location: Location,
}

/// The requirements of `packages.yml` (or `dependencies.yml`), in order.
pub(crate) fn requirements(dir: &Path) -> Result<(Option<&'static str>, Vec<Required>)> {
    for file in FILES {
        let Ok(bytes) = std::fs::read(dir.join(file)) else {
            continue;
        };
        let text = utf8(file, bytes)?;
        let doc = yaml::parse(file, &text)?;
        let entries = match doc.get("packages") {
            None | Some(Json::Null) => continue,
            Some(Json::Array(items)) => items,
            Some(other) => {
                return Err(Diagnostic::new(format!(
                    "`packages:` must be a list, not {}",
                    type_name(other)
                ))
                .at(yaml::locate(file, &text, &[Step::key("packages")]))
                .help("write `packages:` followed by `- package: dbt-labs/dbt_utils` entries"));
            }
        };
        let mut out = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let location = yaml::locate(file, &text, &[Step::key("packages"), Step::Index(index)]);
            let text_of = |key: &str| entry.get(key).and_then(scalar_text);
            let requirement = if let Some(package) = text_of("package") {
                let versions = match entry.get("version") {
                    Some(Json::Array(items)) => items.iter().filter_map(scalar_text).collect(),
                    Some(single) => scalar_text(single).into_iter().collect(),
                    None => Vec::new(),
                };
                Requirement::Hub { package, versions }
            } else if let Some(url) = text_of("git") {
                Requirement::Git {
                    url,
                    revision: text_of("revision"),
                    subdirectory: text_of("subdirectory"),
                }
            } else if let Some(path) = text_of("local") {
                Requirement::Local(path)
            } else if let Some((kind, _)) = entry.as_object().and_then(|m| m.iter().next()) {
                Requirement::Other(kind.clone())
            } else {
                return Err(Diagnostic::new("cannot read this package requirement")
                    .at(location)
                    .help("write `- package: dbt-labs/dbt_utils` with `version: 1.3.0`, `- git: <url>` with `revision:`, or `- local: <path>`"));
            };
            out.push(Required {
                requirement,
                location,
            });
        }
        return Ok((Some(file), out));
    }
    Ok((None, Vec::new()))
}

fn scalar_text(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The package name a requirement installs as, where the requirement tells it: the last part
/// of a hub name, the repository (or subdirectory) of a git URL.
pub(crate) fn expected_name(requirement: &Requirement) -> Option<String> {
    match requirement {
        Requirement::Hub { package, .. } => package.rsplit('/').next().map(str::to_string),
        Requirement::Git {
            url, subdirectory, ..
        } => {
            let last = subdirectory
                .as_deref()
                .unwrap_or(url)
                .trim_end_matches('/')
                .rsplit('/')
                .next()?
                .trim_end_matches(".git")
                .to_string();
            Some(last)
        }
        Requirement::Local(path) => Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
        Requirement::Other(_) => None,
    }
}

/// Whether an installed package `name` can be the one `requirement` names (git repositories
/// are often named `dbt-<name>` with dashes).
fn satisfies(name: &str, requirement: &Requirement) -> bool {
    let Some(expected) = expected_name(requirement) else {
        return false;
    };
    let normalize = |s: &str| {
        s.trim_start_matches("dbt-")
            .trim_start_matches("dbt_")
            .replace('-', "_")
    };
    expected == name || normalize(&expected) == normalize(name)
}

/// Loads every installed package and every `local:` one; a requirement without an installed
/// package is an error at its line. Errors do not stop the other packages from loading.
pub(crate) fn load(project: &Project) -> (Vec<Package>, Vec<Diagnostic>) {
    let dir = &project.dir;
    let mut errors = Vec::new();
    let (file, required) = match requirements(dir) {
        Ok(found) => found,
        Err(error) => return (Vec::new(), vec![error]),
    };
    let install = &project.packages_install_path;
    let mut packages = Vec::new();
    let mut installed_dirs: Vec<String> = std::fs::read_dir(dir.join(install))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().join("dbt_project.yml").is_file())
                .map(|e| format!("{install}/{}", e.file_name().to_string_lossy()))
                .collect()
        })
        .unwrap_or_default();
    installed_dirs.sort();
    for package_dir in installed_dirs {
        match read_package(dir, &package_dir) {
            Ok(package) => packages.push(package),
            Err(error) => errors.push(error),
        }
    }
    // Requirements whose installed name is known (hub packages, readable local paths) claim
    // their package by name; the others (git, tarball) claim any package left unclaimed.
    let mut claimed: Vec<bool> = vec![false; packages.len()];
    let mut unnamed = Vec::new();
    for wanted in &required {
        if let Requirement::Local(path) = &wanted.requirement
            && dir.join(path).join("dbt_project.yml").is_file()
        {
            match read_package(dir, path.trim_end_matches('/')) {
                Ok(local) => match packages.iter().position(|p| p.name == local.name) {
                    Some(index) => claimed[index] = true,
                    None => {
                        packages.push(local);
                        claimed.push(true);
                    }
                },
                Err(error) => errors.push(error),
            }
            continue;
        }
        let by_name = match &wanted.requirement {
            Requirement::Hub { .. } => packages
                .iter()
                .position(|p| satisfies(&p.name, &wanted.requirement)),
            _ => {
                unnamed.push(wanted);
                continue;
            }
        };
        match by_name {
            Some(index) => claimed[index] = true,
            None => errors.push(not_installed(wanted, file, install)),
        }
    }
    for wanted in unnamed {
        let by_name = packages
            .iter()
            .position(|p| satisfies(&p.name, &wanted.requirement));
        match by_name.or_else(|| claimed.iter().position(|c| !c)) {
            Some(index) => claimed[index] = true,
            None => errors.push(not_installed(wanted, file, install)),
        }
    }
    (packages, errors)
}

fn not_installed(wanted: &Required, file: Option<&str>, install: &str) -> Diagnostic {
    let what = match &wanted.requirement {
        Requirement::Hub { package, .. } => format!("package '{package}'"),
        Requirement::Git { url, .. } => format!("package {url}"),
        Requirement::Local(path) => format!("local package '{path}'"),
        Requirement::Other(kind) => format!("the `{kind}:` package"),
    };
    Diagnostic::new(format!(
        "{what} is required by {} but not installed in {install}/",
        file.unwrap_or("packages.yml")
    ))
    .at(wanted.location.clone())
    .help("run `mdwc deps` (or `dbt deps`) to install the project's packages")
}

/// Reads the package in `package_dir` (relative to the project): its name and macros.
fn read_package(project_dir: &Path, package_dir: &str) -> Result<Package> {
    let project_file = format!("{package_dir}/dbt_project.yml");
    let bytes = std::fs::read(project_dir.join(&project_file))
        .map_err(|err| Diagnostic::new(format!("cannot read {project_file}: {err}")))?;
    let text = utf8(&project_file, bytes)?;
    let config = yaml::parse(&project_file, &text)?;
    let name = config
        .get("name")
        .and_then(Json::as_str)
        .filter(|name| crate::project::is_identifier(name))
        .ok_or_else(|| {
            Diagnostic::new(format!("package in {package_dir} has no valid `name`"))
                .at(Location::new(&project_file, 1, 1))
                .help("reinstall the package with `mdwc deps`")
        })?
        .to_string();
    // dbt runs a package's on-run-* hooks in every run; mdwc does not read them: a package
    // that has some is refused rather than left without them.
    for key in ["on-run-start", "on-run-end"] {
        let has = match config.get(key) {
            None | Some(Json::Null) => false,
            Some(Json::Array(items)) => !items.is_empty(),
            Some(Json::String(s)) => !s.trim().is_empty(),
            Some(_) => true,
        };
        if has {
            return Err(Diagnostic::new(format!(
                "package '{name}' has `{key}` hooks, which mdw does not run"
            ))
            .at(yaml::locate(&project_file, &text, &[yaml::Step::key(key)]))
            .help("mdw runs hooks around model builds (pre-hook, post-hook), not around a whole run; remove the package or run its hooks outside mdw"));
        }
    }
    let paths = |key: &str, default: &str| -> Vec<String> {
        match config.get(key) {
            Some(Json::Array(items)) => items
                .iter()
                .filter_map(Json::as_str)
                .map(|p| p.trim_start_matches("./").trim_end_matches('/').to_string())
                .collect(),
            _ => vec![default.to_string()],
        }
    };
    for root in paths("model-paths", "models") {
        let models: Vec<String> = list_files(project_dir, &format!("{package_dir}/{root}"))?
            .into_iter()
            .filter(|p| p.ends_with(".sql"))
            .collect();
        if let Some(first) = models.first() {
            return Err(Diagnostic::new(format!(
                "package '{name}' has models, which mdwc does not compile yet"
            ))
            .at(Location::new(first, 1, 1))
            .help("keep the package's models in dbt, or copy the ones you need into the project's models/"));
        }
    }
    let mut macro_files = Vec::new();
    for root in paths("macro-paths", "macros") {
        macro_files.extend(
            list_files(project_dir, &format!("{package_dir}/{root}"))?
                .into_iter()
                .filter(|p| p.ends_with(".sql")),
        );
    }
    Ok(Package {
        name,
        macros: read_all(project_dir, macro_files)?,
    })
}
