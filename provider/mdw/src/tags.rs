//! Tags the way Terraform users know them from the AWS provider: `tags` is what the resource
//! sets, `tags_all` what the object carries, including the provider's `default_tags`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Deserialize;
use tfplugin::{Diagnostic, Maybe, PlanChange, Value, from_value};

pub(crate) type Tags = BTreeMap<String, String>;

/// AWS's limits on a tag, the same in every service that tags (IAM, S3, Glue, Athena, DynamoDB).
const MAX_KEY_CHARS: usize = 128;
const MAX_VALUE_CHARS: usize = 256;
const RESERVED_PREFIX: &str = "aws:";

tfplugin::model! {
    /// The two tag attributes of every taggable resource, for a model to flatten in.
    pub(crate) struct Tagging {
        #[tf(describe = TAGS, validate = validate_tags)]
        pub(crate) tags: Option<Tags>,
        #[tf(computed, describe = TAGS_ALL)]
        pub(crate) tags_all: Maybe<Tags>,
    }
}

/// An AWS object whose tags are changed key by key (TagResource / UntagResource and their
/// per-service spellings). `update_tags` does the diff; the object only says how to call AWS.
#[async_trait]
pub(crate) trait Taggable: Sync {
    async fn tag(&self, tags: &Tags) -> Result<(), Diagnostic>;
    async fn untag(&self, keys: Vec<String>) -> Result<(), Diagnostic>;
}

/// The description of every resource's `tags`.
pub(crate) const TAGS: &str =
    "Tags of the object; the provider's `default_tags` are added (these win on conflict).";
/// The description of every resource's `tags_all`.
pub(crate) const TAGS_ALL: &str = "`tags` plus the provider's `default_tags`.";

/// Turns the object's tags from `prior` into `planned` (both `tags_all`).
pub(crate) async fn update(
    target: &impl Taggable,
    prior: &Maybe<Tags>,
    planned: &Maybe<Tags>,
) -> Result<(), Diagnostic> {
    let empty = Tags::new();
    let (removed, changed) = diff(
        prior.known().unwrap_or(&empty),
        planned.known().unwrap_or(&empty),
    );
    if !removed.is_empty() {
        target.untag(removed).await?;
    }
    if !changed.is_empty() {
        target.tag(&changed).await?;
    }
    Ok(())
}

/// What belongs in `tags` of the tags an object carries: keys the configuration set, and
/// anything that is not a default tag with its default value (so a tag added out of band shows
/// up as drift). `None` when that is nothing and the configuration set no tags.
pub(crate) fn own_tags(
    remote: &Tags,
    configured: Option<&Tags>,
    default_tags: &Tags,
) -> Option<Tags> {
    let own: Tags = remote
        .iter()
        .filter(|(k, v)| {
            configured.is_some_and(|c| c.contains_key(*k)) || default_tags.get(*k) != Some(v)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (!own.is_empty() || configured.is_some()).then_some(own)
}

/// Tags AWS accepts: keys of at most 128 characters outside the reserved `aws:` prefix, values
/// of at most 256.
pub(crate) fn validate_tags(value: &Value) -> Result<(), String> {
    let Some(tags) = value.as_map() else {
        return Ok(());
    };
    for (key, value) in tags {
        if key.to_ascii_lowercase().starts_with(RESERVED_PREFIX) {
            return Err(format!(
                "tag key {key:?} uses the prefix \"{RESERVED_PREFIX}\", which AWS reserves for itself; choose another key."
            ));
        }
        let chars = key.chars().count();
        if chars == 0 || chars > MAX_KEY_CHARS {
            return Err(format!(
                "tag key {key:?} has {chars} characters; AWS allows 1 to {MAX_KEY_CHARS}: shorten it."
            ));
        }
        let chars = value.as_str().map_or(0, |v| v.chars().count());
        if chars > MAX_VALUE_CHARS {
            return Err(format!(
                "the value of tag {key:?} has {chars} characters; AWS allows at most {MAX_VALUE_CHARS}: shorten it."
            ));
        }
    }
    Ok(())
}

/// Plans `tags_all` as `default_tags` overlaid with the resource's `tags`.
pub(crate) fn plan_tags_all(default_tags: &Tags, change: &mut PlanChange<'_>) {
    /// The planned `tags`, which may not be known yet.
    #[derive(Deserialize)]
    struct Planned {
        #[serde(default)]
        tags: Maybe<Tags>,
    }
    let tags_all = match from_value::<Planned>(&change.planned).map(|p| p.tags) {
        Ok(Maybe::Known(tags)) => {
            let mut all = default_tags.clone();
            all.extend(tags);
            Maybe::Known(all)
        }
        Ok(Maybe::Null) => Maybe::Known(default_tags.clone()),
        _ => Maybe::Unknown,
    };
    change.planned.set(
        Tagging::tags_all,
        match tags_all {
            Maybe::Known(all) => Value::from(all),
            _ => Value::unknown(),
        },
    );
}

/// Keys to remove and pairs to set to turn `from` into `to`.
pub(crate) fn diff(from: &Tags, to: &Tags) -> (Vec<String>, Tags) {
    let removed = from
        .keys()
        .filter(|k| !to.contains_key(*k))
        .cloned()
        .collect();
    let changed = to
        .iter()
        .filter(|(k, v)| from.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (removed, changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn default_tags_stay_out_of_tags_unless_configured_or_changed() {
        let defaults = tags(&[("env", "dev"), ("project", "mdw")]);
        let remote = tags(&[
            ("env", "dev"),
            ("project", "other"),
            ("owner", "me"),
            ("team", "x"),
        ]);
        let prior = tags(&[("owner", "me")]);
        assert_eq!(
            own_tags(&remote, Some(&prior), &defaults),
            Some(tags(&[
                ("owner", "me"),
                ("project", "other"),
                ("team", "x")
            ]))
        );
        assert_eq!(own_tags(&tags(&[("env", "dev")]), None, &defaults), None);
    }

    #[test]
    fn tags_follow_aws_limits() {
        let check = |pairs: &[(&str, &str)]| validate_tags(&Value::from(tags(pairs)));
        assert!(check(&[("team", "data")]).is_ok());
        assert!(check(&[("AWS:owner", "x")]).unwrap_err().contains("aws:"));
        let long_key = "k".repeat(129);
        assert!(check(&[(&long_key, "x")]).unwrap_err().contains("128"));
        let long_value = "v".repeat(257);
        assert!(check(&[("team", &long_value)]).unwrap_err().contains("256"));
        assert!(check(&[(&"k".repeat(128), &"v".repeat(256))]).is_ok());
    }

    #[test]
    fn diff_lists_removals_and_changes() {
        let (removed, changed) = diff(
            &tags(&[("a", "1"), ("b", "2")]),
            &tags(&[("b", "3"), ("c", "4")]),
        );
        assert_eq!(removed, vec!["a".to_string()]);
        assert_eq!(changed, tags(&[("b", "3"), ("c", "4")]));
    }
}
