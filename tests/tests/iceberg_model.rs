//! `mdw_seed`, `mdw_iceberg_model`, `data.mdw_source` and `data.mdw_query` on the embedded
//! engine (DataFusion + Iceberg on local disk), driven by the real terraform CLI. No AWS.

use serde_json::Value;

use mdw_acceptance::{Workspace, embedded_provider};

const PROVIDER: &str = concat!(embedded_provider!(), r#""#);

const STORES_CSV: &str =
    "store_id,city,opened\n1,Portland,2020-01-01\n2,Seattle,2021-06-01\n3,Boise,2022-03-15\n";
const SALES_CSV: &str = "sale_id,store_id,amount\n10,1,5.0\n11,1,7.5\n12,2,3.0\n";

/// Seed → staging table → mart view, wired by build ids; `stg_sql` is the staging model's SQL.
fn pipeline(stg_sql: &str) -> String {
    format!(
        r#"{PROVIDER}
resource "mdw_seed" "stores" {{
  database       = "raw"
  name           = "stores"
  path           = "stores.csv"
  content_sha256 = filesha256("stores.csv")
  column_types   = {{ opened = "date" }}
}}

resource "mdw_seed" "sales" {{
  database       = "raw"
  name           = "sales"
  path           = "sales.csv"
  content_sha256 = filesha256("sales.csv")
}}

resource "mdw_iceberg_model" "stg_stores" {{
  database     = "sta"
  name         = "stg_stores"
  materialized = "table"
  sql          = <<-SQL
{stg_sql}
SQL
  upstream     = {{ "seed.stores" = mdw_seed.stores.build_id }}
}}

resource "mdw_iceberg_model" "mart_sales" {{
  database     = "mart"
  name         = "mart_sales"
  materialized = "view"
  sql          = <<-SQL
    select s.city, sum(x.amount) as total
    from "awsdatacatalog"."sta"."stg_stores" s
    join "awsdatacatalog"."raw"."sales" x on x.store_id = s.store_id
    group by s.city
  SQL
  upstream = {{
    "model.stg_stores" = mdw_iceberg_model.stg_stores.build_id
    "seed.sales"       = mdw_seed.sales.build_id
  }}
}}

data "mdw_query" "mart" {{
  sql        = "select city, total from \"awsdatacatalog\".\"mart\".\"mart_sales\" order by city"
  depends_on = [mdw_iceberg_model.mart_sales]
}}

output "mart" {{
  value = data.mdw_query.mart.rows
}}
"#
    )
}

const STG_SQL: &str = "    select store_id, upper(city) as city, opened\n    from \"awsdatacatalog\".\"raw\".\"stores\"";

fn workspace() -> Workspace {
    let ws = Workspace::new();
    ws.write_file("stores.csv", STORES_CSV);
    ws.write_file("sales.csv", SALES_CSV);
    ws
}

fn output(ws: &Workspace, name: &str) -> Value {
    let out = ws.run_ok(&["output", "-json", name]);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("output {name}: {e}\n{out}"))
}

fn cities(rows: &Value) -> Vec<String> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}={}",
                r["city"].as_str().unwrap(),
                r["total"].as_str().unwrap()
            )
        })
        .collect()
}

