//! One validator per AWS identifier, written once and used by every attribute that takes one.
//! Where two attributes legitimately accept different shapes of the same identifier (a KMS key
//! that IAM grants on vs. one S3 encrypts with), the difference is an explicit option.
//!
//! Each validator checks a known string and says what is expected; null and unknown values pass
//! (the framework skips them).

use tfplugin::Value;

use crate::aws::arn::{Arn, is_account_id};

type Check = Result<(), String>;

// ---- S3 -------------------------------------------------------------------------------------

/// Why `name` is not a valid general purpose bucket name, or `None` when it is.
pub(crate) fn bucket_name_problem(name: &str) -> Option<String> {
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

/// A general purpose bucket name, with a suggestion when one can be derived.
pub(crate) fn bucket_name(value: &Value) -> Check {
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

// ---- KMS ------------------------------------------------------------------------------------

/// Which KMS key ARNs an attribute takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KmsKey {
    /// Key ARNs only: IAM grants on keys, not on aliases, so a policy naming an alias grants
    /// nothing.
    KeyOnly,
    /// A key or alias ARN: S3 and Athena resolve either. Never a bare key id, which S3 would
    /// resolve in whichever account makes the request.
    KeyOrAlias,
}

/// A validator of KMS key ARNs of the given kind.
pub(crate) fn kms_key_arn(kind: KmsKey) -> impl Fn(&Value) -> Check + Send + Sync + Copy {
    move |value| {
        let Some(text) = value.as_str() else {
            return Ok(());
        };
        let arn = Arn::parse(text).filter(|a| a.service == "kms" && !a.region.is_empty());
        match kind {
            KmsKey::KeyOnly => {
                let valid = arn.is_some_and(|a| {
                    is_account_id(a.account)
                        && a.resource
                            .strip_prefix("key/")
                            .is_some_and(|id| !id.is_empty() && !id.contains(['*', '?', '/']))
                });
                if valid {
                    Ok(())
                } else {
                    Err(format!(
                        "{text:?} is not a KMS key ARN: write it as arn:aws:kms:<region>:<account>:key/<key id> \
                         (IAM grants on keys, not on aliases or bare key ids)."
                    ))
                }
            }
            KmsKey::KeyOrAlias => {
                let valid = arn.is_some_and(|a| {
                    !a.account.is_empty()
                        && (a.resource.starts_with("key/") || a.resource.starts_with("alias/"))
                        && a.resource.len() > 6
                });
                if valid {
                    Ok(())
                } else {
                    Err(format!(
                        "{text:?} is not a KMS key ARN; write it as \
                         \"arn:aws:kms:REGION:ACCOUNT:key/KEY-ID\" (or an alias ARN), e.g. from aws_kms_key.<name>.arn."
                    ))
                }
            }
        }
    }
}

// ---- DynamoDB, Glue, Athena -----------------------------------------------------------------

/// DynamoDB's table name rules.
pub(crate) fn dynamodb_table_name(value: &Value) -> Check {
    let Some(name) = value.as_str() else {
        return Ok(());
    };
    let valid = (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid DynamoDB table name: use 3–255 letters, digits, '_', '-' and '.', \
             e.g. \"mdw-terraform-locks\"."
        ))
    }
}

/// Glue stores names lower-cased and Athena cannot query other characters, so accept only what
/// round-trips unchanged.
pub(crate) fn glue_database_name(value: &Value) -> Check {
    let Some(name) = value.as_str() else {
        return Ok(());
    };
    let valid = (1..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        return Ok(());
    }
    let suggestion: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(255)
        .collect();
    Err(format!(
        "{name:?} is not a valid Glue database name: use 1–255 lower-case letters, digits and underscores{}.",
        if suggestion.is_empty() {
            String::new()
        } else {
            format!(", e.g. {suggestion:?}")
        }
    ))
}

pub(crate) fn athena_workgroup_name(value: &Value) -> Check {
    let Some(name) = value.as_str() else {
        return Ok(());
    };
    let valid = (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid Athena workgroup name: use 1–128 letters, digits, '.', '_' and '-', e.g. \"mdw\"."
        ))
    }
}

// ---- IAM ------------------------------------------------------------------------------------

fn is_role_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b)
}

pub(crate) fn iam_role_name(value: &Value) -> Check {
    let Some(name) = value.as_str() else {
        return Ok(());
    };
    if (1..=64).contains(&name.len()) && name.bytes().all(is_role_name_byte) {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid IAM role name: use 1–64 letters, digits and +=,.@_-, e.g. \"mdw-dbt-runner\"."
        ))
    }
}

/// A prefix of role names, as a policy grants on `role/<prefix>*`: no wildcards of its own.
pub(crate) fn iam_role_name_prefix(value: &Value) -> Check {
    let Some(prefix) = value.as_str() else {
        return Ok(());
    };
    if (1..=60).contains(&prefix.len()) && prefix.bytes().all(is_role_name_byte) {
        Ok(())
    } else {
        Err(format!(
            "{prefix:?} is not a role name prefix: use 1–60 letters, digits and +=,.@_- (no wildcards), e.g. \"mdw-\"."
        ))
    }
}

