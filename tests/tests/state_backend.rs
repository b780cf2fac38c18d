//! Acceptance tests for `mdw_state_backend`: the bucket's hardening and the lock table are
//! checked through the S3 and DynamoDB APIs, and the outputs drive a real `backend "s3"`.
//!
//! moto applies a bucket policy's `Deny` statements but ignores their `Condition` blocks, so the
//! TLS-only policy denies every object request there — including Terraform's own state writes.
//! Tests that write objects set `enforce_tls = false` and say so; the policy document is
//! unit-tested in `s3_hardening.rs`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    PointInTimeRecoveryStatus, ScalarAttributeType, SseStatus,
};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use mdw_acceptance::{
    AcceptanceSteps, Aws, Moto, REGION, Workspace, assert_private_owned_versioned, bucket_exists,
    bucket_tags, hcl_string, moto_provider_block, string_map, unique_name,
};
use serde_json::json;

const ADDRESS: &str = "mdw_state_backend.test";

#[test]
fn state_backend_acceptance_steps() {
    let moto = Moto::start();
    let aws = moto.aws();
    let bucket = bucket_name("state");
    let table = unique_name("mdw-locks");
    let created = config(&moto, &bucket, Some(&table), "", &[("team", "platform")]);
    let updated = config(
        &moto,
        &bucket,
        Some(&table),
        "noncurrent_version_expiration_days = 30",
        &[("team", "data")],
    );
    let workspace = Workspace::new();

    AcceptanceSteps::new(
        &workspace,
        &aws,
        ADDRESS,
        &format!("{bucket},{table}"),
        &created,
    )
    .exists(|aws| bucket_exists(aws, &bucket) && table_exists(aws, &table))
    .delete_out_of_band(|aws| {
        aws.block_on(aws.s3().delete_bucket().bucket(&bucket).send())
            .unwrap_or_else(|e| panic!("DeleteBucket {bucket}: {}", DisplayErrorContext(e)));
        aws.block_on(aws.dynamodb().delete_table().table_name(&table).send())
            .unwrap_or_else(|e| panic!("DeleteTable {table}: {}", DisplayErrorContext(e)));
    })
    .check_attributes(|state| {
        assert_eq!(state["name"], bucket.as_str());
        assert_eq!(state["lock_table"], table.as_str());
        assert_eq!(state["versioning"], true);
        assert_eq!(state["noncurrent_version_expiration_days"], 90);
        assert_eq!(state["block_public_access"], true);
        assert_eq!(state["object_ownership"], "BucketOwnerEnforced");
        assert_eq!(state["sse_algorithm"], "AES256");
        assert_eq!(state["lock_table_point_in_time_recovery"], true);
        assert!(
            state["lock_table_arn"]
                .as_str()
                .is_some_and(|arn| arn.ends_with(&format!(":table/{table}"))),
            "{state:#}"
        );
        assert_eq!(state["bucket"], bucket.as_str());
        assert_eq!(state["region"], REGION);
        assert_eq!(state["dynamodb_table"], table.as_str());
        assert_eq!(state["encrypt"], true);
        assert_eq!(state["kms_key_id"], serde_json::Value::Null);
        assert_eq!(
            state["backend_config"],
            json!({
                "bucket": bucket,
                "region": REGION,
                "encrypt": "true",
                "dynamodb_table": table,
            })
        );
        assert_bucket_hardened(&aws, &bucket, 90);
        assert_lock_table_hardened(&aws, &table);
        assert_eq!(
            bucket_tags(&aws, &bucket),
            string_map(&[("team", "platform")])
        );
    })
    .not_importable(&["force_destroy"])
    .update_in_place(&updated, |aws, state| {
        assert_eq!(state["noncurrent_version_expiration_days"], 30);
        assert_bucket_hardened(aws, &bucket, 30);
        assert_eq!(bucket_tags(aws, &bucket), string_map(&[("team", "data")]));
        assert_eq!(table_tags(aws, &table), string_map(&[("team", "data")]));
    })
    .run();
}

