//! What a bucket should have and what it has: the lifecycle rule a resource owns, the bucket
//! policy it writes, and the managed settings compared between the two.

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, NoncurrentVersionExpiration,
};
use serde_json::json;
use tfplugin::{Diagnostic, Maybe};

use super::schema::Hardening;

use crate::tags::Tags;

/// Sids of the statements this provider writes; a policy holding exactly these is ours.
const SID_DENY_INSECURE_TRANSPORT: &str = "DenyInsecureTransport";
const SID_DENY_OUTDATED_TLS: &str = "DenyOutdatedTls";
const SID_ALLOW_LOG_DELIVERY: &str = "AllowS3ServerAccessLogDelivery";
const LOG_DELIVERY_PRINCIPAL: &str = "logging.s3.amazonaws.com";

// ---- lifecycle ------------------------------------------------------------------------------

/// The one lifecycle rule a resource owns, identified by `rule_id`; rules with other ids are
/// left alone. Days of 0 mean "no such action".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LifecycleSettings {
    pub(crate) rule_id: String,
    pub(crate) expiration_days: i64,
    pub(crate) noncurrent_days: i64,
    pub(crate) abort_multipart_days: i64,
}

impl LifecycleSettings {
    /// The S3 rule: one bucket-wide rule. Without an expiration of current versions, it also
    /// removes delete markers left alone once their noncurrent versions expired (S3 does that by
    /// itself when `Days` is set, and refuses both in one rule).
    pub(crate) fn to_rule(&self) -> Result<LifecycleRule, Diagnostic> {
        let expiration = if self.expiration_days > 0 {
            LifecycleExpiration::builder()
                .days(days_i32(self.expiration_days))
                .build()
        } else {
            LifecycleExpiration::builder()
                .expired_object_delete_marker(true)
                .build()
        };
        let mut rule = LifecycleRule::builder()
            .id(&self.rule_id)
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("").build())
            .expiration(expiration);
        if self.noncurrent_days > 0 {
            rule = rule.noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(days_i32(self.noncurrent_days))
                    .build(),
            );
        }
        if self.abort_multipart_days > 0 {
            rule = rule.abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(days_i32(self.abort_multipart_days))
                    .build(),
            );
        }
        rule.build()
            .map_err(|e| Diagnostic::error("building an S3 lifecycle rule", e.to_string()))
    }

    /// Reads one of our rules back; `None` when it is disabled or narrowed to part of the bucket,
    /// which is drift as much as a missing rule.
    pub(crate) fn from_rule(rule: &LifecycleRule) -> Option<LifecycleSettings> {
        let whole_bucket = match rule.filter() {
            Some(filter) => {
                filter.prefix().unwrap_or_default().is_empty()
                    && filter.tag().is_none()
                    && filter.and().is_none()
                    && filter.object_size_greater_than().is_none()
                    && filter.object_size_less_than().is_none()
            }
            // Rules written before filters existed carry a top-level prefix instead.
            #[allow(deprecated)]
            None => rule.prefix().unwrap_or_default().is_empty(),
        };
        if *rule.status() != ExpirationStatus::Enabled || !whole_bucket {
            return None;
        }
        Some(LifecycleSettings {
            rule_id: rule.id().unwrap_or_default().to_string(),
            expiration_days: rule
                .expiration()
                .and_then(|e| e.days())
                .map_or(0, i64::from),
            noncurrent_days: rule
                .noncurrent_version_expiration()
                .and_then(|e| e.noncurrent_days())
                .map_or(0, i64::from),
            abort_multipart_days: rule
                .abort_incomplete_multipart_upload()
                .and_then(|a| a.days_after_initiation())
                .map_or(0, i64::from),
        })
    }
}

fn days_i32(days: i64) -> i32 {
    i32::try_from(days).unwrap_or(i32::MAX)
}

// ---- bucket policy --------------------------------------------------------------------------

/// The bucket policy a hardened bucket carries, or `None` when it needs none. Keys are sorted
/// (serde_json's map), so the text is stable and compares equal across plans.
///
/// `log_delivery_account`: allow S3 server access logs from buckets of this account to be
/// written here. With ACLs disabled, a bucket policy is the only way to grant it.
pub(crate) fn bucket_policy(
    partition: &str,
    bucket: &str,
    enforce_tls: bool,
    log_delivery_account: Option<&str>,
) -> Option<String> {
    let bucket_arn = format!("arn:{partition}:s3:::{bucket}");
    let objects_arn = format!("{bucket_arn}/*");
    let mut statements = Vec::new();
    // The one Allow goes first: emulators that cannot read every statement shape (moto's
    // logging check fails on a string Principal) find it before the Denies.
    if let Some(account) = log_delivery_account {
        statements.push(json!({
            "Sid": SID_ALLOW_LOG_DELIVERY,
            "Effect": "Allow",
            "Principal": { "Service": LOG_DELIVERY_PRINCIPAL },
            "Action": "s3:PutObject",
            "Resource": objects_arn.clone(),
            // Only this account's buckets may deliver here (no confused deputy).
            "Condition": { "StringEquals": { "aws:SourceAccount": account } },
        }));
    }
    if enforce_tls {
        statements.push(json!({
            "Sid": SID_DENY_INSECURE_TRANSPORT,
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, objects_arn],
            "Condition": { "Bool": { "aws:SecureTransport": "false" } },
        }));
        statements.push(json!({
            "Sid": SID_DENY_OUTDATED_TLS,
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, objects_arn],
            "Condition": { "NumericLessThan": { "s3:TlsVersion": "1.2" } },
        }));
    }
    if statements.is_empty() {
        return None;
    }
    Some(json!({ "Version": "2012-10-17", "Statement": statements }).to_string())
}

