//! What `mdw_lake_bucket` and `mdw_state_backend` share: S3's bucket name rules, the attributes
//! of a hardened bucket, and its sub-configurations — applied in a safe order, read back for
//! drift, and torn down only when the bucket is empty or `force_destroy` says so.
//!
//! The hardening that is not optional (public access block, bucket-owner-enforced ownership,
//! default encryption) is exposed as computed attributes that every plan sets to the enforced
//! value: when someone changes them out of band, Read shows the real value and the plan an update
//! back.

use std::future::Future;
use std::time::Duration;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    BucketLoggingStatus, BucketVersioningStatus, CreateBucketConfiguration, Delete,
    ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, LoggingEnabled,
    NoncurrentVersionExpiration, ObjectIdentifier, ObjectOwnership, OwnershipControls,
    OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};
use serde_json::json;
use tfplugin::{Attribute, Diagnostic, Nesting, PlanChange, Value};

use crate::aws::aws_error;
use crate::provider::{Client, validate_tag_keys};
use crate::tags::Tags;

/// The only object ownership a hardened bucket has: ACLs disabled, the bucket owner owns every
/// object, so no ACL can ever make an object public.
pub const OBJECT_OWNERSHIP: &str = "BucketOwnerEnforced";
pub const SSE_S3: &str = "AES256";
pub const SSE_KMS: &str = "aws:kms";
/// Sids of the statements this provider writes; a policy holding exactly these is ours.
const SID_DENY_INSECURE_TRANSPORT: &str = "DenyInsecureTransport";
const SID_DENY_OUTDATED_TLS: &str = "DenyOutdatedTls";
const SID_ALLOW_LOG_DELIVERY: &str = "AllowS3ServerAccessLogDelivery";
const LOG_DELIVERY_PRINCIPAL: &str = "logging.s3.amazonaws.com";

// ---- bucket names ---------------------------------------------------------------------------

/// Why `name` is not a valid general purpose bucket name, or `None` when it is.
pub fn bucket_name_problem(name: &str) -> Option<String> {
    if !(3..=63).contains(&name.len()) {
        return Some(format!(
            "it is {} characters long; bucket names have 3 to 63",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Some(format!(
            "it contains {c:?}; use only lower-case letters, digits, hyphens (-) and dots (.)"
        ));
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !alnum(name.chars().next()) || !alnum(name.chars().last()) {
        return Some("it must begin and end with a letter or digit".to_string());
    }
    if name.contains("..") {
        return Some("it contains two adjacent dots (\"..\")".to_string());
    }
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Some("it is formatted as an IP address".to_string());
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(prefix) {
            return Some(format!("it starts with {prefix:?}, which S3 reserves"));
        }
    }
    for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if name.ends_with(suffix) {
            return Some(format!("it ends with {suffix:?}, which S3 reserves"));
        }
    }
    None
}

/// Attribute validator: a valid bucket name, with a suggestion when one can be derived.
pub fn validate_bucket_name(value: &Value) -> Result<(), String> {
    let Some(name) = value.as_str() else {
        return Ok(());
    };
    let Some(problem) = bucket_name_problem(name) else {
        return Ok(());
    };
    let suggestion: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .chars()
        .take(63)
        .collect();
    let hint = if suggestion != name && bucket_name_problem(&suggestion).is_none() {
        format!(" For example {suggestion:?}.")
    } else {
        String::new()
    };
    Err(format!(
        "{name:?} is not a valid S3 bucket name: {problem}. Bucket names are 3–63 lower-case \
         letters, digits, hyphens and dots, begin and end with a letter or digit, and are global \
         across all AWS accounts.{hint}"
    ))
}

/// Attribute validator: the ARN of a KMS key (or alias) — S3 would otherwise resolve a bare key
/// id in whichever account makes the request.
pub fn validate_kms_key_arn(value: &Value) -> Result<(), String> {
    let Some(arn) = value.as_str() else {
        return Ok(());
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let valid = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "kms"
        && !parts[3].is_empty()
        && !parts[4].is_empty()
        && (parts[5].starts_with("key/") || parts[5].starts_with("alias/"))
        && parts[5].len() > 6;
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{arn:?} is not a KMS key ARN; write it as \
             \"arn:aws:kms:REGION:ACCOUNT:key/KEY-ID\" (or an alias ARN), e.g. from aws_kms_key.<name>.arn."
        ))
    }
}

/// Attribute validator for day counts: a whole number in `min..`.
pub fn validate_days(min: i64) -> impl Fn(&Value) -> Result<(), String> + Send + Sync {
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
pub fn hardening_attributes() -> Vec<Attribute> {
    vec![
        Attribute::string("kms_key_arn")
            .describe("Encrypt with SSE-KMS under this key (ARN). Unset: SSE-S3 (`AES256`). Checked with KMS DescribeKey at plan time.")
            .validate(validate_kms_key_arn),
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
                    .validate(validate_bucket_name),
                Attribute::string("target_prefix")
                    .optional_computed()
                    .describe("Key prefix of the log objects. Default: `<bucket name>/`."),
            ],
        )
        .describe("Server access logging. Unset: no access logs."),
        Attribute::bool("force_destroy").default(false).describe(
            "Delete every object version and delete marker on destroy. Default false: destroying a non-empty bucket fails.",
        ),
        Attribute::string_map("tags").validate(validate_tag_keys),
        Attribute::string_map("tags_all")
            .computed()
            .describe("`tags` plus the provider's `default_tags`."),
        Attribute::string("arn").computed(),
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
}

