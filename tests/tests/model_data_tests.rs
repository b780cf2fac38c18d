//! A model's data tests run by the model's own resource (`data_tests` of `mdw_iceberg_model`,
//! what mdwc emits for a test that reads one model), on the embedded engine with the real
//! terraform CLI: dbt build's semantics — the model builds, its tests run, an error-severity
//! failure fails the apply and holds back what reads the model, the next apply runs only the
//! tests again — and moving a test with stored failures from its own `mdw_data_test` into the
//! model keeps the stored failures.

use mdw_acceptance::{Workspace, embedded_provider};
use serde_json::Value;

const PROVIDER: &str = concat!(
    embedded_provider!(),
    r#"
variable "data_test_run" {
  type    = string
  default = ""
}

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

const MODELS: &str = r#"
resource "mdw_iceberg_model" "stg_orders" {
  database = "sta"
  name     = "stg_orders"
  sql      = "select id, amount from \"awsdatacatalog\".\"raw\".\"orders\""
  upstream = { "seed.orders" = mdw_seed.orders.build_id }
  lineage  = mdw_lineage.this.id
  data_tests = {
    no_negative_amounts = {
      sql         = "select * from \"awsdatacatalog\".\"sta\".\"stg_orders\" where amount < 0"
      source_file = "models/sta/_sta.yml:7"
    }
    few_orders = {
      sql      = "select * from \"awsdatacatalog\".\"sta\".\"stg_orders\""
      severity = "warn"
      warn_if  = "> 2"
    }
  }
  test_run_trigger = var.data_test_run
}

resource "mdw_iceberg_model" "mart_revenue" {
  database = "mart"
  name     = "mart_revenue"
  sql      = "select sum(amount) as revenue from \"awsdatacatalog\".\"sta\".\"stg_orders\""
  upstream = { "model.stg_orders" = mdw_iceberg_model.stg_orders.build_id }
  lineage  = mdw_lineage.this.id
}

output "data_tests" {
  value = mdw_iceberg_model.stg_orders.data_test_status
}
"#;

fn mart_exists(workspace: &Workspace) -> bool {
    workspace
        .dir()
        .join(".mdw/warehouse/mart/mart_revenue")
        .exists()
}

/// Whether a relation's directory holds anything (a dropped table's directory may stay, empty).
fn holds_data(path: &std::path::Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_some())
}

fn model_state(workspace: &Workspace) -> Value {
    workspace.state_resource("mdw_iceberg_model.stg_orders")
}

fn in_state(workspace: &Workspace, address: &str) -> bool {
    workspace
        .run_ok(&["state", "list"])
        .stdout
        .lines()
        .any(|l| l.trim() == address)
}

