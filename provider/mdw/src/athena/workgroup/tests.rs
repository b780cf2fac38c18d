//! The workgroup's pure parts: validation, and which settings an update sends.

use super::*;

/// The updates between two values of the resource.
fn expand_configuration_updates_of(
    prior: &Value,
    planned: &Value,
) -> Result<Option<WorkGroupConfigurationUpdates>, Diagnostic> {
    let model = |v: &Value| from_value::<WorkgroupModel>(v).expect("a workgroup value");
    expand_configuration_updates(&model(prior), &model(planned))
}

fn values(pairs: &[(&str, Value)]) -> Value {
    Value::object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
}

/// The planned values of `mdw_athena_workgroup { name = "mdw" result_location = … }`.
fn defaults() -> Value {
    values(&[
        ("name", "mdw".into()),
        ("state", "ENABLED".into()),
        ("result_location", "s3://mdw-work-zone/results/".into()),
        ("result_encryption", "SSE_S3".into()),
        ("enforce_workgroup_configuration", true.into()),
        ("engine_version", DEFAULT_ENGINE_VERSION.into()),
        ("publish_cloudwatch_metrics_enabled", true.into()),
        ("force_destroy", false.into()),
    ])
}

fn with(base: &Value, pairs: &[(&str, Value)]) -> Value {
    let mut v = base.clone();
    for (k, value) in pairs {
        v.set(k, value.clone());
    }
    v
}

#[test]
fn the_minimal_workgroup_is_complete_and_enforced() {
    let config = expand_configuration(&from_value(&defaults()).unwrap()).unwrap();
    let result = config.result_configuration().unwrap();
    assert_eq!(
        result.output_location(),
        Some("s3://mdw-work-zone/results/")
    );
    let encryption = result.encryption_configuration().unwrap();
    assert_eq!(encryption.encryption_option(), &EncryptionOption::SseS3);
    assert_eq!(encryption.kms_key(), None);
    assert_eq!(config.enforce_work_group_configuration(), Some(true));
    assert_eq!(config.publish_cloud_watch_metrics_enabled(), Some(true));
    assert_eq!(config.bytes_scanned_cutoff_per_query(), None);
    assert_eq!(
        config
            .engine_version()
            .and_then(|v| v.selected_engine_version()),
        Some(DEFAULT_ENGINE_VERSION)
    );
}

