//! `mdw_model_group` on the embedded engine with the real terraform CLI: models of one resource
//! build in the order they read each other, rebuild when one they read does, a failure keeps
//! the old tables and holds back only the group's readers of the failed model (the state
//! records what was built), models removed from the group are dropped, and moving models
//! between `mdw_iceberg_model` and a group (with mdwc's `removed` blocks) drops nothing.

use mdw_acceptance::{Workspace, embedded_provider};
use serde_json::Value;

const PROVIDER: &str = concat!(
    embedded_provider!(),
    r#"
resource "mdw_lineage" "this" {}

resource "mdw_seed" "orders" {
  database       = "raw"
  name           = "orders"
  path           = "orders.csv"
  content_sha256 = filesha256("orders.csv")
  lineage        = mdw_lineage.this.id
}
"#
);

/// A group of three models reading each other (a ← b ← c), and a model outside reading c.
fn group(a_sql: &str, b_sql: &str, with_c: bool) -> String {
    let c = if with_c {
        r#"
    c = jsonencode({
      database = "sta"
      name     = "c"
      sql      = "select count(*) as n from \"awsdatacatalog\".\"sta\".\"b\""
      after    = ["b"]
    })"#
    } else {
        ""
    };
    let reader = if with_c { "c" } else { "b" };
    format!(
        r#"{PROVIDER}
resource "mdw_model_group" "sta" {{
  parallelism = 2
  lineage     = mdw_lineage.this.id
  upstream    = {{ "seed.orders" = mdw_seed.orders.build_id }}
  models = {{
    a = jsonencode({{
      database = "sta"
      name     = "a"
      sql      = "{a_sql}"
      upstream = ["seed.orders"]
      data_tests = {{
        a_has_rows = {{ sql = "select 1 from (select count(*) as n from \"awsdatacatalog\".\"sta\".\"a\") where n = 0" }}
      }}
    }})
    b = jsonencode({{
      database = "sta"
      name     = "b"
      sql      = "{b_sql}"
      after    = ["a"]
    }}){c}
  }}
}}

resource "mdw_iceberg_model" "mart" {{
  database = "mart"
  name     = "mart"
  sql      = "select * from \"awsdatacatalog\".\"sta\".\"{reader}\""
  upstream = {{ "model.{reader}" = mdw_model_group.sta.build_ids["{reader}"] }}
  lineage  = mdw_lineage.this.id
}}
"#
    )
}

const A: &str = r#"select id, amount from \"awsdatacatalog\".\"raw\".\"orders\""#;
const A2: &str = r#"select id, amount * 2 as amount from \"awsdatacatalog\".\"raw\".\"orders\""#;
const B: &str = r#"select id from \"awsdatacatalog\".\"sta\".\"a\" where amount > 5"#;
const B_BROKEN: &str = r#"select no_such_column from \"awsdatacatalog\".\"sta\".\"a\""#;

fn build_ids(workspace: &Workspace) -> Value {
    workspace.state_resource("mdw_model_group.sta")["build_ids"].clone()
}

/// What a model's builds left, from the group's state (`builds["key"]`, a JSON string).
fn built(workspace: &Workspace, key: &str) -> Value {
    let group = workspace.state_resource("mdw_model_group.sta");
    serde_json::from_str(group["builds"][key].as_str().unwrap_or("null")).unwrap_or_default()
}

