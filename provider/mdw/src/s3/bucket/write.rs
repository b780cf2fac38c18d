//! Creating a bucket and applying its settings in a safe order, retrying what S3 refuses for
//! a short while.

use std::future::Future;
use std::time::Duration;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketLoggingStatus,
    BucketVersioningStatus, CreateBucketConfiguration, LifecycleRule, LoggingEnabled,
    ObjectOwnership, OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Tag, Tagging, VersioningConfiguration,
};
use tfplugin::Diagnostic;

use super::read::{Lookup, lookup};
use super::settings::{BucketSettings, LifecycleSettings};
use crate::aws::aws_error;
use crate::client::Client;
use crate::tags::Tags;

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
pub(crate) async fn create_bucket(
    client: &Client,
    type_name: &str,
    name: &str,
) -> Result<(), Diagnostic> {
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
pub(crate) async fn apply_settings(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_conflicts_and_fresh_buckets_are_retried() {
        assert!(is_transient(Some("OperationAborted"), false));
        assert!(is_transient(Some("NoSuchBucket"), true));
        assert!(!is_transient(Some("NoSuchBucket"), false));
        assert!(!is_transient(Some("AccessDenied"), true));
        assert!(!is_transient(None, true));
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
}
