//! Build ids: the last segment of every location a build writes (`<root>/<db>/<name>/<id>`),
//! UUIDv7 so that their age is in the name. The janitor of each engine removes build
//! directories older than the build that replaced them; an id of unknown age (a v4 from before
//! v7 was used) counts as old.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use uuid::{NoContext, Timestamp, Uuid};

/// A fresh, time-ordered build id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildId(Uuid);

impl BuildId {
    pub fn new() -> Self {
        BuildId(Uuid::now_v7())
    }

    /// The id a build that started `age` ago would have had: ids older than it are from
    /// builds older than `age`.
    pub fn aged(age: Duration) -> Self {
        let then = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_sub(age);
        BuildId(Uuid::new_v7(Timestamp::from_unix(
            NoContext,
            then.as_secs(),
            then.subsec_nanos(),
        )))
    }

    /// The id without hyphens (32 hex digits), for names with a length limit.
    pub fn simple(&self) -> String {
        self.0.simple().to_string()
    }

    /// True when `segment` is the id of a build that started before this one (or of unknown
    /// age), and not this one.
    pub fn is_older(&self, segment: &str) -> bool {
        let Ok(other) = Uuid::parse_str(segment) else {
            return false;
        };
        if other == self.0 {
            return false;
        }
        match (other.get_timestamp(), self.0.get_timestamp()) {
            (Some(then), Some(now)) => then.to_unix() < now.to_unix(),
            (None, _) => true,
            (Some(_), None) => false,
        }
    }
}

impl Default for BuildId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for BuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// True when a segment is a build id (hyphenated or simple form).
pub fn is_build_id(segment: &str) -> bool {
    Uuid::parse_str(segment).is_ok()
}

/// True for locations an engine created (their last segment is a build id): the whole
/// directory belongs to that one table and may be deleted with it.
pub fn is_build_location(location: &str) -> bool {
    location
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .is_some_and(is_build_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_older_builds_count() {
        let old = BuildId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let current = BuildId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let newer = BuildId::new();
        assert!(current.is_older(&old.to_string()));
        assert!(current.is_older(&old.simple()));
        assert!(!current.is_older(&current.to_string()));
        assert!(!current.is_older(&newer.to_string()));
        assert!(current.is_older("0f8fad5b-d9cb-469f-a165-70867728950e"));
        assert!(!current.is_older("data"));
        let hour_ago = BuildId::aged(Duration::from_secs(3600));
        assert!(!hour_ago.is_older(&current.simple()));
        assert!(current.is_older(&hour_ago.simple()));
    }

    #[test]
    fn build_locations_end_in_an_id() {
        assert!(is_build_location(
            "file:///w/mdw/t/0f8fad5b-d9cb-469f-a165-70867728950e/"
        ));
        assert!(is_build_location(
            "s3://b/w/mdw/t/0f8fad5bd9cb469fa16570867728950e"
        ));
        assert!(!is_build_location("file:///w/mdw/t"));
    }
}