// ---- lifecycle ------------------------------------------------------------------------------

/// The one lifecycle rule a resource owns, identified by `rule_id`; rules with other ids are
/// left alone. Days of 0 mean "no such action".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleSettings {
    pub rule_id: String,
    pub expiration_days: i64,
    pub noncurrent_days: i64,
    pub abort_multipart_days: i64,
}

impl LifecycleSettings {
    /// The S3 rule: one bucket-wide rule. Without an expiration of current versions, it also
    /// removes delete markers left alone once their noncurrent versions expired (S3 does that by
    /// itself when `Days` is set, and refuses both in one rule).
    pub fn to_rule(&self) -> Result<LifecycleRule, Diagnostic> {
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
    pub fn from_rule(rule: &LifecycleRule) -> Option<LifecycleSettings> {
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
pub fn bucket_policy(
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
pub fn same_policy(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Whether a policy holds our TLS-only statements unchanged.
pub fn policy_enforces_tls(partition: &str, bucket: &str, policy: Option<&str>) -> bool {
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

/// The account id of the credentials in use, for the log delivery statement. Asked once per
/// provider process (one process serves one provider configuration).
pub async fn account_id(client: &Client) -> Result<String, Diagnostic> {
    static ACCOUNT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    ACCOUNT
        .get_or_try_init(|| async {
            let out = client
                .aws
                .sts()
                .get_caller_identity()
                .send()
                .await
                .map_err(|e| aws_error("reading the AWS account id (STS GetCallerIdentity)", &e))?;
            out.account.ok_or_else(|| {
                Diagnostic::error(
                    "reading the AWS account id (STS GetCallerIdentity)",
                    "STS returned no account id.",
                )
            })
        })
        .await
        .cloned()
}

// ---- settings: what a bucket has and what it should have -----------------------------------

/// Server access logging target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggingTarget {
    pub bucket: String,
    pub prefix: String,
}

/// The managed parts of a bucket, as planned (desired) or as the prior state recorded them.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketSettings {
    pub object_ownership: Option<String>,
    pub block_public_access: bool,
    pub sse_algorithm: Option<String>,
    pub kms_key_arn: Option<String>,
    pub versioning: bool,
    pub lifecycle: Option<LifecycleSettings>,
    pub logging: Option<LoggingTarget>,
    pub policy: Option<String>,
    pub tags: Tags,
}

impl BucketSettings {
    /// The settings a resource value (planned or prior state) describes; `lifecycle` and
    /// `versioning` are the resource's own.
    pub fn from_value(
        value: &Value,
        versioning: bool,
        lifecycle: Option<LifecycleSettings>,
    ) -> BucketSettings {
        let string = |name: &str| value.get(name).as_str().map(str::to_string);
        let logging = value.get("logging");
        BucketSettings {
            object_ownership: string("object_ownership"),
            block_public_access: value.get("block_public_access").as_bool() == Some(true),
            sse_algorithm: string("sse_algorithm"),
            kms_key_arn: string("kms_key_arn"),
            versioning,
            lifecycle,
            logging: logging
                .get("target_bucket")
                .as_str()
                .map(|bucket| LoggingTarget {
                    bucket: bucket.to_string(),
                    prefix: logging
                        .get("target_prefix")
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                }),
            policy: string("policy"),
            tags: value.get("tags_all").string_map(),
        }
    }
}

/// What S3 reports about a bucket.
#[derive(Debug, Clone, Default)]
pub struct RemoteBucket {
    pub region: Option<String>,
    pub object_ownership: Option<String>,
    pub block_public_access: bool,
    pub sse_algorithm: Option<String>,
    pub kms_key: Option<String>,
    pub versioning: bool,
    pub lifecycle_rules: Vec<LifecycleRule>,
    pub logging: Option<LoggingTarget>,
    pub policy: Option<String>,
    pub tags: Tags,
}

// ---- plan -----------------------------------------------------------------------------------

/// Plans the computed attributes every hardened bucket has. `policy` is the planned bucket
/// policy (`Err(())` while it depends on unknown values).
pub async fn plan_bucket(
    client: &Client,
    change: &mut PlanChange<'_>,
    policy: Result<Option<String>, ()>,
) -> Result<(), Diagnostic> {
    let name = change.planned.get("name").as_str().map(str::to_string);
    let partition = client.aws.partition();
    change.planned.set(
        "arn",
        name.as_ref().map_or(Value::unknown(), |n| {
            Value::from(format!("arn:{partition}:s3:::{n}"))
        }),
    );
    change.planned.set("region", client.aws.region.as_str());
    change.planned.set("block_public_access", true);
    change.planned.set("object_ownership", OBJECT_OWNERSHIP);
    let kms = change.planned.get("kms_key_arn").clone();
    change.planned.set(
        "sse_algorithm",
        match &kms {
            Value::Null => Value::from(SSE_S3),
            _ => Value::from(SSE_KMS),
        },
    );
    change.planned.set(
        "policy",
        match policy {
            Ok(policy) => Value::opt_string(policy),
            Err(()) => Value::unknown(),
        },
    );
    let logging = change.planned.get("logging");
    if logging.as_map().is_some() && change.config.get("logging").get("target_prefix").is_null() {
        let mut logging = logging.clone();
        logging.set(
            "target_prefix",
            name.as_ref()
                .map_or(Value::unknown(), |n| Value::from(format!("{n}/"))),
        );
        change.planned.set("logging", logging);
    }
    if let Some(arn) = kms.as_str()
        && (change.is_create() || change.prior.get("kms_key_arn") != &kms)
    {
        check_kms_key(client, arn).await?;
    }
    Ok(())
}

/// A key S3 can encrypt with: it exists, is enabled and symmetric. Without permission to
/// describe it, the check is skipped (S3 reports a bad key at the first upload instead).
pub async fn check_kms_key(client: &Client, arn: &str) -> Result<(), Diagnostic> {
    let out = match client.aws.kms().describe_key().key_id(arn).send().await {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_not_found_exception()) =>
        {
            return Err(Diagnostic::error(
                format!("KMS key ({arn}) not found"),
                format!(
                    "No KMS key {arn} exists in region {} of this account. Create it first (or fix the ARN), \
                     or remove kms_key_arn to encrypt with SSE-S3.",
                    client.aws.region
                ),
            )
            .at_attribute("kms_key_arn"));
        }
        Err(e) if e.code().is_some_and(|c| c.contains("AccessDenied")) => {
            tracing::warn!("cannot describe KMS key {arn}: {e}; skipping the plan-time check");
            return Ok(());
        }
        Err(e) => {
            return Err(
                aws_error(&format!("describing KMS key ({arn})"), &e).at_attribute("kms_key_arn")
            );
        }
    };
    let Some(key) = out.key_metadata else {
        return Ok(());
    };
    use aws_sdk_kms::types::{KeySpec, KeyState};
    if let Some(state) = key.key_state().filter(|s| **s != KeyState::Enabled) {
        return Err(Diagnostic::error(
            format!("KMS key ({arn}) is {}", state.as_str()),
            "S3 can only encrypt with an enabled key: enable it (or cancel its deletion), or use another key.",
        )
        .at_attribute("kms_key_arn"));
    }
    if let Some(spec) = key.key_spec().filter(|s| **s != KeySpec::SymmetricDefault) {
        return Err(Diagnostic::error(
            format!("KMS key ({arn}) is not a symmetric encryption key"),
            format!(
                "Its key spec is {}; S3 default encryption needs SYMMETRIC_DEFAULT.",
                spec.as_str()
            ),
        )
        .at_attribute("kms_key_arn"));
    }
    Ok(())
}

// ---- find -----------------------------------------------------------------------------------

/// Codes S3 answers when a sub-configuration was never set.
const NOT_CONFIGURED: &[&str] = &[
    "OwnershipControlsNotFoundError",
    "NoSuchPublicAccessBlockConfiguration",
    "ServerSideEncryptionConfigurationNotFoundError",
    "NoSuchLifecycleConfiguration",
    "NoSuchBucketPolicy",
    "NoSuchTagSet",
];

enum Lookup<T> {
    Found(T),
    NotConfigured,
    BucketGone,
}

/// One `Get*` of a bucket sub-configuration, telling "not configured" and "bucket gone" apart
/// from failures.
async fn lookup<T, E, R, Fut>(doing: String, call: Fut) -> Result<Lookup<T>, Diagnostic>
where
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match call.await {
        Ok(out) => Ok(Lookup::Found(out)),
        Err(e) => match e.code() {
            Some("NoSuchBucket") => Ok(Lookup::BucketGone),
            Some(code) if NOT_CONFIGURED.contains(&code) => Ok(Lookup::NotConfigured),
            _ => Err(aws_error(&doing, &e)),
        },
    }
}

macro_rules! found_or_return {
    ($lookup:expr) => {
        match $lookup {
            Lookup::Found(out) => Some(out),
            Lookup::NotConfigured => None,
            Lookup::BucketGone => return Ok(None),
        }
    };
}

/// Everything this module manages about a bucket, or `None` when it does not exist.
pub async fn find_bucket(client: &Client, name: &str) -> Result<Option<RemoteBucket>, Diagnostic> {
    let s3 = client.aws.s3();
    let head = match s3.head_bucket().bucket(name).send().await {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|se| se.is_not_found()) => return Ok(None),
        Err(e) => return Err(aws_error(&format!("reading S3 Bucket ({name})"), &e)),
    };
    let region = head.bucket_region().map(str::to_string);
    if let Some(region) = region.as_deref().filter(|r| *r != client.aws.region) {
        return Err(Diagnostic::error(
            format!("S3 Bucket ({name}) is in region {region}"),
            format!(
                "The provider is configured for {}; a bucket is managed from its own region. Set region = \"{region}\" \
                 in a provider block (an alias) for this resource.",
                client.aws.region
            ),
        ));
    }
    let doing = |what: &str| format!("reading {what} of S3 Bucket ({name})");

    let ownership = found_or_return!(
        lookup(
            doing("ownership controls"),
            s3.get_bucket_ownership_controls().bucket(name).send()
        )
        .await?
    );
    let public_access = found_or_return!(
        lookup(
            doing("public access block"),
            s3.get_public_access_block().bucket(name).send()
        )
        .await?
    );
    let encryption = found_or_return!(
        lookup(
            doing("encryption"),
            s3.get_bucket_encryption().bucket(name).send()
        )
        .await?
    );
    let versioning = match s3.get_bucket_versioning().bucket(name).send().await {
        Ok(out) => out
            .status()
            .is_some_and(|s| *s == BucketVersioningStatus::Enabled),
        Err(e) => match misnamed_versioning_answer(&e) {
            Some(enabled) => enabled,
            None if e.code() == Some("NoSuchBucket") => return Ok(None),
            None => return Err(aws_error(&doing("versioning"), &e)),
        },
    };
    let lifecycle = found_or_return!(
        lookup(
            doing("lifecycle configuration"),
            s3.get_bucket_lifecycle_configuration().bucket(name).send()
        )
        .await?
    );
    let logging = found_or_return!(
        lookup(
            doing("logging"),
            s3.get_bucket_logging().bucket(name).send()
        )
        .await?
    );
    let policy = found_or_return!(
        lookup(doing("policy"), s3.get_bucket_policy().bucket(name).send()).await?
    );
    let tagging =
        found_or_return!(lookup(doing("tags"), s3.get_bucket_tagging().bucket(name).send()).await?);

    let pab = public_access
        .as_ref()
        .and_then(|o| o.public_access_block_configuration());
    let sse = encryption
        .as_ref()
        .and_then(|o| o.server_side_encryption_configuration())
        .and_then(|c| c.rules().first())
        .and_then(|r| r.apply_server_side_encryption_by_default());
    Ok(Some(RemoteBucket {
        region,
        object_ownership: ownership
            .as_ref()
            .and_then(|o| o.ownership_controls())
            .and_then(|c| c.rules().first())
            .map(|r| r.object_ownership().as_str().to_string()),
        block_public_access: pab.is_some_and(|p| {
            p.block_public_acls() == Some(true)
                && p.ignore_public_acls() == Some(true)
                && p.block_public_policy() == Some(true)
                && p.restrict_public_buckets() == Some(true)
        }),
        sse_algorithm: sse.map(|d| d.sse_algorithm().as_str().to_string()),
        kms_key: sse
            .and_then(|d| d.kms_master_key_id())
            .filter(|k| !k.is_empty())
            .map(str::to_string),
        versioning,
        lifecycle_rules: lifecycle.map(|l| l.rules().to_vec()).unwrap_or_default(),
        logging: logging
            .as_ref()
            .and_then(|l| l.logging_enabled())
            .map(|l| LoggingTarget {
                bucket: l.target_bucket().to_string(),
                prefix: l.target_prefix().to_string(),
            }),
        policy: policy.and_then(|p| p.policy),
        tags: tagging
            .map(|t| {
                t.tag_set()
                    .iter()
                    .map(|tag| (tag.key().to_string(), tag.value().to_string()))
                    .collect()
            })
            .unwrap_or_default(),
    }))
}

/// moto (5.2 at least) names the root element of its GetBucketVersioning answer
/// `GetBucketVersioningResponse` instead of `VersioningConfiguration`, which the SDK refuses to
/// parse. Reads the status from such a body; `None` for any other error.
fn misnamed_versioning_answer<E>(err: &SdkError<E, HttpResponse>) -> Option<bool> {
    let body = std::str::from_utf8(err.raw_response()?.body().bytes()?).ok()?;
    if !body.contains("<GetBucketVersioningResponse") {
        return None;
    }
    Some(body.contains("<Status>Enabled</Status>"))
}

// ---- flatten --------------------------------------------------------------------------------

/// Writes what S3 reported into the shared attributes of `state`. `expected_policy` is the policy
/// the state's settings call for: a remote policy saying the same is recorded in that spelling,
/// so only a real difference shows as drift.
pub fn flatten_bucket(
    client: &Client,
    remote: &RemoteBucket,
    state: &mut Value,
    expected_policy: Option<&str>,
) {
    let name = state.get("name").as_str().unwrap_or_default().to_string();
    let partition = client.aws.partition();
    state.set("arn", format!("arn:{partition}:s3:::{name}"));
    state.set(
        "region",
        remote
            .region
            .clone()
            .unwrap_or_else(|| client.aws.region.clone()),
    );
    state.set(
        "object_ownership",
        Value::opt_string(remote.object_ownership.clone()),
    );
    state.set("block_public_access", remote.block_public_access);
    state.set(
        "sse_algorithm",
        Value::opt_string(remote.sse_algorithm.clone()),
    );
    let prior_kms = state.get("kms_key_arn").as_str().map(str::to_string);
    state.set(
        "kms_key_arn",
        Value::opt_string(match (&remote.kms_key, prior_kms) {
            // S3 may report a key in another spelling (id vs ARN) than the one configured.
            (Some(remote), Some(prior)) if same_kms_key(remote, &prior) => Some(prior),
            (remote, _) => remote.clone(),
        }),
    );
    state.set(
        "enforce_tls",
        policy_enforces_tls(partition, &name, remote.policy.as_deref()),
    );
    state.set(
        "policy",
        match (&remote.policy, expected_policy) {
            (Some(remote), Some(expected)) if same_policy(remote, expected) => {
                Value::from(expected)
            }
            (remote, _) => Value::opt_string(remote.clone()),
        },
    );
    state.set(
        "logging",
        match &remote.logging {
            Some(target) => Value::object([
                ("target_bucket", Value::from(target.bucket.as_str())),
                ("target_prefix", Value::from(target.prefix.as_str())),
            ]),
            None => Value::Null,
        },
    );
    state.set(
        "tags",
        crate::tags::split_remote_tags(&remote.tags, state.get("tags"), &client.default_tags),
    );
    state.set("tags_all", Value::from(remote.tags.clone()));
    if state.get("force_destroy").is_null() {
        state.set("force_destroy", false);
    }
}

fn same_kms_key(a: &str, b: &str) -> bool {
    a == b || a.ends_with(&format!("/{b}")) || b.ends_with(&format!("/{a}"))
}

// ---- apply ----------------------------------------------------------------------------------

/// Backoff for calls S3 may refuse for a short while: right after CreateBucket the bucket can be
/// invisible to other endpoints (`NoSuchBucket`), and two configuration changes of one bucket
/// in flight conflict (`OperationAborted`).
const RETRY_DELAYS_MS: &[u64] = &[200, 400, 800, 1600, 3200, 3200, 3200];

async fn with_retry<T, E, R, F, Fut>(
    missing_bucket_is_transient: bool,
    mut call: F,
) -> Result<T, SdkError<E, R>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
    E: ProvideErrorMetadata,
{
    let mut delays = RETRY_DELAYS_MS.iter();
    loop {
        match call().await {
            Err(e) if is_transient(e.code(), missing_bucket_is_transient) => match delays.next() {
                Some(ms) => tokio::time::sleep(Duration::from_millis(*ms)).await,
                None => return Err(e),
            },
            other => return other,
        }
    }
}

fn is_transient(code: Option<&str>, missing_bucket_is_transient: bool) -> bool {
    match code {
        Some("OperationAborted") => true,
        Some("NoSuchBucket") => missing_bucket_is_transient,
        _ => false,
    }
}

/// Creates the bucket, refusing to adopt one that exists. `type_name` goes into the import hint.
pub async fn create_bucket(client: &Client, type_name: &str, name: &str) -> Result<(), Diagnostic> {
    let s3 = client.aws.s3();
    let import_hint = || existing_bucket_error(type_name, name, true);
    let taken = || existing_bucket_error(type_name, name, false);
    // In us-east-1, CreateBucket of a bucket you own succeeds quietly: ask first, everywhere, so
    // an existing bucket is never adopted.
    match s3.head_bucket().bucket(name).send().await {
        Ok(_) => return Err(import_hint()),
        Err(e) if e.as_service_error().is_some_and(|se| se.is_not_found()) => {}
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => {
            return Err(taken());
        }
        // Anything else (e.g. a redirect to another region): CreateBucket's answer says more.
        Err(_) => {}
    }
    let mut create = s3.create_bucket().bucket(name);
    if client.aws.region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(client.aws.region.as_str()))
                .build(),
        );
    }
    match create.send().await {
        Ok(_) => Ok(()),
        Err(e) => match e.as_service_error() {
            Some(se) if se.is_bucket_already_owned_by_you() => Err(import_hint()),
            Some(se) if se.is_bucket_already_exists() => Err(taken()),
            _ if e.code() == Some("InvalidBucketName") => {
                Err(aws_error(&format!("creating S3 Bucket ({name})"), &e).at_attribute("name"))
            }
            _ => Err(aws_error(&format!("creating S3 Bucket ({name})"), &e)),
        },
    }
}

