//! What data and unit tests share: they run at apply, never at plan. A plan marks the run's
//! outputs unknown exactly when the test is new or one of its run inputs changed; apply runs
//! the test when it finds them unknown, and keeps the last verdict otherwise.

use tfplugin::{PlanChange, Value};

/// Marks `outputs` unknown (so apply runs the test) when the test is created or any of
/// `inputs` changes.
pub(super) fn plan_run(change: &mut PlanChange<'_>, inputs: &[&str], outputs: &[&str]) {
    if change.is_create() || inputs.iter().any(|a| change.changes(a)) {
        for output in outputs {
            change.planned.set(output, Value::unknown());
        }
    }
}

/// Whether the plan asked for a run: its run output (a `run_id`, a model's test statuses) is
/// unknown.
pub(super) fn run_planned(planned: &Value, output: &str) -> bool {
    planned.get(output).is_unknown()
}
