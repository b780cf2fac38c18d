//! What IAM holds for one role — the role, its inline policy, its tags, its instance profile —
//! read, and the instance profile and tags written.

use async_trait::async_trait;
use aws_sdk_iam::types::{Role, Tag};
use tfplugin::Diagnostic;

use crate::aws::{aws_error, found};
use crate::client::Client;
use crate::tags::{Taggable, Tags};

/// The name of the one inline policy each role gets.
pub(crate) const INLINE_POLICY_NAME: &str = "mdw-least-privilege";

/// What IAM holds for one role.
pub(crate) struct Remote {
    pub(crate) role: Role,
    pub(crate) policy: Option<String>,
    pub(crate) tags: Tags,
    pub(crate) instance_profile_arn: Option<String>,
}

pub(crate) async fn find_role(client: &Client, name: &str) -> Result<Option<Role>, Diagnostic> {
    let result = client.aws.iam().get_role().role_name(name).send().await;
    let out = found(
        result,
        |e| e.is_no_such_entity_exception(),
        &format!("reading IAM Role ({name})"),
    )?;
    Ok(out.and_then(|out| out.role))
}

/// The inline policy's document, or `None` when the role has no policy of that name.
pub(crate) async fn find_role_policy(
    client: &Client,
    name: &str,
) -> Result<Option<String>, Diagnostic> {
    let result = client
        .aws
        .iam()
        .get_role_policy()
        .role_name(name)
        .policy_name(INLINE_POLICY_NAME)
        .send()
        .await;
    let out = found(
        result,
        |e| e.is_no_such_entity_exception(),
        &format!("reading inline policy {INLINE_POLICY_NAME} of IAM Role ({name})"),
    )?;
    Ok(out.map(|out| decode_document(out.policy_document())))
}

pub(crate) async fn find_role_tags(client: &Client, name: &str) -> Result<Tags, Diagnostic> {
    let mut remote = Tags::new();
    let mut marker = None;
    loop {
        let out = client
            .aws
            .iam()
            .list_role_tags()
            .role_name(name)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| aws_error(&format!("reading tags of IAM Role ({name})"), &e))?;
        remote.extend(
            out.tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string())),
        );
        match (out.is_truncated(), out.marker) {
            (true, Some(next)) => marker = Some(next),
            _ => return Ok(remote),
        }
    }
}

/// The ARN of the instance profile named like the role, when it holds the role.
pub(crate) async fn find_instance_profile_arn(
    client: &Client,
    name: &str,
) -> Result<Option<String>, Diagnostic> {
    let result = client
        .aws
        .iam()
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await;
    let out = found(
        result,
        |e| e.is_no_such_entity_exception(),
        &format!("reading IAM Instance Profile ({name})"),
    )?;
    Ok(out
        .and_then(|out| out.instance_profile)
        .filter(|p| p.roles().iter().any(|r| r.role_name() == name))
        .map(|p| p.arn().to_string()))
}

/// Creates the instance profile named like the role if missing, and puts the role in it.
pub(crate) async fn ensure_instance_profile(
    client: &Client,
    name: &str,
    tags_all: &Tags,
) -> Result<(), Diagnostic> {
    let iam = client.aws.iam();
    let result = iam
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await;
    let existing = found(
        result,
        |e| e.is_no_such_entity_exception(),
        &format!("reading IAM Instance Profile ({name})"),
    )?
    .and_then(|out| out.instance_profile);
    let holds_role = match &existing {
        Some(profile) => {
            if let Some(other) = profile.roles().iter().find(|r| r.role_name() != name) {
                return Err(Diagnostic::error(
                    format!("IAM Instance Profile ({name}) already holds role {}", other.role_name()),
                    "An instance profile holds one role. mdw names the Airbyte role's instance profile like the role: \
                     remove the other role from it, or choose another role name.",
                )
                .at_attribute("name"));
            }
            !profile.roles().is_empty()
        }
        None => {
            iam.create_instance_profile()
                .instance_profile_name(name)
                .set_tags(iam_tags(tags_all)?)
                .send()
                .await
                .map_err(|e| aws_error(&format!("creating IAM Instance Profile ({name})"), &e))?;
            false
        }
    };
    if !holds_role {
        iam.add_role_to_instance_profile()
            .instance_profile_name(name)
            .role_name(name)
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    &format!("adding IAM Role ({name}) to its instance profile"),
                    &e,
                )
            })?;
    }
    Ok(())
}

/// IAM returns policy documents URL-encoded (RFC 3986).
pub(crate) fn decode_document(document: &str) -> String {
    if document.trim_start().starts_with('{') {
        return document.to_string();
    }
    let bytes = document.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn iam_tags(tags: &Tags) -> Result<Option<Vec<Tag>>, Diagnostic> {
    if tags.is_empty() {
        return Ok(None);
    }
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
        .map_err(|e| Diagnostic::error("building IAM tags", e.to_string()))
}

/// A role's tags, changed key by key.
pub(crate) struct RoleTags<'a> {
    pub(crate) client: &'a Client,
    pub(crate) name: &'a str,
}

#[async_trait]
impl Taggable for RoleTags<'_> {
    async fn tag(&self, tags: &Tags) -> Result<(), Diagnostic> {
        let name = self.name;
        self.client
            .aws
            .iam()
            .tag_role()
            .role_name(name)
            .set_tags(iam_tags(tags)?)
            .send()
            .await
            .map_err(|e| aws_error(&format!("tagging IAM Role ({name})"), &e))?;
        Ok(())
    }

    async fn untag(&self, keys: Vec<String>) -> Result<(), Diagnostic> {
        let name = self.name;
        self.client
            .aws
            .iam()
            .untag_role()
            .role_name(name)
            .set_tag_keys(Some(keys))
            .send()
            .await
            .map_err(|e| aws_error(&format!("removing tags of IAM Role ({name})"), &e))?;
        Ok(())
    }
}

/// The tags of the instance profile named like a role, changed key by key.
pub(crate) struct InstanceProfileTags<'a> {
    pub(crate) client: &'a Client,
    pub(crate) name: &'a str,
}

#[async_trait]
impl Taggable for InstanceProfileTags<'_> {
    async fn tag(&self, tags: &Tags) -> Result<(), Diagnostic> {
        let name = self.name;
        self.client
            .aws
            .iam()
            .tag_instance_profile()
            .instance_profile_name(name)
            .set_tags(iam_tags(tags)?)
            .send()
            .await
            .map_err(|e| aws_error(&format!("tagging IAM Instance Profile ({name})"), &e))?;
        Ok(())
    }

    async fn untag(&self, keys: Vec<String>) -> Result<(), Diagnostic> {
        let name = self.name;
        self.client
            .aws
            .iam()
            .untag_instance_profile()
            .instance_profile_name(name)
            .set_tag_keys(Some(keys))
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    &format!("removing tags of IAM Instance Profile ({name})"),
                    &e,
                )
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_url_decoded() {
        assert_eq!(
            decode_document("%7B%22Version%22%3A%20%222012-10-17%22%7D"),
            r#"{"Version": "2012-10-17"}"#
        );
        assert_eq!(decode_document(r#"{"a":"100%"}"#), r#"{"a":"100%"}"#);
        assert_eq!(decode_document("%7Bbad%zz%7D"), "{bad%zz}");
    }
}