/// A bucket name that is taken: by this account (import it) or by another (choose another).
fn existing_bucket_error(type_name: &str, name: &str, owned_by_you: bool) -> Diagnostic {
    let (summary, detail) = if owned_by_you {
        (
            format!("S3 Bucket ({name}) already exists in your account"),
            format!(
                "mdw does not take over existing buckets silently. To manage it with Terraform, import it:\n  \
                 terraform import {type_name}.<resource name> {name}\nor choose another name."
            ),
        )
    } else {
        (
            format!("S3 Bucket ({name}) is owned by another AWS account"),
            "Bucket names are global across all AWS accounts and this one is taken; choose another name \
             (a prefix with your organisation or account id helps)."
                .to_string(),
        )
    };
    Diagnostic::error(summary, detail).at_attribute("name")
}

/// Brings the bucket from `from` (None: just created) to `to`, changing only what differs, in
/// the order that never leaves it less protected than before: ownership → public access block
/// → encryption → versioning → lifecycle → logging → policy → tags.
pub async fn apply_settings(
    client: &Client,
    name: &str,
    from: Option<&BucketSettings>,
    to: &BucketSettings,
) -> Result<(), Diagnostic> {
    let s3 = client.aws.s3();
    let just_created = from.is_none();
    let doing = |what: &str| format!("{what} of S3 Bucket ({name})");

    if from.is_none_or(|f| f.object_ownership != to.object_ownership) {
        let controls = OwnershipControls::builder()
            .rules(
                OwnershipControlsRule::builder()
                    .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                    .build()
                    .map_err(|e| {
                        Diagnostic::error("building S3 ownership controls", e.to_string())
                    })?,
            )
            .build()
            .map_err(|e| Diagnostic::error("building S3 ownership controls", e.to_string()))?;
        with_retry(just_created, || {
            s3.put_bucket_ownership_controls()
                .bucket(name)
                .ownership_controls(controls.clone())
                .send()
        })
        .await
        .map_err(|e| aws_error(&doing("setting ownership controls"), &e))?;
    }

    if from.is_none_or(|f| !f.block_public_access) {
        let block = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        with_retry(just_created, || {
            s3.put_public_access_block()
                .bucket(name)
                .public_access_block_configuration(block.clone())
                .send()
        })
        .await
        .map_err(|e| aws_error(&doing("blocking public access"), &e))?;
    }

    if from.is_none_or(|f| f.sse_algorithm != to.sse_algorithm || f.kms_key_arn != to.kms_key_arn) {
        let configuration = encryption_configuration(to.kms_key_arn.as_deref())?;
        with_retry(just_created, || {
            s3.put_bucket_encryption()
                .bucket(name)
                .server_side_encryption_configuration(configuration.clone())
                .send()
        })
        .await
        .map_err(|e| {
            let d = aws_error(&doing("setting default encryption"), &e);
            if to.kms_key_arn.is_some() {
                d.at_attribute("kms_key_arn")
            } else {
                d
            }
        })?;
    }

    // A new bucket is unversioned: only "on" needs a call then.
    if from.map_or(to.versioning, |f| f.versioning != to.versioning) {
        let status = if to.versioning {
            BucketVersioningStatus::Enabled
        } else {
            BucketVersioningStatus::Suspended
        };
        with_retry(just_created, || {
            s3.put_bucket_versioning()
                .bucket(name)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(status.clone())
                        .build(),
                )
                .send()
        })
        .await
        .map_err(|e| aws_error(&doing("setting versioning"), &e))?;
    }

    if let Some(lifecycle) = &to.lifecycle
        && from.is_none_or(|f| f.lifecycle.as_ref() != Some(lifecycle))
    {
        let replaced = from
            .and_then(|f| f.lifecycle.as_ref())
            .map(|l| l.rule_id.as_str());
        put_lifecycle(client, name, lifecycle, replaced, just_created).await?;
    }

    if from.map_or(to.logging.is_some(), |f| f.logging != to.logging) {
        let status = match &to.logging {
            Some(target) => BucketLoggingStatus::builder()
                .logging_enabled(
                    LoggingEnabled::builder()
                        .target_bucket(&target.bucket)
                        .target_prefix(&target.prefix)
                        .build()
                        .map_err(|e| {
                            Diagnostic::error("building S3 logging settings", e.to_string())
                        })?,
                )
                .build(),
            None => BucketLoggingStatus::builder().build(),
        };
        with_retry(just_created, || {
            s3.put_bucket_logging()
                .bucket(name)
                .bucket_logging_status(status.clone())
                .send()
        })
        .await
        .map_err(|e| aws_error(&doing("setting access logging"), &e).at_attribute("logging"))?;
    }

    if from.map_or(to.policy.is_some(), |f| f.policy != to.policy) {
        match &to.policy {
            Some(policy) => {
                with_retry(just_created, || {
                    s3.put_bucket_policy().bucket(name).policy(policy).send()
                })
                .await
                .map_err(|e| aws_error(&doing("setting the bucket policy"), &e))?;
            }
            None => {
                with_retry(just_created, || {
                    s3.delete_bucket_policy().bucket(name).send()
                })
                .await
                .map_err(|e| aws_error(&doing("deleting the bucket policy"), &e))?;
            }
        }
    }

    if from.map_or(!to.tags.is_empty(), |f| f.tags != to.tags) {
        if to.tags.is_empty() {
            with_retry(just_created, || {
                s3.delete_bucket_tagging().bucket(name).send()
            })
            .await
            .map_err(|e| aws_error(&doing("removing the tags"), &e))?;
        } else {
            let tagging = tagging(&to.tags)?;
            with_retry(just_created, || {
                s3.put_bucket_tagging()
                    .bucket(name)
                    .tagging(tagging.clone())
                    .send()
            })
            .await
            .map_err(|e| aws_error(&doing("tagging"), &e).at_attribute("tags"))?;
        }
    }
    Ok(())
}