/// Whether two policy documents say the same (whitespace and key order aside).
pub(crate) fn same_policy(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Whether a policy holds our TLS-only statements unchanged.
pub(crate) fn policy_enforces_tls(partition: &str, bucket: &str, policy: Option<&str>) -> bool {
    let Some(policy) = policy.and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
    else {
        return false;
    };
    let Some(expected) = bucket_policy(partition, bucket, true, None)
        .and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok())
    else {
        return false;
    };
    let present = policy["Statement"].as_array().cloned().unwrap_or_default();
    expected["Statement"]
        .as_array()
        .is_some_and(|wanted| wanted.iter().all(|s| present.contains(s)))
}

// ---- settings: what a bucket has and what it should have -----------------------------------

/// Server access logging target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoggingTarget {
    pub(crate) bucket: String,
    pub(crate) prefix: String,
}

/// The managed parts of a bucket, as planned (desired) or as the prior state recorded them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BucketSettings {
    pub(crate) object_ownership: Option<String>,
    pub(crate) block_public_access: bool,
    pub(crate) sse_algorithm: Option<String>,
    pub(crate) kms_key_arn: Option<String>,
    pub(crate) versioning: bool,
    pub(crate) lifecycle: Option<LifecycleSettings>,
    pub(crate) logging: Option<LoggingTarget>,
    pub(crate) policy: Option<String>,
    pub(crate) tags: Tags,
}

impl BucketSettings {
    /// The settings a resource model (planned or prior state) describes; `lifecycle` and
    /// `versioning` are the resource's own.
    pub(crate) fn of(
        bucket: &str,
        hardening: &Hardening,
        versioning: bool,
        lifecycle: Option<LifecycleSettings>,
    ) -> BucketSettings {
        BucketSettings {
            object_ownership: hardening.object_ownership.known().cloned(),
            block_public_access: hardening.block_public_access == Maybe::Known(true),
            sse_algorithm: hardening.sse_algorithm.known().cloned(),
            kms_key_arn: hardening.kms_key_arn.clone(),
            versioning,
            lifecycle,
            logging: hardening.logging.as_ref().map(|logging| LoggingTarget {
                bucket: logging.target_bucket.clone(),
                prefix: logging.prefix_for(bucket),
            }),
            policy: hardening.policy.known().cloned(),
            tags: hardening.tags_all.known().cloned().unwrap_or_default(),
        }
    }
}

/// What S3 reports about a bucket.
#[derive(Debug, Clone, Default)]
pub(crate) struct RemoteBucket {
    pub(crate) region: Option<String>,
    pub(crate) object_ownership: Option<String>,
    pub(crate) block_public_access: bool,
    pub(crate) sse_algorithm: Option<String>,
    pub(crate) kms_key: Option<String>,
    pub(crate) versioning: bool,
    pub(crate) lifecycle_rules: Vec<LifecycleRule>,
    pub(crate) logging: Option<LoggingTarget>,
    pub(crate) policy: Option<String>,
    pub(crate) tags: Tags,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::bucket::{OBJECT_OWNERSHIP, SSE_S3};
    use tfplugin::Value;

    fn object(pairs: &[(&str, Value)]) -> Value {
        Value::object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }

    #[test]
    fn tls_policy_denies_plain_http_and_old_tls_on_bucket_and_objects() {
        let policy = bucket_policy("aws", "mdw-work-zone", true, None).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&policy).unwrap();
        assert_eq!(doc["Version"], "2012-10-17");
        let statements = doc["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 2);
        let resources = json!(["arn:aws:s3:::mdw-work-zone", "arn:aws:s3:::mdw-work-zone/*"]);
        assert_eq!(
            statements[0],
            json!({
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": resources,
                "Condition": { "Bool": { "aws:SecureTransport": "false" } },
            })
        );
        assert_eq!(statements[1]["Effect"], "Deny");
        assert_eq!(
            statements[1]["Condition"],
            json!({ "NumericLessThan": { "s3:TlsVersion": "1.2" } })
        );
        // Nothing in it allows anything to anyone.
        assert!(statements.iter().all(|s| s["Effect"] == "Deny"));
        assert!(policy_enforces_tls("aws", "mdw-work-zone", Some(&policy)));
        assert!(!policy_enforces_tls("aws", "other", Some(&policy)));
        assert!(!policy_enforces_tls("aws", "mdw-work-zone", None));
        assert_eq!(bucket_policy("aws", "b", false, None), None);
    }

