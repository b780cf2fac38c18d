//! Acceptance tests for `mdw_lake_bucket`: every hardening is checked through the S3 API, not
//! through the provider's own state.
//!
//! moto applies a bucket policy's `Deny` statements but ignores their `Condition` blocks, so the
//! TLS-only policy (deny when `aws:SecureTransport` is false) denies *every* object request there.
//! Tests that write objects therefore set `enforce_tls = false` and say so; the policy document
//! itself is unit-tested in `s3_hardening.rs`, and its presence is checked here with
//! GetBucketPolicy.

use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, LifecycleRule,
    VersioningConfiguration,
};
use mdw_acceptance::{
    AcceptanceSteps, Aws, Moto, REGION, Workspace, assert_private_owned_versioned, bucket_exists,
    bucket_tags, hcl_string, moto_provider_block, string_map, unique_name, versioning_status,
};
use serde_json::json;

const ADDRESS: &str = "mdw_lake_bucket.test";

#[test]
fn lake_bucket_acceptance_steps() {
    let moto = Moto::start();
    let aws = moto.aws();
    let name = bucket_name("acc");
    let key_arn = create_kms_key(&aws);
    let created = config(&moto, &name, "", &[("team", "data"), ("env", "test")]);
    let shorter = config(
        &moto,
        &name,
        "expiration_days = 7",
        &[("team", "analytics")],
    );
    let with_kms = config(
        &moto,
        &name,
        &format!(
            "expiration_days = 7\n  kms_key_arn = {}",
            hcl_string(&key_arn)
        ),
        &[("team", "analytics")],
    );
    let workspace = Workspace::new();

    AcceptanceSteps::new(&workspace, &aws, ADDRESS, &name, &created)
        .exists(|aws| bucket_exists(aws, &name))
        .delete_out_of_band(|aws| {
            aws.block_on(aws.s3().delete_bucket().bucket(&name).send())
                .unwrap_or_else(|e| panic!("DeleteBucket {name}: {}", DisplayErrorContext(e)));
        })
        .check_attributes(|state| {
            assert_eq!(state["name"], name.as_str());
            assert_eq!(state["purpose"], "query_results");
            assert_eq!(state["expiration_days"], 30, "query_results default");
            assert_eq!(state["noncurrent_version_expiration_days"], 1);
            assert_eq!(state["abort_incomplete_multipart_upload_days"], 7);
            assert_eq!(state["versioning"], true);
            assert_eq!(state["enforce_tls"], true);
            assert_eq!(state["force_destroy"], false);
            assert_eq!(state["block_public_access"], true);
            assert_eq!(state["object_ownership"], "BucketOwnerEnforced");
            assert_eq!(state["sse_algorithm"], "AES256");
            assert_eq!(state["kms_key_arn"], serde_json::Value::Null);
            assert_eq!(state["arn"], format!("arn:aws:s3:::{name}").as_str());
            assert_eq!(state["region"], REGION);
            assert_eq!(state["tags"], json!({ "team": "data", "env": "test" }));
            assert_eq!(state["tags_all"], state["tags"]);
            assert_hardened(&aws, &name);
            assert_eq!(
                lifecycle_days(&aws, &name, "mdw-query_results"),
                (Some(30), Some(1), Some(7))
            );
            assert_eq!(
                bucket_tags(&aws, &name),
                string_map(&[("team", "data"), ("env", "test")])
            );
            assert_eq!(encryption(&aws, &name), ("AES256".to_string(), None));
        })
        .not_importable(&["force_destroy"])
        .update_in_place(&shorter, |aws, state| {
            assert_eq!(state["expiration_days"], 7);
            assert_eq!(state["tags"], json!({ "team": "analytics" }));
            assert_eq!(
                lifecycle_days(aws, &name, "mdw-query_results"),
                (Some(7), Some(1), Some(7))
            );
            assert_eq!(
                bucket_tags(aws, &name),
                string_map(&[("team", "analytics")])
            );
        })
        .update_in_place(&with_kms, |aws, state| {
            assert_eq!(state["sse_algorithm"], "aws:kms");
            assert_eq!(state["kms_key_arn"], key_arn.as_str());
            assert_eq!(
                encryption(aws, &name),
                ("aws:kms".to_string(), Some(key_arn.clone()))
            );
            assert_hardened(aws, &name);
        })
        .run();
}