fn table_exists(workspace: &Workspace, database: &str, name: &str) -> bool {
    let dir = workspace
        .dir()
        .join(format!(".mdw/warehouse/{database}/{name}"));
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

#[test]
fn a_group_builds_in_order_rebuilds_readers_and_holds_back_only_what_reads_a_failure() {
    let workspace = Workspace::new();
    workspace.write_file("orders.csv", "id,amount\n1,10\n2,3\n");
    workspace.write_config(&group(A, B, true));
    workspace.init();
    workspace.apply();
    let first = build_ids(&workspace);
    assert!(first["c"].is_string(), "{first}");
    assert_eq!(
        built(&workspace, "a")["data_test_status"]["a_has_rows"],
        "pass"
    );
    assert!(
        built(&workspace, "a")["columns"]
            .as_array()
            .is_some_and(|c| c.len() == 2),
        "{}",
        built(&workspace, "a")
    );
    workspace.assert_plan_empty(&[]);

    // A refresh lists each database's tables once and reads only those whose catalog version
    // is not the one the state recorded: b, dropped outside Terraform, is found gone and
    // built again (c, which reads it, with it).
    assert!(built(&workspace, "a")["catalog_version"].is_string());
    remove_from_catalog(&workspace, "sta", "b");
    let plan = workspace.run_ok(&["plan", "-no-color", "-input=false"]);
    assert!(plan.stdout.contains("2 to change"), "{plan}");
    workspace.apply();
    assert!(catalog_has(&workspace, "sta.b"));
    let rebuilt = build_ids(&workspace);
    assert_eq!(rebuilt["a"], first["a"]);
    assert_ne!(rebuilt["b"], first["b"]);
    assert_ne!(rebuilt["c"], first["c"]);
    workspace.assert_plan_empty(&[]);
    let first = rebuilt;

    // The same SQL laid out differently is the same model: nothing to do.
    workspace.write_config(&group(&A.replace("select id,", "select\\n  id,"), B, true));
    workspace.assert_plan_empty(&[]);

    // a changes: b and c read it in the group and rebuild with it, the mart after them. The
    // plan shows the change inside a's JSON.
    workspace.write_config(&group(A2, B, true));
    let plan = workspace.run_ok(&["plan", "-no-color", "-input=false"]);
    assert!(plan.stdout.contains("2 to change"), "{plan}");
    assert!(
        plan.stdout.contains("jsonencode(") && plan.stdout.contains("amount * 2"),
        "{plan}"
    );
    workspace.apply();
    let second = build_ids(&workspace);
    for key in ["a", "b", "c"] {
        assert_ne!(first[key], second[key], "{key} rebuilt");
    }
    workspace.assert_plan_empty(&[]);

    // a changes again and b breaks: a is built, b fails and keeps its table, c (which reads b)
    // is held back; the state records a's build, and the mart outside waits.
    workspace.write_config(&group(A, B_BROKEN, true));
    let mart_before = workspace.state_resource("mdw_iceberg_model.mart")["build_id"].clone();
    let failed = workspace.try_apply();
    assert_ne!(failed.code, 0, "{failed}");
    let text = failed.combined();
    for expected in [
        "(model b)",
        "no_such_column",
        "1 model(s) of the group not built",
        ": c.",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let third = build_ids(&workspace);
    assert_ne!(third["a"], second["a"], "a's build is recorded");
    assert_eq!(third["b"], second["b"], "b keeps its table");
    assert_eq!(third["c"], second["c"], "c was held back");
    assert!(table_exists(&workspace, "sta", "b"));
    assert_eq!(
        workspace.state_resource("mdw_iceberg_model.mart")["build_id"],
        mart_before
    );

    // Fixed: b and c build (c because b does), and the mart.
    workspace.write_config(&group(A, B, true));
    workspace.apply();
    let fourth = build_ids(&workspace);
    assert_eq!(fourth["a"], third["a"], "a is not built again");
    assert_ne!(fourth["b"], third["b"]);
    assert_ne!(fourth["c"], third["c"]);
    workspace.assert_plan_empty(&[]);

    // The seed empties: a rebuilds and its error test fails. a's build and verdict are
    // recorded, b and c (which read it in the group) are held back, and the next plan runs a's
    // tests again.
    workspace.write_file("orders.csv", "id,amount\n");
    let failed = workspace.try_apply();
    assert_ne!(failed.code, 0, "{failed}");
    let text = failed.combined();
    for expected in [
        "Data test a_has_rows failed",
        "(model a, at data_tests",
        "2 model(s) of the group not built",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let state = workspace.state_resource("mdw_model_group.sta");
    assert_eq!(
        built(&workspace, "a")["data_test_status"]["a_has_rows"],
        "fail"
    );
    assert_eq!(state["data_test_status"]["a_has_rows"], "fail");
    let held = build_ids(&workspace);
    assert_ne!(held["a"], fourth["a"], "a's build is recorded");
    assert_eq!(held["b"], fourth["b"]);
    assert_eq!(held["c"], fourth["c"]);
    workspace.write_file("orders.csv", "id,amount\n1,10\n2,3\n");
    workspace.apply();
    let fifth = build_ids(&workspace);
    for key in ["a", "b", "c"] {
        assert_ne!(fifth[key], held[key], "{key} rebuilt");
    }
    workspace.assert_plan_empty(&[]);

    // c leaves the group (the mart now reads b): its table is dropped, the others stay.
    workspace.write_config(&group(A, B, false));
    workspace.apply();
    assert!(!table_exists(&workspace, "sta", "c"));
    assert!(table_exists(&workspace, "sta", "a") && table_exists(&workspace, "sta", "b"));
    workspace.assert_plan_empty(&[]);

    // Destroy drops every model of the group.
    workspace.destroy();
    assert!(!table_exists(&workspace, "sta", "a") && !table_exists(&workspace, "sta", "b"));
}

const SINGLE: &str = r#"
resource "mdw_iceberg_model" "a" {
  database = "sta"
  name     = "a"
  sql      = "select id, amount from \"awsdatacatalog\".\"raw\".\"orders\""
  upstream = { "seed.orders" = mdw_seed.orders.build_id }
  lineage  = mdw_lineage.this.id
}
"#;

const GROUPED: &str = r#"
resource "mdw_model_group" "sta" {
  lineage  = mdw_lineage.this.id
  upstream = { "seed.orders" = mdw_seed.orders.build_id }
  models = {
    a = jsonencode({
      database = "sta"
      name     = "a"
      sql      = "select id, amount from \"awsdatacatalog\".\"raw\".\"orders\""
      upstream = ["seed.orders"]
    })
  }
}

removed {
  from = mdw_iceberg_model.a
  lifecycle {
    destroy = false
  }
}
"#;

const UNGROUPED: &str = r#"
resource "mdw_iceberg_model" "a" {
  database = "sta"
  name     = "a"
  sql      = "select id, amount from \"awsdatacatalog\".\"raw\".\"orders\""
  upstream = { "seed.orders" = mdw_seed.orders.build_id }
  lineage  = mdw_lineage.this.id
}

removed {
  from = mdw_model_group.sta
  lifecycle {
    destroy = false
  }
}
"#;

#[test]
fn moving_a_model_into_a_group_and_back_keeps_its_table() {
    let workspace = Workspace::new();
    workspace.write_file("orders.csv", "id,amount\n1,10\n2,3\n");
    workspace.write_config(&format!("{PROVIDER}{SINGLE}"));
    workspace.init();
    workspace.apply();
    assert!(table_exists(&workspace, "sta", "a"));

    // Into a group: the group adopts the table by its owner id, the old address is forgotten.
    workspace.write_config(&format!("{PROVIDER}{GROUPED}"));
    let grouped = workspace.apply();
    assert!(
        grouped.combined().contains("0 destroyed"),
        "nothing is destroyed: {grouped}"
    );
    assert!(table_exists(&workspace, "sta", "a"), "{grouped}");
    workspace.assert_plan_empty(&[]);

    // And back.
    workspace.write_config(&format!("{PROVIDER}{UNGROUPED}"));
    let back = workspace.apply();
    assert!(back.combined().contains("0 destroyed"), "{back}");
    assert!(table_exists(&workspace, "sta", "a"), "{back}");
    workspace.assert_plan_empty(&[]);
}

/// Two groups; `x` in `in_first` or the second one. With `first_waits`, the first group is
/// applied after the second: the second builds `x` before the first drops its copy.
fn two_groups(x_in_first: bool, first_waits: bool) -> String {
    let x = r#"
    x = jsonencode({
      database = "sta"
      name     = "x"
      sql      = "select id from \"awsdatacatalog\".\"raw\".\"orders\""
      upstream = ["seed.orders"]
    })"#;
    let (first_x, second_x) = if x_in_first { (x, "") } else { ("", x) };
    let wait = if first_waits {
        "depends_on = [mdw_model_group.second]"
    } else {
        ""
    };
    format!(
        r#"{PROVIDER}
resource "mdw_model_group" "first" {{
  {wait}
  lineage  = mdw_lineage.this.id
  upstream = {{ "seed.orders" = mdw_seed.orders.build_id }}
  models = {{
    a = jsonencode({{
      database = "sta"
      name     = "a"
      sql      = "{A}"
      upstream = ["seed.orders"]
    }}){first_x}
  }}
}}

resource "mdw_model_group" "second" {{
  lineage  = mdw_lineage.this.id
  upstream = {{ "seed.orders" = mdw_seed.orders.build_id }}
  models = {{
    b = jsonencode({{
      database = "sta"
      name     = "b"
      sql      = "{A}"
      upstream = ["seed.orders"]
    }}){second_x}
  }}
}}
"#
    )
}

#[test]
fn a_model_moving_between_groups_is_not_dropped_by_the_group_it_left() {
    let workspace = Workspace::new();
    workspace.write_file("orders.csv", "id,amount\n1,10\n2,3\n");
    workspace.write_config(&two_groups(true, false));
    workspace.init();
    workspace.apply();
    assert!(table_exists(&workspace, "sta", "x"));

    // x moves to the second group, which builds it before the first group drops its copy:
    // the first group finds a build that is not its own and leaves it.
    workspace.write_config(&two_groups(false, true));
    let moved = workspace.apply();
    assert!(
        moved.combined().contains("Model sta.x not dropped"),
        "{moved}"
    );
    assert!(table_exists(&workspace, "sta", "x"), "{moved}");
    assert!(catalog_has(&workspace, "sta.x"), "{moved}");
    workspace.assert_plan_empty(&[]);
}

/// Whether the embedded warehouse's catalog lists `relation` (`database.name`).
fn catalog_has(workspace: &Workspace, relation: &str) -> bool {
    let db = workspace.dir().join(".mdw/warehouse/catalog.db");
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); \
             print(c.execute(\"select count(*) from iceberg_tables where table_namespace||'.'||table_name = ?\", (sys.argv[2],)).fetchone()[0])",
        ])
        .arg(&db)
        .arg(relation)
        .output()
        .expect("python3 runs");
    String::from_utf8_lossy(&out.stdout).trim() == "1"
}

#[test]
fn a_mistake_in_a_models_json_is_an_error_naming_the_model_and_the_key() {
    let workspace = Workspace::new();
    workspace.write_file("orders.csv", "id,amount\n1,10\n");
    let config = format!("{PROVIDER}{GROUPED}").replace(
        "upstream = [\"seed.orders\"]",
        "upstream = [\"seed.orders\"]\n      materialised = \"view\"",
    );
    workspace.write_config(&config);
    workspace.init();
    let out = workspace.run(&["validate", "-no-color"]);
    assert_ne!(out.code, 0, "{out}");
    let text = out.combined();
    for expected in [
        "Unsupported key \"materialised\"",
        "(model a, at materialised)",
        "with mdw_model_group.sta",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // A key the group's upstream does not have.
    workspace.write_config(
        &format!("{PROVIDER}{GROUPED}").replace("[\"seed.orders\"]", "[\"seed.order\"]"),
    );
    let out = workspace.run(&["validate", "-no-color"]);
    assert_ne!(out.code, 0, "{out}");
    assert!(
        out.combined()
            .contains("which the group's upstream does not have"),
        "{out}"
    );
}

/// Deletes a table's catalog entry behind Terraform's back.
fn remove_from_catalog(workspace: &Workspace, database: &str, name: &str) {
    let db = workspace.dir().join(".mdw/warehouse/catalog.db");
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); \
             c.execute('delete from iceberg_tables where table_namespace = ? and table_name = ?', (sys.argv[2], sys.argv[3])); c.commit()",
        ])
        .arg(&db)
        .arg(database)
        .arg(name)
        .status()
        .expect("python3 runs");
    assert!(status.success());
}

