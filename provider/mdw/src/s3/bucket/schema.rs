//! The attributes every hardened bucket has, after the resource's own.

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
        #[tf(optional_computed)]
        pub(crate) target_prefix: Maybe<String>,
    }
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
        /// Server access logging. Unset: no access logs.
        #[tf()]
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