fn encryption_configuration(
    kms_key_arn: Option<&str>,
) -> Result<ServerSideEncryptionConfiguration, Diagnostic> {
    let default = match kms_key_arn {
        Some(key) => ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .kms_master_key_id(key),
        None => {
            ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256)
        }
    }
    .build()
    .map_err(|e| Diagnostic::error("building S3 encryption settings", e.to_string()))?;
    ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(default)
                // S3 Bucket Keys cut KMS requests (and their cost) by orders of magnitude.
                .bucket_key_enabled(kms_key_arn.is_some())
                .build(),
        )
        .build()
        .map_err(|e| Diagnostic::error("building S3 encryption settings", e.to_string()))
}

fn tagging(tags: &Tags) -> Result<Tagging, Diagnostic> {
    let tag_set = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Diagnostic::error("building S3 tags", e.to_string()))?;
    Tagging::builder()
        .set_tag_set(Some(tag_set))
        .build()
        .map_err(|e| Diagnostic::error("building S3 tags", e.to_string()))
}

/// Writes our rule, keeping rules someone else added (S3 replaces the whole configuration).
async fn put_lifecycle(
    client: &Client,
    name: &str,
    lifecycle: &LifecycleSettings,
    replaced_rule_id: Option<&str>,
    just_created: bool,
) -> Result<(), Diagnostic> {
    let s3 = client.aws.s3();
    let existing = if just_created {
        Vec::new()
    } else {
        match lookup(
            format!("reading lifecycle configuration of S3 Bucket ({name})"),
            s3.get_bucket_lifecycle_configuration().bucket(name).send(),
        )
        .await?
        {
            Lookup::Found(out) => out.rules().to_vec(),
            Lookup::NotConfigured | Lookup::BucketGone => Vec::new(),
        }
    };
    let mut rules: Vec<LifecycleRule> = existing
        .into_iter()
        .filter(|r| {
            let id = r.id().unwrap_or_default();
            id != lifecycle.rule_id && Some(id) != replaced_rule_id
        })
        .collect();
    rules.push(lifecycle.to_rule()?);
    let configuration = BucketLifecycleConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .map_err(|e| Diagnostic::error("building an S3 lifecycle configuration", e.to_string()))?;
    with_retry(just_created, || {
        s3.put_bucket_lifecycle_configuration()
            .bucket(name)
            .lifecycle_configuration(configuration.clone())
            .send()
    })
    .await
    .map_err(|e| {
        aws_error(
            &format!("setting lifecycle rules of S3 Bucket ({name})"),
            &e,
        )
    })?;
    Ok(())
}

