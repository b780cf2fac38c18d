//! The command line end to end on examples/retail: compile output layout, determinism,
//! write-if-changed, stale-file removal, `ls`, `graph`, `--select`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/retail")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mdwc-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A copy of the example project, so tests never write into the source tree.
fn example_copy(name: &str) -> PathBuf {
    let dir = scratch(name).join("retail");
    copy_dir(&example(), &dir);
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        if entry.file_name() == "target" {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn mdwc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mdwc"))
        .args(args)
        .env_remove("DBT_PROFILES_DIR")
        .output()
        .expect("run mdwc")
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "mdwc failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn read_dir_sorted(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("out dir")
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn compile_writes_dbt_layout_and_a_deterministic_module() {
    let project = example_copy("layout");
    let out = project.parent().expect("parent").join("module");
    let (p, o) = (project.to_str().expect("utf8"), out.to_str().expect("utf8"));
    ok(mdwc(&[
        "compile",
        "--project-dir",
        p,
        "--profiles-dir",
        p,
        "--out",
        o,
    ]));

    let compiled = project.join("target/compiled/retail");
    assert!(compiled.join("models/sta/dbt_stores_syvh.sql").is_file());
    assert!(
        compiled
            .join("models/sta/_sta.yml/not_null_dbt_stores_syvh_store_id.sql")
            .is_file()
    );
    assert!(
        compiled
            .join("tests/assert_no_negative_revenue.sql")
            .is_file()
    );
    let first = read_dir_sorted(&out);
    let names: Vec<&str> = first.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "versions.tf.json",
        "databases.tf.json",
        "sources.tf.json",
        "tests.tf.json",
        "variables.tf.json",
        "model_fct_orders.tf.json",
        "seed_stores.tf.json",
    ] {
        assert!(names.contains(&expected), "missing {expected} in {names:?}");
    }
    let model: serde_json::Value = serde_json::from_slice(
        &first
            .iter()
            .find(|(n, _)| n == "model_dbt_stores_syvh.tf.json")
            .expect("model file")
            .1,
    )
    .expect("valid JSON");
    let resource = &model["resource"]["mdw_iceberg_model"]["dbt_stores_syvh"];
    assert_eq!(resource["materialized"], "table");
    assert!(
        resource["sql"]
            .as_str()
            .expect("sql")
            .contains("<= ${var.pdate}")
    );
    assert_eq!(
        resource["upstream"]["source.iceberg.stores"],
        "${data.mdw_source.iceberg__stores.snapshot_id}"
    );

    // A rerun rewrites nothing and produces the same bytes.
    let stamp = std::fs::metadata(out.join("model_fct_orders.tf.json"))
        .and_then(|m| m.modified())
        .expect("mtime");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let rerun = mdwc(&[
        "compile",
        "--project-dir",
        p,
        "--profiles-dir",
        p,
        "--out",
        o,
    ]);
    assert!(
        String::from_utf8_lossy(&rerun.stderr).contains("0 written"),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    assert_eq!(read_dir_sorted(&out), first);
    let after = std::fs::metadata(out.join("model_fct_orders.tf.json"))
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(stamp, after);

    // Binding the var inlines it and removes the variable file mdwc wrote before; files mdwc
    // did not write stay.
    std::fs::write(out.join("main.tf.json"), "{}\n").expect("write user file");
    ok(mdwc(&[
        "compile",
        "--project-dir",
        p,
        "--profiles-dir",
        p,
        "--out",
        o,
        "--vars",
        "{pdate: 20250101, currency: EUR}",
    ]));
    assert!(!out.join("variables.tf.json").exists());
    assert!(out.join("main.tf.json").exists());
    let model = std::fs::read_to_string(out.join("model_dbt_stores_syvh.tf.json")).expect("model");
    assert!(model.contains("<= 20250101"));
    let _ = std::fs::remove_dir_all(project.parent().expect("parent"));
}

#[test]
fn ls_selects_like_dbt() {
    let p = example();
    let p = p.to_str().expect("utf8");
    let upstream = ok(mdwc(&[
        "ls",
        "--project-dir",
        p,
        "--profiles-dir",
        p,
        "--select",
        "+fct_orders",
        "--resource-type",
        "model",
        "--output",
        "name",
    ]));
    let names: Vec<&str> = upstream.lines().collect();
    assert_eq!(
        names,
        [
            "dim_products",
            "fct_order_lines",
            "fct_orders",
            "stg_order_lines",
            "stg_orders",
            "stg_products"
        ]
    );
    let tagged = ok(mdwc(&[
        "ls",
        "--project-dir",
        p,
        "--profiles-dir",
        p,
        "--select",
        "tag:mart",
        "--resource-type",
        "model",
    ]));
    assert_eq!(
        tagged.lines().collect::<Vec<_>>(),
        [
            "retail.mart.mart_customer_ltv",
            "retail.mart.mart_daily_store_sales"
        ]
    );
    let sources = ok(mdwc(&[
        "ls",
        "--project-dir",
        p,
        "--profiles-dir",
        p,
        "--resource-type",
        "source",
    ]));
    assert!(sources.lines().any(|l| l == "source:retail.iceberg.stores"));
    let by_path = ok(mdwc(&[
        "ls",
        "--project-dir",
        p,
        "--profiles-dir",
        p,
        "--select",
        "path:models/dim",
        "--exclude",
        "dim_products",
        "--resource-type",
        "model",
    ]));
    assert_eq!(
        by_path.lines().collect::<Vec<_>>(),
        ["retail.dim.dim_customers", "retail.dim.dim_stores"]
    );
}

#[test]
fn graph_draws_dot_and_html() {
    let p = example();
    let p = p.to_str().expect("utf8");
    let dot = ok(mdwc(&[
        "graph",
        "--project-dir",
        p,
        "--profiles-dir",
        p,
        "--select",
        "fct_orders+",
    ]));
    assert!(dot.starts_with("digraph lineage {"));
    assert!(
        dot.contains("\"model.retail.fct_orders\" -> \"model.retail.mart_daily_store_sales\";")
    );
    let html_path = scratch("graph").join("lineage.html");
    ok(mdwc(&[
        "graph",
        "--project-dir",
        p,
        "--profiles-dir",
        p,
        "--format",
        "html",
        "-o",
        html_path.to_str().expect("utf8"),
    ]));
    let html = std::fs::read_to_string(&html_path).expect("html");
    assert!(
        html.starts_with("<!DOCTYPE html>")
            && html.contains("<svg")
            && html.contains("dbt_stores_syvh")
    );
    assert!(
        !html.contains("http://") || html.contains("xmlns=\"http://www.w3.org/2000/svg\""),
        "no external assets"
    );
}

#[test]
fn usage_errors_are_clear() {
    let p = example();
    let p = p.to_str().expect("utf8");
    let out = mdwc(&[
        "compile",
        "--project-dir",
        p,
        "--profiles-dir",
        p,
        "--select",
        "fct_orders",
        "--out",
        "/tmp/never",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--out cannot be combined with --select")
    );
    let out = mdwc(&[
        "ls",
        "--project-dir",
        p,
        "--profiles-dir",
        p,
        "--select",
        "nope",
    ]);
    // dbt warns and selects nothing.
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("'nope' does not match any enabled nodes")
    );
    assert!(out.stdout.is_empty());
    let out = mdwc(&["compile", "--project-dir", "/nonexistent-project"]);
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: cannot read dbt_project.yml"));
}

#[test]
fn an_empty_project_does_not_replace_a_module_with_models() {
    let project = example_copy("empty");
    let out = project.parent().expect("parent").join("module");
    let (p, o) = (project.to_str().expect("utf8"), out.to_str().expect("utf8"));
    let compile = |extra: &[&str]| {
        let mut args = vec![
            "compile",
            "--project-dir",
            p,
            "--profiles-dir",
            p,
            "--out",
            o,
        ];
        args.extend_from_slice(extra);
        mdwc(&args)
    };
    ok(compile(&[]));
    let before = read_dir_sorted(&out);
    // Every model (and the tests on them) moved away; a model-paths typo has the same effect.
    for folder in ["models", "tests"] {
        std::fs::rename(project.join(folder), project.join(format!("old_{folder}")))
            .expect("move folder");
    }
    std::fs::create_dir(project.join("models")).expect("empty models");
    let refused = compile(&[]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--allow-empty"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(read_dir_sorted(&out), before, "--out must be untouched");
    ok(compile(&["--allow-empty"]));
    assert!(
        !read_dir_sorted(&out)
            .iter()
            .any(|(name, _)| name.starts_with("model_"))
    );
    let _ = std::fs::remove_dir_all(project.parent().expect("parent"));
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("run git");
    assert!(
        status.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn deps_installs_git_packages_pins_them_and_says_when_offline() {
    let root = scratch("deps");
    // A package in a git repository, tagged.
    let repo = root.join("demo-pkg");
    std::fs::create_dir_all(repo.join("macros")).expect("mkdir");
    std::fs::write(
        repo.join("dbt_project.yml"),
        "name: demo_pkg\nversion: '1.0.0'\n",
    )
    .expect("write");
    std::fs::write(
        repo.join("macros/shout.sql"),
        "{% macro shout(x) %}upper({{ x }}){% endmacro %}\n",
    )
    .expect("write");
    git(&repo, &["init", "--quiet"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "--quiet", "-m", "v1"]);
    git(&repo, &["tag", "1.0.0"]);
    // A project that requires it.
    let project = root.join("project");
    std::fs::create_dir_all(project.join("models")).expect("mkdir");
    std::fs::write(project.join("dbt_project.yml"), "name: p\nprofile: p\n").expect("write");
    std::fs::write(
        project.join("profiles.yml"),
        "p:\n  target: dev\n  outputs:\n    dev: {type: athena, database: awsdatacatalog, schema: mdw}\n",
    )
    .expect("write");
    std::fs::write(
        project.join("models/a.sql"),
        "select {{ demo_pkg.shout(\"'a'\") }} as a\n",
    )
    .expect("write");
    std::fs::write(
        project.join("packages.yml"),
        format!(
            "packages:\n  - git: \"file://{}\"\n    revision: 1.0.0\n",
            repo.display()
        ),
    )
    .expect("write");
    let p = project.to_str().expect("utf8");
    // Not installed yet: compile names the requirement.
    let before = mdwc(&["compile", "--project-dir", p, "--profiles-dir", p]);
    assert!(String::from_utf8_lossy(&before.stderr).contains("run `mdwc deps`"));
    ok(mdwc(&["deps", "--project-dir", p]));
    assert!(
        project
            .join("dbt_packages/demo_pkg/macros/shout.sql")
            .is_file()
    );
    let lock = std::fs::read_to_string(project.join("package-lock.yml")).expect("lock");
    assert!(
        lock.contains("revision:") && lock.contains("sha1_hash:"),
        "{lock}"
    );
    ok(mdwc(&["compile", "--project-dir", p, "--profiles-dir", p]));
    let sql = std::fs::read_to_string(project.join("target/compiled/p/models/a.sql")).expect("sql");
    assert_eq!(sql.trim(), "select upper('a') as a");
    // The lock is installed as written the next time.
    std::fs::remove_dir_all(project.join("dbt_packages")).expect("rm");
    ok(mdwc(&["deps", "--project-dir", p]));
    assert!(
        project
            .join("dbt_packages/demo_pkg/dbt_project.yml")
            .is_file()
    );

    // A hub package with no network: the error says so.
    std::fs::write(
        project.join("packages.yml"),
        "packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n",
    )
    .expect("write");
    let offline = Command::new(env!("CARGO_BIN_EXE_mdwc"))
        .args(["deps", "--project-dir", p])
        .env("DBT_PACKAGE_HUB_URL", "http://127.0.0.1:9/")
        .output()
        .expect("run mdwc");
    assert!(!offline.status.success());
    let stderr = String::from_utf8_lossy(&offline.stderr);
    assert!(
        stderr.contains("cannot reach the dbt package hub") && stderr.contains("packages.yml:2"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(root);
}

/// `--group-by auto` (the default) writes one resource per model below 50 models and one
/// `mdw_model_group` per folder from 50 on — also for the groups' file of definitions, in
/// HCL's native syntax — and removes the other layout's files when the project crosses it.
#[test]
fn auto_grouping_starts_at_fifty_models() {
    let project = example_copy("auto-group");
    let out = project.parent().expect("parent").join("module");
    let (p, o) = (project.to_str().expect("utf8"), out.to_str().expect("utf8"));
    let compile = || {
        ok(mdwc(&[
            "compile",
            "--project-dir",
            p,
            "--profiles-dir",
            p,
            "--out",
            o,
        ]))
    };
    let extra = project.join("models/extra");
    std::fs::create_dir_all(&extra).expect("mkdir");
    let models_now = || {
        ok(mdwc(&[
            "ls",
            "--project-dir",
            p,
            "--profiles-dir",
            p,
            "--resource-type",
            "model",
        ]))
        .lines()
        .count()
    };
    let mut n = 0;
    while models_now() < 49 {
        std::fs::write(extra.join(format!("extra_{n:02}.sql")), "select 1 as x").expect("model");
        n += 1;
    }
    compile();
    let names =
        |dir: &Path| -> Vec<String> { read_dir_sorted(dir).into_iter().map(|(n, _)| n).collect() };
    assert!(
        names(&out).iter().any(|n| n == "model_extra_00.tf.json"),
        "{:?}",
        names(&out)
    );
    assert!(!names(&out).iter().any(|n| n.starts_with("group_")));

    std::fs::write(extra.join(format!("extra_{n:02}.sql")), "select 1 as x").expect("model");
    compile();
    let files = names(&out);
    assert!(!files.iter().any(|n| n.starts_with("model_")), "{files:?}");
    for expected in [
        "group_extra.tf.json",
        "group_extra_models.tf",
        "group_sta.tf.json",
    ] {
        assert!(
            files.iter().any(|n| n == expected),
            "missing {expected}: {files:?}"
        );
    }
    let _ = std::fs::remove_dir_all(project.parent().expect("parent"));
}
