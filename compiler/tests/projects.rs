//! The differential suite on real public dbt projects (tests/projects/, each with its licence;
//! packages from tests/packages/, installed into `dbt_packages/` as `dbt deps` would): every
//! node dbt-core 1.11 + dbt-athena 1.11 compiles must compile to the same SQL with mdwc
//! (modulo whitespace), or fail with an error at a file and line. Prints, per project, how many
//! nodes are identical, differing and failing.
//!
//! dbt's `compile` stops at the first node it cannot compile (on moto, macros that read query
//! results find none): such a node is excluded and dbt is run again, so the reference covers
//! every node dbt can compile. Needs dbt and moto like tests/differential.rs.
//!
//! While working on the compiler: `MDWC_PROJECTS_ONLY=<name>` runs one project,
//! `MDWC_PROJECTS_DBT_CACHE=<dir>` keeps dbt's output there and reuses it on the next run,
//! `MDWC_PROJECTS_ERRORS=1` prints mdwc's errors.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{
    Moto, copy_project, create_workgroup, dbt_compile, files_under, find_dbt, find_moto,
    register_glue_table,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// `packages: [a, b]` from a project's case.yml.
fn packages_of(project: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(project.join("case.yml")).unwrap_or_default();
    let yaml: serde_norway::Value = serde_norway::from_str(&text).unwrap_or_default();
    yaml.get("packages")
        .and_then(|p| p.as_sequence())
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A project copy with its packages installed.
fn prepare(project: &Path, to: &Path) {
    copy_project(project, to);
    for package in packages_of(project) {
        copy_project(
            &root().join("packages").join(&package),
            &to.join("dbt_packages").join(&package),
        );
    }
}

/// The project's name from its dbt_project.yml.
fn project_name(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("dbt_project.yml")).expect("dbt_project.yml");
    let yaml: serde_norway::Value = serde_norway::from_str(&text).expect("valid dbt_project.yml");
    yaml.get("name")
        .and_then(|n| n.as_str())
        .expect("a project name")
        .to_string()
}

/// dbt's compiled SQL by path under target/compiled/<project>/, and the nodes dbt could not
/// compile (with dbt's message).
/// dbt's compiled SQL by path, the nodes dbt could not compile, and its manifest.
type Reference = (BTreeMap<String, String>, Vec<String>, serde_json::Value);

