//! Reading a bucket back: every managed sub-configuration, told apart as "not configured" or
//! "bucket gone", and written into state.

use std::future::Future;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use tfplugin::{Diagnostic, Maybe};

use aws_sdk_s3::types::BucketVersioningStatus;

use super::schema::{Hardening, Logging};
use super::settings::{LoggingTarget, RemoteBucket, policy_enforces_tls, same_policy};
use crate::aws::aws_error;
use crate::client::Client;
use crate::tags;

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

pub(super) enum Lookup<T> {
    Found(T),
    NotConfigured,
    BucketGone,
}

/// One `Get*` of a bucket sub-configuration, telling "not configured" and "bucket gone" apart
/// from failures.
pub(super) async fn lookup<T, E, R, Fut>(doing: String, call: Fut) -> Result<Lookup<T>, Diagnostic>
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
pub(crate) async fn find_bucket(
    client: &Client,
    name: &str,
) -> Result<Option<RemoteBucket>, Diagnostic> {
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

/// Writes what S3 reported about bucket `name` into the shared attributes of `state`.
/// `expected_policy` is the policy the state's settings call for: a remote policy saying the
/// same is recorded in that spelling, so only a real difference shows as drift.
pub(crate) fn flatten_bucket(
    client: &Client,
    name: &str,
    remote: &RemoteBucket,
    state: &mut Hardening,
    expected_policy: Option<&str>,
) {
    let partition = client.partition();
    state.arn = Maybe::Known(format!("arn:{partition}:s3:::{name}"));
    state.region = Maybe::Known(
        remote
            .region
            .clone()
            .unwrap_or_else(|| client.region().to_string()),
    );
    state.object_ownership = Maybe::from_option(remote.object_ownership.clone());
    state.block_public_access = Maybe::Known(remote.block_public_access);
    state.sse_algorithm = Maybe::from_option(remote.sse_algorithm.clone());
    state.kms_key_arn = match (&remote.kms_key, state.kms_key_arn.take()) {
        // S3 may report a key in another spelling (id vs ARN) than the one configured.
        (Some(remote), Some(prior)) if same_kms_key(remote, &prior) => Some(prior),
        (remote, _) => remote.clone(),
    };
    state.enforce_tls = Maybe::Known(policy_enforces_tls(
        partition,
        name,
        remote.policy.as_deref(),
    ));
    state.policy = Maybe::from_option(match (&remote.policy, expected_policy) {
        (Some(remote), Some(expected)) if same_policy(remote, expected) => {
            Some(expected.to_string())
        }
        (remote, _) => remote.clone(),
    });
    // The default prefix stays unwritten, as configured, while S3 still has it.
    let prefix_was_default = state
        .logging
        .as_ref()
        .is_none_or(|logging| logging.target_prefix.is_none());
    state.logging = remote.logging.as_ref().map(|target| Logging {
        target_bucket: target.bucket.clone(),
        target_prefix: (!(prefix_was_default && target.prefix == Logging::default_prefix(name)))
            .then(|| target.prefix.clone()),
    });
    state.tags = tags::own_tags(&remote.tags, state.tags.as_ref(), &client.default_tags);
    state.tags_all = Maybe::Known(remote.tags.clone());
    if state.force_destroy.is_null() {
        state.force_destroy = Maybe::Known(false);
    }
}

fn same_kms_key(a: &str, b: &str) -> bool {
    a == b || a.ends_with(&format!("/{b}")) || b.ends_with(&format!("/{a}"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn kms_keys_match_across_spellings() {
        let arn = "arn:aws:kms:us-west-2:1:key/abc";
        assert!(same_kms_key(arn, "abc"));
        assert!(same_kms_key("abc", arn));
        assert!(!same_kms_key(arn, "abd"));
    }
}
