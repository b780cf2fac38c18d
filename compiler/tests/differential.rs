//! Differential test: for examples/retail and every non-error fixture, the SQL mdwc compiles
//! equals dbt-core's (dbt-athena 1.11), modulo whitespace.
//!
//! Needs dbt (env `MDW_DBT`, else `dbt` on PATH) and `moto_server` (on PATH, else beside dbt):
//! dbt-athena lists relations while compiling, so it talks to a throwaway moto server on a free
//! loopback port. When either is missing the test fails and says how to install them.

use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL: &str = "install them with the pinned versions (see the script for why they are pinned):\n  export PATH=\"$(scripts/test-tools.sh):$PATH\"   # from the repository root";

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn find_dbt() -> PathBuf {
    if let Some(path) = std::env::var_os("MDW_DBT") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "MDW_DBT={} is not a file; {INSTALL}",
            path.display()
        );
        return path;
    }
    on_path("dbt").unwrap_or_else(|| {
        panic!("dbt-core is not installed (no MDW_DBT, no dbt on PATH); {INSTALL}")
    })
}

fn find_moto(dbt: &Path) -> PathBuf {
    on_path("moto_server")
        .or_else(|| {
            dbt.parent()
                .map(|bin| bin.join("moto_server"))
                .filter(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("moto_server is not installed (not on PATH, not beside dbt); {INSTALL}")
        })
}

/// A moto server on a free loopback port, stopped when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start(program: &Path) -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .expect("a free loopback port");
        let child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", program.display()));
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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

fn copy_project(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create temp project");
    for entry in std::fs::read_dir(from).expect("read project").flatten() {
        let name = entry.file_name();
        if name == "target" || name == "logs" {
            continue;
        }
        let target = to.join(&name);
        if entry.path().is_dir() {
            copy_project(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy project file");
        }
    }
}

fn files_under(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(root) {
                out.insert(relative.to_path_buf());
            }
        }
    }
    out
}

/// SQL tokens with whitespace ignored; parentheses and commas stand alone so `( 'a'` and `('a'`
/// compare equal.
fn tokens(sql: &str) -> Vec<String> {
    sql.replace('(', " ( ")
        .replace(')', " ) ")
        .replace(',', " , ")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn run(mut command: Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("cannot run {what}: {err}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Compiles `case` with both tools; returns the differences found.
fn compare(case: &Case, dbt: &Path, moto_port: u16, scratch: &Path) -> Vec<String> {
    let slug = case.name.replace('/', "_");
    let dbt_dir = scratch.join(format!("{slug}-dbt"));
    let mdwc_dir = scratch.join(format!("{slug}-mdwc"));
    copy_project(&case.dir, &dbt_dir);
    copy_project(&case.dir, &mdwc_dir);

    let mut flags = vec![
        "--profiles-dir".to_string(),
        case.profiles_dir.display().to_string(),
    ];
    if let Some(target) = &case.target {
        flags.extend(["--target".into(), target.clone()]);
    }
    if let Some(vars) = &case.vars {
        flags.extend(["--vars".into(), vars.clone()]);
    }

    let mut mdwc = Command::new(env!("CARGO_BIN_EXE_mdwc"));
    mdwc.arg("compile")
        .arg("--project-dir")
        .arg(&mdwc_dir)
        .args(&flags)
        .env_remove("DBT_PROFILES_DIR");
    for (key, value) in &case.env {
        mdwc.env(key, value);
    }
    run(mdwc, &format!("mdwc compile ({})", case.name));

    let mut dbt_cmd = Command::new(dbt);
    dbt_cmd
        .arg("compile")
        .arg("--project-dir")
        .arg(&dbt_dir)
        .args(&flags)
        .current_dir(&dbt_dir)
        .env_remove("DBT_PROFILES_DIR")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{moto_port}"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-west-2")
        .env("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        .env("DBT_USE_COLORS", "false");
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
