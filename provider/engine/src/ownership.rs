//! Who may replace or drop a relation.
//!
//! Every table and view an engine builds for a Terraform resource carries an owner marker: an
//! Iceberg table property or Glue table parameter named [`OWNER_KEY`], holding the owner id the
//! resource keeps in its state. A build or drop checks the marker of what is already there
//! before it changes anything, and refuses a relation another resource (another Terraform root,
//! or a second model whose name folds to the same table) owns — the silent overwrite a shared
//! warehouse otherwise invites. The check is repeated at commit by the catalog's
//! compare-and-swap: whatever replaced the relation in between makes the commit fail.

use serde::{Deserialize, Serialize};

use crate::EngineError;

/// Table property (Iceberg) / table parameter (Glue) holding the owner id.
pub const OWNER_KEY: &str = "mdw.owner";

/// Table property / parameter holding the run key of the last incremental run committed to the
/// table (see `IncrementalBuild::run_key`).
pub const RUN_KEY: &str = "mdw.last-run-key";

/// Prefix of the properties the engines manage themselves; users cannot set them.
pub const RESERVED_PREFIX: &str = "mdw.";

/// What a build or drop may find in place, and the marker a build leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    /// The marker a build writes; `None` writes none.
    pub owner: Option<String>,
    /// Other markers that count as this resource's own (the previous owner id of a resource
    /// whose lineage changed, or the marker an import adopted).
    pub accept: Vec<String>,
    /// Whether a relation with no marker may be replaced or dropped (one built before markers
    /// existed, by a resource whose state has no owner id yet).
    pub accept_unmarked: bool,
}

impl Default for Ownership {
    /// No marker written, and only unmarked relations replaced: what a caller that does not
    /// track owners (a test, a one-off tool) gets, without touching anything an owner marked.
    fn default() -> Self {
        Ownership {
            owner: None,
            accept: Vec::new(),
            accept_unmarked: true,
        }
    }
}

impl Ownership {
    /// A resource that owns `owner` and nothing else: its create refuses anything already there
    /// but its own relation (a create retried after a crash finds its own marker).
    pub fn exclusive(owner: impl Into<String>) -> Self {
        Ownership {
            owner: Some(owner.into()),
            accept: Vec::new(),
            accept_unmarked: false,
        }
    }

    /// True when a relation carrying `found` may be replaced or dropped.
    pub fn permits(&self, found: Option<&str>) -> bool {
        match found {
            None => self.accept_unmarked,
            Some(found) => {
                self.owner.as_deref() == Some(found) || self.accept.iter().any(|a| a == found)
            }
        }
    }

    /// `Ok` when a relation carrying `found` may be replaced or dropped; otherwise the error
    /// that names it, its owner, and how to take it over.
    pub fn check(
        &self,
        database: &str,
        name: &str,
        found: Option<&str>,
    ) -> Result<(), EngineError> {
        if self.permits(found) {
            Ok(())
        } else {
            Err(EngineError::NotOwned {
                relation: format!("{database}.{name}"),
                found_owner: found.map(str::to_string),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_replaces_only_its_own() {
        let mine = Ownership::exclusive("a");
        assert!(mine.permits(Some("a")));
        assert!(!mine.permits(Some("b")));
        assert!(!mine.permits(None));
        let err = mine.check("mdw", "t", Some("b")).unwrap_err().to_string();
        assert!(
            err.contains("mdw.t") && err.contains("\"b\"") && err.contains("terraform import"),
            "{err}"
        );
    }

    #[test]
    fn legacy_and_adopted_markers_are_accepted_when_asked() {
        let upgrading = Ownership {
            owner: Some("new".into()),
            accept: vec!["old".into()],
            accept_unmarked: true,
        };
        assert!(upgrading.permits(None));
        assert!(upgrading.permits(Some("old")));
        assert!(!upgrading.permits(Some("other")));
        assert!(Ownership::default().permits(None));
        assert!(!Ownership::default().permits(Some("x")));
    }
}