#[test]
fn a_models_failing_test_fails_the_apply_keeps_the_build_and_holds_back_its_readers() {
    let workspace = Workspace::new();
    workspace.write_file("orders.csv", "id,amount\n1,10\n2,-5\n3,7\n");
    workspace.write_config(&format!("{PROVIDER}{MODELS}"));
    workspace.init();

    // First apply: the model is created, its test fails. Nothing is recorded for it (the retry
    // adopts the table by its owner id), and the mart is not built.
    let failed = workspace.try_apply();
    assert_ne!(failed.code, 0, "{failed}");
    let text = failed.combined();
    for expected in [
        "Data test no_negative_amounts failed: 1 failing row(s)",
        "model sta.stg_orders",
        "models/sta/_sta.yml:7",
        "id | amount",
        "2 | -5",
        "Warning: Data test few_orders failed: 3 failing row(s)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!mart_exists(&workspace), "the reader must not be built");
    assert!(!in_state(&workspace, "mdw_iceberg_model.stg_orders"));
    assert!(
        workspace
            .dir()
            .join(".mdw/warehouse/sta/stg_orders")
            .exists(),
        "the model's build stays, as with dbt build"
    );

    // Still failing: the create is retried over its own table and the test fails again.
    let again = workspace.try_apply();
    assert_ne!(again.code, 0, "{again}");
    assert!(again.combined().contains("no_negative_amounts failed"));
    assert!(!mart_exists(&workspace));

    // Fixed data: the seed reloads, the model builds, the tests pass, the mart is built.
    workspace.write_file("orders.csv", "id,amount\n1,10\n3,7\n");
    let fixed = workspace.apply();
    assert!(mart_exists(&workspace), "{fixed}");
    let summary = workspace.run_ok(&["output", "-json", "data_tests"]);
    assert!(
        summary.stdout.contains("\"no_negative_amounts\":\"pass\"")
            && summary.stdout.contains("\"few_orders\":\"pass\""),
        "{summary}"
    );
    workspace.assert_plan_empty(&[]);

    // A user re-runs the tests: the model's resource changes, nothing is rebuilt.
    let build_id = model_state(&workspace)["build_id"].clone();
    let rerun = workspace.run_ok(&[
        "plan",
        "-no-color",
        "-input=false",
        "-var",
        "data_test_run=again",
    ]);
    assert!(rerun.stdout.contains("1 to change"), "{rerun}");
    assert!(
        !rerun.stdout.contains("build_id"),
        "no model is rebuilt: {rerun}"
    );

    // The data goes bad again: an update that builds, then fails its test. The new build is
    // recorded with the verdicts, the mart is held back, and the next plan runs only the tests.
    workspace.write_file("orders.csv", "id,amount\n1,10\n2,-5\n3,7\n4,1\n");
    let mart_before =
        workspace.state_resource("mdw_iceberg_model.mart_revenue")["build_id"].clone();
    let bad = workspace.try_apply();
    assert_ne!(bad.code, 0, "{bad}");
    assert!(
        bad.combined().contains("no_negative_amounts failed"),
        "{bad}"
    );
    let state = model_state(&workspace);
    assert_ne!(state["build_id"], build_id, "the new build is recorded");
    assert_eq!(state["data_test_status"]["no_negative_amounts"], "fail");
    assert_eq!(state["data_test_status"]["few_orders"], "warn");
    assert_eq!(
        workspace.state_resource("mdw_iceberg_model.mart_revenue")["build_id"],
        mart_before,
        "the reader was held back"
    );
    let next = workspace.run_ok(&["plan", "-no-color", "-input=false"]);
    assert!(
        next.stdout.contains("data_test_status") && next.stdout.contains("2 to change"),
        "the tests run again and the held-back reader builds: {next}"
    );
}

const STORED_OWN_RESOURCE: &str = r#"
resource "mdw_iceberg_model" "stg_orders" {
  database = "sta"
  name     = "stg_orders"
  sql      = "select id, amount from \"awsdatacatalog\".\"raw\".\"orders\""
  upstream = { "seed.orders" = mdw_seed.orders.build_id }
  lineage  = mdw_lineage.this.id
}

resource "mdw_data_test" "negative_amounts" {
  name           = "negative_amounts"
  sql            = "select * from \"awsdatacatalog\".\"sta\".\"stg_orders\" where amount < 0"
  severity       = "warn"
  store_failures = true
  audit_database = "audit"
  upstream       = { "model.stg_orders" = mdw_iceberg_model.stg_orders.build_id }
  lineage        = mdw_lineage.this.id
}
"#;

const STORED_IN_MODEL: &str = r#"
resource "mdw_iceberg_model" "stg_orders" {
  database = "sta"
  name     = "stg_orders"
  sql      = "select id, amount from \"awsdatacatalog\".\"raw\".\"orders\""
  upstream = { "seed.orders" = mdw_seed.orders.build_id }
  lineage  = mdw_lineage.this.id
  data_tests = {
    negative_amounts = {
      sql            = "select * from \"awsdatacatalog\".\"sta\".\"stg_orders\" where amount < 0"
      severity       = "warn"
      store_failures = true
      audit_database = "audit"
    }
  }
}
"#;

#[test]
fn moving_a_test_into_its_model_keeps_its_stored_failures_and_removing_it_drops_them() {
    let workspace = Workspace::new();
    workspace.write_file("orders.csv", "id,amount\n1,10\n2,-5\n");
    workspace.write_config(&format!("{PROVIDER}{STORED_OWN_RESOURCE}"));
    workspace.init();
    workspace.apply();
    let stored = workspace
        .dir()
        .join(".mdw/warehouse/audit/negative_amounts");
    assert!(holds_data(&stored), "the failures are stored");

    // The test moves into the model (what mdwc now emits): the old resource is destroyed, the
    // model runs the test and stores its failures under the same owner.
    workspace.write_config(&format!("{PROVIDER}{STORED_IN_MODEL}"));
    let moved = workspace.apply();
    assert!(
        holds_data(&stored),
        "the stored failures survive the move: {moved}"
    );
    assert_eq!(
        model_state(&workspace)["data_test_status"]["negative_amounts"],
        "warn"
    );
    workspace.assert_plan_empty(&[]);

    // The test is removed from the model: its stored failures go with it, the model stays.
    workspace.write_config(&format!(
        "{PROVIDER}{}",
        STORED_IN_MODEL.replace(
            &STORED_IN_MODEL[STORED_IN_MODEL.find("  data_tests").unwrap_or(0)
                ..STORED_IN_MODEL.rfind('}').unwrap_or(0)],
            ""
        )
    ));
    let removed = workspace.apply();
    assert!(!holds_data(&stored), "{removed}");
    assert!(
        workspace
            .dir()
            .join(".mdw/warehouse/sta/stg_orders")
            .exists()
    );
    assert!(model_state(&workspace)["data_test_status"].is_null());
}
