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
    /// dbt reads the columns of the project's relations from Glue: register them, as mdwc
    /// knows them once built, in a moto of the case's own (case.yml `glue_tables: true`).
    glue_tables: bool,
    /// Tables a loader made (case.yml `source_tables`), registered in that moto's Glue, which
    /// mdwc reads with `--catalog glue` as dbt reads them.
    source_tables: Vec<common::GlueSource>,
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
        glue_tables: false,
        source_tables: Vec::new(),
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
            glue_tables: case.get("glue_tables").and_then(|v| v.as_bool()) == Some(true),
            source_tables: case
                .get("source_tables")
                .map(|v| serde_norway::from_value(v.clone()).expect("case.yml source_tables"))
                .unwrap_or_default(),
            dir,
        });
    }
    cases
}

/// `mdwc compile` of `case`'s copy in `dir`, with the case's flags and environment; with
/// `--catalog glue` at the moto on `catalog_port` when the case has source tables.
fn mdwc_compile(case: &Case, dir: &Path, flags: &[String], catalog_port: Option<u16>) -> Command {
    let mut mdwc = Command::new(env!("CARGO_BIN_EXE_mdwc"));
    mdwc.arg("compile")
        .arg("--project-dir")
        .arg(dir)
        .arg("--profiles-dir")
        .arg(&case.profiles_dir)
        .args(flags)
        .env_remove("DBT_PROFILES_DIR");
    for (key, value) in &case.env {
        mdwc.env(key, value);
    }
    if let Some(port) = catalog_port {
        mdwc.args(["--catalog", "glue"])
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE");
    }
    mdwc
}

/// A moto of `case`'s own holding the Glue tables of the relations mdwc knows the columns of.
fn moto_with_tables(case: &Case, moto_program: &Path, flags: &[String]) -> Moto {
    let flag = |name: &str| {
        flags
            .iter()
            .position(|f| f == name)
            .and_then(|at| flags.get(at + 1).cloned())
    };
    let partial = mdwc::compile::compile_partial(&mdwc::compile::Options {
        project_dir: case.dir.clone(),
        profiles_dir: Some(case.profiles_dir.clone()),
        target: flag("--target"),
        vars: flag("--vars"),
        catalog: mdwc::warehouse::CatalogChoice::None,
    });
    let moto = Moto::start(moto_program);
    common::create_workgroup(moto.port, "mdw");
    for table in &case.source_tables {
        common::register_glue_source(moto.port, table);
    }
    for relation in partial.compiled.iter().flat_map(|c| &c.relation_columns) {
        common::register_glue_table(
            moto.port,
            &relation.schema,
            &relation.identifier,
            &relation.columns,
        );
    }
    moto
}

/// Compiles `case` with both tools; returns the differences found.
fn compare(
    case: &Case,
    dbt: &Path,
    moto_program: &Path,
    moto_port: u16,
    scratch: &Path,
) -> Vec<String> {
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

    let own_moto = (case.glue_tables || !case.source_tables.is_empty())
        .then(|| moto_with_tables(case, moto_program, &flags));
    let port = own_moto.as_ref().map_or(moto_port, |m| m.port);
    let catalog_port = (!case.source_tables.is_empty()).then_some(port);
    run(
        mdwc_compile(case, &mdwc_dir, &flags, catalog_port),
        &format!("mdwc compile ({})", case.name),
    );

    let mut dbt_cmd = dbt_compile(dbt, &dbt_dir, &case.profiles_dir, port);
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
    problems.extend(compare_batches(
        case,
        dbt,
        port,
        scratch,
        &flags,
        catalog_port,
    ));
    problems
}

/// The bounds every microbatch case's batches are run for: dbt's `--event-time-start/-end`.
const BATCH_START: &str = "2024-09-16";
const BATCH_END: &str = "2024-09-18";