#[test]
fn drift_in_every_hardening_shows_in_the_plan_and_apply_repairs_it() {
    let moto = Moto::start();
    let aws = moto.aws();
    let name = bucket_name("drift");
    let workspace = Workspace::new();
    workspace.write_config(&config(&moto, &name, "", &[]));
    workspace.init();
    workspace.apply();
    let s3 = aws.s3();

    // Out of band: versioning suspended, public access block deleted, policy deleted,
    // lifecycle deleted, ownership controls deleted.
    aws.block_on(
        s3.put_bucket_versioning()
            .bucket(&name)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Suspended)
                    .build(),
            )
            .send(),
    )
    .expect("PutBucketVersioning");
    aws.block_on(s3.delete_public_access_block().bucket(&name).send())
        .expect("DeletePublicAccessBlock");
    aws.block_on(s3.delete_bucket_policy().bucket(&name).send())
        .expect("DeleteBucketPolicy");
    aws.block_on(s3.delete_bucket_lifecycle().bucket(&name).send())
        .expect("DeleteBucketLifecycle");
    aws.block_on(s3.delete_bucket_ownership_controls().bucket(&name).send())
        .expect("DeleteBucketOwnershipControls");
    assert_eq!(versioning_status(&aws, &name).as_deref(), Some("Suspended"));

    let plan = workspace.plan_exit_code(&[]);
    assert_eq!(plan.code, 2, "drift must show as a change: {plan}");
    for drifted in [
        "versioning",
        "block_public_access",
        "enforce_tls",
        "policy",
        "expiration_days",
        "object_ownership",
    ] {
        assert!(
            plan.stdout.contains(drifted),
            "the plan should show {drifted} changing back: {plan}"
        );
    }
    assert_eq!(workspace.planned_actions(ADDRESS), ["update"]);
    workspace.apply();
    assert_hardened(&aws, &name);
    assert_eq!(
        lifecycle_days(&aws, &name, "mdw-query_results"),
        (Some(30), Some(1), Some(7))
    );
    workspace.assert_plan_empty(&[]);

    // Rules someone else added survive our updates.
    let foreign = LifecycleRule::builder()
        .id("team-rule")
        .status(aws_sdk_s3::types::ExpirationStatus::Enabled)
        .filter(
            aws_sdk_s3::types::LifecycleRuleFilter::builder()
                .prefix("tmp/")
                .build(),
        )
        .expiration(
            aws_sdk_s3::types::LifecycleExpiration::builder()
                .days(3)
                .build(),
        )
        .build()
        .expect("a lifecycle rule");
    let mut rules = lifecycle_rules(&aws, &name);
    rules.push(foreign);
    put_lifecycle(&aws, &name, rules);
    workspace.assert_plan_empty(&[]);
    workspace.write_config(&config(&moto, &name, "expiration_days = 10", &[]));
    workspace.apply();
    let ids: Vec<String> = lifecycle_rules(&aws, &name)
        .iter()
        .filter_map(|r| r.id().map(str::to_string))
        .collect();
    assert!(ids.contains(&"team-rule".to_string()), "{ids:?}");
    assert_eq!(
        lifecycle_days(&aws, &name, "mdw-query_results"),
        (Some(10), Some(1), Some(7))
    );
    workspace.destroy();
    assert!(!bucket_exists(&aws, &name));
}