#[test]
fn drift_of_versioning_public_access_and_the_lock_table_is_repaired() {
    let moto = Moto::start();
    let aws = moto.aws();
    let bucket = bucket_name("drift");
    let table = unique_name("mdw-locks");
    let workspace = Workspace::new();
    workspace.write_config(&config(&moto, &bucket, Some(&table), "", &[]));
    workspace.init();
    workspace.apply();

    let s3 = aws.s3();
    aws.block_on(
        s3.put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Suspended)
                    .build(),
            )
            .send(),
    )
    .expect("PutBucketVersioning");
    aws.block_on(s3.delete_public_access_block().bucket(&bucket).send())
        .expect("DeletePublicAccessBlock");
    aws.block_on(
        aws.dynamodb()
            .update_continuous_backups()
            .table_name(&table)
            .point_in_time_recovery_specification(
                PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(false)
                    .build()
                    .expect("a PITR specification"),
            )
            .send(),
    )
    .expect("UpdateContinuousBackups (off)");

    let plan = workspace.plan_exit_code(&[]);
    assert_eq!(plan.code, 2, "drift must show as a change: {plan}");
    for drifted in [
        "versioning",
        "block_public_access",
        "lock_table_point_in_time_recovery",
    ] {
        assert!(
            plan.stdout.contains(drifted),
            "{drifted} should change back: {plan}"
        );
    }
    assert_eq!(workspace.planned_actions(ADDRESS), ["update"]);
    workspace.apply();
    assert_bucket_hardened(&aws, &bucket, 90);
    assert_lock_table_hardened(&aws, &table);
    workspace.assert_plan_empty(&[]);

    // Only the lock table deleted: an update creates it again, the bucket stays.
    aws.block_on(aws.dynamodb().delete_table().table_name(&table).send())
        .expect("DeleteTable");
    assert_eq!(workspace.planned_actions(ADDRESS), ["update"]);
    workspace.apply();
    assert_lock_table_hardened(&aws, &table);
    workspace.assert_plan_empty(&[]);

    // Dropping the lock table (S3-native locking instead) deletes it in place.
    workspace.write_config(&config(&moto, &bucket, None, "", &[]));
    assert_eq!(workspace.planned_actions(ADDRESS), ["update"]);
    workspace.apply();
    assert!(!table_exists(&aws, &table));
    let state = workspace.state_resource(ADDRESS);
    assert_eq!(state["backend_config"]["use_lockfile"], "true");
    assert_eq!(state["dynamodb_table"], serde_json::Value::Null);
    workspace.destroy();
    assert!(!bucket_exists(&aws, &bucket));
}

#[test]
fn outputs_configure_a_working_s3_backend_and_state_is_kept_on_destroy() {
    let moto = Moto::start();
    let aws = moto.aws();
    let bucket = bucket_name("backend");
    let table = unique_name("mdw-locks");
    let bootstrap = Workspace::new();
    // enforce_tls = false: moto ignores the policy's aws:SecureTransport condition and would deny
    // Terraform's state writes over its plain-HTTP endpoint.
    bootstrap.write_config(&format!(
        "{}\noutput \"backend_config\" {{\n  value = mdw_state_backend.test.backend_config\n}}\n",
        config(&moto, &bucket, Some(&table), "enforce_tls = false", &[])
    ));
    bootstrap.init();
    bootstrap.apply();
    let outputs = bootstrap.run_ok(&["output", "-json", "backend_config"]);
    let backend: HashMap<String, String> =
        serde_json::from_str(&outputs.stdout).expect("backend_config output as JSON");

    // A root module using the backend, configured only from the outputs (+ moto's endpoints).
    let root = Workspace::new();
    let settings: String = backend
        .iter()
        .map(|(key, value)| {
            let value = if value == "true" {
                value.clone()
            } else {
                hcl_string(value)
            };
            format!("    {key} = {value}\n")
        })
        .collect();
    let endpoint = hcl_string(&moto.endpoint());
    root.write_config(&format!(
        r#"terraform {{
  backend "s3" {{
{settings}    key                         = "warehouse/terraform.tfstate"
    access_key                  = "testing"
    secret_key                  = "testing"
    use_path_style              = true
    skip_credentials_validation = true
    skip_requesting_account_id  = true
    skip_metadata_api_check     = true
    skip_region_validation      = true
    endpoints = {{
      s3       = {endpoint}
      dynamodb = {endpoint}
      sts      = {endpoint}
      iam      = {endpoint}
    }}
  }}
}}

resource "terraform_data" "marker" {{
  input = "stored remotely"
}}
"#
    ));
    root.init();
    root.apply();
    let state = aws
        .block_on(
            aws.s3()
                .get_object()
                .bucket(&bucket)
                .key("warehouse/terraform.tfstate")
                .send(),
        )
        .unwrap_or_else(|e| panic!("GetObject of the state: {}", DisplayErrorContext(e)));
    let body = aws
        .block_on(state.body.collect())
        .expect("reading the state object")
        .into_bytes();
    assert!(
        String::from_utf8_lossy(&body).contains("stored remotely"),
        "the state lives in the bucket"
    );
    // Terraform keeps the state's digest next to the lock in the DynamoDB table.
    let items = aws
        .block_on(aws.dynamodb().scan().table_name(&table).send())
        .expect("Scan of the lock table");
    assert!(items.count > 0, "the backend used the lock table");

    // The bucket holds state now: destroying the backend refuses and keeps everything.
    let refused = bootstrap.run(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
    assert_ne!(refused.code, 0, "{refused}");
    assert!(refused.combined().contains("is not empty"), "{refused}");
    assert!(bucket_exists(&aws, &bucket) && table_exists(&aws, &table));

    // force_destroy empties every version, then the table and bucket go.
    bootstrap.write_config(&config(
        &moto,
        &bucket,
        Some(&table),
        "enforce_tls = false\n  force_destroy = true",
        &[],
    ));
    bootstrap.apply();
    aws.block_on(
        aws.s3()
            .put_object()
            .bucket(&bucket)
            .key("warehouse/terraform.tfstate")
            .body(ByteStream::from_static(b"{}"))
            .send(),
    )
    .expect("PutObject (a second version)");
    bootstrap.destroy();
    assert!(!bucket_exists(&aws, &bucket));
    assert!(!table_exists(&aws, &table));
}