#[test]
fn no_change_sends_no_configuration_updates() {
    assert!(
        expand_configuration_updates_of(&defaults(), &defaults())
            .unwrap()
            .is_none()
    );
    // Only a description, state, tags or force_destroy changed: nothing for Configuration.
    let planned = with(
        &defaults(),
        &[
            ("description", "now described".into()),
            ("state", "DISABLED".into()),
            ("force_destroy", true.into()),
        ],
    );
    assert!(
        expand_configuration_updates_of(&defaults(), &planned)
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_new_result_location_updates_only_the_output_location() {
    let planned = with(
        &defaults(),
        &[("result_location", "s3://mdw-work-zone/other/".into())],
    );
    let updates = expand_configuration_updates_of(&defaults(), &planned)
        .unwrap()
        .unwrap();
    let result = updates.result_configuration_updates().unwrap();
    assert_eq!(result.output_location(), Some("s3://mdw-work-zone/other/"));
    assert!(result.encryption_configuration().is_none());
    assert_eq!(result.remove_output_location(), None);
    assert_eq!(updates.enforce_work_group_configuration(), None);
    assert_eq!(updates.publish_cloud_watch_metrics_enabled(), None);
    assert_eq!(updates.bytes_scanned_cutoff_per_query(), None);
    assert_eq!(updates.remove_bytes_scanned_cutoff_per_query(), None);
    assert!(updates.engine_version().is_none());
}

#[test]
fn switching_to_kms_sends_option_and_key_together() {
    let key = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let planned = with(
        &defaults(),
        &[
            ("result_encryption", "SSE_KMS".into()),
            ("kms_key_arn", key.into()),
        ],
    );
    let updates = expand_configuration_updates_of(&defaults(), &planned)
        .unwrap()
        .unwrap();
    let result = updates.result_configuration_updates().unwrap();
    let encryption = result.encryption_configuration().unwrap();
    assert_eq!(encryption.encryption_option(), &EncryptionOption::SseKms);
    assert_eq!(encryption.kms_key(), Some(key));
    assert_eq!(result.output_location(), None);

    // A new key alone resends the whole encryption configuration.
    let rotated = with(&planned, &[("kms_key_arn", format!("{key}0").into())]);
    let updates = expand_configuration_updates_of(&planned, &rotated)
        .unwrap()
        .unwrap();
    let encryption = updates
        .result_configuration_updates()
        .and_then(|r| r.encryption_configuration())
        .unwrap();
    assert_eq!(encryption.encryption_option(), &EncryptionOption::SseKms);
    assert_eq!(encryption.kms_key(), Some(format!("{key}0").as_str()));
}

#[test]
fn cutoff_is_set_changed_and_removed() {
    let limited = with(
        &defaults(),
        &[("bytes_scanned_cutoff_per_query", Value::from(1i64 << 30))],
    );
    let set = expand_configuration_updates_of(&defaults(), &limited)
        .unwrap()
        .unwrap();
    assert_eq!(set.bytes_scanned_cutoff_per_query(), Some(1 << 30));
    assert_eq!(set.remove_bytes_scanned_cutoff_per_query(), None);
    assert!(set.result_configuration_updates().is_none());

    for unlimited in [Value::Null, Value::from(0)] {
        let planned = with(
            &defaults(),
            &[("bytes_scanned_cutoff_per_query", unlimited.clone())],
        );
        let removed = expand_configuration_updates_of(&limited, &planned)
            .unwrap()
            .unwrap();
        assert_eq!(
            removed.remove_bytes_scanned_cutoff_per_query(),
            Some(true),
            "{unlimited:?}"
        );
        assert_eq!(removed.bytes_scanned_cutoff_per_query(), None);
    }
    // 0 and unset both mean no limit.
    let zero = with(
        &defaults(),
        &[("bytes_scanned_cutoff_per_query", Value::from(0))],
    );
    assert!(
        expand_configuration_updates_of(&defaults(), &zero)
            .unwrap()
            .is_none()
    );
}

#[test]
fn flags_and_engine_version_are_sent_when_changed() {
    let planned = with(
        &defaults(),
        &[
            ("enforce_workgroup_configuration", false.into()),
            ("publish_cloudwatch_metrics_enabled", false.into()),
            ("engine_version", "AUTO".into()),
        ],
    );
    let updates = expand_configuration_updates_of(&defaults(), &planned)
        .unwrap()
        .unwrap();
    assert_eq!(updates.enforce_work_group_configuration(), Some(false));
    assert_eq!(updates.publish_cloud_watch_metrics_enabled(), Some(false));
    assert_eq!(
        updates
            .engine_version()
            .and_then(|v| v.selected_engine_version()),
        Some("AUTO")
    );
    assert!(updates.result_configuration_updates().is_none());
}

#[test]
fn cutoff_below_ten_megabytes_is_refused() {
    assert!(validate_cutoff(&Value::from(0)).is_ok());
    assert!(validate_cutoff(&Value::from(MIN_BYTES_SCANNED_CUTOFF)).is_ok());
    let err = validate_cutoff(&Value::from(MIN_BYTES_SCANNED_CUTOFF - 1)).unwrap_err();
    assert!(err.contains("10485760") && err.contains("10 MB"), "{err}");
    assert!(validate_cutoff(&Value::from(-5)).is_err());
    assert!(
        validate_cutoff(&Value::from(15_000_000.5)).is_err(),
        "fractional bytes"
    );
}

#[test]
fn engine_versions_are_checked() {
    assert!(validate_engine_version(&Value::from("AUTO")).is_ok());
    assert!(validate_engine_version(&Value::from("Athena engine version 3")).is_ok());
    let err = validate_engine_version(&Value::from("v3")).unwrap_err();
    assert!(err.contains(DEFAULT_ENGINE_VERSION), "{err}");
}

#[test]
fn kms_options_need_a_key_and_sse_s3_takes_none() {
    let key = "arn:aws:kms:us-west-2:123456789012:key/abc";
    let kms_without_key = with(&defaults(), &[("result_encryption", "CSE_KMS".into())]);
    let diags = validate_encryption(&kms_without_key);
    assert_eq!(diags.0.len(), 1);
    assert_eq!(
        diags.0[0].path,
        Some(tfplugin::AttributePath::root("kms_key_arn"))
    );
    let s3_with_key = with(&defaults(), &[("kms_key_arn", key.into())]);
    assert_eq!(validate_encryption(&s3_with_key).0.len(), 1);
    let kms_with_key = with(&kms_without_key, &[("kms_key_arn", key.into())]);
    assert!(validate_encryption(&kms_with_key).is_empty());
    let unknown_key = with(&kms_without_key, &[("kms_key_arn", Value::unknown())]);
    assert!(validate_encryption(&unknown_key).is_empty());
}
