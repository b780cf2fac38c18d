//! The principals' policies: each principal's full policy as a snapshot (`snapshots/`, review
//! changes with `cargo insta review`), and the rules every policy keeps.

use crate::aws::s3_location::S3Url;
use crate::iam::airbyte_ec2::{AirbyteEc2, AirbyteEc2Inputs};
use crate::iam::dbt_runner::{DbtRunner, DbtRunnerInputs};
use crate::iam::policy::grants::{camel_case, list_buckets};
use crate::iam::policy::{
    ParsedPolicy, Policy, ROLE_INLINE_POLICY_LIMIT, Scope, Trust, equivalent,
};
use crate::iam::principal::Principal;
use crate::iam::terraform_operator::{TerraformOperator, TerraformOperatorInputs};

/// `inputs.policy(scope)` for every principal's inputs.
trait PolicyOf {
    fn policy(&self, scope: &Scope) -> Policy;
}

impl PolicyOf for DbtRunnerInputs {
    fn policy(&self, scope: &Scope) -> Policy {
        DbtRunner::policy(self, scope)
    }
}

impl PolicyOf for AirbyteEc2Inputs {
    fn policy(&self, scope: &Scope) -> Policy {
        AirbyteEc2::policy(self, scope)
    }
}

impl PolicyOf for TerraformOperatorInputs {
    fn policy(&self, scope: &Scope) -> Policy {
        TerraformOperator::policy(self, scope)
    }
}

fn recover_inputs<P: Principal>(json: &str) -> Option<P::Inputs> {
    ParsedPolicy::parse(json).and_then(|p| P::recover(&p))
}

fn scope() -> Scope {
    Scope {
        partition: "aws".into(),
        region: "us-west-2".into(),
        account_id: "123456789012".into(),
    }
}

