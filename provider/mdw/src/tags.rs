//! Tags the way Terraform users know them from the AWS provider: `tags` is what the resource
//! sets, `tags_all` what the object carries, including the provider's `default_tags`.

use std::collections::BTreeMap;

use tfplugin::{PlanChange, Value};

pub type Tags = BTreeMap<String, String>;

/// Plans `tags_all` as `default_tags` overlaid with the resource's `tags`.
pub fn plan_tags_all(default_tags: &Tags, change: &mut PlanChange<'_>) {
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
pub fn split_remote_tags(remote: &Tags, prior_tags: &Value, default_tags: &Tags) -> Value {
    let configured = prior_tags.string_map();
    let own: Tags = remote
        .iter()
        .filter(|(k, v)| configured.contains_key(*k) || default_tags.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if own.is_empty() && prior_tags.is_null() {
        Value::Null
    } else {
        Value::from(own)
    }
}

/// Keys to remove and pairs to set to turn `from` into `to`.
pub fn diff(from: &Tags, to: &Tags) -> (Vec<String>, Tags) {
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
