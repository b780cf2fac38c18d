//! Incremental models with dbt's `microbatch` strategy on the embedded engine, driven by the
//! real terraform CLI: each batch of the run's window reads its own slice of every upstream
//! with an `event_time` and is merged by `unique_key`; a failed first build leaves nothing, a
//! failed batch of a later run leaves the batches before it merged.

use serde_json::Value;

use mdw_acceptance::{
    Workspace, athena_profile, embedded_provider, mdwc_compile, write_project_file,
};

const PROVIDER: &str = concat!(embedded_provider!(), r#""#);

fn lines(ws: &Workspace, output: &str) -> Vec<String> {
    let out = ws.run_ok(&["output", "-json", output]);
    let value: Value = serde_json::from_str(&out.stdout).expect("output is JSON");
    value
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v.as_str().expect("a string").to_string())
        .collect()
}

/// A dbt project's microbatch model, compiled by mdwc and applied by terraform with the
/// backfill bounds of `dbt run --event-time-start/--event-time-end` as module variables.
#[test]
fn a_compiled_microbatch_model_runs_its_batches() {
    compiled_microbatch(&[]);
}

/// The same with the models in `mdw_model_group`s (`--group-by folder`).
#[test]
fn a_grouped_microbatch_model_runs_its_batches() {
    compiled_microbatch(&["--group-by", "folder"]);
}

fn compiled_microbatch(mdwc_args: &[&str]) {
    let ws = Workspace::new();
    let dbt = ws.dir().join("dbt");
    let write = |name: &str, text: &str| write_project_file(&dbt, name, text);
    write(
        "dbt_project.yml",
        "name: mb\nversion: '1.0'\nprofile: mb\nmodels:\n  mb:\n    +materialized: table\n    +table_type: iceberg\nseeds:\n  mb:\n    +event_time: occurred_at\n    +column_types:\n      occurred_at: timestamp\n",
    );
    write("profiles.yml", &athena_profile("mb"));
    write(
        "seeds/events.csv",
        "event_id,amount,occurred_at\n1,10,2024-09-14 23:59:59\n2,20,2024-09-15 00:00:00\n3,30,2024-09-15 12:00:00\n4,40,2024-09-16 23:59:59\n5,50,2024-09-17 00:00:00\n",
    );
    write(
        "models/daily.sql",
        "{{ config(materialized='incremental', incremental_strategy='microbatch', unique_key='event_id', event_time='occurred_at', begin='2024-09-15', batch_size='day') }}\nselect event_id, amount, occurred_at, '{{ model.batch.id if model.batch else '' }}' as batch_id\nfrom {{ ref('events') }} e\n{% if is_incremental() %}\n-- rows `this` (the batches before, on a first build) does not hold as they are\nwhere not exists (select 1 from {{ this }} t where t.event_id = e.event_id and t.amount = e.amount)\n{% endif %}\n",
    );
    mdwc_compile(&dbt, &ws.dir().join("models"), mdwc_args);
    let config = |start: &str, end: &str| {
        format!(
            r#"{PROVIDER}
module "models" {{
  source           = "./models"
  microbatch_start = "{start}"
  microbatch_end   = "{end}"
}}

data "mdw_query" "daily" {{
  sql        = "select cast(event_id as varchar) || ':' || cast(amount as varchar) || ':' || batch_id as line from mdw.daily order by event_id"
  depends_on = [module.models]
}}

output "daily" {{
  value = [for r in data.mdw_query.daily.rows : r.line]
}}
"#
        )
    };
    // A backfill of the 15th and the 16th: the 14th and the 17th are outside.
    ws.write_config(&config("2024-09-15", "2024-09-17"));
    ws.init();
    ws.apply();
    assert_eq!(
        lines(&ws, "daily"),
        ["2:20:20240915", "3:30:20240915", "4:40:20240916"]
    );
    ws.assert_plan_empty(&[]);

    // New data for the 16th and the 17th; a run of those two days merges them by event_id and
    // leaves the 15th as it was.
    write(
        "seeds/events.csv",
        "event_id,amount,occurred_at\n1,10,2024-09-14 23:59:59\n2,21,2024-09-15 00:00:00\n3,30,2024-09-15 12:00:00\n4,41,2024-09-16 23:59:59\n5,50,2024-09-17 00:00:00\n6,60,2024-09-16 00:00:00\n",
    );
    ws.write_config(&config("2024-09-16", "2024-09-18"));
    ws.apply();
    assert_eq!(
        lines(&ws, "daily"),
        [
            "2:20:20240915",
            "3:30:20240915",
            "4:41:20240916",
            "5:50:20240917",
            "6:60:20240916"
        ]
    );
    ws.assert_plan_empty(&[]);

    // Unset bounds: a run of the lookback window ending now, which holds no 2024 events.
    ws.write_config(&config("", ""));
    ws.apply();
    assert_eq!(lines(&ws, "daily").len(), 5);
    ws.assert_plan_empty(&[]);
}