/// A role, user or account ARN that a trust policy may name.
pub(crate) fn iam_principal_arn(value: &Value) -> Check {
    let Some(text) = value.as_str() else {
        return Ok(());
    };
    if is_account_id(text) {
        return Err(format!(
            "{text:?} is an account id: write the account as \"arn:aws:iam::{text}:root\" (that is how IAM stores it)."
        ));
    }
    let valid = Arn::parse(text).is_some_and(|a| {
        matches!(a.service, "iam" | "sts")
            && a.region.is_empty()
            && is_account_id(a.account)
            && !a.resource.is_empty()
    }) && !text.contains(['*', '?']);
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{text:?} is not an IAM principal ARN: use a role, user or account ARN such as \
             \"arn:aws:iam::123456789012:role/ci\" or \"arn:aws:iam::123456789012:root\" (no wildcards)."
        ))
    }
}

/// An AWS service principal, `<service>.amazonaws.com` (`.com.cn` in China).
pub(crate) fn service_principal(value: &Value) -> Check {
    let Some(service) = value.as_str() else {
        return Ok(());
    };
    let host = service
        .strip_suffix(".amazonaws.com")
        .or_else(|| service.strip_suffix(".amazonaws.com.cn"));
    let valid = host.is_some_and(|h| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{service:?} is not an AWS service principal: write it as <service>.amazonaws.com, e.g. \"codebuild.amazonaws.com\"."
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn invalid_bucket_names_get_a_suggestion() {
        let err = bucket_name(&Value::from("Mdw_Work_Zone")).unwrap_err();
        assert!(err.contains("\"mdw-work-zone\""), "{err}");
        assert!(err.contains("global"), "{err}");
        assert!(bucket_name(&Value::from("mdw-work-zone")).is_ok());
    }

    #[test]
    fn kms_keys_for_encryption_may_be_aliases_but_not_bare_ids() {
        let check = kms_key_arn(KmsKey::KeyOrAlias);
        let key = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert!(check(&Value::from(key)).is_ok());
        assert!(check(&Value::from("arn:aws:kms:us-west-2:123456789012:alias/mdw")).is_ok());
        for bad in [
            "1234abcd-12ab",
            "alias/mdw",
            "arn:aws:s3:::bucket",
            "arn:aws:kms:us-west-2:1:key/",
        ] {
            assert!(check(&Value::from(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn kms_keys_for_iam_must_be_key_arns() {
        let check = kms_key_arn(KmsKey::KeyOnly);
        let key = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert!(check(&Value::from(key)).is_ok());
        for bad in [
            "alias/mdw",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-west-2:123456789012:alias/mdw",
            "arn:aws:kms:us-west-2:123456789012:key/*",
        ] {
            let err = check(&Value::from(bad)).unwrap_err();
            assert!(err.contains("key/<key id>"), "{bad}: {err}");
        }
    }

    #[test]
    fn principals_must_be_full_arns() {
        assert!(iam_principal_arn(&Value::from("arn:aws:iam::123456789012:role/ci")).is_ok());
        assert!(iam_principal_arn(&Value::from("arn:aws:iam::123456789012:root")).is_ok());
        let err = iam_principal_arn(&Value::from("123456789012")).unwrap_err();
        assert!(err.contains("arn:aws:iam::123456789012:root"), "{err}");
        assert!(iam_principal_arn(&Value::from("*")).is_err());
        assert!(iam_principal_arn(&Value::from("arn:aws:iam::123456789012:role/*")).is_err());
        assert!(service_principal(&Value::from("codebuild.amazonaws.com")).is_ok());
        assert!(service_principal(&Value::from("codebuild")).is_err());
    }

    #[test]
    fn table_names_follow_dynamodb_rules() {
        assert!(dynamodb_table_name(&Value::from("mdw-terraform-locks")).is_ok());
        assert!(dynamodb_table_name(&Value::from("Locks_1.a")).is_ok());
        let err = dynamodb_table_name(&Value::from("my locks")).unwrap_err();
        assert!(err.contains("mdw-terraform-locks"), "{err}");
        assert!(dynamodb_table_name(&Value::from("ab")).is_err());
    }

    #[test]
    fn glue_names_athena_can_read_pass_and_others_get_a_suggestion() {
        assert!(glue_database_name(&Value::from("sales_mart_2")).is_ok());
        let err = glue_database_name(&Value::from("Bad-Name")).unwrap_err();
        assert!(err.contains("\"bad_name\""), "{err}");
        assert!(glue_database_name(&Value::from("")).is_err());
        assert!(glue_database_name(&Value::from("x".repeat(256).as_str())).is_err());
    }

    #[test]
    fn role_and_workgroup_names_are_checked() {
        assert!(iam_role_name(&Value::from("mdw-dbt-runner")).is_ok());
        assert!(iam_role_name(&Value::from("x".repeat(65).as_str())).is_err());
        assert!(iam_role_name(&Value::from("has space")).is_err());
        assert!(iam_role_name_prefix(&Value::from("mdw-")).is_ok());
        assert!(iam_role_name_prefix(&Value::from("mdw-*")).is_err());
        assert!(athena_workgroup_name(&Value::from("mdw.prod_v2-x")).is_ok());
        assert!(athena_workgroup_name(&Value::from("has space")).is_err());
        assert!(athena_workgroup_name(&Value::from("")).is_err());
    }
}
