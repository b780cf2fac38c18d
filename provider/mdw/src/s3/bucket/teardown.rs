//! Destroying a bucket: only when it is empty, or emptied first when `force_destroy` says so.

use std::time::Duration;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use tfplugin::Diagnostic;

use crate::aws::aws_error;
use crate::client::Client;

// ---- delete ---------------------------------------------------------------------------------

/// What a bucket holds, counted from one page of ListObjectVersions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Contents {
    pub(crate) versions: usize,
    pub(crate) delete_markers: usize,
    /// More than one page: the counts are a lower bound.
    pub(crate) more: bool,
}

impl Contents {
    pub(crate) fn is_empty(&self) -> bool {
        self.versions == 0 && self.delete_markers == 0
    }

    /// "3 object versions and 1 delete marker", "at least 1000 object versions …".
    pub(crate) fn describe(&self) -> String {
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
pub(crate) fn not_empty_error(name: &str, contents: &Contents) -> Diagnostic {
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
pub(crate) async fn count_contents(
    client: &Client,
    name: &str,
) -> Result<Option<Contents>, Diagnostic> {
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
pub(crate) async fn delete_bucket(
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
}
