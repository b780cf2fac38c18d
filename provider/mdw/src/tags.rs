//! Tags the way Terraform users know them from the AWS provider: `tags` is what the resource
//! sets, `tags_all` what the object carries, including the provider's `default_tags`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use tfplugin::{Attribute, Diagnostic, Maybe, PlanChange, Value};

pub(crate) type Tags = BTreeMap<String, String>;

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

/// Turns the object's tags from `prior`'s `tags_all` into `planned`'s.
pub(crate) async fn update_tags(
    target: &impl Taggable,
    prior: &Value,
    planned: &Value,
) -> Result<(), Diagnostic> {
    let (removed, changed) = diff(
        &prior.get("tags_all").string_map(),
        &planned.get("tags_all").string_map(),
    );
    if !removed.is_empty() {
        target.untag(removed).await?;
    }
    if !changed.is_empty() {
        target.tag(&changed).await?;
    }
    Ok(())
}

/// The two attributes every taggable resource has, in schema order.
pub(crate) fn attributes() -> [Attribute; 2] {
    [
        Attribute::string_map("tags")
            .describe(TAGS)
            .validate(validate_tag_keys),
        Attribute::string_map("tags_all")
            .computed()
            .describe(TAGS_ALL),
    ]
}

/// Writes `tags` and `tags_all` of a state from the tags the object carries.
pub(crate) fn flatten(state: &mut Value, remote: &Tags, prior: &Value, default_tags: &Tags) {
    state.set(
        "tags",
        split_remote_tags(remote, prior.get("tags"), default_tags),
    );
    state.set("tags_all", Value::from(remote.clone()));
}

/// Tag keys the user may set: AWS reserves `aws:`.
pub(crate) fn validate_tag_keys(value: &Value) -> Result<(), String> {
    match value.as_map().and_then(|m| {
        m.keys()
            .find(|k| k.to_ascii_lowercase().starts_with("aws:"))
    }) {
        Some(key) => Err(format!(
            "tag key {key:?} uses the prefix \"aws:\", which AWS reserves for itself; choose another key."
        )),
        None => Ok(()),
    }
}

/// Plans `tags_all` as `default_tags` overlaid with the resource's `tags`.
pub(crate) fn plan_tags_all(default_tags: &Tags, change: &mut PlanChange<'_>) {
    let tags = change.planned.get("tags");
    let tags_all = if tags.is_wholly_known() {
        let mut all = default_tags.clone();
        all.extend(tags.string_map());
        Value::from(all)
    } else {
        Value::unknown()
    };
    change.planned.set("tags_all", tags_all);
}

/// Splits the tags an object carries into what belongs in `tags`: keys the configuration set,
/// and anything that is not a default tag with its default value (so a tag added out of band
/// shows up as drift).
pub(crate) fn split_remote_tags(remote: &Tags, prior_tags: &Value, default_tags: &Tags) -> Value {
    let configured = (!prior_tags.is_null()).then(|| prior_tags.string_map());
    own_tags(remote, configured.as_ref(), default_tags).map_or(Value::Null, Value::from)
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
        let prior = Value::from(tags(&[("owner", "me")]));
        let split = split_remote_tags(&remote, &prior, &defaults);
        assert_eq!(
            split.string_map(),
            tags(&[("owner", "me"), ("project", "other"), ("team", "x")])
        );
        assert!(split_remote_tags(&tags(&[("env", "dev")]), &Value::Null, &defaults).is_null());
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
