//! Who owns the relation a model or seed builds, and the key of an incremental run — the
//! provider's half of the engines' ownership rules (`mdw_engine::Ownership`).
//!
//! Each model, seed and stored test failure has an `owner_id` in its state, written on its table
//! or view as a marker. With `lineage` set (mdwc sets it to the root's `mdw_lineage` id) the
//! owner id is `<lineage>/<kind>/<database>.<name>`: known before the first build, so a create
//! retried after the provider died finds its own marker and goes on, while another root —
//! another lineage — or another resource of this root naming the same table (a model and a
//! seed, say) is refused. Without `lineage` the owner id is random, made at create.

use mdw_engine::Ownership;
use sha2::{Digest, Sha256};
use tfplugin::{PlanChange, Value};

/// The attributes every owning resource has under these names (its model declares them).
const OWNER_ID: &str = "owner_id";
const LINEAGE: &str = "lineage";
const DATABASE: &str = "database";
const NAME: &str = "name";

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

fn owner_id_of(kind: OwnedKind, lineage: &str, planned: &Value) -> String {
    owner_id(
        kind,
        lineage,
        planned.get(DATABASE).as_str().unwrap_or_default(),
        planned.get(NAME).as_str().unwrap_or_default(),
    )
}

/// Plans `owner_id`. Only a build writes the marker, so the owner id changes only with one:
/// from the lineage when there is one; without, the prior id (or unknown — made at apply — on
/// create). Without a build the prior one stays, also when it is null (state from before
/// owner ids: the next build marks the relation), so upgrading the provider plans no change.
pub(crate) fn plan_owner_id(kind: OwnedKind, change: &mut PlanChange<'_>, builds: bool) {
    let prior = change.prior.get(OWNER_ID).clone();
    let lineage = change.planned.get(LINEAGE).clone();
    let planned = match lineage.as_str() {
        _ if !builds => prior,
        Some(lineage) => Value::from(owner_id_of(kind, lineage, &change.planned)),
        None if lineage.is_unknown() => Value::unknown(),
        // No lineage: the random id made at create stays for the resource's life.
        None if !prior.is_null() => prior,
        None => Value::unknown(),
    };
    change.planned.set(OWNER_ID, planned);
}

/// The owner id an apply writes: as planned, or made now when the plan could not know it.
pub(crate) fn applied_owner_id(kind: OwnedKind, planned: &Value) -> String {
    match (
        planned.get(OWNER_ID).as_str(),
        planned.get(LINEAGE).as_str(),
    ) {
        (Some(id), _) => id.to_string(),
        (None, Some(lineage)) => owner_id_of(kind, lineage, planned),
        (None, None) => uuid::Uuid::new_v4().to_string(),
    }
}

/// What a create, or an update from `prior`, may find in place. An update also accepts the
/// marker of its previous owner id (the lineage changed), and an unmarked relation when its
/// state predates owner ids.
pub(crate) fn for_build(prior: &Value, owner_id: &str) -> Ownership {
    let mut ownership = Ownership::exclusive(owner_id);
    if !prior.is_null() {
        match prior.get(OWNER_ID).as_str() {
            Some(previous) if previous != owner_id => ownership.accept.push(previous.to_string()),
            Some(_) => {}
            None => ownership.accept_unmarked = true,
        }
    }
    ownership
}

/// What a destroy may drop: the relation carrying the state's owner id (or, for state from
/// before owner ids, an unmarked one).
pub(crate) fn for_state(state: &Value) -> Ownership {
    match state.get(OWNER_ID).as_str() {
        Some(owner) => Ownership::exclusive(owner),
        None => Ownership::default(),
    }
}

/// True when the relation read back is still this resource's: its marker is the state's owner
/// id (any relation counts for state from before owner ids).
pub(crate) fn still_owned(state: &Value, marker: Option<&str>) -> bool {
    match state.get(OWNER_ID).as_str() {
        Some(owner) => marker == Some(owner),
        None => true,
    }
}

/// The key of one planned incremental run: the same for every attempt of the change from
/// `prior` to `planned`, another for the next change. Only what a refresh leaves alone goes
/// in: the prior build id (each applied run records a new one), not the snapshot a refresh
/// reads back — after a run that committed unheard, the refreshed snapshot is already the new
/// one.
pub(crate) fn run_key(prior: &Value, planned: &Value, owner_id: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [
        owner_id.to_string(),
        format!("{:?}", prior.get("build_id")),
        format!("{:?}", planned.get("fingerprint")),
        format!("{:?}", planned.get("upstream")),
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

    fn model(lineage: Option<&str>) -> Value {
        let mut v = Value::object([
            ("database", Value::from("mdw")),
            ("name", Value::from("Orders")),
        ]);
        if let Some(lineage) = lineage {
            v.set(LINEAGE, lineage);
        }
        v
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
        let mut prior = model(Some("old"));
        prior.set(OWNER_ID, "old/model/mdw.Orders");
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
        let mut prior = model(None);
        prior.set("build_id", "b1");
        let mut planned = prior.clone();
        planned.set("fingerprint", "f");
        let key = run_key(&prior, &planned, "o");
        assert_eq!(key, run_key(&prior, &planned, "o"));
        prior.set("build_id", "b2");
        assert_ne!(key, run_key(&prior, &planned, "o"));
    }
}
