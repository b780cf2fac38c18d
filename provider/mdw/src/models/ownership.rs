//! Who owns the relation a model or seed builds, and the key of an incremental run — the
//! provider's half of the engines' ownership rules (`mdw_engine::Ownership`).
//!
//! Each model, seed and stored test failure has an `owner_id` in its state, written on its table
//! or view as a marker. With `lineage` set (mdwc sets it to the root's `mdw_lineage` id) the
//! owner id is `<lineage>/<kind>/<database>.<name>`: known before the first build, so a create
//! retried after the provider died finds its own marker and goes on, while another root —
//! another lineage — or another resource of this root naming the same table (a model and a
//! seed, say) is refused. Without `lineage` the owner id is random, made at create.

use std::collections::BTreeMap;

use mdw_engine::Ownership;
use sha2::{Digest, Sha256};
use tfplugin::{Diagnostic, Maybe, PlanChange, Value, from_value, to_value};

use crate::claims::{Claimant, RelationClaims};

tfplugin::model! {
    /// The attributes every owning resource has under these names (its own model declares
    /// them, with their descriptions); read out of any of them.
    pub(crate) struct Owned {
        #[tf()]
        pub(crate) owner_id: Maybe<String>,
        #[tf()]
        pub(crate) lineage: Maybe<String>,
        #[tf()]
        pub(crate) database: Maybe<String>,
        #[tf()]
        pub(crate) name: Maybe<String>,
    }
}

impl Owned {
    /// The owning attributes of a value (all null for a null value: a create's prior).
    fn of(value: &Value) -> Owned {
        from_value(value).unwrap_or_default()
    }
}

tfplugin::model! {
    /// What an incremental run's key is made of (the attributes of `mdw_iceberg_model`).
    struct RunKeyParts {
        #[tf()]
        build_id: Maybe<String>,
        #[tf()]
        fingerprint: Maybe<String>,
        #[tf()]
        upstream: Maybe<BTreeMap<String, String>>,
    }
}

/// What kind of resource owns a relation: part of the owner id, so two resources of one root
/// that name the same table do not take each other's for their own.
#[derive(Debug, Clone, Copy)]
pub(crate) enum OwnedKind {
    Model,
    Seed,
    TestFailures,
}

impl OwnedKind {
    fn as_str(self) -> &'static str {
        match self {
            OwnedKind::Model => "model",
            OwnedKind::Seed => "seed",
            OwnedKind::TestFailures => "test",
        }
    }
}

/// `<lineage>/<kind>/<database>.<name>`.
pub(crate) fn owner_id(kind: OwnedKind, lineage: &str, database: &str, name: &str) -> String {
    format!("{lineage}/{}/{database}.{name}", kind.as_str())
}

fn owner_id_of(kind: OwnedKind, lineage: &str, planned: &Owned) -> String {
    let text = |v: &Maybe<String>| v.known().cloned().unwrap_or_default();
    owner_id(
        kind,
        lineage,
        &text(&planned.database),
        &text(&planned.name),
    )
}

/// Plans `owner_id`. Only a build writes the marker, so the owner id changes only with one:
/// from the lineage when there is one; without, the prior id (or unknown — made at apply — on
/// create). Without a build the prior one stays, also when it is null (state from before
/// owner ids: the next build marks the relation), so upgrading the provider plans no change.
pub(crate) fn plan_owner_id(kind: OwnedKind, change: &mut PlanChange<'_>, builds: bool) {
    let prior = Owned::of(change.prior).owner_id;
    let planned = Owned::of(&change.planned);
    let owner_id = match &planned.lineage {
        _ if !builds => prior,
        Maybe::Known(lineage) => Maybe::Known(owner_id_of(kind, lineage, &planned)),
        Maybe::Unknown => Maybe::Unknown,
        // No lineage: the random id made at create stays for the resource's life.
        Maybe::Null if !prior.is_null() => prior,
        Maybe::Null => Maybe::Unknown,
    };
    let owner_id = match owner_id {
        Maybe::Known(id) => Value::from(id),
        Maybe::Null => Value::Null,
        Maybe::Unknown => Value::unknown(),
    };
    change.planned.set(Owned::owner_id, owner_id);
}

/// Claims the relation a planned model or seed builds for this plan, refusing one another
/// resource of the plan builds already (see `crate::claims`).
pub(crate) fn claim_relation(
    claims: &RelationClaims,
    type_name: &'static str,
    change: &PlanChange<'_>,
) -> Result<(), Diagnostic> {
    let planned = Owned::of(&change.planned);
    let (Some(database), Some(name)) = (planned.database.known(), planned.name.known()) else {
        return Ok(());
    };
    let claimant = Claimant {
        type_name,
        config: format!("{:?}", change.config),
    };
    claims.claim(database, name, claimant).map_err(|earlier| {
        let other = if earlier.type_name == type_name {
            format!("another {type_name}")
        } else {
            format!("an {}", earlier.type_name)
        };
        Diagnostic::error(
            format!("Another resource builds {database}.{name}"),
            format!(
                "{other} of this configuration builds table {database}.{name} too (Glue and \
                 Athena compare names without case), so each apply would overwrite the other's \
                 data. Give one of them another `name` or `database`."
            ),
        )
        .at_attribute(Owned::name)
    })
}

