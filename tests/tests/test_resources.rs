//! `mdw_data_test` and `mdw_unit_test` on the embedded engine, driven by the real terraform CLI:
//! dbt build's semantics (an error-severity failure fails the apply with the rows, holds back
//! what depends on the test and runs again next time; warn only warns), unit tests' row diffs,
//! and plans that run no test.

use mdw_acceptance::{Workspace, embedded_provider};

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

resource "mdw_iceberg_model" "stg_orders" {
  database = "sta"
  name     = "stg_orders"
  sql      = "select id, amount from \"awsdatacatalog\".\"raw\".\"orders\""
  upstream = { "seed.orders" = mdw_seed.orders.build_id }
  lineage  = mdw_lineage.this.id
}

resource "mdw_data_test" "no_negative_amounts" {
  name          = "no_negative_amounts"
  sql           = "select * from \"awsdatacatalog\".\"sta\".\"stg_orders\" where amount < 0"
  attached_node = "model.stg_orders"
  source_file   = "models/sta/_sta.yml:7"
  upstream      = { "model.stg_orders" = mdw_iceberg_model.stg_orders.build_id }
  run_trigger   = var.data_test_run
}

resource "mdw_data_test" "few_orders" {
  name          = "few_orders"
  sql           = "select * from \"awsdatacatalog\".\"sta\".\"stg_orders\""
  severity      = "warn"
  warn_if       = "> 2"
  attached_node = "model.stg_orders"
  upstream      = { "model.stg_orders" = mdw_iceberg_model.stg_orders.build_id }
  run_trigger   = var.data_test_run
}

resource "mdw_iceberg_model" "mart_revenue" {
  database   = "mart"
  name       = "mart_revenue"
  sql        = "select sum(amount) as revenue from \"awsdatacatalog\".\"sta\".\"stg_orders\""
  upstream   = { "model.stg_orders" = mdw_iceberg_model.stg_orders.build_id }
  lineage    = mdw_lineage.this.id
  depends_on = [mdw_data_test.no_negative_amounts]
}

output "data_tests" {
  value = {
    no_negative_amounts = mdw_data_test.no_negative_amounts.status
    few_orders          = mdw_data_test.few_orders.status
  }
}
"#
);

fn mart_exists(workspace: &Workspace) -> bool {
    workspace
        .dir()
        .join(".mdw/warehouse/mart/mart_revenue")
        .exists()
}

#[test]
fn an_error_test_fails_the_apply_and_holds_back_its_dependants() {
    let workspace = Workspace::new();
    workspace.write_file("orders.csv", "id,amount\n1,10\n2,-5\n3,7\n");
    workspace.write_config(PROVIDER);
    workspace.init();

    let failed = workspace.try_apply();
    assert_ne!(failed.code, 0, "{failed}");
    let text = failed.combined();
    for expected in [
        "Data test no_negative_amounts failed: 1 failing row(s)",
        "model.stg_orders",
        "models/sta/_sta.yml:7",
        "id | amount",
        "2 | -5",
        // The warn-severity test only warns, in the same apply.
        "Warning: Data test few_orders failed: 3 failing row(s)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!mart_exists(&workspace), "the dependant must not be built");

    // Still failing: the next apply runs the test again and still holds the mart back.
    let again = workspace.try_apply();
    assert_ne!(again.code, 0, "{again}");
    assert!(again.combined().contains("no_negative_amounts failed"));
    assert!(!mart_exists(&workspace));

    // Fixed data: the seed reloads, the model rebuilds, the test passes, the mart is built.
    workspace.write_file("orders.csv", "id,amount\n1,10\n3,7\n");
    let fixed = workspace.apply();
    assert!(mart_exists(&workspace), "{fixed}");
    let summary = workspace.run_ok(&["output", "-json", "data_tests"]);
    assert!(
        summary.stdout.contains("\"no_negative_amounts\":\"pass\""),
        "{summary}"
    );

    // Nothing changed: the plan is empty and runs no test.
    workspace.assert_plan_empty(&[]);
    let actions = workspace.planned_actions("mdw_data_test.no_negative_amounts");
    assert!(actions.iter().all(|a| a == "no-op"), "{actions:?}");

    // A user re-runs every test without rebuilding anything.
    let rerun = workspace.run_ok(&[
        "plan",
        "-no-color",
        "-input=false",
        "-var",
        "data_test_run=again",
    ]);
    assert!(rerun.stdout.contains("2 to change"), "{rerun}");
    assert!(
        !rerun.stdout.contains("# mdw_iceberg_model"),
        "no model is rebuilt: {rerun}"
    );
}

#[test]
fn a_warn_test_only_warns() {
    let workspace = Workspace::new();
    workspace.write_file("orders.csv", "id,amount\n1,10\n2,-5\n3,7\n");
    workspace.write_config(&PROVIDER.replace(
        "attached_node = \"model.stg_orders\"\n  source_file",
        "severity      = \"warn\"\n  attached_node = \"model.stg_orders\"\n  source_file",
    ));
    workspace.init();
    let applied = workspace.apply();
    assert!(
        applied
            .combined()
            .contains("Warning: Data test no_negative_amounts failed"),
        "{applied}"
    );
    assert!(mart_exists(&workspace));
    let summary = workspace.run_ok(&["output", "-json", "data_tests"]);
    assert!(
        summary.stdout.contains("\"no_negative_amounts\":\"warn\""),
        "{summary}"
    );
}

const UNIT_TEST: &str = r#"
resource "mdw_unit_test" "doubles_amounts" {
  name        = "doubles_amounts"
  model       = "model.doubled"
  source_file = "models/_unit.yml:3"
  sql         = "select id, amount * 2 as doubled from \"__mdw_given_0\""
  given = [{
    relation  = "\"awsdatacatalog\".\"raw\".\"orders\""
    rows_json   = jsonencode([{ id = 1, amount = 5 }, { id = 2 }])
    fixture_sql = null
  }]
  expect_rows_json = jsonencode([{ id = 1, doubled = EXPECTED }, { id = 2, doubled = null }])
  upstream         = { "seed.orders" = mdw_seed.orders.build_id }
}

resource "mdw_iceberg_model" "doubled" {
  database   = "mart"
  name       = "doubled"
  sql        = "select id, amount * 2 as doubled from \"awsdatacatalog\".\"raw\".\"orders\""
  upstream   = { "seed.orders" = mdw_seed.orders.build_id }
  depends_on = [mdw_unit_test.doubles_amounts]
}
"#;

#[test]
fn unit_tests_compare_rows_and_show_the_difference() {
    let workspace = Workspace::new();
    workspace.write_file("orders.csv", "id,amount\n1,10\n3,7\n");
    let config = |expected: &str| {
        let base = PROVIDER
            .split("resource \"mdw_iceberg_model\" \"stg_orders\"")
            .next()
            .unwrap();
        format!("{base}{}", UNIT_TEST.replace("EXPECTED", expected))
    };
    workspace.write_config(&config("10"));
    workspace.init();
    workspace.apply();
    assert!(workspace.dir().join(".mdw/warehouse/mart/doubled").exists());
    workspace.assert_plan_empty(&[]);

    workspace.write_config(&config("11"));
    let failed = workspace.try_apply();
    assert_ne!(failed.code, 0, "{failed}");
    let text = failed.combined();
    for expected in [
        "Unit test doubles_amounts failed",
        "models/_unit.yml:3",
        "  id | doubled",
        "- 1 | 11",
        "+ 1 | 10",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}