/// A group's models run their hooks around their builds, and a hook the engine cannot run
/// fails the plan naming the model.
#[test]
fn group_models_run_their_hooks() {
    let workspace = Workspace::new();
    workspace.write_file("orders.csv", "id,amount\n1,10\n");
    let config = |post: &str| {
        format!(
            r#"{PROVIDER}
resource "mdw_model_group" "sta" {{
  lineage  = mdw_lineage.this.id
  upstream = {{ "seed.orders" = mdw_seed.orders.build_id }}
  models = {{
    a = jsonencode({{
      database   = "sta"
      name       = "a"
      sql        = "select id from \"awsdatacatalog\".\"raw\".\"orders\""
      upstream   = ["seed.orders"]
      post_hooks = ["{post}"]
    }})
  }}
}}
"#
        )
    };
    workspace.write_config(&config("VACUUM sta.a"));
    workspace.init();
    workspace.apply();
    assert!(table_exists(&workspace, "sta", "a"));
    workspace.write_config(&config("DROP TABLE sta.a"));
    let plan = workspace.plan_exit_code(&[]);
    assert_eq!(plan.code, 1, "{plan}");
    let text = plan.combined();
    assert!(text.contains("a hook cannot run on this engine"), "{text}");
    assert!(text.contains("DROP TABLE sta.a"), "{text}");
    assert!(table_exists(&workspace, "sta", "a"));
}