/// A microbatch model's SQL as a batch runs it: `dbt run --event-time-start/-end` compiles each
/// batch into `target/compiled/<project>/<path>/<model>/<model>_<batch>.sql` before it runs
/// (moto runs no SQL: the first batch's compile is all dbt gets to), and mdwc's module holds
/// the SQL with the batch markers the provider fills in — compared batch by batch.
fn compare_batches(
    case: &Case,
    dbt: &Path,
    moto_port: u16,
    scratch: &Path,
    flags: &[String],
    catalog_port: Option<u16>,
) -> Vec<String> {
    let slug = case.name.replace('/', "_");
    let mdwc_dir = scratch.join(format!("{slug}-mdwc-module"));
    copy_project(&case.dir, &mdwc_dir);
    let module = mdwc_dir.join("module");
    let mut mdwc = mdwc_compile(case, &mdwc_dir, flags, catalog_port);
    mdwc.arg("--out").arg(&module).args(["--group-by", "none"]);
    run(mdwc, &format!("mdwc compile --out ({})", case.name));
    // Model name → (batch size, the SQL of a first build's batch).
    let mut models = Vec::new();
    for entry in std::fs::read_dir(&module).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let resources = json
            .pointer("/resource/mdw_iceberg_model")
            .and_then(|r| r.as_object());
        for (name, model) in resources.into_iter().flatten() {
            if model.get("incremental_strategy").and_then(|s| s.as_str()) != Some("microbatch") {
                continue;
            }
            let size = model
                .pointer("/microbatch/batch_size")
                .and_then(|s| s.as_str())
                .unwrap_or_default()
                .to_string();
            let sql = model
                .get("sql")
                .and_then(|s| s.as_str())
                .unwrap_or_default();
            models.push((name.clone(), size, sql.to_string()));
        }
    }
    if models.is_empty() {
        return Vec::new();
    }
    let dbt_dir = scratch.join(format!("{slug}-dbt-batches"));
    copy_project(&case.dir, &dbt_dir);
    let mut dbt_run = common::dbt_command(dbt, "run", &dbt_dir, &case.profiles_dir, moto_port);
    dbt_run
        .arg("--select")
        .args(models.iter().map(|(name, _, _)| name))
        .args([
            "--event-time-start",
            BATCH_START,
            "--event-time-end",
            BATCH_END,
        ])
        .args(flags);
    for (key, value) in &case.env {
        dbt_run.env(key, value);
    }
    // The run fails after the first batch's compile (moto has no Glue table to expire).
    let output = dbt_run
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let log = output.unwrap_or_else(|e| e.to_string());
    let mut problems = Vec::new();
    let compiled = dbt_dir.join("target/compiled");
    let files = files_under(&compiled);
    for (name, size, sql) in &models {
        let batches: Vec<&PathBuf> = files
            .iter()
            .filter(|f| f.parent().and_then(|p| p.file_name()) == Some(std::ffi::OsStr::new(name)))
            .collect();
        let Some(file) = batches.first() else {
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            problems.push(format!(
                "{}: dbt compiled no batch of microbatch model {name}; dbt run said:\n{}",
                case.name,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
            continue;
        };
        let stem = file.file_stem().unwrap_or_default().to_string_lossy();
        let batch = stem.strip_prefix(&format!("{name}_")).unwrap_or_default();
        let Some((start, end, id)) = batch_bounds(batch, size) else {
            problems.push(format!(
                "{}: cannot read batch {batch:?} of {name}",
                case.name
            ));
            continue;
        };
        let ours = sql
            .replace("__mdw_batch_start__", &start)
            .replace("__mdw_batch_end__", &end)
            .replace("__mdw_batch_id__", &id);
        let expected = std::fs::read_to_string(compiled.join(file)).unwrap_or_default();
        if tokens(&expected) != tokens(&ours) {
            problems.push(format!(
                "{}: batch {batch} of {name} differs\n--- dbt\n{}\n--- mdwc\n{}",
                case.name,
                expected.trim(),
                ours.trim()
            ));
        }
    }
    problems
}

/// A whole batch named as dbt names its compiled file (`2024-09-16`, `2024-09-16T05`,
/// `2024-09`, `2024`): its bounds as dbt writes them and its id.
fn batch_bounds(batch: &str, size: &str) -> Option<(String, String, String)> {
    use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
    let padded = match batch.len() {
        4 => format!("{batch}-01-01T00"),
        7 => format!("{batch}-01T00"),
        10 => format!("{batch}T00"),
        _ => batch.to_string(),
    };
    let start =
        NaiveDateTime::parse_from_str(&format!("{padded}:00:00"), "%Y-%m-%dT%H:%M:%S").ok()?;
    let first_of = |year: i32, month: u32| {
        NaiveDate::from_ymd_opt(year, month, 1).map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
    };
    let (end, id) = match size {
        "hour" => (start + Duration::hours(1), start.format("%Y%m%dT%H")),
        "day" => (start + Duration::days(1), start.format("%Y%m%d")),
        "month" if start.month() == 12 => (first_of(start.year() + 1, 1)?, start.format("%Y%m")),
        "month" => (
            first_of(start.year(), start.month() + 1)?,
            start.format("%Y%m"),
        ),
        "year" => (first_of(start.year() + 1, 1)?, start.format("%Y")),
        _ => return None,
    };
    let bound = |t: NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S+00:00").to_string();
    Some((bound(start), bound(end), id.to_string()))
}

#[test]
fn compiled_sql_equals_dbt_core() {
    let dbt = find_dbt();
    let moto_program = find_moto(&dbt);
    let moto = Moto::start(&moto_program);
    // What `dbt run` of a microbatch case needs before it compiles a batch.
    common::create_workgroup(moto.port, "mdw");
    common::create_bucket(moto.port, "mdw-work-zone");
    common::create_bucket(moto.port, "mdw-warehouse");
    let scratch = std::env::temp_dir().join(format!("mdwc-differential-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);

    let cases = cases();
    // Two at a time: dbt spends most of its time starting up, on one core each.
    let problems: Vec<String> = std::thread::scope(|scope| {
        let (first, second) = cases.split_at(cases.len().div_ceil(2));
        let run_all = |list: &[Case]| {
            list.iter()
                .flat_map(|case| compare(case, &dbt, &moto_program, moto.port, &scratch))
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