fn url(s: &str) -> S3Url {
    S3Url::parse(s).unwrap()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn runner() -> DbtRunnerInputs {
    DbtRunnerInputs {
        workgroup: "mdw".into(),
        results_location: url("s3://mdw-work-zone/results/"),
        warehouse_location: url("s3://mdw-warehouse/"),
        source_locations: vec![url("s3://mdw-work-zone/raw/airbyte/")],
        databases: strings(&["mdw", "iceberg"]),
        source_databases: strings(&["raw"]),
        kms_key_arns: strings(&["arn:aws:kms:us-west-2:123456789012:key/k1"]),
    }
}

#[test]
fn dbt_runner_gets_one_workgroup_its_databases_and_exactly_its_prefixes() {
    insta::assert_snapshot!(DbtRunner::policy(&runner(), &scope()).to_json());
}

#[test]
fn optional_inputs_leave_their_statements_out() {
    let minimal = DbtRunnerInputs {
        source_locations: vec![],
        source_databases: vec![],
        kms_key_arns: vec![],
        ..runner()
    };
    let sids: Vec<String> = minimal
        .policy(&scope())
        .statements
        .into_iter()
        .map(|s| s.sid)
        .collect();
    assert_eq!(
        sids,
        strings(&[
            "AthenaWorkgroup",
            "AthenaDataCatalog",
            "GlueListDatabases",
            "GlueDefaultDatabase",
            "GlueReadWrite",
            "QueryResultsReadWrite",
            "WarehouseReadWrite",
            "BucketLocation",
            "ListMdwWarehouse",
            "ListMdwWorkZone",
        ])
    );
}

#[test]
fn airbyte_writes_the_raw_prefix_and_updates_its_database_if_asked() {
    let airbyte = AirbyteEc2Inputs {
        raw_location: url("s3://mdw-raw/airbyte/"),
        raw_database: Some("raw".into()),
        kms_key_arns: vec![],
    };
    insta::assert_snapshot!(AirbyteEc2::policy(&airbyte, &scope()).to_json());
    let without_glue = AirbyteEc2Inputs {
        raw_database: None,
        ..airbyte
    };
    assert!(
        without_glue
            .policy(&scope())
            .statement("GlueRawDatabase")
            .is_none()
    );
}

fn operator() -> TerraformOperatorInputs {
    TerraformOperatorInputs {
        state_bucket: "mdw-terraform-remote-state".into(),
        state_key: "mdw/terraform.tfstate".into(),
        lock_table: Some("mdw-terraform-locks".into()),
        lake_buckets: strings(&["mdw-work-zone", "mdw-warehouse"]),
        workgroups: strings(&["mdw"]),
        databases: strings(&["mdw"]),
        results_location: Some(url("s3://mdw-work-zone/results/")),
        warehouse_location: Some(url("s3://mdw-warehouse/")),
        source_locations: vec![url("s3://mdw-raw/airbyte/")],
        source_databases: strings(&["raw"]),
        iam_role_name_prefix: Some("mdw-".into()),
        kms_key_arns: vec![],
    }
}

#[test]
fn terraform_operator_gets_the_backend_and_manages_the_warehouse() {
    insta::assert_snapshot!(TerraformOperator::policy(&operator(), &scope()).to_json());
}

#[test]
fn a_bare_operator_only_touches_the_state_backend() {
    let bare = TerraformOperatorInputs {
        state_bucket: "state-bucket".into(),
        state_key: "terraform.tfstate".into(),
        lock_table: None,
        lake_buckets: vec![],
        workgroups: vec![],
        databases: vec![],
        results_location: None,
        warehouse_location: None,
        source_locations: vec![],
        source_databases: vec![],
        iam_role_name_prefix: None,
        kms_key_arns: vec![],
    };
    let sids: Vec<String> = bare
        .policy(&scope())
        .statements
        .into_iter()
        .map(|s| s.sid)
        .collect();
    assert_eq!(
        sids,
        strings(&[
            "TerraformStateList",
            "TerraformState",
            "TerraformStateLockfile"
        ])
    );
}

#[test]
fn no_statement_grants_every_resource() {
    let policies = [
        DbtRunner::policy(&runner(), &scope()),
        TerraformOperator::policy(&operator(), &scope()),
        AirbyteEc2Inputs {
            raw_location: url("s3://mdw-raw/"),
            raw_database: Some("raw".into()),
            kms_key_arns: vec![],
        }
        .policy(&scope()),
    ];
    for policy in &policies {
        for statement in &policy.statements {
            for resource in &statement.resources {
                assert!(
                    resource.starts_with("arn:aws:"),
                    "{}: {resource}",
                    statement.sid
                );
                let service_and_region = resource.splitn(6, ':').nth(5).unwrap_or_default();
                assert!(
                    !service_and_region.is_empty() && service_and_region != "*",
                    "{resource}"
                );
            }
            assert!(
                statement.actions.iter().all(|a| !a.contains('*')),
                "{}",
                statement.sid
            );
        }
    }
}

#[test]
fn arns_follow_the_partition() {
    let china = Scope {
        partition: "aws-cn".into(),
        region: "cn-north-1".into(),
        account_id: "123456789012".into(),
    };
    let policy = runner().policy(&china);
    assert_eq!(
        policy.statement("AthenaWorkgroup").unwrap().resources,
        strings(&["arn:aws-cn:athena:cn-north-1:123456789012:workgroup/mdw"])
    );
    assert_eq!(
        policy.statement("WarehouseReadWrite").unwrap().resources,
        strings(&["arn:aws-cn:s3:::mdw-warehouse/*"])
    );
}

#[test]
fn inputs_read_back_from_the_policy() {
    let json = DbtRunner::policy(&runner(), &scope()).to_json();
    assert_eq!(recover_inputs::<DbtRunner>(&json), Some(runner()));
    let json = TerraformOperator::policy(&operator(), &scope()).to_json();
    assert_eq!(recover_inputs::<TerraformOperator>(&json), Some(operator()));
    let airbyte = AirbyteEc2Inputs {
        raw_location: url("s3://mdw-raw/airbyte/"),
        raw_database: None,
        kms_key_arns: strings(&["arn:aws:kms:us-west-2:123456789012:key/k"]),
    };
    let json = AirbyteEc2::policy(&airbyte, &scope()).to_json();
    assert_eq!(recover_inputs::<AirbyteEc2>(&json), Some(airbyte));
    // Someone else's policy is not ours to read.
    let foreign = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    assert_eq!(recover_inputs::<DbtRunner>(foreign), None);
    assert_eq!(recover_inputs::<DbtRunner>("not json"), None);
}

#[test]
fn json_is_valid_pretty_and_starts_with_the_version() {
    let json = DbtRunner::policy(&runner(), &scope()).to_json();
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["Version"], "2012-10-17");
    assert_eq!(parsed["Statement"][0]["Sid"], "AthenaWorkgroup");
    assert_eq!(parsed["Statement"][0]["Effect"], "Allow");
    assert!(
        json.starts_with(
            "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Sid\""
        ),
        "{json}"
    );
    let condition = &parsed["Statement"][11]["Condition"]["StringLike"]["s3:prefix"];
    assert_eq!(condition[0], "results");
    let policy = DbtRunner::policy(&runner(), &scope());
    assert_eq!(
        policy.size(),
        json.split_whitespace().collect::<String>().len()
    );
}

