//! `mdw_iceberg_model` on the Athena engine, against moto behind the fault-injecting proxy.
//!
//! moto runs no SQL, so these tests assert what a real Athena would be asked to do: the exact
//! statements, read back from moto with `list_query_executions` / `get_query_execution`, and
//! the Glue catalog afterwards (the proxy applies each successful DDL statement's effect to
//! moto's Glue, as Athena would).

use std::time::{Duration, Instant};

use serde_json::json;

use mdw_acceptance::{AthenaProxy, Aws, Moto, Workspace, athena_provider_block};

const WORKGROUP: &str = "mdw";
const DATABASE: &str = "mart";

struct Athena {
    _moto: Moto,
    proxy: AthenaProxy,
    aws: Aws,
}

impl Athena {
    /// moto + proxy, a workgroup with a result location and the models' Glue database.
    fn start() -> Athena {
        let moto = Moto::start();
        let proxy = AthenaProxy::start(&moto);
        let aws = moto.aws();
        let athena = aws.athena();
        aws.block_on(
            athena
                .create_work_group()
                .name(WORKGROUP)
                .configuration(
                    aws_sdk_athena::types::WorkGroupConfiguration::builder()
                        .result_configuration(
                            aws_sdk_athena::types::ResultConfiguration::builder()
                                .output_location("s3://results/athena/")
                                .build(),
                        )
                        .build(),
                )
                .send(),
        )
        .expect("creating the workgroup");
        let input = aws_sdk_glue::types::DatabaseInput::builder()
            .name(DATABASE)
            .build()
            .unwrap();
        aws.block_on(aws.glue().create_database().database_input(input).send())
            .expect("creating the Glue database");
        Athena {
            _moto: moto,
            proxy,
            aws,
        }
    }

    fn config(&self, resources: &str) -> String {
        athena_provider_block(
            &self.proxy.endpoint(),
            WORKGROUP,
            r#"data_location = "s3://lake/warehouse""#,
        ) + resources
    }

    /// Every statement sent to Athena so far, oldest first, with build ids masked as `<id>`.
    fn statements(&self) -> Vec<String> {
        let athena = self.aws.athena();
        let mut ids = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .aws
                .block_on(
                    athena
                        .list_query_executions()
                        .work_group(WORKGROUP)
                        .set_next_token(token)
                        .send(),
                )
                .expect("listing query executions");
            ids.extend(page.query_execution_ids().iter().cloned());
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let mut executions: Vec<(f64, String)> = ids
            .iter()
            .map(|id| {
                let out = self
                    .aws
                    .block_on(athena.get_query_execution().query_execution_id(id).send())
                    .expect("reading a query execution");
                let execution = out.query_execution().expect("an execution");
                let submitted = execution
                    .status()
                    .and_then(|s| s.submission_date_time())
                    .map(|t| t.as_secs_f64())
                    .unwrap_or_default();
                (submitted, mask_ids(execution.query().unwrap_or_default()))
            })
            .collect();
        executions.sort_by(|a, b| a.0.total_cmp(&b.0));
        executions.into_iter().map(|(_, sql)| sql).collect()
    }

    /// The statements an action sent.
    fn statements_of(&self, action: impl FnOnce()) -> Vec<String> {
        let before = self.statements().len();
        action();
        self.statements().split_off(before)
    }

    fn glue_tables(&self) -> Vec<String> {
        let out = self
            .aws
            .block_on(self.aws.glue().get_tables().database_name(DATABASE).send())
            .expect("listing Glue tables");
        let mut names: Vec<String> = out
            .table_list()
            .iter()
            .map(|t| t.name().to_string())
            .collect();
        names.sort();
        names
    }

    fn glue_table(&self, table: &str) -> aws_sdk_glue::types::Table {
        self.aws
            .block_on(
                self.aws
                    .glue()
                    .get_table()
                    .database_name(DATABASE)
                    .name(table)
                    .send(),
            )
            .expect("reading the Glue table")
            .table()
            .cloned()
            .expect("a table")
    }