fn model(sql: &str, microbatch: &str) -> String {
    format!(
        r#"{PROVIDER}
resource "mdw_seed" "events" {{
  database       = "raw"
  name           = "events"
  path           = "events.csv"
  content_sha256 = filesha256("events.csv")
  column_types   = {{ occurred_at = "timestamp" }}
}}

resource "mdw_iceberg_model" "daily" {{
  database             = "mdw"
  name                 = "daily"
  materialized         = "incremental"
  incremental_strategy = "microbatch"
  unique_key           = ["event_id"]
  microbatch           = {microbatch}
  sql                  = <<-SQL
    {sql}
  SQL
  upstream             = {{ "seed.events" = mdw_seed.events.build_id }}
}}
"#
    )
}

const READ: &str = "select event_id, amount, '__mdw_batch_id__' as batch_id from (select * from \"awsdatacatalog\".\"raw\".\"events\" where cast(occurred_at as timestamp) >= timestamp '__mdw_batch_start__' and cast(occurred_at as timestamp) < timestamp '__mdw_batch_end__')";

/// The same query, failing (division by zero) in the batch of the 16th.
const FAILS_ON_16TH: &str = "select event_id, amount / (case when '__mdw_batch_id__' = '20240916' then 0 else 1 end) as amount, '__mdw_batch_id__' as batch_id from (select * from \"awsdatacatalog\".\"raw\".\"events\" where cast(occurred_at as timestamp) >= timestamp '__mdw_batch_start__' and cast(occurred_at as timestamp) < timestamp '__mdw_batch_end__')";

/// Applies with a query of the table's rows (from then on in the configuration), and returns
/// them.
fn rows(ws: &Workspace) -> Vec<String> {
    ws.write_file(
        "rows.tf",
        r#"
data "mdw_query" "rows" {
  sql        = "select cast(event_id as varchar) || ':' || cast(amount as varchar) || ':' || batch_id as line from mdw.daily order by event_id"
  depends_on = [mdw_iceberg_model.daily]
}
output "rows" {
  value = [for r in data.mdw_query.rows.rows : r.line]
}
"#,
    );
    ws.apply();
    lines(ws, "rows")
}