#[test]
fn trust_policy_names_the_principals() {
    let trust = Trust {
        principal_arns: strings(&["arn:aws:iam::123456789012:role/ci"]),
        services: strings(&["codebuild.amazonaws.com"]),
    };
    let json = trust.to_json();
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    let statement = &parsed["Statement"][0];
    assert_eq!(statement["Action"], serde_json::json!(["sts:AssumeRole"]));
    assert_eq!(
        statement["Principal"]["AWS"],
        serde_json::json!(["arn:aws:iam::123456789012:role/ci"])
    );
    assert_eq!(
        statement["Principal"]["Service"],
        serde_json::json!(["codebuild.amazonaws.com"])
    );
    assert_eq!(Trust::from_json(&json), Some(trust));
    let ec2 = Trust {
        principal_arns: vec![],
        services: strings(&["ec2.amazonaws.com"]),
    };
    let parsed: serde_json::Value = serde_json::from_str(&ec2.to_json()).unwrap();
    assert!(parsed["Statement"][0]["Principal"]["AWS"].is_null());
}

#[test]
fn equivalence_ignores_formatting_but_not_grants() {
    let ours = Trust {
        principal_arns: strings(&[
            "arn:aws:iam::123456789012:root",
            "arn:aws:iam::123456789012:role/b",
        ]),
        services: vec![],
    }
    .to_json();
    // How IAM may hand it back: compact, strings for one-element lists, reordered, an account
    // as its id.
    let theirs = r#"{"Statement":[{"Action":"sts:AssumeRole","Principal":{"AWS":["arn:aws:iam::123456789012:role/b","123456789012"]},"Effect":"Allow","Sid":"AssumeRole"}],"Version":"2012-10-17"}"#;
    assert!(equivalent(&ours, theirs));
    let widened = theirs.replace("role/b", "role/c");
    assert!(!equivalent(&ours, &widened));
    let policy = DbtRunner::policy(&runner(), &scope()).to_json();
    let mut reordered: serde_json::Value = serde_json::from_str(&policy).unwrap();
    reordered["Statement"].as_array_mut().unwrap().reverse();
    assert!(equivalent(&policy, &reordered.to_string()));
    let mut edited = reordered.clone();
    edited["Statement"][0]["Resource"] = serde_json::json!("*");
    assert!(!equivalent(&policy, &edited.to_string()));
}

#[test]
fn too_many_databases_exceed_the_inline_policy_limit() {
    let huge = DbtRunnerInputs {
        databases: (0..300).map(|i| format!("database_number_{i}")).collect(),
        ..runner()
    };
    assert!(DbtRunner::policy(&huge, &scope()).size() > ROLE_INLINE_POLICY_LIMIT);
    assert!(DbtRunner::policy(&runner(), &scope()).size() < ROLE_INLINE_POLICY_LIMIT);
}

#[test]
fn statement_ids_stay_unique_and_alphanumeric() {
    let a = url("s3://mdw-work/a/");
    let b = url("s3://mdw.work/b/");
    let sids: Vec<String> = list_buckets(&scope(), &[&a, &b], &[])
        .into_iter()
        .map(|s| s.sid)
        .collect();
    assert_eq!(sids, strings(&["ListMdwWork", "ListMdwWork2"]));
    assert_eq!(camel_case("mdw-work-zone"), "MdwWorkZone");
}
