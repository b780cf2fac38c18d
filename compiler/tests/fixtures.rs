//! Fixture tests: every folder under tests/fixtures/ is a dbt project; its compiled SQL and
//! Terraform JSON (or its error) are snapshotted. See tests/fixtures/README.md.

use std::path::{Path, PathBuf};

use mdwc::compile::{Options, compile};

#[derive(Default)]
struct Case {
    vars: Option<String>,
    target: Option<String>,
    /// `mdwc compile --group-by` (`folder`).
    group_by: Option<String>,
    env: Vec<(String, String)>,
    /// Has `source_tables`: it compiles only with the warehouse's catalog, which the
    /// differential test gives it; here the error that says so is snapshotted.
    needs_warehouse: bool,
}

fn read_case(dir: &Path) -> Case {
    let Ok(text) = std::fs::read_to_string(dir.join("case.yml")) else {
        return Case::default();
    };
    let yaml: serde_norway::Value = serde_norway::from_str(&text).expect("case.yml is valid YAML");
    let text_of = |key: &str| yaml.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let env = yaml
        .get("env")
        .and_then(|v| v.as_mapping())
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Case {
        vars: text_of("vars"),
        target: text_of("target"),
        group_by: text_of("group_by"),
        env,
        needs_warehouse: yaml.get("source_tables").is_some(),
    }
}

/// Relative to the crate (cargo runs tests there), so messages in snapshots hold no machine paths.
fn fixtures_root() -> PathBuf {
    PathBuf::from("tests/fixtures")
}

/// Compiles one case into the text that is snapshotted.
fn run_case(dir: &Path) -> String {
    let case = read_case(dir);
    for (key, value) in &case.env {
        // SAFETY: this test binary runs one test, which sets variables before any thread reads them.
        unsafe { std::env::set_var(key, value) };
    }
    let profiles_dir = if dir.join("profiles.yml").exists() {
        dir.to_path_buf()
    } else {
        fixtures_root()
    };
    let options = Options {
        project_dir: dir.to_path_buf(),
        profiles_dir: Some(profiles_dir),
        target: case.target,
        vars: case.vars,
        catalog: mdwc::warehouse::CatalogChoice::None,
    };
    let compiled = match compile(&options) {
        Ok(compiled) => compiled,
        Err(diagnostic) => return diagnostic.to_string(),
    };
    let emit = mdwc::emit::layout::EmitOptions {
        group_by: match case.group_by.as_deref().map(str::trim) {
            Some("folder") => mdwc::emit::layout::GroupBy::Folder,
            _ => mdwc::emit::layout::GroupBy::None,
        },
    };
    let terraform = match mdwc::emit::terraform::render(&compiled, &dir.join("out"), &emit) {
        Ok(files) => files,
        Err(diagnostic) => return diagnostic.to_string(),
    };
    let mut sections: Vec<(String, String)> = Vec::new();
    for model in &compiled.models {
        sections.push((model.file.clone(), model.sql.clone()));
    }
    for test in &compiled.tests {
        sections.push((test.compiled_path.clone(), test.sql.clone()));
    }
    sections.sort();
    let mut out = String::new();
    for (path, sql) in sections {
        let sql: Vec<&str> = sql.trim().lines().map(str::trim_end).collect();
        out.push_str(&format!("=== compiled {path}\n{}\n", sql.join("\n")));
    }
    for (name, content) in terraform {
        if name != "versions.tf.json" {
            out.push_str(&format!("=== terraform {name}\n{content}"));
        }
    }
    out
}

#[test]
fn compile_fixtures() {
    let mut wrong_outcome = Vec::new();
    insta::glob!("fixtures/*/dbt_project.yml", |path| {
        let dir = path.parent().expect("a case folder");
        let dir = dir.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(dir);
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let output = run_case(dir);
        let must_fail = name.starts_with("err_") || read_case(dir).needs_warehouse;
        if output.starts_with("error: ") != must_fail {
            wrong_outcome.push(format!("{name}:\n{output}"));
        }
        insta::assert_snapshot!(output);
    });
    assert!(
        wrong_outcome.is_empty(),
        "cases named err_* (and those needing the warehouse) must fail and all others must compile:\n{}",
        wrong_outcome.join("\n")
    );
}
