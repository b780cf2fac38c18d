//! `mdw_iceberg_model` with `materialized = "snapshot"` (dbt snapshots) on the embedded engine,
//! driven by the real terraform CLI: each change of what the snapshot reads adds versions as
//! dbt's snapshot does, a rerun with nothing new changes nothing, and a run that Athena's MERGE
//! would refuse fails with the old table intact.

use serde_json::{Value, json};

use mdw_acceptance::{
    Workspace, athena_profile, embedded_provider, mdwc_compile, write_project_file,
};

const PROVIDER: &str = concat!(embedded_provider!(), r#""#);

fn config(snapshot: &str, history_sql: &str) -> String {
    format!(
        r#"{PROVIDER}
resource "mdw_seed" "customers" {{
  database       = "raw"
  name           = "customers"
  path           = "customers.csv"
  content_sha256 = filesha256("customers.csv")
  column_types   = {{ updated_at = "timestamp" }}
}}

resource "mdw_iceberg_model" "customers_snapshot" {{
  database     = "snapshots"
  name         = "customers_snapshot"
  materialized = "snapshot"
  sql          = "select id, name, updated_at from \"awsdatacatalog\".\"raw\".\"customers\""
  snapshot     = {snapshot}
  upstream     = {{ "seed.customers" = mdw_seed.customers.build_id }}
}}

data "mdw_query" "history" {{
  sql        = <<-SQL
    {history_sql}
  SQL
  depends_on = [mdw_iceberg_model.customers_snapshot]
}}

output "history" {{
  value = [for r in data.mdw_query.history.rows : r.line]
}}
"#
    )
}

fn history(ws: &Workspace) -> Vec<String> {
    let out = ws.run_ok(&["output", "-json", "history"]);
    let value: Value = serde_json::from_str(&out.stdout).expect("output is JSON");
    value
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v.as_str().expect("a string").to_string())
        .collect()
}

/// dbt-athena's `dbt_scd_id`: `to_hex(md5(to_utf8(id || '|' || updated_at)))`.
fn scd_id(parts: &[&str]) -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import hashlib,sys; print(hashlib.md5(sys.argv[1].encode()).hexdigest().upper())",
        ])
        .arg(parts.join("|"))
        .output()
        .expect("python3 runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

const TIMESTAMP: &str = r#"{ strategy = "timestamp", unique_key = ["id"], updated_at = "updated_at", hard_deletes = "invalidate" }"#;

const TIMESTAMP_HISTORY: &str = "select cast(id as varchar) || ':' || name || ':' || cast(dbt_valid_from as varchar) || ':' || coalesce(cast(dbt_valid_to as varchar), 'current') || ':' || dbt_scd_id as line from snapshots.customers_snapshot order by id, dbt_valid_from";

#[test]
fn timestamp_snapshots_keep_every_version() {
    let ws = Workspace::new();
    ws.write_file(
        "customers.csv",
        "id,name,updated_at\n1,ann,2026-01-01 00:00:00\n2,bob,2026-01-01 00:00:00\n3,cy,2026-01-01 00:00:00\n",
    );
    ws.write_config(&config(TIMESTAMP, TIMESTAMP_HISTORY));
    ws.init();
    ws.apply();
    let jan = "2026-01-01 00:00:00.000000";
    let feb = "2026-02-01 00:00:00.000000";
    assert_eq!(
        history(&ws),
        [
            format!("1:ann:{jan}:current:{}", scd_id(&["1", jan])),
            format!("2:bob:{jan}:current:{}", scd_id(&["2", jan])),
            format!("3:cy:{jan}:current:{}", scd_id(&["3", jan])),
        ]
    );
    ws.assert_plan_empty(&[]);

    // Ann changed, Bob left, Dee arrived.
    ws.write_file(
        "customers.csv",
        "id,name,updated_at\n1,ann2,2026-02-01 00:00:00\n3,cy,2026-01-01 00:00:00\n4,dee,2026-02-01 00:00:00\n",
    );
    ws.apply();
    let lines = history(&ws);
    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert_eq!(
        lines[0],
        format!("1:ann:{jan}:{feb}:{}", scd_id(&["1", jan]))
    );
    assert_eq!(
        lines[1],
        format!("1:ann2:{feb}:current:{}", scd_id(&["1", feb]))
    );
    // Invalidated at the run's time: closed, not current.
    assert!(lines[2].starts_with(&format!("2:bob:{jan}:")), "{lines:#?}");
    assert!(!lines[2].contains(":current:"), "{lines:#?}");
    assert_eq!(
        lines[3],
        format!("3:cy:{jan}:current:{}", scd_id(&["3", jan]))
    );
    assert_eq!(
        lines[4],
        format!("4:dee:{feb}:current:{}", scd_id(&["4", feb]))
    );

    // The same rows again (the seed reloads, so the snapshot runs): nothing new.
    ws.write_file(
        "customers.csv",
        "id,name,updated_at\n3,cy,2026-01-01 00:00:00\n1,ann2,2026-02-01 00:00:00\n4,dee,2026-02-01 00:00:00\n",
    );
    ws.apply();
    assert_eq!(history(&ws), lines);

    // Two rows for one key: Athena's MERGE fails, and so does the run; nothing is written.
    ws.write_file(
        "customers.csv",
        "id,name,updated_at\n1,ann3,2026-03-01 00:00:00\n1,ann4,2026-03-01 00:00:00\n3,cy,2026-01-01 00:00:00\n4,dee,2026-02-01 00:00:00\n",
    );
    let apply = ws.try_apply();
    assert_ne!(apply.code, 0, "{apply}");
    // Terraform wraps the message: compare words.
    let text = apply
        .combined()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains("unique_key is not unique"), "{text}");
    assert!(text.contains("nothing was written"), "{text}");
    ws.write_file(
        "customers.csv",
        "id,name,updated_at\n3,cy,2026-01-01 00:00:00\n1,ann2,2026-02-01 00:00:00\n4,dee,2026-02-01 00:00:00\n",
    );
    ws.apply();
    assert_eq!(history(&ws), lines);
}