#[test]
fn a_non_empty_bucket_survives_destroy_unless_force_destroy() {
    let moto = Moto::start();
    let aws = moto.aws();
    let name = bucket_name("full");
    let workspace = Workspace::new();
    // enforce_tls = false: moto ignores the policy's aws:SecureTransport condition and would deny
    // the PutObject/DeleteObject calls below (and force_destroy's DeleteObjects).
    workspace.write_config(&config(&moto, &name, "enforce_tls = false", &[]));
    workspace.init();
    workspace.apply();
    assert_eq!(
        bucket_policy(&aws, &name),
        None,
        "no TLS policy when turned off"
    );
    let s3 = aws.s3();
    for (key, body) in [("a.csv", "1"), ("a.csv", "2"), ("b.csv", "3")] {
        aws.block_on(
            s3.put_object()
                .bucket(&name)
                .key(key)
                .body(ByteStream::from(body.as_bytes().to_vec()))
                .send(),
        )
        .unwrap_or_else(|e| panic!("PutObject {key}: {}", DisplayErrorContext(e)));
    }
    aws.block_on(s3.delete_object().bucket(&name).key("b.csv").send())
        .expect("DeleteObject (a delete marker)");

    let refused = workspace.run(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
    assert_ne!(
        refused.code, 0,
        "destroy of a non-empty bucket must fail: {refused}"
    );
    let output = refused.combined();
    assert!(output.contains("is not empty"), "{refused}");
    assert!(
        output.contains("3 object versions and 1 delete marker"),
        "the error should count what is inside: {refused}"
    );
    assert!(output.contains("force_destroy = true"), "{refused}");
    assert!(bucket_exists(&aws, &name), "the bucket must still exist");
    workspace.assert_plan_empty(&[]);

    workspace.write_config(&config(
        &moto,
        &name,
        "enforce_tls = false\n  force_destroy = true",
        &[],
    ));
    workspace.apply();
    workspace.destroy();
    assert!(
        !bucket_exists(&aws, &name),
        "force_destroy deletes every version and marker"
    );
}

#[test]
fn a_bucket_created_out_of_band_is_not_adopted() {
    let moto = Moto::start();
    let aws = moto.aws();
    let name = bucket_name("taken");
    aws.block_on(
        aws.s3()
            .create_bucket()
            .bucket(&name)
            .create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(REGION))
                    .build(),
            )
            .send(),
    )
    .unwrap_or_else(|e| panic!("CreateBucket {name}: {}", DisplayErrorContext(e)));

    let workspace = Workspace::new();
    workspace.write_config(&config(&moto, &name, "", &[]));
    workspace.init();
    let apply = workspace.try_apply();
    assert_ne!(
        apply.code, 0,
        "apply must not adopt an existing bucket: {apply}"
    );
    let output = apply.combined();
    assert!(output.contains("already exists in your account"), "{apply}");
    assert!(
        output.contains(&format!(
            "terraform import mdw_lake_bucket.<resource name> {name}"
        )),
        "the error should tell the user to import it: {apply}"
    );
    assert!(
        bucket_policy(&aws, &name).is_none(),
        "the existing bucket is left untouched"
    );
    // Import takes it over; the next apply hardens it.
    workspace.import(ADDRESS, &name);
    assert_eq!(workspace.planned_actions(ADDRESS), ["update"]);
    workspace.apply();
    assert_hardened(&aws, &name);
}

#[test]
fn invalid_name_fails_at_plan_on_the_name_attribute() {
    let moto = Moto::start();
    let aws = moto.aws();
    let workspace = Workspace::new();
    workspace.write_config(&config(&moto, "Bad_Bucket", "", &[]));
    workspace.init();
    let (code, diagnostics) = workspace.plan_diagnostics();
    assert_eq!(code, 1, "plan must fail: {diagnostics:#?}");
    let on_name = diagnostics.iter().find(|d| {
        d["severity"] == "error"
            && d["snippet"]["code"]
                .as_str()
                .is_some_and(|code| code.trim_start().starts_with("name"))
    });
    let on_name =
        on_name.unwrap_or_else(|| panic!("expected an error on `name`: {diagnostics:#?}"));
    assert!(
        on_name["detail"]
            .as_str()
            .is_some_and(|d| d.contains("\"bad-bucket\"")),
        "the error suggests a valid name: {on_name:#}"
    );
    // moto accepts any bucket name: only the provider's validation stands in the way.
    assert!(!bucket_exists(&aws, "Bad_Bucket"));
}

