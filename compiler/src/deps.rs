//! `mdwc deps`: installs the packages `packages.yml` requires into `dbt_packages/`, as `dbt deps`
//! does. `git:` packages are cloned with `git` at their `revision`; hub packages
//! (`package: org/name`) are looked up on the dbt package hub (`DBT_PACKAGE_HUB_URL`, default
//! hub.getdbt.com) and the highest version within every range asked for is downloaded;
//! `local:` packages are linked. Packages' own requirements are installed too.
//! `package-lock.yml` pins what was installed; while it matches `packages.yml`, it is
//! installed as written. Without network, the error says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;
use sha1::{Digest, Sha1};

use crate::error::{Diagnostic, Location, Result};
use crate::packages::{Required, Requirement, requirements};
use crate::project::Project;

const LOCK_FILE: &str = "package-lock.yml";
const DEFAULT_HUB: &str = "https://hub.getdbt.com/";

/// What `mdwc deps` installed.
#[derive(Debug, Default)]
pub(crate) struct Installed {
    /// `(name, version or revision)` per package.
    pub packages: Vec<(String, String)>,
    pub lock_written: bool,
}

/// A version as the hub and dbt order them: `major.minor.patch[-prerelease]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Version {
    numbers: (u64, u64, u64),
    /// Empty for a release; releases sort after their prereleases.
    prerelease: Option<String>,
}

impl Version {
    fn parse(text: &str) -> Option<Version> {
        let text = text.trim().trim_start_matches('v');
        let (core, pre) = match text.split_once('-') {
            Some((core, pre)) => (core, Some(pre.to_string())),
            None => (text, None),
        };
        let mut parts = core.split('.').map(|p| p.parse::<u64>());
        let numbers = (
            parts.next()?.ok()?,
            parts.next().unwrap_or(Ok(0)).ok()?,
            parts.next().unwrap_or(Ok(0)).ok()?,
        );
        Some(Version {
            numbers,
            prerelease: pre,
        })
    }

    fn sort_key(&self) -> ((u64, u64, u64), bool, String) {
        (
            self.numbers,
            self.prerelease.is_none(),
            self.prerelease.clone().unwrap_or_default(),
        )
    }
}

/// One dbt version range: `1.3.0`, `>=1.0.0`, `<2.0.0`.
fn satisfies(version: &Version, spec: &str) -> Option<bool> {
    let spec = spec.trim();
    let digits = spec.find(|c: char| c.is_ascii_digit())?;
    let (op, wanted) = spec.split_at(digits);
    let wanted = Version::parse(wanted)?;
    let (a, b) = (version.sort_key(), wanted.sort_key());
    Some(match op.trim() {
        "" | "=" | "==" => {
            version.numbers == wanted.numbers && version.prerelease == wanted.prerelease
        }
        ">=" => a >= b,
        ">" => a > b,
        "<=" => a <= b,
        "<" => a < b,
        _ => return None,
    })
}