#[test]
fn existing_bucket_or_table_is_not_adopted() {
    let moto = Moto::start();
    let aws = moto.aws();
    let bucket = bucket_name("exists");
    let table = unique_name("mdw-locks");
    aws.block_on(
        aws.dynamodb()
            .create_table()
            .table_name(&table)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("LockID")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("an attribute definition"),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("LockID")
                    .key_type(KeyType::Hash)
                    .build()
                    .expect("a key schema"),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send(),
    )
    .unwrap_or_else(|e| panic!("CreateTable {table}: {}", DisplayErrorContext(e)));

    let workspace = Workspace::new();
    workspace.write_config(&config(&moto, &bucket, Some(&table), "", &[]));
    workspace.init();
    let apply = workspace.try_apply();
    assert_ne!(apply.code, 0, "{apply}");
    assert!(
        apply
            .combined()
            .contains(&format!("DynamoDB Table ({table}) already exists")),
        "{apply}"
    );
    assert!(apply.combined().contains("terraform import"), "{apply}");
    assert!(
        !bucket_exists(&aws, &bucket),
        "nothing is created when the table is taken"
    );

    let invalid = Workspace::new();
    invalid.write_config(&config(&moto, "Bad_State", Some("locks table"), "", &[]));
    invalid.init();
    let (code, diagnostics) = invalid.plan_diagnostics();
    assert_eq!(code, 1, "{diagnostics:#?}");
    for attribute in ["name", "lock_table"] {
        assert!(
            diagnostics.iter().any(|d| d["snippet"]["code"]
                .as_str()
                .is_some_and(|c| c.trim_start().starts_with(attribute))),
            "expected an error on {attribute}: {diagnostics:#?}"
        );
    }
}

// ---- helpers --------------------------------------------------------------------------------

fn bucket_name(prefix: &str) -> String {
    unique_name(&format!("mdw-{prefix}")).replace('_', "-")
}

fn config(
    moto: &Moto,
    bucket: &str,
    lock_table: Option<&str>,
    extra: &str,
    tags: &[(&str, &str)],
) -> String {
    let lock_table = lock_table
        .map(|t| format!("  lock_table = {}\n", hcl_string(t)))
        .unwrap_or_default();
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
resource "mdw_state_backend" "test" {{
  name = {bucket}
{lock_table}  {extra}
{tags}}}
"#,
        provider = moto_provider_block(moto),
        bucket = hcl_string(bucket),
    )
}