#[test]
fn a_missing_kms_key_fails_at_plan_on_kms_key_arn() {
    let moto = Moto::start();
    let aws = moto.aws();
    let name = bucket_name("nokey");
    let missing =
        format!("arn:aws:kms:{REGION}:123456789012:key/00000000-0000-4000-8000-000000000000");
    let workspace = Workspace::new();
    workspace.write_config(&config(
        &moto,
        &name,
        &format!("kms_key_arn = {}", hcl_string(&missing)),
        &[],
    ));
    workspace.init();
    let (code, diagnostics) = workspace.plan_diagnostics();
    assert_eq!(code, 1, "plan must fail: {diagnostics:#?}");
    let on_key = diagnostics.iter().any(|d| {
        d["severity"] == "error"
            && d["summary"]
                .as_str()
                .is_some_and(|s| s.contains("not found"))
            && d["snippet"]["code"]
                .as_str()
                .is_some_and(|code| code.trim_start().starts_with("kms_key_arn"))
    });
    assert!(
        on_key,
        "expected a not-found error on kms_key_arn: {diagnostics:#?}"
    );
    assert!(!bucket_exists(&aws, &name), "plan must not create anything");
}

#[test]
fn access_logs_go_to_a_logs_bucket_that_admits_only_log_delivery() {
    let moto = Moto::start();
    let aws = moto.aws();
    let logs = bucket_name("logs");
    let data = bucket_name("data");
    let workspace = Workspace::new();
    // The logs bucket keeps its TLS-only policy here: the log delivery Allow comes first in it,
    // because moto's logging check reads statements in order and fails on a string Principal.
    workspace.write_config(&logging_config(&moto, &logs, &data, ""));
    workspace.init();
    workspace.apply();
    let logging = aws
        .block_on(aws.s3().get_bucket_logging().bucket(&data).send())
        .expect("GetBucketLogging")
        .logging_enabled
        .expect("logging is enabled");
    assert_eq!(logging.target_bucket, logs);
    assert_eq!(logging.target_prefix, format!("{data}/"), "default prefix");
    let policy: serde_json::Value =
        serde_json::from_str(&bucket_policy(&aws, &logs).expect("the logs bucket has a policy"))
            .expect("policy JSON");
    let allows: Vec<&serde_json::Value> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .collect();
    assert_eq!(allows.len(), 1, "only log delivery is allowed: {policy:#}");
    assert_eq!(
        allows[0]["Principal"],
        json!({ "Service": "logging.s3.amazonaws.com" })
    );
    assert_eq!(
        allows[0]["Condition"]["StringEquals"]["aws:SourceAccount"],
        mdw_acceptance::ACCOUNT_ID
    );
    assert_eq!(
        lifecycle_days(&aws, &logs, "mdw-logs"),
        (Some(365), Some(30), Some(7))
    );
    assert_eq!(
        lifecycle_days(&aws, &data, "mdw-raw"),
        (None, Some(90), Some(7)),
        "raw data never expires"
    );
    workspace.assert_plan_empty(&[]);

    // State written under schema version 0, where `logging` was an object with the default
    // prefix planned into it, upgrades to a plan without changes.
    let state_path = workspace.dir().join("terraform.tfstate");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).expect("state file"))
            .expect("state JSON");
    let mut downgraded = 0;
    for resource in state["resources"].as_array_mut().expect("resources") {
        for instance in resource["instances"].as_array_mut().expect("instances") {
            if instance["attributes"]["name"] == data.as_str() {
                instance["schema_version"] = json!(0);
                instance["attributes"]["logging"]["target_prefix"] = json!(format!("{data}/"));
                downgraded += 1;
            }
        }
    }
    assert_eq!(downgraded, 1, "{state:#}");
    std::fs::write(&state_path, state.to_string()).expect("writing the state");
    workspace.assert_plan_empty(&[]);

    // Logging turned off out of band shows up and comes back.
    aws.block_on(
        aws.s3()
            .put_bucket_logging()
            .bucket(&data)
            .bucket_logging_status(aws_sdk_s3::types::BucketLoggingStatus::builder().build())
            .send(),
    )
    .expect("PutBucketLogging (off)");
    assert_eq!(workspace.planned_actions(ADDRESS), ["update"]);
    workspace.apply();
    workspace.assert_plan_empty(&[]);

    // moto delivers access logs for real: the policy admitted them.
    let delivered = aws
        .block_on(
            aws.s3()
                .list_objects_v2()
                .bucket(&logs)
                .prefix(format!("{data}/"))
                .send(),
        )
        .expect("ListObjectsV2 of the logs bucket")
        .key_count
        .unwrap_or_default();
    assert!(delivered > 0, "access logs were delivered");

    // The logs bucket holds logs now, so destroying it needs force_destroy; and its objects can
    // only be deleted in moto without the TLS-only policy (moto ignores the condition and denies
    // DeleteObjects).
    workspace.write_config(&logging_config(
        &moto,
        &logs,
        &data,
        "enforce_tls   = false\n  force_destroy = true",
    ));
    workspace.apply();
    workspace.destroy();
    assert!(!bucket_exists(&aws, &data) && !bucket_exists(&aws, &logs));
}

