//! The pipeline as users run it (examples/ci/github-actions.yml), against moto: `infra/bootstrap`
//! creates the remote state; then in `infra/` — mdwc compile leaves the committed models module
//! unchanged, fmt -check, init with the S3 backend and DynamoDB locking, validate, plan -out,
//! apply of the saved plan, an empty second plan, a concurrent apply refused by the lock, destroy.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use mdw_acceptance::{Moto, Workspace, copy_tree, mdwc_binary};

const INFRA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra");

/// What `infra/env/moto.tfvars` says, for this test's moto port.
fn endpoint_vars(moto: &Moto) -> String {
    let services = ["s3", "glue", "athena", "dynamodb", "iam", "sts", "kms"];
    let endpoints: serde_json::Map<String, serde_json::Value> = services
        .iter()
        .map(|s| (s.to_string(), moto.endpoint().into()))
        .collect();
    serde_json::json!({
        "aws_endpoints": endpoints,
        "trusted_principal_arns": ["arn:aws:iam::123456789012:root"],
        "engine": "embedded",
        "enforce_tls": false,
        "force_destroy_buckets": true,
    })
    .to_string()
}

/// What `infra/env/moto.s3.tfbackend` says, for this test's moto port.
fn backend_config(moto: &Moto) -> String {
    let url = moto.endpoint();
    format!(
        "endpoints = {{\n  s3 = \"{url}\"\n  dynamodb = \"{url}\"\n  sts = \"{url}\"\n  iam = \"{url}\"\n}}\n\
         use_path_style = true\nskip_credentials_validation = true\nskip_requesting_account_id = true\n\
         skip_metadata_api_check = true\nskip_region_validation = true\naccess_key = \"moto\"\nsecret_key = \"moto\"\n"
    )
}

/// The embedded engine on Glue + S3 left what Athena reads: Iceberg tables registered in Glue
/// whose metadata and Parquet files are in the warehouse bucket, and views in Athena's format.
fn assert_models_in_glue_and_s3(aws: &mdw_acceptance::Aws) {
    let glue = aws.glue();
    let table = aws
        .block_on(
            glue.get_table()
                .database_name("dwh")
                .name("fct_orders")
                .send(),
        )
        .expect("dwh.fct_orders is registered in Glue");
    let table = table.table().unwrap();
    let parameters = table.parameters().unwrap();
    assert_eq!(
        parameters.get("table_type").map(String::as_str),
        Some("ICEBERG")
    );
    let metadata = parameters
        .get("metadata_location")
        .expect("a metadata location");
    assert!(
        metadata.starts_with("s3://mdw-warehouse/warehouse/dwh/fct_orders/")
            && metadata.ends_with(".metadata.json"),
        "{metadata}"
    );
    let columns: Vec<&str> = table
        .storage_descriptor()
        .unwrap()
        .columns()
        .iter()
        .map(|c| c.name())
        .collect();
    assert!(columns.contains(&"order_id"), "{columns:?}");
    let view = aws
        .block_on(
            glue.get_table()
                .database_name("mdw")
                .name("mart_daily_store_sales")
                .send(),
        )
        .expect("the mart view is registered in Glue");
    let view = view.table().unwrap();
    assert_eq!(view.table_type(), Some("VIRTUAL_VIEW"));
    assert!(
        view.view_original_text()
            .unwrap_or_default()
            .starts_with("/* Presto View: ")
    );

    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let page = aws
            .block_on(
                aws.s3()
                    .list_objects_v2()
                    .bucket("mdw-warehouse")
                    .prefix("warehouse/")
                    .set_continuation_token(token)
                    .send(),
            )
            .expect("listing the warehouse bucket");
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        token = page.next_continuation_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let metadata_key = metadata.trim_start_matches("s3://mdw-warehouse/");
    assert!(
        keys.iter().any(|k| k == metadata_key),
        "{metadata_key} not in {keys:?}"
    );
    assert!(
        keys.iter()
            .any(|k| k.starts_with("warehouse/dwh/fct_orders/") && k.ends_with(".parquet")),
        "no Parquet data for fct_orders in {keys:?}"
    );
}