#[test]
fn check_snapshots_record_deletions_as_new_versions() {
    let ws = Workspace::new();
    ws.write_file(
        "customers.csv",
        "id,name,updated_at\n1,new,2026-01-01 00:00:00\n2,new,2026-01-01 00:00:00\n",
    );
    let snapshot = r#"{
    strategy         = "check"
    unique_key       = ["id"]
    check_cols       = ["name"]
    hard_deletes     = "new_record"
    valid_to_current = "cast('9999-12-31' as timestamp(6))"
  }"#;
    let lines = "select cast(id as varchar) || ':' || name || ':' || dbt_is_deleted || ':' || case when dbt_valid_to = timestamp '9999-12-31' then 'current' else 'closed' end as line from snapshots.customers_snapshot order by id, dbt_valid_from, dbt_is_deleted";
    ws.write_config(&config(snapshot, lines));
    ws.init();
    ws.apply();
    assert_eq!(history(&ws), ["1:new:False:current", "2:new:False:current"]);

    // 1 shipped, 2 deleted.
    ws.write_file(
        "customers.csv",
        "id,name,updated_at\n1,shipped,2026-01-01 00:00:00\n",
    );
    ws.apply();
    assert_eq!(
        history(&ws),
        [
            "1:new:False:closed",
            "1:shipped:False:current",
            "2:new:False:closed",
            "2:new:True:current",
        ]
    );

    // 2 is back: its deletion record closes, a new version opens.
    ws.write_file(
        "customers.csv",
        "id,name,updated_at\n1,shipped,2026-01-01 00:00:00\n2,new,2026-01-01 00:00:00\n",
    );
    ws.apply();
    assert_eq!(
        history(&ws),
        [
            "1:new:False:closed",
            "1:shipped:False:current",
            "2:new:False:closed",
            "2:new:True:closed",
            "2:new:False:current",
        ]
    );
}

#[test]
fn snapshot_settings_are_checked_at_plan() {
    let ws = Workspace::new();
    ws.write_file(
        "customers.csv",
        "id,name,updated_at\n1,a,2026-01-01 00:00:00\n",
    );
    ws.write_config(&config(TIMESTAMP, "select 'x' as line"));
    ws.init();
    // The plan fails with `summary`, highlighting the config from `at` on.
    let refused = |snapshot: &str, summary: &str, at: &str| {
        ws.write_config(&config(snapshot, "select 'x' as line"));
        let (code, diags) = ws.plan_diagnostics();
        assert_eq!(code, 1, "{diags:?}");
        let found = diags.iter().any(|d| {
            let snippet = &d["snippet"];
            let highlighted = snippet["code"]
                .as_str()
                .and_then(|code| code.get(snippet["highlight_start_offset"].as_u64()? as usize..));
            d["summary"].as_str().is_some_and(|s| s.contains(summary))
                && d["address"] == "mdw_iceberg_model.customers_snapshot"
                && highlighted.is_some_and(|h| h.starts_with(at))
        });
        assert!(found, "{summary} at {at}: {diags:#?}");
    };
    // A missing setting: the snapshot object; a bad value: the value itself.
    refused(
        r#"{ strategy = "timestamp", unique_key = ["id"] }"#,
        "The timestamp strategy needs updated_at",
        "snapshot",
    );
    refused(
        r#"{ strategy = "check", unique_key = ["id"], valid_to_current = "soundex('x')", check_cols = ["all"] }"#,
        "an expression cannot run on this engine",
        "soundex('x')",
    );
}