fn logging_config(moto: &Moto, logs: &str, data: &str, logs_extra: &str) -> String {
    format!(
        r#"{provider}
resource "mdw_lake_bucket" "logs" {{
  name    = {logs}
  purpose = "logs"
  {logs_extra}
}}

resource "mdw_lake_bucket" "test" {{
  name    = {data}
  purpose = "raw"
  logging = {{
    target_bucket = mdw_lake_bucket.logs.name
  }}
}}
"#,
        provider = moto_provider_block(moto),
        logs = hcl_string(logs),
        data = hcl_string(data),
    )
}

// ---- helpers --------------------------------------------------------------------------------

/// `unique_name` spelled as a bucket name (no `_`).
fn bucket_name(prefix: &str) -> String {
    unique_name(&format!("mdw-{prefix}")).replace('_', "-")
}

fn config(moto: &Moto, name: &str, extra: &str, tags: &[(&str, &str)]) -> String {
    let tags = if tags.is_empty() {
        String::new()
    } else {
        let pairs: String = tags
            .iter()
            .map(|(key, value)| format!("    {key} = {}\n", hcl_string(value)))
            .collect();
        format!("  tags = {{\n{pairs}  }}\n")
    };
    format!(
        r#"{provider}
resource "mdw_lake_bucket" "test" {{
  name    = {name}
  purpose = "query_results"
  {extra}
{tags}}}
"#,
        provider = moto_provider_block(moto),
        name = hcl_string(name),
    )
}

fn create_kms_key(aws: &Aws) -> String {
    aws.block_on(
        aws.kms()
            .create_key()
            .description("mdw lake bucket test")
            .send(),
    )
    .unwrap_or_else(|e| panic!("CreateKey: {}", DisplayErrorContext(e)))
    .key_metadata
    .and_then(|k| k.arn)
    .expect("CreateKey returns the key's ARN")
}