fn dbt_reference(dbt: &Path, dir: &Path, moto_port: u16) -> Reference {
    let mut excluded: Vec<String> = Vec::new();
    for _ in 0..40 {
        let mut command = dbt_compile(dbt, dir, &root().join("projects"), moto_port);
        if !excluded.is_empty() {
            command.arg("--exclude").args(&excluded);
        }
        let output = command.output().expect("run dbt");
        let log = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            break;
        }
        // "Compilation Error in test <name> (<path>)" / "Runtime Error in model <name> (...)"
        let failed = log
            .lines()
            .filter_map(|line| line.trim().split_once(" Error in "))
            .filter_map(|(_, rest)| rest.split_whitespace().nth(1))
            .find(|name| !excluded.iter().any(|e| e == name))
            .map(str::to_string);
        match failed {
            Some(name) => excluded.push(name),
            None => panic!("dbt compile failed in {}:\n{log}", dir.display()),
        }
    }
    let compiled = dir.join("target/compiled").join(project_name(dir));
    let files = files_under(&compiled)
        .into_iter()
        .filter(|path| !path.starts_with("analyses") && !path.starts_with("analysis"))
        .map(|path| {
            let sql = std::fs::read_to_string(compiled.join(&path)).unwrap_or_default();
            (path.to_string_lossy().into_owned(), sql)
        })
        .collect();
    let manifest = std::fs::read_to_string(dir.join("target/manifest.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    (files, excluded, manifest)
}

/// Equal modulo whitespace and the time of the run (`modules.datetime.datetime.now()` in a
/// model is dbt's compile time in dbt's SQL and mdwc's in mdwc's).
fn same_sql(a: &str, b: &str) -> bool {
    let now = regex::Regex::new(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?")
        .expect("valid pattern");
    let mask = |sql: &str| common::tokens(&now.replace_all(sql, "<time>"));
    mask(a) == mask(b)
}

#[derive(Default)]
struct Tally {
    identical: usize,
    differing: Vec<String>,
    /// Nodes dbt compiled that mdwc did not, and mdwc's errors.
    failing: usize,
    errors: Vec<String>,
    dbt_failed: usize,
    /// Where the manifest's models and seeds differ from dbt's.
    manifest: Vec<String>,
}

fn compare(name: &str, project: &Path, dbt: &Path, moto_program: &Path, scratch: &Path) -> Tally {
    let mdwc_dir = scratch.join(format!("{name}-mdwc"));
    prepare(project, &mdwc_dir);
    let partial = mdwc::compile::compile_partial(&mdwc::compile::Options {
        project_dir: mdwc_dir.clone(),
        profiles_dir: Some(root().join("projects")),
        target: None,
        vars: None,
        catalog: mdwc::warehouse::CatalogChoice::None,
    });
    // dbt reads columns from Glue: it is shown the relations mdwc knows the columns of, as
    // they would be once built (the names are checked against the engine's own tables by the
    // acceptance tests). A moto of its own per project: the projects share a schema.
    let known: Vec<(String, String, Vec<mdwc::compile::KnownColumn>)> = partial
        .compiled
        .iter()
        .flat_map(|c| &c.relation_columns)
        .map(|r| (r.schema.clone(), r.identifier.clone(), r.columns.clone()))
        .collect();
    let known_json = serde_json::to_string(&known).expect("json");
    let dbt_reference_with_tables = |dbt_dir: &Path| {
        let moto = Moto::start(moto_program);
        create_workgroup(moto.port, "mdw");
        for (schema, table, columns) in &known {
            register_glue_table(moto.port, schema, table, columns);
        }
        dbt_reference(dbt, dbt_dir, moto.port)
    };
    let (reference, dbt_failed, dbt_manifest) = match std::env::var_os("MDWC_PROJECTS_DBT_CACHE") {
        Some(cache) => {
            let dbt_dir = PathBuf::from(cache).join(name);
            let saved = dbt_dir.join(".mdwc-dbt-reference.json");
            let cached: Option<(String, Reference)> = std::fs::read_to_string(&saved)
                .ok()
                .and_then(|text| serde_json::from_str(&text).ok());
            match cached {
                Some((tables, reference)) if tables == known_json => reference,
                _ => {
                    let _ = std::fs::remove_dir_all(&dbt_dir);
                    prepare(project, &dbt_dir);
                    let reference = dbt_reference_with_tables(&dbt_dir);
                    let json = serde_json::to_string(&(&known_json, &reference)).expect("json");
                    std::fs::write(&saved, json).expect("save dbt's reference");
                    reference
                }
            }
        }
        None => {
            let dbt_dir = scratch.join(format!("{name}-dbt"));
            prepare(project, &dbt_dir);
            dbt_reference_with_tables(&dbt_dir)
        }
    };

    // dbt gives tests whose arguments clean to the same text one compiled file (whichever it
    // compiles last): any of mdwc's tests of that path may match it.
    let mut ours: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(compiled) = &partial.compiled {
        for model in &compiled.models {
            ours.entry(model.file.clone())
                .or_default()
                .push(model.sql.clone());
        }
        for test in &compiled.tests {
            ours.entry(test.compiled_path.clone())
                .or_default()
                .push(test.sql.clone());
        }
    }
    let mut tally = Tally {
        dbt_failed: dbt_failed.len(),
        ..Tally::default()
    };
    for (path, expected) in &reference {
        match ours.get(path) {
            Some(actual) if actual.iter().any(|a| same_sql(a, expected)) => tally.identical += 1,
            Some(actual) => tally.differing.push(format!(
                "{name}: {path} differs\n--- dbt\n{}\n--- mdwc\n{}",
                expected.trim(),
                actual[0].trim()
            )),
            None => tally.failing += 1,
        }
    }
    tally.errors = partial.errors.iter().map(ToString::to_string).collect();
    if let Some(compiled) = &partial.compiled {
        tally.manifest = compare_manifests(name, &dbt_manifest, &compiled.manifest_json("", ""));
    }
    tally
}

/// The models and seeds of dbt's manifest against mdwc's: same ids, names, relations,
/// dependencies.
fn compare_manifests(name: &str, dbt: &serde_json::Value, ours: &serde_json::Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(nodes) = dbt["nodes"].as_object() else {
        return vec![format!("{name}: dbt wrote no manifest")];
    };
    for (id, node) in nodes {
        if !matches!(node["resource_type"].as_str(), Some("model" | "seed")) {
            continue;
        }
        // A node mdwc could not compile is counted as failing, not compared here.
        let Some(our) = ours["nodes"].get(id) else {
            continue;
        };
        for key in [
            "name",
            "fqn",
            "path",
            "original_file_path",
            "database",
            "schema",
            "alias",
            "relation_name",
        ] {
            if node[key] != our[key] {
                problems.push(format!(
                    "{name}: {id}.{key} is {} in dbt's manifest, {} in mdwc's",
                    node[key], our[key]
                ));
            }
        }
        let deps = |n: &serde_json::Value| {
            let mut d: Vec<String> = n["depends_on"]["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            d.sort();
            d
        };
        if deps(node) != deps(our) {
            problems.push(format!(
                "{name}: {id} depends on {:?} in dbt's manifest, {:?} in mdwc's",
                deps(node),
                deps(our)
            ));
        }
    }
    problems
}

#[test]
fn real_projects_compile_like_dbt_core() {
    let dbt = find_dbt();
    let moto = find_moto(&dbt);
    let scratch = std::env::temp_dir().join(format!("mdwc-projects-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let mut projects: Vec<PathBuf> = std::fs::read_dir(root().join("projects"))
        .expect("tests/projects")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("dbt_project.yml").is_file())
        .filter(|p| {
            std::env::var("MDWC_PROJECTS_ONLY").map_or(true, |only| {
                p.file_name().is_some_and(|n| n.to_string_lossy() == only)
            })
        })
        .collect();
    projects.sort();

    // Two at a time: dbt spends most of its time starting up, on one core each.
    let tallies: Vec<(String, Tally)> = std::thread::scope(|scope| {
        let (first, second) = projects.split_at(projects.len().div_ceil(2));
        let run_all = |list: &[PathBuf]| {
            list.iter()
                .map(|project| {
                    let name = project
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned();
                    let tally = compare(&name, project, &dbt, &moto, &scratch);
                    (name, tally)
                })
                .collect::<Vec<_>>()
        };
        let a = scope.spawn(move || run_all(first));
        let b = scope.spawn(move || run_all(second));
        let mut all = a.join().expect("comparison thread");
        all.extend(b.join().expect("comparison thread"));
        all
    });
    let _ = std::fs::remove_dir_all(&scratch);

    let mut report = String::from(
        "project                                  dbt  identical  differing  failing  (dbt failed)\n",
    );
    let mut differing = Vec::new();
    let mut manifest = Vec::new();
    let mut unlocated = Vec::new();
    for (name, tally) in &tallies {
        let total = tally.identical + tally.differing.len() + tally.failing;
        report.push_str(&format!(
            "{name:<40} {total:>4} {:>10} {:>10} {:>8}  ({})\n",
            tally.identical,
            tally.differing.len(),
            tally.failing,
            tally.dbt_failed
        ));
        differing.extend(tally.differing.iter().cloned());
        manifest.extend(tally.manifest.iter().cloned());
        unlocated.extend(
            tally
                .errors
                .iter()
                .filter(|e| !e.contains("\n  --> "))
                .map(|e| format!("{name}: {e}")),
        );
    }
    eprintln!("{report}");
    if std::env::var_os("MDWC_PROJECTS_ERRORS").is_some() {
        for (name, tally) in &tallies {
            let kinds: BTreeSet<&str> = tally
                .errors
                .iter()
                .filter_map(|e| e.lines().next())
                .collect();
            eprintln!(
                "== {name}: {} errors\n{}",
                tally.errors.len(),
                kinds.into_iter().collect::<Vec<_>>().join("\n")
            );
        }
    }
    assert!(
        differing.is_empty(),
        "{} nodes compile to different SQL than dbt-core's:\n\n{}",
        differing.len(),
        differing.join("\n\n")
    );
    assert!(
        manifest.is_empty(),
        "target/manifest.json differs from dbt's:\n{}",
        manifest.join("\n")
    );
    assert!(
        unlocated.is_empty(),
        "errors without a file and line:\n{}",
        unlocated.join("\n")
    );
}