    #[test]
    fn log_buckets_let_only_this_accounts_log_delivery_write() {
        let policy = bucket_policy("aws-cn", "mdw-logs", false, Some("123456789012")).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&policy).unwrap();
        assert_eq!(
            doc["Statement"],
            json!([{
                "Sid": "AllowS3ServerAccessLogDelivery",
                "Effect": "Allow",
                "Principal": { "Service": "logging.s3.amazonaws.com" },
                "Action": "s3:PutObject",
                "Resource": "arn:aws-cn:s3:::mdw-logs/*",
                "Condition": { "StringEquals": { "aws:SourceAccount": "123456789012" } },
            }])
        );
        let both = bucket_policy("aws", "mdw-logs", true, Some("1")).unwrap();
        assert!(policy_enforces_tls("aws", "mdw-logs", Some(&both)));
    }

    #[test]
    fn policies_compare_by_meaning() {
        let policy = bucket_policy("aws", "b", true, None).unwrap();
        let reformatted = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(&policy).unwrap(),
        )
        .unwrap();
        assert!(same_policy(&policy, &reformatted));
        assert!(!same_policy(
            &policy,
            &bucket_policy("aws", "c", true, None).unwrap()
        ));
    }

    #[test]
    fn lifecycle_rule_round_trips_and_cleans_delete_markers_without_expiration() {
        let settings = LifecycleSettings {
            rule_id: "mdw-query_results".into(),
            expiration_days: 30,
            noncurrent_days: 1,
            abort_multipart_days: 7,
        };
        let rule = settings.to_rule().unwrap();
        assert_eq!(rule.expiration().and_then(|e| e.days()), Some(30));
        assert_eq!(
            rule.expiration()
                .and_then(|e| e.expired_object_delete_marker()),
            None
        );
        assert_eq!(
            rule.abort_incomplete_multipart_upload()
                .and_then(|a| a.days_after_initiation()),
            Some(7)
        );
        assert_eq!(LifecycleSettings::from_rule(&rule), Some(settings.clone()));

        let keep = LifecycleSettings {
            expiration_days: 0,
            noncurrent_days: 0,
            ..settings
        };
        let rule = keep.to_rule().unwrap();
        assert_eq!(rule.expiration().and_then(|e| e.days()), None);
        assert_eq!(
            rule.expiration()
                .and_then(|e| e.expired_object_delete_marker()),
            Some(true)
        );
        assert!(rule.noncurrent_version_expiration().is_none());
        assert_eq!(LifecycleSettings::from_rule(&rule), Some(keep));
    }

    #[test]
    fn disabled_or_narrowed_rules_read_as_missing() {
        let settings = LifecycleSettings {
            rule_id: "mdw-raw".into(),
            expiration_days: 0,
            noncurrent_days: 90,
            abort_multipart_days: 7,
        };
        let mut disabled = settings.to_rule().unwrap();
        disabled.status = ExpirationStatus::Disabled;
        assert_eq!(LifecycleSettings::from_rule(&disabled), None);
        let mut narrowed = settings.to_rule().unwrap();
        narrowed.filter = Some(LifecycleRuleFilter::builder().prefix("tmp/").build());
        assert_eq!(LifecycleSettings::from_rule(&narrowed), None);
    }

    #[test]
    fn settings_read_from_a_value() {
        let value = object(&[
            ("object_ownership", Value::from(OBJECT_OWNERSHIP)),
            ("block_public_access", Value::from(true)),
            ("sse_algorithm", Value::from(SSE_S3)),
            (
                "logging",
                object(&[
                    ("target_bucket", Value::from("logs")),
                    ("target_prefix", Value::from("b/")),
                ]),
            ),
            (
                "tags_all",
                Value::from(Tags::from([("a".to_string(), "1".to_string())])),
            ),
        ]);
        let hardening: Hardening = tfplugin::from_value(&value).unwrap();
        let settings = BucketSettings::of("b", &hardening, true, None);
        assert_eq!(
            settings.logging,
            Some(LoggingTarget {
                bucket: "logs".into(),
                prefix: "b/".into()
            })
        );
        assert!(settings.block_public_access);
        assert_eq!(settings.kms_key_arn, None);
        assert_eq!(settings.tags.len(), 1);
    }
}