    /// Keys of the S3 objects under `location` (`s3://bucket/prefix`), as a directory.
    fn objects_under(&self, location: &str) -> Vec<String> {
        let (bucket, prefix) = location
            .strip_prefix("s3://")
            .and_then(|r| r.split_once('/'))
            .expect("an s3://bucket/prefix location");
        match self.aws.block_on(
            self.aws
                .s3()
                .list_objects_v2()
                .bucket(bucket)
                .prefix(format!("{}/", prefix.trim_end_matches('/')))
                .send(),
        ) {
            Ok(out) => out
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    fn location(&self, table: &str) -> String {
        let out = self
            .aws
            .block_on(
                self.aws
                    .glue()
                    .get_table()
                    .database_name(DATABASE)
                    .name(table)
                    .send(),
            )
            .expect("reading the Glue table");
        out.table()
            .and_then(|t| t.storage_descriptor())
            .and_then(|sd| sd.location())
            .unwrap_or_default()
            .to_string()
    }
}

/// Replaces build ids (UUIDs) and stage-table suffixes (runs of 12, 32 or 40 lower-case hex
/// digits) by `<id>`.
fn mask_ids(sql: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let parts: Vec<&str> = run.split('-').collect();
        let is_uuid = parts.len() == 5
            && parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
            && parts.iter().all(|p| !p.is_empty());
        if is_uuid {
            out.push_str("<id>");
        } else {
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    out.push('-');
                }
                if matches!(part.len(), 12 | 32 | 40) {
                    out.push_str("<id>");
                } else {
                    out.push_str(part);
                }
            }
        }
        run.clear();
    };
    for c in sql.chars() {
        if c.is_ascii_digit() || ('a'..='f').contains(&c) || (c == '-' && !run.is_empty()) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

fn model(name: &str, sql: &str, extra: &str) -> String {
    format!(
        r#"
resource "mdw_iceberg_model" "{name}" {{
  database = "{DATABASE}"
  name     = "{name}"
  sql      = "{sql}"
{extra}}}
"#
    )
}

fn ctas(name: &str, table: &str, select: &str, partitioning: &str) -> String {
    format!(
        "CREATE TABLE \"{DATABASE}\".\"{table}\" WITH (table_type = 'ICEBERG', is_external = false, \
         location = 's3://lake/warehouse/{DATABASE}/{name}/<id>', {partitioning}format = 'parquet') AS\n{select}"
    )
}

#[test]
fn statements_for_table_view_incremental_and_destroy() {
    let athena = Athena::start();
    let workspace = Workspace::new();

    // First build: one CTAS into a stage, swapped in by Glue. Descriptions go to Glue, not SQL.
    let partitioned = "  partitioned_by = [\"day(ts)\"]\n  description = \"Daily sales\"\n  column_descriptions = { id = \"Sale key\" }\n";
    workspace.write_config(&athena.config(&model("sales", "select 1 as id", partitioned)));
    workspace.init();
    let sent = athena.statements_of(|| {
        workspace.apply();
    });
    assert_eq!(
        sent,
        vec![ctas(
            "sales",
            "sales__mdw_tmp_<id>",
            "select 1 as id",
            "partitioning = ARRAY['day(ts)'], "
        )]
    );
    assert_eq!(athena.glue_tables(), vec!["sales"]);
    let first_location = athena.location("sales");
    workspace.assert_plan_empty(&[]);
    let table = athena
        .aws
        .block_on(
            athena
                .aws
                .glue()
                .get_table()
                .database_name(DATABASE)
                .name("sales")
                .send(),
        )
        .unwrap();
    let table = table.table().unwrap();
    assert_eq!(table.description(), Some("Daily sales"));
    let id = &table.storage_descriptor().unwrap().columns()[0];
    assert_eq!((id.name(), id.comment()), ("id", Some("Sale key")));

    // Rebuild: CTAS into a stage table and one Glue write to swap it in — no rename, no
    // moment without a table; the old table's files are deleted.
    workspace.write_config(&athena.config(&model("sales", "select 2 as id", partitioned)));
    let sent = athena.statements_of(|| {
        workspace.apply();
    });
    assert_eq!(
        sent,
        vec![ctas(
            "sales",
            "sales__mdw_tmp_<id>",
            "select 2 as id",
            "partitioning = ARRAY['day(ts)'], "
        )]
    );
    assert_eq!(athena.glue_tables(), vec!["sales"]);
    assert_ne!(athena.location("sales"), first_location);
    assert!(athena.objects_under(&first_location).is_empty());
    assert!(!athena.objects_under(&athena.location("sales")).is_empty());
    let sales = athena.glue_table("sales");
    assert_eq!(sales.description(), Some("Daily sales"));
    assert!(
        sales
            .parameters()
            .and_then(|p| p.get("mdw.owner"))
            .is_some_and(|o| !o.is_empty()),
        "{sales:?}"
    );
    workspace.assert_plan_empty(&[]);

    // A view, an append model and a merge model next to it.
    let view = model(
        "sales_v",
        "select id from mart.sales",
        "  materialized = \"view\"\n",
    );
    let append = |sql: &str, extra: &str| {
        model(
            "events",
            sql,
            &format!(
                "  materialized = \"incremental\"\n  incremental_strategy = \"append\"\n{extra}"
            ),
        )
    };
    let merge = |sql: &str| {
        model(
            "customers",
            sql,
            "  materialized = \"incremental\"\n  incremental_strategy = \"merge\"\n  unique_key = [\"id\"]\n",
        )
    };
    athena.proxy.set_rules(json!({"columns": {"events": [["id", "bigint"]], "customers": [["id", "bigint"], ["name", "varchar"]]}}));
    let base = model("sales", "select 2 as id", partitioned);
    let config = |a: &str, m: &str, e: &str| {
        athena.config(&format!("{base}{view}{}{}", append(a, e), merge(m)))
    };
    workspace.write_config(&config("select 1 as id", "select 1 as id, 'a' as name", ""));
    let sent = athena.statements_of(|| {
        workspace.apply();
    });
    assert!(
        sent.contains(
            &"CREATE VIEW \"mart\".\"sales_v__mdw_tmp_<id>\" AS\nselect id from mart.sales"
                .to_string()
        ),
        "{sent:#?}"
    );
    assert!(
        sent.contains(&ctas(
            "events",
            "events__mdw_tmp_<id>",
            "select 1 as id",
            ""
        )),
        "{sent:#?}"
    );
    assert_eq!(sent.len(), 3, "{sent:#?}");
    workspace.assert_plan_empty(&[]);

    // Incremental runs: a `limit 0` probe of the query's columns, then insert / merge.
    athena
        .proxy
        .set_rules(json!({"probe_columns": [["id", "bigint"]]}));
    workspace.write_config(&config("select 2 as id", "select 1 as id, 'a' as name", ""));
    let sent = athena.statements_of(|| {
        workspace.apply();
    });
    assert_eq!(
        sent,
        vec![
            "SELECT * FROM (\nselect 2 as id\n) LIMIT 0".to_string(),
            "INSERT INTO \"mart\".\"events\" (\"id\")\nSELECT \"id\" FROM (\nselect 2 as id\n)"
                .to_string(),
        ]
    );
    athena
        .proxy
        .set_rules(json!({"probe_columns": [["id", "bigint"], ["name", "varchar"]]}));
    workspace.write_config(&config("select 2 as id", "select 2 as id, 'b' as name", ""));
    let sent = athena.statements_of(|| {
        workspace.apply();
    });
    assert_eq!(
        sent,
        vec![
            "SELECT * FROM (\nselect 2 as id, 'b' as name\n) LIMIT 0".to_string(),
            "MERGE INTO \"mart\".\"customers\" AS target\nUSING (\nselect 2 as id, 'b' as name\n) AS src\n\
             ON (target.\"id\" = src.\"id\")\nWHEN MATCHED THEN UPDATE SET \"name\" = src.\"name\"\n\
             WHEN NOT MATCHED THEN INSERT (\"id\", \"name\") VALUES (src.\"id\", src.\"name\")"
                .to_string(),
        ]
    );

    // A new column with on_schema_change = append_new_columns: one ALTER before the insert.
    athena
        .proxy
        .set_rules(json!({"probe_columns": [["id", "bigint"], ["amount", "decimal(10,2)"]]}));
    workspace.write_config(&config(
        "select 3 as id, 1.5 as amount",
        "select 2 as id, 'b' as name",
        "  on_schema_change = \"append_new_columns\"\n",
    ));
    let sent = athena.statements_of(|| {
        workspace.apply();
    });
    assert_eq!(
        sent,
        vec![
            "SELECT * FROM (\nselect 3 as id, 1.5 as amount\n) LIMIT 0".to_string(),
            "ALTER TABLE `mart`.`events` ADD COLUMNS (`amount` decimal(10,2))".to_string(),
            "INSERT INTO \"mart\".\"events\" (\"id\", \"amount\")\nSELECT \"id\", \"amount\" FROM (\nselect 3 as id, 1.5 as amount\n)".to_string(),
        ]
    );

    // Destroy: one drop per relation.
    let mut sent = athena.statements_of(|| {
        workspace.destroy();
    });
    sent.sort();
    assert_eq!(
        sent,
        vec![
            "DROP TABLE IF EXISTS `mart`.`customers`".to_string(),
            "DROP TABLE IF EXISTS `mart`.`events`".to_string(),
            "DROP TABLE IF EXISTS `mart`.`sales`".to_string(),
            "DROP VIEW IF EXISTS \"mart\".\"sales_v\"".to_string(),
        ]
    );
    assert!(
        athena.glue_tables().is_empty(),
        "{:?}",
        athena.glue_tables()
    );
}

#[test]
fn throttling_failures_and_commit_conflicts_leave_the_right_table() {
    let athena = Athena::start();
    let workspace = Workspace::new();
    workspace.write_config(&athena.config(&model("orders", "select 1 as id", "")));
    workspace.init();

    // Throttled starts: more than the SDK's own retries absorb; the build still lands once.
    athena.proxy.set_rules(json!({"throttle_starts": 4}));
    let sent = athena.statements_of(|| {
        workspace.apply();
    });
    assert_eq!(sent.len(), 1, "{sent:#?}");
    let throttled = athena
        .proxy
        .events()
        .iter()
        .filter(|e| e["event"] == "throttled")
        .count();
    assert_eq!(throttled, 4);
    let first_location = athena.location("orders");

    // A FAILED rebuild: the error names the model, Athena's message, category and query id;
    // the old table is untouched and no stage table is left.
    athena.proxy.set_rules(json!({"fail": [{
        "contains": "CREATE TABLE",
        "message": "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved",
        "category": 2
    }]}));
    workspace.write_config(&athena.config(&model("orders", "select nope", "")));
    let failed = workspace.try_apply();
    assert_ne!(failed.code, 0, "{failed}");
    let text = failed.combined().replace('\n', " ");
    for expected in [
        "mart.orders",
        "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved",
        "category: USER",
        "query id",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in: {text}");
    }
    assert_eq!(athena.glue_tables(), vec!["orders"]);
    assert_eq!(athena.location("orders"), first_location);

    // ICEBERG_COMMIT_ERROR once: the build re-runs at a fresh location and succeeds.
    athena.proxy.set_rules(json!({"fail": [{
        "contains": "CREATE TABLE",
        "message": "ICEBERG_COMMIT_ERROR: Failed to commit Iceberg update to table",
        "category": 1
    }]}));
    workspace.write_config(&athena.config(&model("orders", "select 2 as id", "")));
    let sent = athena.statements_of(|| {
        workspace.apply();
    });
    let ctas: Vec<&String> = sent
        .iter()
        .filter(|s| s.starts_with("CREATE TABLE"))
        .collect();
    assert_eq!(ctas.len(), 2, "{sent:#?}");
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert_eq!(athena.glue_tables(), vec!["orders"]);
    let locations: Vec<String> = athena
        .proxy
        .events()
        .iter()
        .filter(|e| e["event"] == "fail")
        .map(|e| e["sql"].as_str().unwrap_or_default().to_string())
        .collect();
    let final_location = athena.location("orders");
    assert_ne!(final_location, first_location);
    assert!(
        locations
            .iter()
            .all(|failed_sql| !failed_sql.contains(&final_location)),
        "the retry must write to a fresh location, not {final_location}"
    );
    workspace.assert_plan_empty(&[]);

    // Drift is read from Glue: a table dropped behind Terraform's back is planned again.
    athena
        .aws
        .block_on(
            athena
                .aws
                .glue()
                .delete_table()
                .database_name(DATABASE)
                .name("orders")
                .send(),
        )
        .expect("dropping the table out of band");
    assert_eq!(
        workspace.planned_actions("mdw_iceberg_model.orders"),
        ["create"]
    );
}

fn hangs(proxy: &AthenaProxy) -> Vec<String> {
    proxy
        .events()
        .iter()
        .filter(|e| e["event"] == "hang")
        .map(|e| e["query_id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Waits until the proxy holds a newly hung query; returns its id.
/// `earlier`: how many hangs there were before the command started.
fn wait_for_hang(proxy: &AthenaProxy, child: &mut std::process::Child, earlier: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(id) = hangs(proxy).get(earlier) {
            return id.clone();
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("terraform exited ({status}) before reaching the hung statement");
        }
        assert!(Instant::now() < deadline, "no statement hung within 120 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_stop_cancels_the_query_and_a_killed_run_is_put_right_by_the_next() {
    let athena = Athena::start();
    let workspace = Workspace::new();
    workspace.write_config(&athena.config(&model("orders", "select 1 as id", "")));
    workspace.init();
    workspace.apply();
    let first_location = athena.location("orders");

    // Ctrl-C during a running query: Terraform asks the provider to stop, the provider stops
    // the query in Athena.
    athena
        .proxy
        .set_rules(json!({"hang": [{"contains": "CREATE TABLE"}]}));
    workspace.write_config(&athena.config(&model("orders", "select 2 as id", "")));
    let earlier = hangs(&athena.proxy).len();
    let mut apply = workspace
        .command(&["apply", "-auto-approve", "-input=false", "-no-color"])
        .spawn()
        .unwrap();
    let hung = wait_for_hang(&athena.proxy, &mut apply, earlier);
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(apply.id() as i32, libc::SIGINT) };
    let status = apply.wait().unwrap();
    assert!(!status.success());
    let stopped: Vec<String> = athena
        .proxy
        .events()
        .iter()
        .filter(|e| e["event"] == "stopped")
        .map(|e| e["query_id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(stopped, vec![hung]);
    assert_eq!(athena.location("orders"), first_location);

    // The provider killed right after the CTAS: the stage (and its files) are left, the model
    // is as it was. The next apply drops the stage and builds.
    athena.proxy.set_rules(json!({"hang": []}));
    workspace.write_config(&athena.config(&model("orders", "select 3 as id", "")));
    workspace.arm_fault(Some("athena.build.after_ctas"));
    let killed = workspace.try_apply();
    assert_ne!(killed.code, 0, "{killed}");
    workspace.arm_fault(None);
    let leftovers = athena.glue_tables();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
    assert_eq!(athena.location("orders"), first_location);
    let stage = leftovers
        .iter()
        .find(|t| t.contains("__mdw_tmp_"))
        .unwrap()
        .clone();
    let stage_location = athena.location(&stage);
    let sent = athena.statements_of(|| {
        workspace.apply();
    });
    assert_eq!(
        sent[0], "DROP TABLE IF EXISTS `mart`.`orders__mdw_tmp_<id>`",
        "{sent:#?}"
    );
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert_eq!(athena.glue_tables(), vec!["orders"]);
    assert!(athena.objects_under(&stage_location).is_empty());
    let second_location = athena.location("orders");
    assert_ne!(second_location, first_location);
    workspace.assert_plan_empty(&[]);

    // Killed right after the swap: the model already reads the new table; the stage's entry
    // names the same files, so the next apply only forgets it (no DROP, which would delete
    // the model's data), and removes the files of the table the swap replaced.
    workspace.write_config(&athena.config(&model("orders", "select 4 as id", "")));
    workspace.arm_fault(Some("athena.after_swap"));
    let killed = workspace.try_apply();
    assert_ne!(killed.code, 0, "{killed}");
    workspace.arm_fault(None);
    let swapped_location = athena.location("orders");
    assert_ne!(swapped_location, second_location);
    assert_eq!(athena.glue_tables().len(), 2);
    let sent = athena.statements_of(|| {
        workspace.apply();
    });
    assert!(sent.iter().all(|s| !s.starts_with("DROP")), "{sent:#?}");
    assert_eq!(athena.glue_tables(), vec!["orders"]);
    assert!(athena.objects_under(&second_location).is_empty());
    assert!(athena.objects_under(&swapped_location).is_empty());
    assert!(!athena.objects_under(&athena.location("orders")).is_empty());
    workspace.assert_plan_empty(&[]);
    workspace.destroy();
    assert!(athena.glue_tables().is_empty());
}

#[test]
fn seeds_are_uploaded_read_through_a_csv_table_and_cast() {
    let athena = Athena::start();
    athena
        .aws
        .block_on(
            athena
                .aws
                .s3()
                .create_bucket()
                .bucket("lake")
                .create_bucket_configuration(
                    aws_sdk_s3::types::CreateBucketConfiguration::builder()
                        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
                        .build(),
                )
                .send(),
        )
        .expect("creating the lake bucket");
    athena
        .proxy
        .set_rules(json!({"columns": {"stores": [["store_id", "bigint"], ["city", "varchar"]]}}));
    let workspace = Workspace::new();
    workspace.write_file("stores.csv", "store_id,city\n1,Portland\n2,\n");
    workspace.write_config(&athena.config(
        r#"
resource "mdw_seed" "stores" {
  database       = "mart"
  name           = "stores"
  path           = "stores.csv"
  content_sha256 = filesha256("stores.csv")
}
"#,
    ));
    workspace.init();
    let sent = athena.statements_of(|| {
        workspace.apply();
    });
    assert_eq!(
        sent,
        vec![
            "CREATE EXTERNAL TABLE `mart`.`stores__mdw_csv_<id>` (`store_id` string, `city` string) \
             ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde' WITH SERDEPROPERTIES \
             ('separatorChar' = ',', 'quoteChar' = '\"', 'escapeChar' = '\\\\') LOCATION \
             's3://lake/warehouse/mart/stores__mdw_csv/<id>/' TBLPROPERTIES ('skip.header.line.count' = '1')"
                .to_string(),
            ctas(
                "stores",
                "stores__mdw_tmp_<id>",
                "SELECT CAST(NULLIF(TRIM(\"store_id\"), '') AS bigint) AS \"store_id\", \
                 NULLIF(\"city\", '') AS \"city\" FROM \"mart\".\"stores__mdw_csv_<id>\"",
                ""
            ),
            "DROP TABLE IF EXISTS `mart`.`stores__mdw_csv_<id>`".to_string(),
        ]
    );
    assert_eq!(athena.glue_tables(), vec!["stores"]);
    let left = athena.objects_under("s3://lake/warehouse/mart/stores__mdw_csv");
    assert!(left.is_empty(), "the upload is removed: {left:?}");
    workspace.assert_plan_empty(&[]);
}

#[test]
fn a_missing_workgroup_is_named_with_what_to_do() {
    let athena = Athena::start();
    let workspace = Workspace::new();
    let config = athena
        .config(&model("orders", "select 1 as id", ""))
        .replace(
            &format!("workgroup = \"{WORKGROUP}\""),
            "workgroup = \"nope\"",
        );
    workspace.write_config(&config);
    workspace.init();
    let failed = workspace.try_apply();
    assert_ne!(failed.code, 0, "{failed}");
    let text = failed.combined().replace('\n', " ");
    assert!(
        text.contains("Athena workgroup \"nope\" does not exist")
            && text.contains("mdw_athena_workgroup"),
        "{text}"
    );
    assert!(athena.glue_tables().is_empty());
}

#[test]
fn a_plan_with_nothing_to_change_sends_no_query() {
    let athena = Athena::start();
    let workspace = Workspace::new();
    let resources = format!(
        "{}{}",
        model("orders", "select 1 as id", ""),
        r#"
resource "mdw_data_test" "not_null_orders_id" {
  name     = "not_null_orders_id"
  sql      = "select * from mart.orders where id is null"
  upstream = { "model.orders" = mdw_iceberg_model.orders.build_id }
}
"#
    );
    workspace.write_config(&athena.config(&resources));
    workspace.init();
    let built = athena.statements_of(|| {
        workspace.apply();
    });
    // The build, then the test's verdict query (moto answers it with no rows: a pass).
    assert!(
        built.iter().any(|s| s.contains("as should_error")),
        "{built:#?}"
    );
    // Refresh and plan read Glue and state only: Athena is not asked anything.
    let planned = athena.statements_of(|| {
        workspace.assert_plan_empty(&[]);
        workspace.assert_plan_empty(&["-refresh-only"]);
    });
    assert!(planned.is_empty(), "{planned:#?}");
}
