//! Differential test: for examples/retail and every non-error fixture, the SQL mdwc compiles
//! equals dbt-core's (dbt-athena 1.11), modulo whitespace.
//!
//! Needs dbt (env `MDW_DBT`, else `dbt` on PATH) and `moto_server` (on PATH, else beside dbt):
//! dbt-athena lists relations while compiling, so it talks to a throwaway moto server on a free
//! loopback port. When either is missing the test fails and says how to install them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Moto, copy_project, dbt_compile, files_under, find_dbt, find_moto, run, tokens};

struct Case {
    name: String,
    dir: PathBuf,
    profiles_dir: PathBuf,
    vars: Option<String>,
    target: Option<String>,
    env: Vec<(String, String)>,
}

fn cases() -> Vec<Case> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = crate_dir.join("../examples/retail");
    let mut cases = vec![Case {
        name: "examples/retail".into(),
        profiles_dir: example.clone(),
        dir: example,
        vars: None,
        target: None,
        env: Vec::new(),
    }];
    let fixtures = crate_dir.join("tests/fixtures");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .expect("tests/fixtures")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("dbt_project.yml").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if name.starts_with("err_") {
            continue;
        }
        let case: serde_norway::Value = std::fs::read_to_string(dir.join("case.yml"))
            .ok()
            .and_then(|text| serde_norway::from_str(&text).ok())
            .unwrap_or(serde_norway::Value::Null);
        let text_of = |key: &str| case.get(key).and_then(|v| v.as_str()).map(str::to_string);
        let env = case
            .get("env")
            .and_then(|v| v.as_mapping())
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        cases.push(Case {
            name: format!("fixtures/{name}"),
            profiles_dir: if dir.join("profiles.yml").is_file() {
                dir.clone()
            } else {
                fixtures.clone()
            },
            vars: text_of("vars"),
            target: text_of("target"),
            env,
            dir,
        });
    }
    cases
}

/// Compiles `case` with both tools; returns the differences found.
fn compare(case: &Case, dbt: &Path, moto_port: u16, scratch: &Path) -> Vec<String> {
    let slug = case.name.replace('/', "_");
    let dbt_dir = scratch.join(format!("{slug}-dbt"));
    let mdwc_dir = scratch.join(format!("{slug}-mdwc"));
    copy_project(&case.dir, &dbt_dir);
    copy_project(&case.dir, &mdwc_dir);

    let mut flags = Vec::new();
    if let Some(target) = &case.target {
        flags.extend(["--target".to_string(), target.clone()]);
    }
    if let Some(vars) = &case.vars {
        flags.extend(["--vars".into(), vars.clone()]);
    }

    let mut mdwc = Command::new(env!("CARGO_BIN_EXE_mdwc"));
    mdwc.arg("compile")
        .arg("--project-dir")
        .arg(&mdwc_dir)
        .arg("--profiles-dir")
        .arg(&case.profiles_dir)
        .args(&flags)
        .env_remove("DBT_PROFILES_DIR");
    for (key, value) in &case.env {
        mdwc.env(key, value);
    }
    run(mdwc, &format!("mdwc compile ({})", case.name));

    let mut dbt_cmd = dbt_compile(dbt, &dbt_dir, &case.profiles_dir, moto_port);
    dbt_cmd.args(&flags);
    for (key, value) in &case.env {
        dbt_cmd.env(key, value);
    }
    run(dbt_cmd, &format!("dbt compile ({})", case.name));

    let dbt_root = dbt_dir.join("target/compiled");
    let mdwc_root = mdwc_dir.join("target/compiled");
    let dbt_files = files_under(&dbt_root);
    let mdwc_files = files_under(&mdwc_root);
    let mut problems = Vec::new();
    for missing in dbt_files.difference(&mdwc_files) {
        problems.push(format!(
            "{}: mdwc did not write {}",
            case.name,
            missing.display()
        ));
    }
    for extra in mdwc_files.difference(&dbt_files) {
        problems.push(format!(
            "{}: dbt did not write {}",
            case.name,
            extra.display()
        ));
    }
    for file in dbt_files.intersection(&mdwc_files) {
        let expected = std::fs::read_to_string(dbt_root.join(file)).unwrap_or_default();
        let actual = std::fs::read_to_string(mdwc_root.join(file)).unwrap_or_default();
        if tokens(&expected) != tokens(&actual) {
            problems.push(format!(
                "{}: {} differs\n--- dbt\n{}\n--- mdwc\n{}",
                case.name,
                file.display(),
                expected.trim(),
                actual.trim()
            ));
        }
    }
    if dbt_files.is_empty() {
        problems.push(format!("{}: dbt compiled nothing", case.name));
    }
    problems
}

#[test]
fn compiled_sql_equals_dbt_core() {
    let dbt = find_dbt();
    let moto_program = find_moto(&dbt);
    let moto = Moto::start(&moto_program);
    let scratch = std::env::temp_dir().join(format!("mdwc-differential-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);

    let cases = cases();
    // Two at a time: dbt spends most of its time starting up, on one core each.
    let problems: Vec<String> = std::thread::scope(|scope| {
        let (first, second) = cases.split_at(cases.len().div_ceil(2));
        let run_all = |list: &[Case]| {
            list.iter()
                .flat_map(|case| compare(case, &dbt, moto.port, &scratch))
                .collect::<Vec<_>>()
        };
        let a = scope.spawn(move || run_all(first));
        let b = scope.spawn(move || run_all(second));
        let mut all = a
            .join()
            .unwrap_or_else(|_| vec!["a comparison thread panicked".into()]);
        all.extend(
            b.join()
                .unwrap_or_else(|_| vec!["a comparison thread panicked".into()]),
        );
        all
    });
    let _ = std::fs::remove_dir_all(&scratch);
    drop(moto);
    assert!(
        problems.is_empty(),
        "{} differences from dbt-core:\n{}",
        problems.len(),
        problems.join("\n\n")
    );
    eprintln!(
        "compiled SQL equals dbt-core's for {} projects",
        cases.len()
    );
}