/// Runs SQL against the embedded warehouse's SQLite catalog, as someone outside Terraform would.
fn catalog_sql(ws: &Workspace, sql: &str) -> String {
    let db = ws.dir().join(".mdw/warehouse/catalog.db");
    let out = std::process::Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); r=c.execute(sys.argv[2]).fetchall(); c.commit(); print(r)"])
        .arg(&db)
        .arg(sql)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn models_build_in_order_and_rebuild_only_on_real_changes() {
    let ws = workspace();
    ws.write_config(&pipeline(STG_SQL));
    ws.init();
    ws.apply();
    assert_eq!(
        cities(&output(&ws, "mart")),
        ["PORTLAND=12.5", "SEATTLE=3.0"]
    );
    let stg = ws.state_resource("mdw_iceberg_model.stg_stores");
    assert_eq!(stg["columns"][1]["name"], "city");
    assert_eq!(
        stg["columns"][2]["type"], "date",
        "column types come back from the catalog"
    );
    ws.assert_plan_empty(&[]);

    // Layout and comments are not a change.
    ws.write_config(&pipeline(&format!(
        "-- staged stores\n{}\n\n",
        STG_SQL.replace(", ", ",\n           ")
    )));
    ws.assert_plan_empty(&[]);

    // A real change updates exactly the model and its dependants, in place.
    ws.write_config(&pipeline(&STG_SQL.replace("upper(city)", "lower(city)")));
    assert_eq!(
        ws.planned_actions("mdw_iceberg_model.stg_stores"),
        ["update"]
    );
    assert_eq!(
        ws.planned_actions("mdw_iceberg_model.mart_sales"),
        ["update"]
    );
    assert!(
        ws.planned_actions("mdw_seed.stores").is_empty()
            || ws.planned_actions("mdw_seed.stores") == ["no-op"]
    );
    ws.apply();
    assert_eq!(
        cities(&output(&ws, "mart")),
        ["portland=12.5", "seattle=3.0"]
    );
    let rebuilt = ws.state_resource("mdw_iceberg_model.stg_stores");
    assert_ne!(
        rebuilt["data_location"], stg["data_location"],
        "a rebuild goes to a fresh location"
    );
    ws.assert_plan_empty(&[]);

    // Broken SQL: the error names the model and shows the engine's message; the previous table
    // stays as it was.
    ws.write_config(&pipeline(&STG_SQL.replace("upper(city)", "no_such_column")));
    let failed = ws.try_apply();
    assert_ne!(failed.code, 0);
    let text = failed.combined();
    assert!(text.contains("building model sta.stg_stores"), "{text}");
    assert!(
        text.contains("no_such_column"),
        "the engine's error is shown: {text}"
    );
    ws.write_config(&pipeline(&STG_SQL.replace("upper(city)", "lower(city)")));
    ws.apply();
    assert_eq!(
        cities(&output(&ws, "mart")),
        ["portland=12.5", "seattle=3.0"],
        "the old table is intact"
    );
    assert_eq!(
        ws.state_resource("mdw_iceberg_model.stg_stores")["data_location"],
        rebuilt["data_location"]
    );

    // A changed seed file reloads it and rebuilds what reads it.
    ws.write_file("sales.csv", &format!("{SALES_CSV}13,3,1.0\n"));
    assert_eq!(ws.planned_actions("mdw_seed.sales"), ["update"]);
    ws.apply();
    assert_eq!(
        cities(&output(&ws, "mart")),
        ["boise=1.0", "portland=12.5", "seattle=3.0"]
    );

    // Dropped out of band: the next plan creates it again.
    catalog_sql(
        &ws,
        "delete from iceberg_tables where table_namespace = 'sta' and table_name = 'stg_stores'",
    );
    assert_eq!(
        ws.planned_actions("mdw_iceberg_model.stg_stores"),
        ["create"]
    );
    ws.apply();
    ws.assert_plan_empty(&[]);

    ws.destroy();
    assert_eq!(
        catalog_sql(&ws, "select count(*) from iceberg_tables"),
        "[(0,)]",
        "destroy drops every table"
    );
}

#[test]
fn incremental_merge_updates_and_inserts_by_key() {
    let ws = workspace();
    ws.write_file("orders.csv", "order_id,status\n1,new\n2,new\n");
    ws.write_config(&format!(
        r#"{PROVIDER}
resource "mdw_seed" "orders" {{
  database       = "raw"
  name           = "orders"
  path           = "orders.csv"
  content_sha256 = filesha256("orders.csv")
}}

resource "mdw_iceberg_model" "fct_orders" {{
  database             = "dwh"
  name                 = "fct_orders"
  materialized         = "incremental"
  incremental_strategy = "merge"
  unique_key           = ["order_id"]
  sql                  = "select order_id, status from \"awsdatacatalog\".\"raw\".\"orders\""
  upstream             = {{ "seed.orders" = mdw_seed.orders.build_id }}
}}

data "mdw_query" "orders" {{
  sql        = "select order_id, status from dwh.fct_orders order by order_id"
  depends_on = [mdw_iceberg_model.fct_orders]
}}

output "orders" {{
  value = [for r in data.mdw_query.orders.rows : "${{r.order_id}}:${{r.status}}"]
}}
"#
    ));
    ws.init();
    ws.apply();
    assert_eq!(output(&ws, "orders"), serde_json::json!(["1:new", "2:new"]));
    // Order 2 shipped, order 3 arrived; order 1 is no longer in the batch but stays in the table.
    ws.write_file("orders.csv", "order_id,status\n2,shipped\n3,new\n");
    assert_eq!(
        ws.planned_actions("mdw_iceberg_model.fct_orders"),
        ["update"]
    );
    ws.apply();
    assert_eq!(
        output(&ws, "orders"),
        serde_json::json!(["1:new", "2:shipped", "3:new"])
    );
}

/// An append model compiled from `{% if is_incremental() %} where … > (select max(…) from
/// {{ this }}) {% endif %}`: a daily run with a new `pdate` appends that day only.
#[test]
fn incremental_append_runs_the_incremental_query_on_later_runs() {
    let ws = workspace();
    ws.write_file(
        "events.csv",
        "event_id,event_date\n1,20261126\n2,20261127\n3,20261128\n",
    );
    let config = format!(
        r#"{PROVIDER}
variable "pdate" {{
  type = string
}}

resource "mdw_seed" "events" {{
  database       = "raw"
  name           = "events"
  path           = "events.csv"
  content_sha256 = filesha256("events.csv")
}}

resource "mdw_iceberg_model" "daily" {{
  database             = "dwh"
  name                 = "daily"
  materialized         = "incremental"
  incremental_strategy = "append"
  sql                  = "select event_id, event_date from raw.events where event_date <= ${{var.pdate}}"
  incremental_sql      = "select event_id, event_date from raw.events where event_date <= ${{var.pdate}} and event_date > (select max(event_date) from dwh.daily)"
  upstream             = {{ "seed.events" = mdw_seed.events.build_id }}
}}

data "mdw_query" "daily" {{
  sql        = "select event_id from dwh.daily order by event_id"
  depends_on = [mdw_iceberg_model.daily]
}}

output "ids" {{
  value = [for r in data.mdw_query.daily.rows : r.event_id]
}}
"#
    );
    ws.write_config(&config);
    ws.init();
    ws.run_ok(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-var",
        "pdate=20261127",
    ]);
    assert_eq!(output(&ws, "ids"), serde_json::json!(["1", "2"]));
    ws.run_ok(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-var",
        "pdate=20261128",
    ]);
    assert_eq!(output(&ws, "ids"), serde_json::json!(["1", "2", "3"]));
}

