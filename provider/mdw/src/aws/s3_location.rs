//! `s3://bucket/prefix/` locations, as the workgroup's result location and the IAM roles' data
//! locations take them. One parser, so a location a workgroup accepts is one a role can be
//! granted, and the IAM resources built from it cover exactly that prefix.

use tfplugin::Value;

use crate::aws::arn::Arn;
use crate::aws::names::bucket_name_problem;

/// How much of a location an attribute needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Exactly one prefix, ending with `/`: what a policy grants on.
    Prefix,
    /// A bucket and any key prefix (`s3://bucket/results`): where an engine writes, nothing is
    /// granted on it.
    Location,
}

/// A parsed `s3://bucket/prefix/`; `prefix` is empty (the whole bucket) or ends with `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S3Url {
    pub(crate) bucket: String,
    pub(crate) prefix: String,
}

impl S3Url {
    /// Parses a prefix (`Shape::Prefix`); the error says what is wrong and how to write it.
    pub(crate) fn parse(url: &str) -> Result<S3Url, String> {
        S3Url::parse_as(url, Shape::Prefix)
    }

    /// Parses a location of the given shape; the error says what is wrong and how to write it.
    pub(crate) fn parse_as(url: &str, shape: Shape) -> Result<S3Url, String> {
        let example = "e.g. \"s3://mdw-work-zone/results/\"";
        let Some(rest) = url.strip_prefix("s3://") else {
            let hint = if url.to_ascii_lowercase().starts_with("s3://") {
                format!(" (write the scheme in lower case: \"s3://{}\")", &url[5..])
            } else if url.starts_with("arn:") {
                " (an ARN is not a location)".to_string()
            } else {
                String::new()
            };
            return Err(format!(
                "{url:?} is not an S3 location{hint}; write it as s3://bucket/prefix/, {example}."
            ));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if let Some(problem) = bucket_name_problem(bucket) {
            return Err(format!(
                "{url:?} does not name a valid S3 bucket: {bucket:?} is not a bucket name: {problem}; write it as s3://bucket/prefix/, {example}."
            ));
        }
        if shape == Shape::Prefix && !rest.ends_with('/') {
            return Err(format!(
                "{url:?} must end with \"/\" so that it names exactly one prefix (\"{url}/\"), {example}."
            ));
        }
        if prefix.contains("//") || prefix.starts_with('/') {
            return Err(format!(
                "{url:?} has an empty path segment (\"//\"); remove it."
            ));
        }
        // IAM reads `*`, `?` and `${…}` in a resource ARN as wildcards and variables: a prefix
        // holding them would grant more than the location.
        if let Some(c) = prefix
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '*' | '?' | '$'))
        {
            return Err(format!(
                "{url:?} contains {c:?}, which is not allowed in a location (IAM policies would read it as a wildcard or variable)."
            ));
        }
        Ok(S3Url {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// The location written back as `s3://bucket/prefix/`.
    pub(crate) fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    pub(crate) fn bucket_arn(&self, partition: &str) -> String {
        format!("arn:{partition}:s3:::{}", self.bucket)
    }

    /// Every object under the prefix (the whole bucket for an empty prefix).
    pub(crate) fn objects_arn(&self, partition: &str) -> String {
        format!("arn:{partition}:s3:::{}/{}*", self.bucket, self.prefix)
    }

    /// The inverse of [`S3Url::objects_arn`], for reading a policy back; `None` for other ARNs.
    pub(crate) fn from_objects_arn(arn: &str) -> Option<S3Url> {
        let arn = Arn::parse(arn)
            .filter(|a| a.service == "s3" && a.region.is_empty() && a.account.is_empty())?;
        let path = arn.resource.strip_suffix('*')?;
        let (bucket, prefix) = path.split_once('/')?;
        S3Url::parse(&format!("s3://{bucket}/{prefix}")).ok()
    }
}

/// Attribute validator for one prefix.
pub(crate) fn validate_s3_url(value: &Value) -> Result<(), String> {
    match value.as_str() {
        Some(url) => S3Url::parse(url).map(|_| ()),
        None => Ok(()),
    }
}

/// Attribute validator for one location of any shape.
pub(crate) fn validate_s3_location(value: &Value) -> Result<(), String> {
    match value.as_str() {
        Some(url) => S3Url::parse_as(url, Shape::Location).map(|_| ()),
        None => Ok(()),
    }
}

/// Attribute validator for a list of locations; names the element at fault.
pub(crate) fn validate_s3_url_list(value: &Value) -> Result<(), String> {
    for (i, item) in value.as_list().unwrap_or(&[]).iter().enumerate() {
        if let Some(url) = item.as_str() {
            S3Url::parse(url).map_err(|e| format!("element {i}: {e}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_into_bucket_and_prefix() {
        assert_eq!(
            S3Url::parse("s3://mdw-work-zone/results/"),
            Ok(S3Url {
                bucket: "mdw-work-zone".into(),
                prefix: "results/".into()
            })
        );
        let root = S3Url::parse("s3://mdw-warehouse/").unwrap();
        assert_eq!(root.prefix, "");
        assert_eq!(root.objects_arn("aws"), "arn:aws:s3:::mdw-warehouse/*");
        assert_eq!(root.bucket_arn("aws-cn"), "arn:aws-cn:s3:::mdw-warehouse");
        let nested = S3Url::parse("s3://b.example/a/b/").unwrap();
        assert_eq!(nested.objects_arn("aws"), "arn:aws:s3:::b.example/a/b/*");
        assert_eq!(nested.url(), "s3://b.example/a/b/");
    }

    #[test]
    fn objects_arns_read_back_into_locations() {
        for url in ["s3://mdw-work-zone/results/", "s3://mdw-warehouse/"] {
            let parsed = S3Url::parse(url).unwrap();
            assert_eq!(
                S3Url::from_objects_arn(&parsed.objects_arn("aws")),
                Some(parsed)
            );
        }
        assert_eq!(S3Url::from_objects_arn("arn:aws:s3:::bucket"), None);
        assert_eq!(
            S3Url::from_objects_arn("arn:aws:athena:us-west-2:1:workgroup/x"),
            None
        );
    }

    #[test]
    fn bad_locations_say_how_to_write_them() {
        let cases = [
            ("mdw-work-zone/results/", "is not an S3 location"),
            (
                "https://mdw-work-zone.s3.amazonaws.com/results/",
                "is not an S3 location",
            ),
            ("S3://mdw-work-zone/results/", "lower case"),
            ("s3://", "bucket names have 3 to 63"),
            ("s3:///results/", "bucket names have 3 to 63"),
            ("s3://MDW/results/", "contains 'M'"),
            ("s3://-mdw/results/", "begin and end with a letter or digit"),
            ("s3://mdw-work-zone/results", "must end with \"/\""),
            ("s3://mdw-work-zone", "must end with \"/\""),
            ("s3://mdw-work-zone/a//b/", "empty path segment"),
            ("s3://mdw-work-zone/res*/", "wildcard"),
            (
                "s3://mdw-work-zone/${aws:username}/",
                "wildcard or variable",
            ),
            ("s3://mdw-work-zone/a b/", "contains ' '"),
        ];
        for (url, expected) in cases {
            let err = S3Url::parse(url).expect_err(url);
            assert!(err.contains(expected), "{url}: {err}");
        }
    }

    #[test]
    fn locations_need_no_trailing_slash() {
        assert!(validate_s3_location(&Value::from("s3://mdw-work-zone/results")).is_ok());
        assert!(validate_s3_location(&Value::from("s3://mdw-work-zone")).is_ok());
        let err = validate_s3_location(&Value::from("/tmp/results")).unwrap_err();
        assert!(err.contains("is not an S3 location"), "{err}");
    }

    #[test]
    fn list_validator_names_the_element() {
        let list = Value::from(vec!["s3://ok-bucket/raw/".to_string(), "nope".to_string()]);
        let err = validate_s3_url_list(&list).unwrap_err();
        assert!(err.starts_with("element 1:"), "{err}");
    }
}