#[test]
fn failed_batches_leave_what_dbt_would() {
    let ws = Workspace::new();
    ws.write_file(
        "events.csv",
        "event_id,amount,occurred_at\n1,10,2024-09-15 08:00:00\n2,20,2024-09-16 08:00:00\n",
    );
    // No lookback: a later run covers the 16th only, so a first build's batch of the 15th
    // exists only if the first build ran whole.
    let settings = r#"{ batch_size = "day", begin = "2024-09-15", lookback = 0, event_time_end = "2024-09-17" }"#;
    ws.write_config(&model(FAILS_ON_16TH, settings));
    ws.init();
    let failed = ws.try_apply();
    assert_ne!(failed.code, 0);
    let text = failed.combined();
    assert!(text.contains("batch 2024-09-16 of 2 failed"), "{text}");
    assert!(text.contains("nothing was kept"), "{text}");

    // The first build wrote nothing: the fixed model builds from begin again.
    ws.write_config(&model(READ, settings));
    ws.apply();
    assert_eq!(rows(&ws), ["1:10:20240915", "2:20:20240916"]);
    ws.assert_plan_empty(&[]);

    // On the existing table, a run of both days whose second batch fails: the first stays
    // merged (as dbt leaves it), the apply fails, and the next apply runs both again.
    let both = r#"{ batch_size = "day", begin = "2024-09-15", lookback = 1, event_time_end = "2024-09-17" }"#;
    ws.write_file(
        "events.csv",
        "event_id,amount,occurred_at\n1,11,2024-09-15 08:00:00\n2,21,2024-09-16 08:00:00\n",
    );
    ws.write_config(&model(FAILS_ON_16TH, both));
    let failed = ws.try_apply();
    assert_ne!(failed.code, 0);
    let text = failed.combined();
    assert!(text.contains("batch 2024-09-16 of 2 failed"), "{text}");
    assert!(
        text.contains("the 1 batch(es) before it are merged"),
        "{text}"
    );
    // A run of the 16th alone shows the failed run's merge of the 15th.
    ws.write_config(&model(READ, settings));
    assert_eq!(rows(&ws), ["1:11:20240915", "2:21:20240916"]);
    ws.assert_plan_empty(&[]);
}

#[test]
fn microbatch_settings_are_checked_at_plan() {
    let ws = Workspace::new();
    ws.write_file(
        "events.csv",
        "event_id,amount,occurred_at\n1,1,2024-09-15 08:00:00\n",
    );
    let refused = |sql: &str, microbatch: &str, summary: &str| {
        ws.write_config(&model(sql, microbatch));
        let (code, diags) = ws.plan_diagnostics();
        assert_eq!(code, 1, "{diags:?}");
        assert!(
            diags.iter().any(|d| {
                let text = format!(
                    "{} {}",
                    d["summary"].as_str().unwrap_or_default(),
                    d["detail"].as_str().unwrap_or_default()
                );
                text.contains(summary) && d["address"] == "mdw_iceberg_model.daily"
            }),
            "{summary}: {diags:#?}"
        );
    };
    ws.write_config(&model(
        READ,
        r#"{ batch_size = "day", begin = "2024-09-15" }"#,
    ));
    ws.init();
    refused(
        READ,
        r#"{ batch_size = "week", begin = "2024-09-15" }"#,
        "batch_size \"week\" is not one of",
    );
    refused(
        READ,
        r#"{ batch_size = "day", begin = "last tuesday" }"#,
        "\"last tuesday\" is not an ISO date or timestamp",
    );
    refused(
        READ,
        r#"{ batch_size = "day", begin = "2024-09-15", event_time_start = "2024-09-20", event_time_end = "2024-09-18" }"#,
        "event_time_start must be before event_time_end",
    );
    // The markers outside a microbatch model would run as written.
    ws.write_config(
        &model(READ, r#"{ batch_size = "day", begin = "2024-09-15" }"#)
            .replace(
                "incremental_strategy = \"microbatch\"",
                "incremental_strategy = \"merge\"",
            )
            .replace(
                "microbatch           = { batch_size = \"day\", begin = \"2024-09-15\" }",
                "",
            ),
    );
    let (code, diags) = ws.plan_diagnostics();
    assert_eq!(code, 1, "{diags:?}");
    assert!(
        diags
            .iter()
            .any(|d| d["summary"] == "Batch markers outside a microbatch model"),
        "{diags:#?}"
    );
    // The batch bounds are checked inside the query the engine will run.
    refused(
        "select soundex(cast(event_id as varchar)) as s, event_id from \"awsdatacatalog\".\"raw\".\"events\" where occurred_at >= timestamp '__mdw_batch_start__'",
        r#"{ batch_size = "day", begin = "2024-09-15" }"#,
        "cannot run on this engine",
    );
}
