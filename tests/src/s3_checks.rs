//! S3 checks that the bucket resources' acceptance tests share, asked through the SDK.

use std::collections::HashMap;

use aws_sdk_s3::error::DisplayErrorContext;

use crate::aws::Aws;

/// HeadBucket through the SDK; any error other than "not found" fails the test.
pub fn bucket_exists(aws: &Aws, name: &str) -> bool {
    match aws.block_on(aws.s3().head_bucket().bucket(name).send()) {
        Ok(_) => true,
        Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => false,
        Err(e) => panic!("HeadBucket {name}: {}", DisplayErrorContext(e)),
    }
}

pub fn bucket_tags(aws: &Aws, name: &str) -> HashMap<String, String> {
    aws.block_on(aws.s3().get_bucket_tagging().bucket(name).send())
        .unwrap_or_else(|e| panic!("GetBucketTagging {name}: {}", DisplayErrorContext(e)))
        .tag_set
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect()
}

/// Versioning status through GetBucketVersioning. moto names the root element of its answer
/// `GetBucketVersioningResponse` (not `VersioningConfiguration`), which the Rust SDK refuses to
/// parse: then the status is read from the raw body of the same answer.
pub fn versioning_status(aws: &Aws, name: &str) -> Option<String> {
    match aws.block_on(aws.s3().get_bucket_versioning().bucket(name).send()) {
        Ok(out) => out.status.map(|s| s.as_str().to_string()),
        Err(e) => {
            let body = e
                .raw_response()
                .and_then(|r| r.body().bytes())
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            assert!(
                body.contains("<GetBucketVersioningResponse"),
                "GetBucketVersioning {name}: {}",
                DisplayErrorContext(e)
            );
            ["Enabled", "Suspended"]
                .into_iter()
                .find(|s| body.contains(&format!("<Status>{s}</Status>")))
                .map(str::to_string)
        }
    }
}

pub fn string_map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// What every hardened bucket has: all four public access blocks, bucket-owner-enforced
/// ownership and versioning on.
pub fn assert_private_owned_versioned(aws: &Aws, name: &str) {
    let s3 = aws.s3();
    let block = aws
        .block_on(s3.get_public_access_block().bucket(name).send())
        .unwrap_or_else(|e| panic!("GetPublicAccessBlock {name}: {}", DisplayErrorContext(e)))
        .public_access_block_configuration
        .expect("a public access block");
    assert_eq!(
        (
            block.block_public_acls,
            block.ignore_public_acls,
            block.block_public_policy,
            block.restrict_public_buckets
        ),
        (Some(true), Some(true), Some(true), Some(true)),
        "all four public access blocks are on"
    );
    let ownership = aws
        .block_on(s3.get_bucket_ownership_controls().bucket(name).send())
        .unwrap_or_else(|e| {
            panic!(
                "GetBucketOwnershipControls {name}: {}",
                DisplayErrorContext(e)
            )
        })
        .ownership_controls
        .expect("ownership controls");
    assert_eq!(
        ownership.rules()[0].object_ownership().as_str(),
        "BucketOwnerEnforced"
    );
    assert_eq!(versioning_status(aws, name).as_deref(), Some("Enabled"));
}