// ---- delete ---------------------------------------------------------------------------------

/// What a bucket holds, counted from one page of ListObjectVersions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contents {
    pub versions: usize,
    pub delete_markers: usize,
    /// More than one page: the counts are a lower bound.
    pub more: bool,
}

impl Contents {
    pub fn is_empty(&self) -> bool {
        self.versions == 0 && self.delete_markers == 0
    }

    /// "3 object versions and 1 delete marker", "at least 1000 object versions …".
    pub fn describe(&self) -> String {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        format!(
            "{}{} and {}",
            if self.more { "at least " } else { "" },
            plural(self.versions, "object version", "object versions"),
            plural(self.delete_markers, "delete marker", "delete markers"),
        )
    }
}

/// The error for destroying a bucket that still holds data.
pub fn not_empty_error(name: &str, contents: &Contents) -> Diagnostic {
    Diagnostic::error(
        format!("S3 Bucket ({name}) is not empty"),
        format!(
            "It holds {}. Terraform does not delete data unless told to: empty the bucket first \
             (every version, e.g. in the console's \"Empty\" action), or set force_destroy = true, \
             run terraform apply, and destroy again.",
            contents.describe()
        ),
    )
}

/// Counts what the bucket holds (one page); `None` when the bucket is gone.
pub async fn count_contents(client: &Client, name: &str) -> Result<Option<Contents>, Diagnostic> {
    match client
        .aws
        .s3()
        .list_object_versions()
        .bucket(name)
        .send()
        .await
    {
        Ok(page) => Ok(Some(Contents {
            versions: page.versions().len(),
            delete_markers: page.delete_markers().len(),
            more: page.is_truncated() == Some(true),
        })),
        Err(e) if e.code() == Some("NoSuchBucket") => Ok(None),
        Err(e) => Err(aws_error(
            &format!("listing object versions of S3 Bucket ({name})"),
            &e,
        )),
    }
}