fn table_exists(aws: &Aws, name: &str) -> bool {
    match aws.block_on(aws.dynamodb().describe_table().table_name(name).send()) {
        Ok(_) => true,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            false
        }
        Err(e) => panic!("DescribeTable {name}: {}", DisplayErrorContext(e)),
    }
}

/// The state bucket's hardening, asked from S3 itself.
fn assert_bucket_hardened(aws: &Aws, name: &str, noncurrent_days: i32) {
    let s3 = aws.s3();
    assert_private_owned_versioned(aws, name);
    let encryption = aws
        .block_on(s3.get_bucket_encryption().bucket(name).send())
        .unwrap_or_else(|e| panic!("GetBucketEncryption {name}: {}", DisplayErrorContext(e)))
        .server_side_encryption_configuration
        .expect("an encryption configuration");
    let default = encryption.rules()[0]
        .apply_server_side_encryption_by_default()
        .expect("default encryption");
    assert_eq!(default.sse_algorithm().as_str(), "AES256");
    let lifecycle = aws
        .block_on(s3.get_bucket_lifecycle_configuration().bucket(name).send())
        .unwrap_or_else(|e| {
            panic!(
                "GetBucketLifecycleConfiguration {name}: {}",
                DisplayErrorContext(e)
            )
        });
    let rule = lifecycle
        .rules()
        .iter()
        .find(|r| r.id() == Some("mdw-terraform-state"))
        .expect("the state lifecycle rule");
    assert_eq!(
        rule.expiration().and_then(|e| e.days()),
        None,
        "current state never expires"
    );
    assert_eq!(
        rule.noncurrent_version_expiration()
            .and_then(|n| n.noncurrent_days()),
        Some(noncurrent_days)
    );
    assert_eq!(
        rule.abort_incomplete_multipart_upload()
            .and_then(|a| a.days_after_initiation()),
        Some(7)
    );
    let policy: serde_json::Value = serde_json::from_str(
        &aws.block_on(s3.get_bucket_policy().bucket(name).send())
            .unwrap_or_else(|e| panic!("GetBucketPolicy {name}: {}", DisplayErrorContext(e)))
            .policy
            .expect("a policy"),
    )
    .expect("policy JSON");
    assert!(
        policy["Statement"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| {
                s["Effect"] == "Deny" && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
            })),
        "TLS-only policy: {policy:#}"
    );
}

/// The lock table as Terraform's S3 backend needs it, and hardened, asked from DynamoDB.
fn assert_lock_table_hardened(aws: &Aws, name: &str) {
    let table = aws
        .block_on(aws.dynamodb().describe_table().table_name(name).send())
        .unwrap_or_else(|e| panic!("DescribeTable {name}: {}", DisplayErrorContext(e)))
        .table
        .expect("a table description");
    let key = &table.key_schema()[0];
    assert_eq!(
        (key.attribute_name(), key.key_type()),
        ("LockID", &KeyType::Hash)
    );
    assert_eq!(
        table.attribute_definitions()[0].attribute_type(),
        &ScalarAttributeType::S
    );
    assert_eq!(
        table.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );
    assert_eq!(
        table.sse_description().and_then(|s| s.status()),
        Some(&SseStatus::Enabled),
        "server-side encryption with KMS"
    );
    let backups = aws
        .block_on(
            aws.dynamodb()
                .describe_continuous_backups()
                .table_name(name)
                .send(),
        )
        .unwrap_or_else(|e| {
            panic!(
                "DescribeContinuousBackups {name}: {}",
                DisplayErrorContext(e)
            )
        });
    assert_eq!(
        backups
            .continuous_backups_description()
            .and_then(|d| d.point_in_time_recovery_description())
            .and_then(|p| p.point_in_time_recovery_status()),
        Some(&PointInTimeRecoveryStatus::Enabled)
    );
}

fn table_tags(aws: &Aws, name: &str) -> HashMap<String, String> {
    let arn = aws
        .block_on(aws.dynamodb().describe_table().table_name(name).send())
        .expect("DescribeTable")
        .table
        .and_then(|t| t.table_arn)
        .expect("the table's ARN");
    aws.block_on(
        aws.dynamodb()
            .list_tags_of_resource()
            .resource_arn(arn)
            .send(),
    )
    .expect("ListTagsOfResource")
    .tags
    .unwrap_or_default()
    .into_iter()
    .map(|t| (t.key, t.value))
    .collect()
}