#[test]
fn bootstrap_then_infra_with_remote_state_and_locking() {
    let moto = Moto::start();
    let aws = moto.aws();

    // 1. bootstrap: the state bucket and lock table, with local state.
    let bootstrap = Workspace::new();
    copy_tree(&Path::new(INFRA).join("bootstrap"), bootstrap.dir(), &[]);
    bootstrap.write_file("moto.auto.tfvars.json", &endpoint_vars(&moto));
    bootstrap.init();
    bootstrap.apply();
    aws.block_on(
        aws.s3()
            .head_bucket()
            .bucket("mdw-terraform-remote-state")
            .send(),
    )
    .expect("the state bucket exists");
    aws.block_on(
        aws.dynamodb()
            .describe_table()
            .table_name("mdw-terraform-locks")
            .send(),
    )
    .expect("the lock table exists");

    // 2. infra with the S3 backend, pointed at moto without editing a file of the repository.
    let infra = Workspace::new();
    copy_tree(Path::new(INFRA), infra.dir(), &["bootstrap", "env"]);
    // The dbt project sits where the models module's relative seed paths expect it.
    let project = infra.dir().parent().unwrap().join("examples/retail");
    copy_tree(
        &Path::new(INFRA).join("../examples/retail"),
        &project,
        &["target"],
    );
    let compiled = std::process::Command::new(mdwc_binary())
        .args(["compile", "--project-dir"])
        .arg(&project)
        .arg("--out")
        .arg(infra.dir().join("modules/models"))
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&compiled.stdout).to_string()
        + &String::from_utf8_lossy(&compiled.stderr);
    assert!(compiled.status.success(), "mdwc compile failed:\n{summary}");
    assert!(
        summary.contains("modules/models: 0 written,") && summary.contains("unchanged, 0 removed"),
        "the committed models module is not current; run mdwc compile:\n{summary}"
    );
    infra.run_ok(&["fmt", "-check", "-recursive", "-no-color"]);
    infra.write_file("moto.s3.tfbackend", &backend_config(&moto));
    infra.write_file("moto.auto.tfvars.json", &endpoint_vars(&moto));
    infra.run_ok(&[
        "init",
        "-input=false",
        "-no-color",
        "-backend-config=moto.s3.tfbackend",
    ]);
    infra.run_ok(&["validate", "-no-color"]);
    let plan = infra.run(&[
        "plan",
        "-input=false",
        "-no-color",
        "-detailed-exitcode",
        "-out=ci.tfplan",
    ]);
    assert_eq!(plan.code, 2, "the first plan has changes:\n{plan}");
    infra.run_ok(&["apply", "-input=false", "-no-color", "ci.tfplan"]);
    let state = aws.block_on(
        aws.s3()
            .get_object()
            .bucket("mdw-terraform-remote-state")
            .key("mdw/infra.tfstate")
            .send(),
    );
    assert!(state.is_ok(), "state is stored in the remote bucket");
    infra.assert_plan_empty(&[]);
    assert_models_in_glue_and_s3(&aws);

    // 3. A second apply while the first holds the lock is refused. The first one (a tag change,
    // so it has something to approve) waits at its approval prompt — holding the lock — until
    // the test answers it.
    let mut first = infra.command(&["apply", "-no-color", "-input=true", "-var", "env=lock-test"]);
    first.stdin(Stdio::piped());
    let mut first = first.spawn().unwrap();
    let stdout = first.stdout.take().unwrap();
    let (prompted_tx, prompted) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("Enter a value")
                || line.contains("Do you want to perform these actions")
            {
                let _ = prompted_tx.send(());
            }
        }
        seen
    });
    prompted
        .recv_timeout(Duration::from_secs(120))
        .expect("the first apply reaches its approval prompt");
    let second = infra.run(&["apply", "-auto-approve", "-no-color", "-lock-timeout=1s"]);
    let mut stdin = first.stdin.take().unwrap();
    let _ = stdin.write_all(b"no\n");
    drop(stdin);
    let _ = first.wait();
    let first_output = reader.join().unwrap();
    assert_ne!(
        second.code, 0,
        "the concurrent apply must fail:\n{second}\nfirst:\n{first_output}"
    );
    assert!(
        second.combined().contains("Error acquiring the state lock"),
        "{second}"
    );

    // 4. destroy leaves nothing behind.
    infra.destroy();
    let tables = aws
        .block_on(aws.glue().get_tables().database_name("dwh").send())
        .map(|out| out.table_list().len())
        .unwrap_or(0);
    assert_eq!(tables, 0, "Glue tables left after destroy");
    let buckets = aws.block_on(aws.s3().list_buckets().send()).unwrap();
    let left: Vec<_> = buckets
        .buckets()
        .iter()
        .filter_map(|b| b.name())
        .filter(|n| *n != "mdw-terraform-remote-state")
        .collect();
    assert!(left.is_empty(), "buckets left after destroy: {left:?}");
}
