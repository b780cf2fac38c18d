//! The attributes every hardened bucket has, after the resource's own.

use tfplugin::{Attribute, Nesting, Value};

use crate::aws::names::{self, KmsKey};
use crate::tags;

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

/// Attributes every hardened bucket has, in schema order after the resource's own.
pub(crate) fn hardening_attributes() -> Vec<Attribute> {
    vec![
        Attribute::string("kms_key_arn")
            .describe("Encrypt with SSE-KMS under this symmetric key (key or alias ARN). Unset: SSE-S3 (`AES256`). Checked with KMS DescribeKey at plan time: a missing, disabled or asymmetric key is an error on this attribute.")
            .validate(names::kms_key_arn(KmsKey::KeyOrAlias)),
        Attribute::bool("enforce_tls")
            .default(true)
            .describe("Attach a bucket policy denying every request that is not TLS 1.2+. Turn off only for emulators that ignore policy conditions (moto).")
            ,
        Attribute::number("abort_incomplete_multipart_upload_days")
            .default(7)
            .describe("Days after which unfinished multipart uploads are aborted (their parts cost money but are invisible).")
            .validate(validate_days(1)),
        Attribute::nested(
            "logging",
            Nesting::Single,
            vec![
                Attribute::string("target_bucket")
                    .required()
                    .describe("Bucket receiving the access logs, e.g. an `mdw_lake_bucket` with `purpose = \"logs\"`.")
                    .validate(names::bucket_name),
                Attribute::string("target_prefix")
                    .optional_computed()
                    .describe("Key prefix of the log objects. Default: `<bucket name>/`."),
            ],
        )
        .describe("Server access logging. Unset: no access logs."),
        Attribute::bool("force_destroy").default(false).describe(
            "Delete every object version and delete marker on destroy. Default false: destroying a bucket that holds anything fails, says how many versions and delete markers it holds, and deletes nothing.",
        ),
        Attribute::string("arn").computed().describe("The bucket's ARN."),
        Attribute::string("region")
            .computed()
            .describe("The bucket's region (the provider's)."),
        Attribute::bool("block_public_access").computed().describe(
            "Always true: all four S3 Block Public Access settings are on. Shows false when changed outside Terraform; the next apply restores them.",
        ),
        Attribute::string("object_ownership").computed().describe(
            "Always `BucketOwnerEnforced` (ACLs disabled). Shows drift when changed outside Terraform.",
        ),
        Attribute::string("sse_algorithm")
            .computed()
            .describe("Default encryption: `AES256` (SSE-S3) or `aws:kms` (SSE-KMS with `kms_key_arn`)."),
        Attribute::string("policy")
            .computed()
            .describe("The bucket policy this resource owns (JSON), or null when it needs none."),
    ]
    .into_iter()
    .chain(tags::attributes())
    .collect()
}