#[test]
fn retain_keeps_the_table_on_destroy() {
    let ws = workspace();
    ws.write_config(&format!(
        r#"{PROVIDER}
resource "mdw_iceberg_model" "kept" {{
  database   = "mart"
  name       = "kept"
  sql        = "select 1 as id, 'x' as label"
  on_destroy = "retain"
}}
"#
    ));
    ws.init();
    ws.apply();
    ws.destroy();
    assert_eq!(
        catalog_sql(&ws, "select table_name from iceberg_tables"),
        "[('kept',)]"
    );
}

#[test]
fn a_missing_source_fails_the_plan() {
    let ws = workspace();
    ws.write_config(&format!(
        r#"{PROVIDER}
data "mdw_source" "orders" {{
  database = "iceberg"
  name     = "orders"
}}
"#
    ));
    ws.init();
    let plan = ws.plan_exit_code(&[]);
    assert_eq!(plan.code, 1, "{plan}");
    let text = plan.combined();
    assert!(
        text.contains("\"awsdatacatalog\".\"iceberg\".\"orders\" does not exist"),
        "{text}"
    );
}

#[test]
fn source_exposes_the_columns_of_an_existing_table() {
    let ws = workspace();
    ws.write_config(&format!(
        r#"{PROVIDER}
resource "mdw_seed" "stores" {{
  database       = "iceberg"
  name           = "stores"
  path           = "stores.csv"
  content_sha256 = filesha256("stores.csv")
}}

data "mdw_source" "stores" {{
  database   = "iceberg"
  name       = "stores"
  depends_on = [mdw_seed.stores]
}}

output "columns" {{
  value = [for c in data.mdw_source.stores.columns : c.name]
}}
"#
    ));
    ws.init();
    ws.apply();
    assert_eq!(
        output(&ws, "columns"),
        serde_json::json!(["store_id", "city", "opened"])
    );
}

/// dbt's hooks: Athena's Iceberg maintenance post-hooks run around the build (checked, with
/// nothing to do on the embedded engine's tables); a hook the engine cannot run fails the
/// plan at its attribute path, before anything is built; a hook on a table that does not
/// exist fails the build as on Athena, leaving nothing half-built.
#[test]
fn hooks_run_around_the_build() {
    let ws = workspace();
    let model = |pre: &str, post: &str| {
        format!(
            r#"{PROVIDER}
resource "mdw_iceberg_model" "orders" {{
  database   = "sta"
  name       = "orders"
  sql        = "select 1 as order_id"
  pre_hooks  = [{pre}]
  post_hooks = [{post}]
}}
"#
        )
    };
    let maintenance = r#""OPTIMIZE \"awsdatacatalog\".\"sta\".\"orders\" REWRITE DATA USING BIN_PACK", "VACUUM sta.orders""#;
    ws.write_config(&model("", maintenance));
    ws.init();
    ws.apply();

    ws.write_config(&model(r#""insert into sta.audit select 1""#, maintenance));
    let plan = ws.plan_exit_code(&[]);
    assert_eq!(plan.code, 1, "{plan}");
    let text = plan.combined();
    assert!(text.contains("a hook cannot run on this engine"), "{text}");
    assert!(text.contains("insert into sta.audit"), "{text}");
    assert!(text.contains("pre_hooks"), "{text}");

    // A pre-hook on a table that is not there yet fails the create; nothing is built.
    ws.write_config(&format!(
        r#"{PROVIDER}
resource "mdw_iceberg_model" "fresh" {{
  database  = "sta"
  name      = "fresh"
  sql       = "select 1 as id"
  pre_hooks = ["VACUUM sta.fresh"]
}}
"#
    ));
    let apply = ws.try_apply();
    assert_ne!(apply.code, 0, "{apply}");
    let text = apply.combined();
    assert!(
        text.contains("running pre-hook 1 of model sta.fresh"),
        "{text}"
    );
    assert!(text.contains("the table does not exist"), "{text}");
    assert_eq!(
        catalog_sql(
            &ws,
            "select count(*) from iceberg_tables where table_name = 'fresh'"
        ),
        "[(0,)]"
    );
}