/// Deletes every object version and delete marker, a page (up to 1000) at a time.
async fn empty_bucket(client: &Client, name: &str) -> Result<(), Diagnostic> {
    let s3 = client.aws.s3();
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    loop {
        let page = match s3
            .list_object_versions()
            .bucket(name)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
        {
            Ok(page) => page,
            Err(e) if e.code() == Some("NoSuchBucket") => return Ok(()),
            Err(e) => {
                return Err(aws_error(
                    &format!("listing object versions of S3 Bucket ({name})"),
                    &e,
                ));
            }
        };
        let ids = page
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                page.delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            )
            .filter_map(|(key, version)| {
                key.map(|k| {
                    ObjectIdentifier::builder()
                        .key(k)
                        .set_version_id(version.map(str::to_string))
                        .build()
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Diagnostic::error("building an S3 delete request", e.to_string()))?;
        if !ids.is_empty() {
            let delete = Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(|e| Diagnostic::error("building an S3 delete request", e.to_string()))?;
            let out = s3
                .delete_objects()
                .bucket(name)
                .delete(delete)
                .send()
                .await
                .map_err(|e| aws_error(&format!("deleting objects of S3 Bucket ({name})"), &e))?;
            if let Some(first) = out.errors().first() {
                return Err(Diagnostic::error(
                    format!("deleting objects of S3 Bucket ({name})"),
                    format!(
                        "S3 refused to delete {} object version(s), e.g. {:?}: {} ({}). Check object lock \
                         settings and the bucket policy, then destroy again.",
                        out.errors().len(),
                        first.key().unwrap_or_default(),
                        first.message().unwrap_or("no message"),
                        first.code().unwrap_or("error"),
                    ),
                ));
            }
        }
        if page.is_truncated() != Some(true) {
            return Ok(());
        }
        key_marker = page.next_key_marker().map(str::to_string);
        version_marker = page.next_version_id_marker().map(str::to_string);
    }
}

/// Deletes the bucket: refuses when it holds anything unless `force_destroy`, which empties it
/// first (every version and delete marker). A bucket already gone is fine.
pub async fn delete_bucket(
    client: &Client,
    name: &str,
    force_destroy: bool,
) -> Result<(), Diagnostic> {
    let s3 = client.aws.s3();
    // Objects written while we empty, or a listing that lags, make DeleteBucket answer
    // BucketNotEmpty: empty again, a bounded number of times.
    for attempt in 1..=3 {
        match count_contents(client, name).await? {
            None => return Ok(()),
            Some(contents) if !contents.is_empty() => {
                if !force_destroy {
                    return Err(not_empty_error(name, &contents));
                }
                empty_bucket(client, name).await?;
            }
            Some(_) => {}
        }
        match s3.delete_bucket().bucket(name).send().await {
            Ok(_) => return Ok(()),
            Err(e) if e.code() == Some("NoSuchBucket") => return Ok(()),
            Err(e) if e.code() == Some("BucketNotEmpty") && attempt < 3 => {
                tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
            }
            Err(e) => return Err(aws_error(&format!("deleting S3 Bucket ({name})"), &e)),
        }
    }
    Err(Diagnostic::error(
        format!("deleting S3 Bucket ({name})"),
        "The bucket kept filling up while it was being emptied; stop the writers and destroy again.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(pairs: &[(&str, Value)]) -> Value {
        Value::object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        for ok in [
            "mdw-work-zone",
            "mdw.warehouse.2026",
            "abc",
            &"a".repeat(63),
        ] {
            assert_eq!(bucket_name_problem(ok), None, "{ok}");
        }
        let cases = [
            ("ab", "3 to 63"),
            (&*"a".repeat(64), "3 to 63"),
            ("Mdw-Work", "contains 'M'"),
            ("mdw_work", "contains '_'"),
            ("-mdw", "begin and end"),
            ("mdw.", "begin and end"),
            ("mdw..zone", "adjacent dots"),
            ("192.168.5.4", "IP address"),
            ("xn--mdw", "starts with \"xn--\""),
            ("mdw-s3alias", "ends with \"-s3alias\""),
            ("mdw--ol-s3", "ends with \"--ol-s3\""),
        ];
        for (name, expected) in cases {
            let problem = bucket_name_problem(name).unwrap_or_else(|| panic!("{name} passed"));
            assert!(problem.contains(expected), "{name}: {problem}");
        }
        // Four dot-separated numbers is an IP; other dotted digits are not.
        assert_eq!(bucket_name_problem("1.2.3.4.5"), None);
    }

    #[test]
    fn invalid_names_get_a_suggestion() {
        let err = validate_bucket_name(&Value::from("Mdw_Work_Zone")).unwrap_err();
        assert!(err.contains("\"mdw-work-zone\""), "{err}");
        assert!(err.contains("global"), "{err}");
        assert!(validate_bucket_name(&Value::from("mdw-work-zone")).is_ok());
    }

    #[test]
    fn kms_key_arns_are_checked_for_shape() {
        assert!(
            validate_kms_key_arn(&Value::from(
                "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
            ))
            .is_ok()
        );
        assert!(
            validate_kms_key_arn(&Value::from("arn:aws:kms:us-west-2:123456789012:alias/mdw"))
                .is_ok()
        );
        for bad in [
            "1234abcd-12ab",
            "alias/mdw",
            "arn:aws:s3:::bucket",
            "arn:aws:kms:us-west-2:1:key/",
        ] {
            assert!(validate_kms_key_arn(&Value::from(bad)).is_err(), "{bad}");
        }
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
    fn only_conflicts_and_fresh_buckets_are_retried() {
        assert!(is_transient(Some("OperationAborted"), false));
        assert!(is_transient(Some("NoSuchBucket"), true));
        assert!(!is_transient(Some("NoSuchBucket"), false));
        assert!(!is_transient(Some("AccessDenied"), true));
        assert!(!is_transient(None, true));
    }

    #[test]
    fn contents_are_described_with_counts() {
        let contents = Contents {
            versions: 3,
            delete_markers: 1,
            more: false,
        };
        assert_eq!(contents.describe(), "3 object versions and 1 delete marker");
        let many = Contents {
            versions: 1000,
            delete_markers: 0,
            more: true,
        };
        assert_eq!(
            many.describe(),
            "at least 1000 object versions and 0 delete markers"
        );
        let err = not_empty_error("b", &contents);
        assert!(
            err.detail.contains("force_destroy = true"),
            "{}",
            err.detail
        );
        assert!(
            Contents {
                versions: 0,
                delete_markers: 0,
                more: false
            }
            .is_empty()
        );
    }

    #[test]
    fn a_misnamed_versioning_answer_is_still_read() {
        use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningError;
        use aws_sdk_s3::primitives::SdkBody;
        let answer = |body: &'static str| {
            SdkError::service_error(
                GetBucketVersioningError::unhandled("invalid root element"),
                HttpResponse::new(200.try_into().unwrap(), SdkBody::from(body)),
            )
        };
        let enabled = answer(
            "<GetBucketVersioningResponse xmlns=\"x\"><Status>Enabled</Status></GetBucketVersioningResponse>",
        );
        assert_eq!(misnamed_versioning_answer(&enabled), Some(true));
        let never = answer("<GetBucketVersioningResponse xmlns=\"x\"/>");
        assert_eq!(misnamed_versioning_answer(&never), Some(false));
        let other = answer("<Error><Code>AccessDenied</Code></Error>");
        assert_eq!(misnamed_versioning_answer(&other), None);
    }

    #[test]
    fn taken_names_say_import_or_choose_another_on_name() {
        let mine = existing_bucket_error("mdw_lake_bucket", "mdw-work-zone", true);
        assert!(
            mine.detail
                .contains("terraform import mdw_lake_bucket.<resource name> mdw-work-zone")
        );
        assert_eq!(mine.path, Some(tfplugin::AttributePath::root("name")));
        let theirs = existing_bucket_error("mdw_lake_bucket", "mdw-work-zone", false);
        assert!(theirs.detail.contains("global"), "{}", theirs.detail);
        assert!(
            theirs.detail.contains("choose another name"),
            "{}",
            theirs.detail
        );
        assert_eq!(theirs.path, Some(tfplugin::AttributePath::root("name")));
    }

    #[test]
    fn kms_keys_match_across_spellings() {
        let arn = "arn:aws:kms:us-west-2:1:key/abc";
        assert!(same_kms_key(arn, "abc"));
        assert!(same_kms_key("abc", arn));
        assert!(!same_kms_key(arn, "abd"));
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
        let settings = BucketSettings::from_value(&value, true, None);
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