/// The owner id an apply writes: as planned, or made now when the plan could not know it.
pub(crate) fn applied_owner_id(kind: OwnedKind, planned: &Value) -> String {
    let planned = Owned::of(planned);
    match (planned.owner_id.known(), planned.lineage.known()) {
        (Some(id), _) => id.clone(),
        (None, Some(lineage)) => owner_id_of(kind, lineage, &planned),
        (None, None) => uuid::Uuid::new_v4().to_string(),
    }
}

/// What a create, or an update from `prior`, may find in place. An update also accepts the
/// marker of its previous owner id (the lineage changed), and an unmarked relation when its
/// state predates owner ids.
pub(crate) fn for_build(prior: &Value, owner_id: &str) -> Ownership {
    let mut ownership = Ownership::exclusive(owner_id);
    if !prior.is_null() {
        match Owned::of(prior).owner_id.known() {
            Some(previous) if previous != owner_id => ownership.accept.push(previous.clone()),
            Some(_) => {}
            None => ownership.accept_unmarked = true,
        }
    }
    ownership
}

/// What a destroy may drop: the relation carrying the state's owner id (or, for state from
/// before owner ids, an unmarked one).
pub(crate) fn for_state(state: &Value) -> Ownership {
    match Owned::of(state).owner_id.known() {
        Some(owner) => Ownership::exclusive(owner),
        None => Ownership::default(),
    }
}

/// True when the relation read back is still this resource's: its marker is the state's owner
/// id (any relation counts for state from before owner ids).
pub(crate) fn still_owned(state: &Value, marker: Option<&str>) -> bool {
    match Owned::of(state).owner_id.known() {
        Some(owner) => marker == Some(owner.as_str()),
        None => true,
    }
}

/// The key of one planned incremental run: the same for every attempt of the change from
/// `prior` to `planned`, another for the next change. Only what a refresh leaves alone goes
/// in: the prior build id (each applied run records a new one), not the snapshot a refresh
/// reads back — after a run that committed unheard, the refreshed snapshot is already the new
/// one.
pub(crate) fn run_key(prior: &Value, planned: &Value, owner_id: &str) -> String {
    let (prior, planned): (RunKeyParts, RunKeyParts) = (
        from_value(prior).unwrap_or_default(),
        from_value(planned).unwrap_or_default(),
    );
    // Each part as its value prints, as run keys have always been made.
    let part = |v: Result<Value, _>| format!("{:?}", v.unwrap_or_default());
    let mut hasher = Sha256::new();
    for part in [
        owner_id.to_string(),
        part(to_value(&prior.build_id)),
        part(to_value(&planned.fingerprint)),
        part(to_value(&planned.upstream)),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(lineage: Option<&str>, owner_id: Option<&str>) -> Owned {
        Owned {
            owner_id: Maybe::from_option(owner_id.map(str::to_string)),
            lineage: Maybe::from_option(lineage.map(str::to_string)),
            database: Maybe::Known("mdw".into()),
            name: Maybe::Known("Orders".into()),
        }
    }

    fn model(lineage: Option<&str>) -> Value {
        to_value(&owned(lineage, None)).unwrap()
    }

    #[test]
    fn owner_ids_follow_the_lineage_and_the_name_as_written() {
        assert_eq!(
            applied_owner_id(OwnedKind::Model, &model(Some("L"))),
            "L/model/mdw.Orders"
        );
        assert_eq!(
            applied_owner_id(OwnedKind::Seed, &model(Some("L"))),
            "L/seed/mdw.Orders"
        );
        let random = applied_owner_id(OwnedKind::Model, &model(None));
        assert_ne!(random, applied_owner_id(OwnedKind::Model, &model(None)));
    }

    #[test]
    fn updates_accept_their_previous_owner_and_legacy_state() {
        let prior = to_value(&owned(Some("old"), Some("old/model/mdw.Orders"))).unwrap();
        let ownership = for_build(&prior, "new/model/mdw.Orders");
        assert!(ownership.permits(Some("old/model/mdw.Orders")));
        assert!(ownership.permits(Some("new/model/mdw.Orders")));
        assert!(!ownership.permits(None));
        let legacy = for_build(&model(None), "x");
        assert!(legacy.permits(None));
        assert!(!for_build(&Value::Null, "x").permits(None));
    }

    #[test]
    fn run_keys_change_with_each_planned_change_only() {
        let parts = |build_id: &str, fingerprint: Option<&str>| {
            to_value(&RunKeyParts {
                build_id: Maybe::Known(build_id.into()),
                fingerprint: Maybe::from_option(fingerprint.map(str::to_string)),
                upstream: Maybe::Null,
            })
            .unwrap()
        };
        let (prior, planned) = (parts("b1", None), parts("b1", Some("f")));
        let key = run_key(&prior, &planned, "o");
        assert_eq!(key, run_key(&prior, &planned, "o"));
        // The key the provider has always made for these values.
        assert_eq!(key, run_key_before_models(&prior, &planned, "o"));
        assert_ne!(key, run_key(&parts("b2", None), &planned, "o"));
    }

    /// How `run_key` read its parts before they were typed.
    fn run_key_before_models(prior: &Value, planned: &Value, owner_id: &str) -> String {
        let mut hasher = Sha256::new();
        for part in [
            owner_id.to_string(),
            format!("{:?}", prior.get(RunKeyParts::build_id)),
            format!("{:?}", planned.get(RunKeyParts::fingerprint)),
            format!("{:?}", planned.get(RunKeyParts::upstream)),
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        hasher
            .finalize()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
