//! Which resource of the running plan builds which relation. Terraform plans every resource of
//! a walk in one provider process, so two resources naming one table (a model and a seed, or
//! names differing only in case, which Glue folds together) meet here and the second is refused
//! at plan — before either has built anything — instead of at apply by the owner marker.

use std::collections::HashMap;
use std::sync::Mutex;

/// What claimed a relation: the resource type and its configuration as planned. Terraform
/// plans a resource once per walk; should it ever plan one twice, the same claim comes back and
/// is not a conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claimant {
    pub(crate) type_name: &'static str,
    pub(crate) config: String,
}

#[derive(Debug, Default)]
pub(crate) struct RelationClaims {
    by_relation: Mutex<HashMap<String, Claimant>>,
}

impl RelationClaims {
    /// Records that `claimant` builds `database.name`; the earlier claimant when another one
    /// already did. Names compare as Glue stores them: lower case.
    pub(crate) fn claim(
        &self,
        database: &str,
        name: &str,
        claimant: Claimant,
    ) -> Result<(), Claimant> {
        let key = format!("{}.{}", database.to_lowercase(), name.to_lowercase());
        // A poisoned lock only means another plan panicked; the map is still whole.
        let mut claims = self
            .by_relation
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match claims.get(&key) {
            Some(earlier) if *earlier != claimant => Err(earlier.clone()),
            Some(_) => Ok(()),
            None => {
                claims.insert(key, claimant);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimant(type_name: &'static str, config: &str) -> Claimant {
        Claimant {
            type_name,
            config: config.to_string(),
        }
    }

    #[test]
    fn a_relation_is_claimed_once_case_insensitively() {
        let claims = RelationClaims::default();
        assert!(
            claims
                .claim("raw", "people", claimant("mdw_seed", "a"))
                .is_ok()
        );
        assert!(
            claims
                .claim("raw", "people", claimant("mdw_seed", "a"))
                .is_ok()
        );
        let refused = claims.claim("RAW", "People", claimant("mdw_iceberg_model", "b"));
        assert_eq!(refused, Err(claimant("mdw_seed", "a")));
        assert!(
            claims
                .claim("raw", "orders", claimant("mdw_iceberg_model", "b"))
                .is_ok()
        );
    }
}
