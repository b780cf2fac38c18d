//! Unit tests of the role lifecycle: validators, documents, trust and drift.

use super::*;
use crate::iam::airbyte_ec2::AirbyteEc2;
use crate::iam::dbt_runner::{DbtRunner, DbtRunnerConfig};

#[test]
fn list_validators_name_the_element() {
    let err =
        each(names::glue_database_name)(&Value::from(vec!["ok".to_string(), "Bad".to_string()]))
            .unwrap_err();
    assert!(err.starts_with("element 1:"), "{err}");
}

fn runner_config(pairs: &[(&str, Value)]) -> Value {
    let mut config = Value::object([
        ("name", Value::from("mdw-dbt")),
        ("workgroup", Value::from("mdw")),
        (
            "results_location",
            Value::from("s3://mdw-work-zone/results/"),
        ),
        ("warehouse_location", Value::from("s3://mdw-warehouse/")),
        ("databases", Value::from(vec!["mdw".to_string()])),
        (
            "trusted_principal_arns",
            Value::from(vec!["arn:aws:iam::123456789012:role/ci".to_string()]),
        ),
    ]);
    for (k, v) in pairs {
        config.set(k, v.clone());
    }
    config
}

#[test]
fn config_checks_point_at_the_attribute() {
    assert!(validate_config::<DbtRunner>(&runner_config(&[])).is_empty());
    let untrusted = runner_config(&[("trusted_principal_arns", Value::List(Vec::new()))]);
    let diags = validate_config::<DbtRunner>(&untrusted);
    assert_eq!(diags.0.len(), 1, "{diags}");
    assert_eq!(
        diags.0[0].path,
        Some(tfplugin::AttributePath::root("trusted_principal_arns"))
    );
    // Unknown until apply (a reference): not judged yet.
    let unknown = runner_config(&[("trusted_principal_arns", Value::unknown())]);
    assert!(validate_config::<DbtRunner>(&unknown).is_empty());
    let twice = runner_config(&[(
        "databases",
        Value::from(vec!["a".to_string(), "a".to_string()]),
    )]);
    let diags = validate_config::<DbtRunner>(&twice);
    assert_eq!(
        diags.0[0].path,
        Some(tfplugin::AttributePath::root("databases")),
        "{diags}"
    );
    let none = runner_config(&[("databases", Value::List(Vec::new()))]);
    assert_eq!(validate_config::<DbtRunner>(&none).0.len(), 1);
    // EC2 trusts the Airbyte role; nothing to configure.
    let airbyte = Value::object([
        ("name", Value::from("x")),
        ("raw_location", Value::from("s3://raw-bucket/")),
    ]);
    assert!(validate_config::<AirbyteEc2>(&airbyte).is_empty());
}

fn runner_inputs(config: &Value) -> DbtRunnerConfig {
    from_value(config).expect("a runner configuration reads")
}

#[test]
fn inputs_are_unknown_until_every_one_is_known() {
    let known = runner_inputs(&runner_config(&[]));
    let Ok(Some(runner)) = expand_inputs::<DbtRunner>(&known) else {
        panic!("known inputs expand");
    };
    assert_eq!(runner.workgroup, "mdw");
    assert_eq!(runner.results_location.prefix, "results/");
    let later = runner_config(&[("databases", Value::List(vec![Value::unknown()]))]);
    assert_eq!(expand_inputs::<DbtRunner>(&runner_inputs(&later)), Ok(None));
}

#[test]
fn imported_inputs_round_trip_through_the_policy() {
    let scope = Scope {
        partition: "aws".into(),
        region: "us-west-2".into(),
        account_id: "123456789012".into(),
    };
    let config = runner_config(&[
        (
            "source_locations",
            Value::from(vec!["s3://mdw-raw/airbyte/".to_string()]),
        ),
        ("source_databases", Value::from(vec!["raw".to_string()])),
        ("kms_key_arns", Value::List(Vec::new())),
    ]);
    let config = runner_inputs(&config);
    let Ok(Some(inputs)) = expand_inputs::<DbtRunner>(&config) else {
        panic!("known inputs expand");
    };
    let json = DbtRunner::policy(&inputs, &scope).to_json();
    let recovered = recover_inputs::<DbtRunner>(&json).expect("our own policy reads back");
    assert_eq!(recovered, inputs);
    assert_eq!(DbtRunner::flatten(&recovered), config);
}

#[test]
fn equivalent_documents_keep_the_known_text() {
    let known = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/*"]}]}"#;
    let reformatted = r#"{"Statement":{"Resource":"arn:aws:s3:::b/*","Action":"s3:GetObject","Effect":"Allow"},"Version":"2012-10-17"}"#;
    assert_eq!(document_state(reformatted, &[Some(known)]), known);
    let edited = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    assert_eq!(document_state(edited, &[Some(known)]), edited);
}
