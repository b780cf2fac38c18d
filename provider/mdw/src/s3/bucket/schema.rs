//! The attributes every hardened bucket has, after the resource's own.

use std::collections::BTreeMap;

use tfplugin::{Maybe, Value};

use crate::aws::names::{self, KmsKey};
use crate::tags::{self, Tags};

/// Attribute validator for day counts: a whole number in `min..`.
pub(crate) fn validate_days(min: i64) -> impl Fn(&Value) -> Result<(), String> + Send + Sync {
    move |value| match value.as_i64() {
        Some(days) if days >= min && days <= 36_500 => Ok(()),
        _ => Err(format!(
            "must be a whole number of days from {min} to 36500{}.",
            if min == 0 {
                " (0 turns the rule off)"
            } else {
                ""
            }
        )),
    }
}

// ---- shared schema --------------------------------------------------------------------------

tfplugin::model! {
    /// Server access logging of a bucket.
    pub(crate) struct Logging {
        /// Bucket receiving the access logs, e.g. an `mdw_lake_bucket` with `purpose = "logs"`.
        #[tf(required, validate = names::bucket_name)]
        pub(crate) target_bucket: String,
        /// Key prefix of the log objects. Default: `<bucket name>/`.
        #[tf()]
        #[serde(skip_serializing_if = "Option::is_none")]
        pub(crate) target_prefix: Option<String>,
    }
}

impl Logging {
    /// Where the logs of bucket `bucket` go when `target_prefix` is left out.
    pub(crate) fn default_prefix(bucket: &str) -> String {
        format!("{bucket}/")
    }

    /// The prefix the logs of bucket `bucket` go under: the configured one, else `<bucket>/`.
    /// Not planned into state: `logging` is a map (see `#[tf(keyed)]`), which Terraform requires
    /// to be planned exactly as configured.
    pub(crate) fn prefix_for(&self, bucket: &str) -> String {
        self.target_prefix
            .clone()
            .unwrap_or_else(|| Logging::default_prefix(bucket))
    }
}

/// Schema version of the hardened buckets: 1 since `logging` is a map with the default prefix
/// left out (version 0 stored it as an object with the default prefix filled in).
pub(crate) const SCHEMA_VERSION: i64 = 1;

/// Upgrades the state of a hardened bucket whose name is attribute `name_attribute` from an
/// older schema: a
/// logging prefix equal to the default is dropped, as version 1 plans it, so that a
/// configuration leaving it out plans no change.
pub(crate) fn upgrade_state(from_version: i64, mut state: Value, name_attribute: &str) -> Value {
    if from_version < 1 {
        let default = state
            .get(name_attribute)
            .as_str()
            .map(Logging::default_prefix);
        let logging = state.get(Hardening::logging);
        if let Some(entries) = logging.as_map()
            && entries.get(Logging::target_prefix).and_then(Value::as_str) == default.as_deref()
        {
            let kept: BTreeMap<String, Value> = entries
                .iter()
                .filter(|(key, value)| key.as_str() != Logging::target_prefix && !value.is_null())
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            state.set(Hardening::logging, Value::Map(kept));
        }
    }
    state
}

tfplugin::model! {
    /// The attributes every hardened bucket has, flattened into the resource's own model.
    pub(crate) struct Hardening {
        /// Encrypt with SSE-KMS under this symmetric key (key or alias ARN). Unset: SSE-S3
        /// (`AES256`). Checked with KMS DescribeKey at plan time: a missing, disabled or
        /// asymmetric key is an error on this attribute.
        #[tf(validate = names::kms_key_arn(KmsKey::KeyOrAlias))]
        pub(crate) kms_key_arn: Option<String>,
        /// Attach a bucket policy denying every request that is not TLS 1.2+. Turn off only for
        /// emulators that ignore policy conditions (moto).
        #[tf(default = true)]
        pub(crate) enforce_tls: Maybe<bool>,
        /// Days after which unfinished multipart uploads are aborted (their parts cost money but
        /// are invisible).
        #[tf(default = 7, validate = validate_days(1))]
        pub(crate) abort_incomplete_multipart_upload_days: Maybe<i64>,
        /// Server access logging. Unset: no access logs. A misspelt key is an error.
        #[tf(keyed)]
        pub(crate) logging: Option<Logging>,
        /// Delete every object version and delete marker on destroy. Default false: destroying a
        /// bucket that holds anything fails, says how many versions and delete markers it holds,
        /// and deletes nothing.
        #[tf(default = false)]
        pub(crate) force_destroy: Maybe<bool>,
        /// The bucket's ARN.
        #[tf(computed)]
        pub(crate) arn: Maybe<String>,
        /// The bucket's region (the provider's).
        #[tf(computed)]
        pub(crate) region: Maybe<String>,
        /// Always true: all four S3 Block Public Access settings are on. Shows false when changed
        /// outside Terraform; the next apply restores them.
        #[tf(computed)]
        pub(crate) block_public_access: Maybe<bool>,
        /// Always `BucketOwnerEnforced` (ACLs disabled). Shows drift when changed outside
        /// Terraform.
        #[tf(computed)]
        pub(crate) object_ownership: Maybe<String>,
        /// Default encryption: `AES256` (SSE-S3) or `aws:kms` (SSE-KMS with `kms_key_arn`).
        #[tf(computed)]
        pub(crate) sse_algorithm: Maybe<String>,
        /// The bucket policy this resource owns (JSON), or null when it needs none.
        #[tf(computed)]
        pub(crate) policy: Maybe<String>,
        #[tf(describe = tags::TAGS, validate = tags::validate_tags)]
        pub(crate) tags: Option<Tags>,
        #[tf(computed, describe = tags::TAGS_ALL)]
        pub(crate) tags_all: Maybe<Tags>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(prefix: &str) -> Value {
        Value::object([
            ("name", Value::from("raw")),
            (
                Hardening::logging,
                Value::object([
                    (Logging::target_bucket, Value::from("logs")),
                    (Logging::target_prefix, Value::from(prefix)),
                ]),
            ),
        ])
    }

    #[test]
    fn version_0_states_lose_the_default_logging_prefix_only() {
        let upgraded = upgrade_state(0, state("raw/"), "name");
        assert_eq!(
            upgraded.get(Hardening::logging),
            &Value::object([(Logging::target_bucket, Value::from("logs"))])
        );
        assert_eq!(upgrade_state(0, state("custom/"), "name"), state("custom/"));
        assert_eq!(upgrade_state(1, state("raw/"), "name"), state("raw/"));
    }
}
