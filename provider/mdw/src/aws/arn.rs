//! ARNs, read in one place: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`. Validators and
//! policy readers ask this module instead of splitting on `:` themselves.

/// The six parts of an ARN; `resource` keeps any further `:` or `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Arn<'a> {
    pub(crate) partition: &'a str,
    pub(crate) service: &'a str,
    pub(crate) region: &'a str,
    pub(crate) account: &'a str,
    pub(crate) resource: &'a str,
}

impl<'a> Arn<'a> {
    /// The parts of `text`, or `None` when it is not shaped like an ARN of an AWS partition.
    pub(crate) fn parse(text: &'a str) -> Option<Arn<'a>> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let partition = parts.next()?;
        let arn = Arn {
            partition,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        };
        partition.starts_with("aws").then_some(arn)
    }

    /// The account, when it is a 12-digit account id.
    pub(crate) fn account_id(&self) -> Option<&'a str> {
        Some(self.account).filter(|a| is_account_id(a))
    }
}

/// A 12-digit AWS account id.
pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `arn:aws:iam::123456789012:role/x` → `123456789012`.
pub(crate) fn account_of(arn: &str) -> Option<&str> {
    Arn::parse(arn)?.account_id()
}

/// The ARN partition of a region: `aws`, `aws-cn` or `aws-us-gov`.
pub(crate) fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_split_into_their_parts() {
        let arn = Arn::parse("arn:aws:kms:us-west-2:123456789012:key/a:b").unwrap();
        assert_eq!(
            (
                arn.partition,
                arn.service,
                arn.region,
                arn.account,
                arn.resource
            ),
            ("aws", "kms", "us-west-2", "123456789012", "key/a:b")
        );
        assert_eq!(
            account_of("arn:aws:iam::123456789012:role/x"),
            Some("123456789012")
        );
        assert_eq!(account_of("arn:aws:iam::aws:policy/x"), None);
        assert!(Arn::parse("arn:gcp:kms:r:1:key/x").is_none());
        assert!(Arn::parse("alias/mdw").is_none());
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of("eu-west-1"), "aws");
    }
}
