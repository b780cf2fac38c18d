//! The acceptance steps every resource goes through (after terraform-plugin-testing).

use std::time::Instant;

use serde_json::Value;

use crate::aws::Aws;
use crate::workspace::Workspace;

type Exists<'a> = Box<dyn Fn(&Aws) -> bool + 'a>;
type DeleteOutOfBand<'a> = Box<dyn Fn(&Aws) + 'a>;
type CheckAttributes<'a> = Box<dyn Fn(&Value) + 'a>;
type CheckUpdate<'a> = Box<dyn Fn(&Aws, &Value) + 'a>;

struct UpdateInPlace<'a> {
    config: String,
    check: CheckUpdate<'a>,
}

/// Runs, for one resource address:
///
/// 1. plan shows a create → apply → `check_attributes(state)`, `exists` is true
/// 2. `plan -detailed-exitcode` is empty, `plan -refresh-only` is empty
/// 3. `terraform import ADDRESS ID` into a fresh workspace with the same config: its plan is
///    empty and its attributes equal the original's (except [`AcceptanceSteps::not_importable`])
/// 4. each [`AcceptanceSteps::update_in_place`]: plan shows `update`, apply, check, plan empty
/// 5. `delete_out_of_band`, `exists` is false, plan shows a create → apply recreates it
/// 6. `destroy` → `exists` is false
///
/// A failing step panics with the step, the terraform command and its whole output.
/// Nothing is cleaned up on failure: the test's moto server dies with the test.
pub struct AcceptanceSteps<'a> {
    workspace: &'a Workspace,
    aws: &'a Aws,
    address: String,
    import_id: String,
    config: String,
    not_importable: Vec<String>,
    exists: Option<Exists<'a>>,
    delete_out_of_band: Option<DeleteOutOfBand<'a>>,
    check_attributes: Option<CheckAttributes<'a>>,
    updates: Vec<UpdateInPlace<'a>>,
}

impl<'a> AcceptanceSteps<'a> {
    /// Steps for `address` (e.g. `mdw_glue_database.test`) declared in `config`, importable
    /// as `import_id`. `exists` and `delete_out_of_band` are required.
    pub fn new(
        workspace: &'a Workspace,
        aws: &'a Aws,
        address: &str,
        import_id: &str,
        config: &str,
    ) -> Self {
        AcceptanceSteps {
            workspace,
            aws,
            address: address.to_owned(),
            import_id: import_id.to_owned(),
            config: config.to_owned(),
            not_importable: Vec::new(),
            exists: None,
            delete_out_of_band: None,
            check_attributes: None,
            updates: Vec::new(),
        }
    }

    /// Whether the resource exists, asked through the AWS API (not the provider).
    pub fn exists(mut self, exists: impl Fn(&Aws) -> bool + 'a) -> Self {
        self.exists = Some(Box::new(exists));
        self
    }

    /// Deletes the resource behind terraform's back, through the AWS API.
    pub fn delete_out_of_band(mut self, delete: impl Fn(&Aws) + 'a) -> Self {
        self.delete_out_of_band = Some(Box::new(delete));
        self
    }

    /// Checks the state's attribute values after the first apply.
    pub fn check_attributes(mut self, check: impl Fn(&Value) + 'a) -> Self {
        self.check_attributes = Some(Box::new(check));
        self
    }

    /// Attributes that import cannot know (write-only or provider-side settings such as
    /// `force_destroy`): not compared between the imported and the original state.
    pub fn not_importable(mut self, attributes: &[&str]) -> Self {
        self.not_importable
            .extend(attributes.iter().map(|a| a.to_string()));
        self
    }

    /// Adds a step: switching to `config` updates the resource in place (no replacement);
    /// `check` gets the state's attributes after the apply.
    pub fn update_in_place(mut self, config: &str, check: impl Fn(&Aws, &Value) + 'a) -> Self {
        self.updates.push(UpdateInPlace {
            config: config.to_owned(),
            check: Box::new(check),
        });
        self
    }

