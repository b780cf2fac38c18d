//! S3 locations: `s3://bucket/prefix` split, the "directories" directly under a prefix, and
//! deleting everything under one.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

/// A bucket and a key prefix without leading or trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: String,
}

impl S3Location {
    /// Parses `s3://bucket[/prefix]`; `None` for anything else.
    pub fn parse(url: &str) -> Option<S3Location> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return None;
        }
        Some(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    /// The prefix as a "directory": empty or ending in `/`.
    fn dir(&self) -> String {
        if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        }
    }
}

/// The names directly under `url` that hold objects (S3's common prefixes), without the
/// trailing `/`. A prefix with nothing under it has none.
pub async fn child_dirs(client: &Client, url: &str) -> Result<Vec<String>, String> {
    let location = S3Location::parse(url).ok_or_else(|| format!("{url} is not an s3:// URL"))?;
    let dir = location.dir();
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(&location.bucket)
            .prefix(&dir)
            .delimiter("/")
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(&e).to_string())?;
        for common in page.common_prefixes() {
            if let Some(name) = common
                .prefix()
                .and_then(|p| p.strip_prefix(&dir))
                .map(|p| p.trim_end_matches('/'))
                .filter(|p| !p.is_empty())
            {
                names.push(name.to_string());
            }
        }
        token = page.next_continuation_token().map(str::to_string);
        if token.is_none() {
            return Ok(names);
        }
    }
}

/// Deletes every object under `url` (as a directory: `url/…`). Returns how many went.
pub async fn delete_prefix(client: &Client, url: &str) -> Result<usize, String> {
    let location = S3Location::parse(url).ok_or_else(|| format!("{url} is not an s3:// URL"))?;
    if location.prefix.is_empty() {
        // Never a whole bucket: nothing the engines build lives at a bucket's root.
        return Err(format!(
            "refusing to delete everything in bucket {}",
            location.bucket
        ));
    }
    let dir = location.dir();
    let mut deleted = 0;
    loop {
        // Listing again after each batch: deleted keys drop out, so no token is needed.
        let page = client
            .list_objects_v2()
            .bucket(&location.bucket)
            .prefix(&dir)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(&e).to_string())?;
        let keys: Vec<ObjectIdentifier> = page
            .contents()
            .iter()
            .filter_map(|o| o.key())
            .filter_map(|k| ObjectIdentifier::builder().key(k).build().ok())
            .collect();
        if keys.is_empty() {
            return Ok(deleted);
        }
        let count = keys.len();
        let delete = Delete::builder()
            .set_objects(Some(keys))
            .quiet(true)
            .build()
            .map_err(|e| e.to_string())?;
        let out = client
            .delete_objects()
            .bucket(&location.bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(&e).to_string())?;
        if let Some(error) = out.errors().first() {
            return Err(format!(
                "deleting s3://{}/{}: {}",
                location.bucket,
                error.key().unwrap_or_default(),
                error.message().unwrap_or_default()
            ));
        }
        deleted += count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(
            S3Location::parse("s3://b/p/q/"),
            Some(S3Location {
                bucket: "b".into(),
                prefix: "p/q".into()
            })
        );
        assert_eq!(S3Location::parse("s3://b").unwrap().dir(), "");
        assert_eq!(S3Location::parse("file:///x"), None);
        assert_eq!(S3Location::parse("s3:///x"), None);
    }
}