/// A dbt project's snapshot, compiled by mdwc and applied by terraform: the model reading it
/// sees the current versions, its data tests run on the snapshot, and a change of the seed
/// adds a version.
#[test]
fn a_compiled_snapshot_keeps_history() {
    compiled_snapshot(&[]);
}

/// The same with the models in `mdw_model_group`s (`--group-by folder`).
#[test]
fn a_grouped_snapshot_keeps_history() {
    compiled_snapshot(&["--group-by", "folder"]);
}

fn compiled_snapshot(mdwc_args: &[&str]) {
    let ws = Workspace::new();
    let dbt = ws.dir().join("dbt");
    let write = |name: &str, text: &str| write_project_file(&dbt, name, text);
    write(
        "dbt_project.yml",
        "name: snap\nversion: '1.0'\nprofile: snap\nmodels:\n  snap:\n    +materialized: table\nseeds:\n  snap:\n    +column_types:\n      updated_at: timestamp\n",
    );
    write("profiles.yml", &athena_profile("snap"));
    write(
        "seeds/customers.csv",
        "id,name,updated_at\n1,ann,2026-01-01 00:00:00\n2,bob,2026-01-01 00:00:00\n",
    );
    write(
        "snapshots/customers_snapshot.sql",
        "{% snapshot customers_snapshot %}\n{{ config(target_schema='snapshots', unique_key='id', strategy='timestamp', updated_at='updated_at') }}\nselect * from {{ ref('customers') }}\n{% endsnapshot %}\n",
    );
    write(
        "snapshots/_snapshots.yml",
        "version: 2\nsnapshots:\n  - name: customers_snapshot\n    columns:\n      - name: dbt_scd_id\n        data_tests: [unique, not_null]\n  - name: customer_names\n    relation: ref('customers')\n    config:\n      target_schema: snapshots\n      unique_key: id\n      strategy: check\n      check_cols: [name]\n",
    );
    write(
        "models/customers_current.sql",
        "select id, name from {{ ref('customers_snapshot') }} where dbt_valid_to is null\n",
    );
    mdwc_compile(&dbt, &ws.dir().join("models"), mdwc_args);
    let config = |snapshot_run: &str| {
        format!(
            r#"{PROVIDER}
module "models" {{
  source       = "./models"
  snapshot_run = "{snapshot_run}"
}}

data "mdw_query" "history" {{
  sql        = "select cast(id as varchar) || ':' || name || ':' || coalesce(cast(dbt_valid_to as varchar), 'current') as line from snapshots.customers_snapshot order by id, dbt_valid_from"
  depends_on = [module.models]
}}

data "mdw_query" "current" {{
  sql        = "select cast(id as varchar) || ':' || name as line from mdw.customers_current order by id"
  depends_on = [module.models]
}}

output "history" {{
  value = [for r in data.mdw_query.history.rows : r.line]
}}

output "current" {{
  value = [for r in data.mdw_query.current.rows : r.line]
}}

data "mdw_query" "names" {{
  sql        = "select cast(id as varchar) || ':' || name || ':' || coalesce(cast(dbt_valid_to is null as varchar), 'x') as line from snapshots.customer_names order by id, dbt_valid_from"
  depends_on = [module.models]
}}

output "names" {{
  value = [for r in data.mdw_query.names.rows : r.line]
}}
"#
        )
    };
    ws.write_config(&config(""));
    ws.init();
    ws.apply();
    assert_eq!(history(&ws), ["1:ann:current", "2:bob:current"]);

    write(
        "seeds/customers.csv",
        "id,name,updated_at\n1,ann,2026-01-01 00:00:00\n2,bobby,2026-02-01 00:00:00\n",
    );
    ws.apply();
    assert_eq!(
        history(&ws),
        [
            "1:ann:current",
            "2:bob:2026-02-01 00:00:00.000000",
            "2:bobby:current"
        ]
    );
    let out = ws.run_ok(&["output", "-json", "current"]);
    let current: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(current, json!(["1:ann", "2:bobby"]));
    // The snapshot defined in yml (`relation: ref('customers')`, check strategy).
    let out = ws.run_ok(&["output", "-json", "names"]);
    let names: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(names, json!(["1:ann:true", "2:bob:false", "2:bobby:true"]));
    ws.assert_plan_empty(&[]);

    // `snapshot_run` runs the snapshots (as `dbt snapshot` would); with nothing new, no version.
    ws.write_config(&config("2026-12-07"));
    assert_eq!(ws.plan_exit_code(&[]).code, 2);
    ws.apply();
    assert_eq!(
        history(&ws),
        [
            "1:ann:current",
            "2:bob:2026-02-01 00:00:00.000000",
            "2:bobby:current"
        ]
    );
    ws.assert_plan_empty(&[]);
}