    /// Runs all steps; panics at the first one that fails.
    pub fn run(self) {
        let exists = self.exists.as_ref().unwrap_or_else(|| {
            panic!(
                "AcceptanceSteps for {}: call .exists(...) before .run()",
                self.address
            )
        });
        let delete_out_of_band = self.delete_out_of_band.as_ref().unwrap_or_else(|| {
            panic!(
                "AcceptanceSteps for {}: call .delete_out_of_band(...) before .run()",
                self.address
            )
        });
        let (ws, aws, address) = (self.workspace, self.aws, self.address.as_str());
        let started = Instant::now();
        let step = |name: &str| {
            eprintln!(
                "[mdw-acceptance] {address} ({:.1?}): {name}",
                started.elapsed()
            );
        };

        step("init; plan shows a create");
        ws.write_config(&self.config);
        ws.init();
        self.assert_planned(&["create"], "the first plan");

        step("apply creates it");
        ws.apply();
        assert!(
            exists(aws),
            "{address}: apply succeeded but the AWS API does not find it"
        );
        let created = ws.state_resource(address);
        if let Some(check) = &self.check_attributes {
            check(&created);
        }

        step("plan and refresh-only plan are empty");
        ws.assert_plan_empty(&[]);
        ws.assert_no_drift();

        step("import into a fresh workspace matches");
        self.verify_import(&created);

        for (index, update) in self.updates.iter().enumerate() {
            step(&format!("update in place #{}", index + 1));
            ws.write_config(&update.config);
            self.assert_planned(&["update"], &format!("update #{}", index + 1));
            ws.apply();
            (update.check)(aws, &ws.state_resource(address));
            ws.assert_plan_empty(&[]);
        }

        step("deleted out of band: plan shows a create, apply recreates it");
        delete_out_of_band(aws);
        assert!(
            !exists(aws),
            "{address}: still exists after delete_out_of_band: fix the test's delete closure"
        );
        self.assert_planned(&["create"], "the plan after an out-of-band delete");
        ws.apply();
        assert!(
            exists(aws),
            "{address}: apply after an out-of-band delete did not recreate it"
        );
        ws.assert_plan_empty(&[]);

        step("destroy removes it");
        ws.destroy();
        assert!(
            !exists(aws),
            "{address}: destroy succeeded but the AWS API still finds it"
        );
        step("done");
    }

    fn assert_planned(&self, expected: &[&str], when: &str) {
        let actions = self.workspace.planned_actions(&self.address);
        assert!(
            actions == expected,
            "{}: {when} should plan {expected:?}, planned {actions:?}; the plan:\n{}",
            self.address,
            self.workspace.plan_exit_code(&[])
        );
    }

    fn verify_import(&self, original: &Value) {
        let fresh = self.workspace.fresh_copy();
        fresh.init();
        fresh.import(&self.address, &self.import_id);
        let imported = fresh.state_resource(&self.address);
        let differences = differing_attributes(original, &imported, &self.not_importable);
        assert!(
            differences.is_empty(),
            "{}: `terraform import {} {}` gives other attribute values than the apply \
             (list attributes import cannot know in .not_importable):\n{}",
            self.address,
            self.address,
            self.import_id,
            differences.join("\n")
        );
        let plan = fresh.plan_exit_code(&[]);
        assert!(
            plan.code == 0,
            "{}: the plan after import is not empty: {plan}",
            self.address
        );
        // `fresh` is dropped without destroy: it manages the same real resource.
    }
}

/// `name: original → imported` for each attribute whose values differ.
fn differing_attributes(original: &Value, imported: &Value, ignored: &[String]) -> Vec<String> {
    let empty = serde_json::Map::new();
    let original = original.as_object().unwrap_or(&empty);
    let imported = imported.as_object().unwrap_or(&empty);
    let mut names: Vec<&String> = original.keys().chain(imported.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| !ignored.contains(name))
        .filter_map(|name| {
            let (before, after) = (
                original.get(name).unwrap_or(&Value::Null),
                imported.get(name).unwrap_or(&Value::Null),
            );
            (before != after).then(|| format!("  {name}: {before} → {after}"))
        })
        .collect()
}