/// Every hardening that is on by default, asked from S3 itself.
fn assert_hardened(aws: &Aws, name: &str) {
    assert_private_owned_versioned(aws, name);
    let (algorithm, _) = encryption(aws, name);
    assert!(
        algorithm == "AES256" || algorithm == "aws:kms",
        "default encryption is on: {algorithm}"
    );
    let policy: serde_json::Value =
        serde_json::from_str(&bucket_policy(aws, name).expect("the TLS-only policy is attached"))
            .expect("policy JSON");
    let statements = policy["Statement"].as_array().expect("statements");
    let denies_plain_http = statements.iter().any(|s| {
        s["Effect"] == "Deny"
            && s["Principal"] == "*"
            && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
            && s["Resource"]
                == json!([
                    format!("arn:aws:s3:::{name}"),
                    format!("arn:aws:s3:::{name}/*")
                ])
    });
    assert!(denies_plain_http, "TLS-only statement: {policy:#}");
    assert!(
        statements.iter().all(|s| s["Effect"] == "Deny"),
        "nothing is allowed to anyone: {policy:#}"
    );
}

fn encryption(aws: &Aws, name: &str) -> (String, Option<String>) {
    let out = aws
        .block_on(aws.s3().get_bucket_encryption().bucket(name).send())
        .unwrap_or_else(|e| panic!("GetBucketEncryption {name}: {}", DisplayErrorContext(e)));
    let rule = out
        .server_side_encryption_configuration
        .expect("an encryption configuration")
        .rules
        .into_iter()
        .next()
        .expect("an encryption rule");
    let default = rule
        .apply_server_side_encryption_by_default
        .expect("default encryption");
    (
        default.sse_algorithm.as_str().to_string(),
        default.kms_master_key_id,
    )
}

fn bucket_policy(aws: &Aws, name: &str) -> Option<String> {
    match aws.block_on(aws.s3().get_bucket_policy().bucket(name).send()) {
        Ok(out) => out.policy,
        Err(e)
            if aws_sdk_s3::error::ProvideErrorMetadata::code(&e) == Some("NoSuchBucketPolicy") =>
        {
            None
        }
        Err(e) => panic!("GetBucketPolicy {name}: {}", DisplayErrorContext(e)),
    }
}

fn lifecycle_rules(aws: &Aws, name: &str) -> Vec<LifecycleRule> {
    match aws.block_on(
        aws.s3()
            .get_bucket_lifecycle_configuration()
            .bucket(name)
            .send(),
    ) {
        Ok(out) => out.rules.unwrap_or_default(),
        Err(e)
            if aws_sdk_s3::error::ProvideErrorMetadata::code(&e)
                == Some("NoSuchLifecycleConfiguration") =>
        {
            Vec::new()
        }
        Err(e) => panic!(
            "GetBucketLifecycleConfiguration {name}: {}",
            DisplayErrorContext(e)
        ),
    }
}

fn put_lifecycle(aws: &Aws, name: &str, rules: Vec<LifecycleRule>) {
    let configuration = aws_sdk_s3::types::BucketLifecycleConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .expect("a lifecycle configuration");
    aws.block_on(
        aws.s3()
            .put_bucket_lifecycle_configuration()
            .bucket(name)
            .lifecycle_configuration(configuration)
            .send(),
    )
    .unwrap_or_else(|e| {
        panic!(
            "PutBucketLifecycleConfiguration {name}: {}",
            DisplayErrorContext(e)
        )
    });
}

/// (expiration days, noncurrent version expiration days, abort multipart days) of rule `id`.
fn lifecycle_days(aws: &Aws, name: &str, id: &str) -> (Option<i32>, Option<i32>, Option<i32>) {
    let rules = lifecycle_rules(aws, name);
    let rule = rules
        .iter()
        .find(|r| r.id() == Some(id))
        .unwrap_or_else(|| panic!("no lifecycle rule {id} on {name}: {rules:#?}"));
    (
        rule.expiration().and_then(|e| e.days()),
        rule.noncurrent_version_expiration()
            .and_then(|n| n.noncurrent_days()),
        rule.abort_incomplete_multipart_upload()
            .and_then(|a| a.days_after_initiation()),
    )
}