fn run(command: &mut Command, what: &str) -> Result<String> {
    let output = command.output().map_err(|err| {
        Diagnostic::new(format!("cannot run {what}: {err}"))
            .help("mdwc deps needs `git` (and `curl` and `tar` for hub packages) on PATH")
    })?;
    if !output.status.success() {
        return Err(Diagnostic::new(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Copies `from` into `to` (replacing it), leaving out `.git`.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to)
        .map_err(|err| Diagnostic::new(format!("cannot create {}: {err}", to.display())))?;
    for entry in std::fs::read_dir(from)
        .map_err(|err| Diagnostic::new(format!("cannot read {}: {err}", from.display())))?
        .flatten()
    {
        if entry.file_name() == ".git" {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(|err| {
                Diagnostic::new(format!("cannot copy to {}: {err}", target.display()))
            })?;
        }
    }
    Ok(())
}

/// The `name:` of the dbt project in `dir`.
fn project_name(dir: &Path) -> Result<String> {
    let file = dir.join("dbt_project.yml");
    let text = std::fs::read_to_string(&file).map_err(|err| {
        Diagnostic::new(format!(
            "the package has no dbt_project.yml ({}): {err}",
            file.display()
        ))
    })?;
    crate::yaml::parse("dbt_project.yml", &text)?
        .get("name")
        .and_then(Json::as_str)
        .map(str::to_string)
        .ok_or_else(|| Diagnostic::new(format!("{} has no `name`", file.display())))
}

/// A package to install, once its requirements are merged.
#[derive(Debug)]
enum Wanted {
    Hub {
        package: String,
        ranges: Vec<String>,
        location: Location,
    },
    Git {
        url: String,
        revision: Option<String>,
        subdirectory: Option<String>,
        location: Location,
    },
    Local {
        path: String,
        location: Location,
    },
}

struct Installer {
    install_dir: PathBuf,
    scratch: PathBuf,
    hub: String,
}

impl Installer {
    fn hub_versions(&self, package: &str, location: &Location) -> Result<Json> {
        let url = format!("{}api/v1/{package}.json", self.hub);
        let text = run(
            Command::new("curl").args(["-sSfL", "--max-time", "30", &url]),
            &format!("fetching {url}"),
        )
        .map_err(|err| {
            Diagnostic::new(format!(
                "cannot reach the dbt package hub for '{package}' ({})",
                err.message
            ))
            .at(location.clone())
            .help("mdwc deps needs the network for hub packages: connect, set DBT_PACKAGE_HUB_URL to a mirror, use a `git:` package, or copy the package into dbt_packages/")
        })?;
        serde_json::from_str(&text).map_err(|err| {
            Diagnostic::new(format!(
                "the hub's answer for '{package}' is not JSON: {err}"
            ))
            .at(location.clone())
        })
    }

    /// Installs a hub package at the highest version within `ranges` (or `exact`).
    fn hub(
        &self,
        package: &str,
        ranges: &[String],
        exact: Option<&str>,
        location: &Location,
    ) -> Result<(String, String)> {
        let index = self.hub_versions(package, location)?;
        let versions = index["versions"].as_object().cloned().unwrap_or_default();
        let chosen = match exact {
            Some(exact) => exact.to_string(),
            None => {
                let mut candidates: Vec<(Version, String)> = versions
                    .keys()
                    .filter_map(|v| Version::parse(v).map(|parsed| (parsed, v.clone())))
                    .filter(|(v, _)| v.prerelease.is_none())
                    .filter(|(v, _)| ranges.iter().all(|r| satisfies(v, r).unwrap_or(false)))
                    .collect();
                candidates.sort_by_key(|(v, _)| v.sort_key());
                candidates.pop().map(|(_, text)| text).ok_or_else(|| {
                    Diagnostic::new(format!(
                        "no version of '{package}' satisfies {}",
                        ranges.join(", ")
                    ))
                    .at(location.clone())
                    .help("widen the version range in packages.yml")
                })?
            }
        };
        let tarball = versions
            .get(&chosen)
            .and_then(|v| v["downloads"]["tarball"].as_str())
            .ok_or_else(|| {
                Diagnostic::new(format!("the hub lists no download of '{package}' {chosen}"))
                    .at(location.clone())
            })?
            .to_string();
        let unpack = self
            .scratch
            .join(format!("hub-{}", package.replace('/', "-")));
        let _ = std::fs::remove_dir_all(&unpack);
        std::fs::create_dir_all(&unpack)
            .map_err(|err| Diagnostic::new(format!("cannot create {}: {err}", unpack.display())))?;
        let archive = unpack.join("package.tar.gz");
        run(
            Command::new("curl")
                .args(["-sSfL", "--max-time", "120", "-o"])
                .arg(&archive)
                .arg(&tarball),
            &format!("downloading {tarball}"),
        )?;
        run(
            Command::new("tar")
                .arg("-xzf")
                .arg(&archive)
                .arg("-C")
                .arg(&unpack),
            "unpacking the package",
        )?;
        let root = std::fs::read_dir(&unpack)
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.join("dbt_project.yml").is_file())
            .ok_or_else(|| Diagnostic::new(format!("{tarball} holds no dbt project")))?;
        let name = project_name(&root)?;
        copy_tree(&root, &self.install_dir.join(&name))?;
        Ok((name, chosen))
    }

    /// Clones a git package at `revision` (its default branch without one); returns its name
    /// and the commit installed.
    fn git(
        &self,
        url: &str,
        revision: Option<&str>,
        subdirectory: Option<&str>,
    ) -> Result<(String, String)> {
        let checkout = self.scratch.join(format!(
            "git-{}",
            crate::jinja::globals::local_md5(url.to_string())
        ));
        let _ = std::fs::remove_dir_all(&checkout);
        run(
            Command::new("git").args(["clone", "--quiet", url]).arg(&checkout),
            &format!("git clone {url}"),
        )
        .map_err(|err| {
            err.help("check the URL, and that git can reach it (mdwc deps needs the network for remote repositories)")
        })?;
        if let Some(revision) = revision {
            run(
                Command::new("git")
                    .arg("-C")
                    .arg(&checkout)
                    .args(["checkout", "--quiet", revision]),
                &format!("git checkout {revision}"),
            )?;
        }
        let commit = run(
            Command::new("git")
                .arg("-C")
                .arg(&checkout)
                .args(["rev-parse", "HEAD"]),
            "git rev-parse",
        )?
        .trim()
        .to_string();
        let root = match subdirectory {
            Some(sub) => checkout.join(sub),
            None => checkout.clone(),
        };
        let name = project_name(&root)?;
        copy_tree(&root, &self.install_dir.join(&name))?;
        Ok((name, commit))
    }
}

/// The hash dbt keeps in package-lock.yml to tell whether packages.yml changed.
fn requirements_hash(text: &str) -> String {
    Sha1::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Installs the project's packages.
pub(crate) fn install(project_dir: &Path) -> Result<Installed> {
    let project = Project::load(project_dir)?;
    let (file, required) = requirements(project_dir)?;
    let Some(file) = file else {
        return Ok(Installed::default());
    };
    let requirements_text = std::fs::read_to_string(project_dir.join(file)).unwrap_or_default();
    let hash = requirements_hash(&requirements_text);
    let install_dir = project.dir.join(&project.packages_install_path);
    std::fs::create_dir_all(&install_dir).map_err(|err| {
        Diagnostic::new(format!("cannot create {}: {err}", install_dir.display()))
    })?;
    let scratch = std::env::temp_dir().join(format!("mdwc-deps-{}", std::process::id()));
    let installer = Installer {
        install_dir,
        scratch: scratch.clone(),
        hub: std::env::var("DBT_PACKAGE_HUB_URL").unwrap_or_else(|_| DEFAULT_HUB.to_string()),
    };
    let locked = read_lock(project_dir, &hash);
    let result = match locked {
        Some(locked) => install_locked(&installer, project_dir, &locked),
        None => resolve_and_install(&installer, project_dir, required, &hash),
    };
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// package-lock.yml's entries, when its hash matches the requirements.
fn read_lock(project_dir: &Path, hash: &str) -> Option<Vec<Json>> {
    let text = std::fs::read_to_string(project_dir.join(LOCK_FILE)).ok()?;
    let lock = crate::yaml::parse(LOCK_FILE, &text).ok()?;
    (lock.get("sha1_hash").and_then(Json::as_str) == Some(hash))
        .then(|| lock.get("packages").and_then(Json::as_array).cloned())
        .flatten()
}

fn install_locked(installer: &Installer, project_dir: &Path, locked: &[Json]) -> Result<Installed> {
    let mut installed = Installed::default();
    let here = Location::new(LOCK_FILE, 1, 1);
    for entry in locked {
        let text = |key: &str| entry.get(key).and_then(Json::as_str).map(str::to_string);
        let done = if let (Some(package), Some(version)) = (text("package"), text("version")) {
            installer.hub(&package, &[], Some(&version), &here)?
        } else if let Some(url) = text("git") {
            installer.git(
                &url,
                text("revision").as_deref(),
                text("subdirectory").as_deref(),
            )?
        } else if let Some(path) = text("local") {
            link_local(installer, project_dir, &path)?
        } else {
            continue;
        };
        installed.packages.push(done);
    }
    Ok(installed)
}

fn link_local(installer: &Installer, project_dir: &Path, path: &str) -> Result<(String, String)> {
    let source = project_dir.join(path);
    let name = project_name(&source)?;
    let target = installer.install_dir.join(&name);
    let _ = std::fs::remove_dir_all(&target);
    let _ = std::fs::remove_file(&target);
    let absolute = crate::emit::files::absolute(&source);
    #[cfg(unix)]
    std::os::unix::fs::symlink(&absolute, &target)
        .map_err(|err| Diagnostic::new(format!("cannot link {}: {err}", target.display())))?;
    #[cfg(not(unix))]
    copy_tree(&absolute, &target)?;
    Ok((name, path.to_string()))
}

fn resolve_and_install(
    installer: &Installer,
    project_dir: &Path,
    required: Vec<Required>,
    hash: &str,
) -> Result<Installed> {
    let mut installed = Installed::default();
    let mut lock_entries: Vec<Json> = Vec::new();
    let mut pending: Vec<Required> = required;
    // Hub packages are merged by name (their ranges intersect); git ones by URL.
    let mut hub_ranges: BTreeMap<String, (Vec<String>, Location)> = BTreeMap::new();
    let mut done_git: Vec<String> = Vec::new();
    let mut done_hub: BTreeMap<String, String> = BTreeMap::new();
    let mut rounds = 0;
    while !pending.is_empty() {
        rounds += 1;
        if rounds > 50 {
            return Err(Diagnostic::new(
                "package requirements do not settle after 50 rounds",
            ));
        }
        let mut wanted = Vec::new();
        for required in std::mem::take(&mut pending) {
            match required.requirement {
                Requirement::Hub { package, versions } => {
                    let entry = hub_ranges
                        .entry(package.clone())
                        .or_insert_with(|| (Vec::new(), required.location.clone()));
                    entry.0.extend(versions);
                    if !done_hub.contains_key(&package) {
                        wanted.push(Wanted::Hub {
                            package,
                            ranges: entry.0.clone(),
                            location: required.location,
                        });
                    }
                }
                Requirement::Git {
                    url,
                    revision,
                    subdirectory,
                } if !done_git.contains(&url) => {
                    wanted.push(Wanted::Git {
                        url,
                        revision,
                        subdirectory,
                        location: required.location,
                    });
                }
                Requirement::Git { .. } => {}
                Requirement::Local(path) => wanted.push(Wanted::Local {
                    path,
                    location: required.location,
                }),
                Requirement::Other(kind) => {
                    return Err(Diagnostic::new(format!(
                        "`{kind}:` packages are not installed by mdwc deps"
                    ))
                    .at(required.location)
                    .help("install it with dbt deps, or use a `git:` or hub package"));
                }
            }
        }
        for want in wanted {
            let (name, version, entry) = match want {
                Wanted::Hub {
                    package,
                    ranges,
                    location,
                } => {
                    let (name, version) = installer.hub(&package, &ranges, None, &location)?;
                    done_hub.insert(package.clone(), version.clone());
                    (
                        name,
                        version.clone(),
                        serde_json::json!({"package": package, "version": version}),
                    )
                }
                Wanted::Git {
                    url,
                    revision,
                    subdirectory,
                    location,
                } => {
                    let (name, commit) = installer
                        .git(&url, revision.as_deref(), subdirectory.as_deref())
                        .map_err(|err| err.at(location))?;
                    done_git.push(url.clone());
                    let mut entry = serde_json::json!({"git": url, "revision": commit});
                    if let Some(sub) = subdirectory {
                        entry["subdirectory"] = Json::String(sub);
                    }
                    (name, commit, entry)
                }
                Wanted::Local { path, location } => {
                    let (name, path) = link_local(installer, project_dir, &path)
                        .map_err(|err| err.at(location))?;
                    (name, path.clone(), serde_json::json!({"local": path}))
                }
            };
            // The package's own requirements.
            let package_dir = installer.install_dir.join(&name);
            if let Ok((Some(_), more)) = requirements(&package_dir) {
                pending.extend(
                    more.into_iter()
                        .filter(|r| !matches!(r.requirement, Requirement::Local(_))),
                );
            }
            installed.packages.push((name, version));
            lock_entries.push(entry);
        }
    }
    let lock = serde_json::json!({"packages": lock_entries, "sha1_hash": hash});
    let text = serde_norway::to_string(&lock)
        .map_err(|err| Diagnostic::new(format!("cannot write {LOCK_FILE}: {err}")))?;
    crate::emit::files::write_if_changed(&project_dir.join(LOCK_FILE), &text)?;
    installed.lock_written = true;
    Ok(installed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_resolve_as_dbt() {
        let v = |s: &str| Version::parse(s).unwrap();
        assert_eq!(satisfies(&v("1.3.3"), ">=1.0.0"), Some(true));
        assert_eq!(satisfies(&v("2.0.0"), "<2.0.0"), Some(false));
        assert_eq!(satisfies(&v("1.3.3"), "1.3.3"), Some(true));
        assert_eq!(satisfies(&v("2.0.0-b1"), "<2.0.0"), Some(true));
        assert!(v("1.10.0").sort_key() > v("1.9.9").sort_key());
        assert!(v("1.0.0").sort_key() > v("1.0.0-rc1").sort_key());
    }
}
