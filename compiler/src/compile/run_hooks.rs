//! `on-run-start` / `on-run-end`: dbt runs them around every run; mdw runs hooks around model
//! builds only. Each hook is rendered as dbt renders it when it runs (`execute` true,
//! `schemas` and `database_schemas` the project's): one that renders to nothing (a `log()`,
//! a statement behind `{% if target.type == 'snowflake' %}`) is what dbt skips too; one that
//! renders a statement is an error at its place in dbt_project.yml, since mdw would not run it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use minijinja::Value;
use minijinja::value::{Enumerator, Object};

use super::Compiler;
use super::render::Assembled;
use crate::error::Diagnostic;
use crate::jinja::context::{Captured, Phase, RenderNode, VarMode};
use crate::jinja::objects::lock;
use crate::project::{PROJECT_FILE, RunHook};

/// `results` of an on-run-end hook: dbt's run results, which no compile has. Any use of it
/// is recorded, and fails the hook.
#[derive(Debug, Default)]
struct RunResults(AtomicBool);

impl RunResults {
    fn read(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Object for RunResults {
    fn get_value(self: &Arc<Self>, _key: &Value) -> Option<Value> {
        self.read();
        None
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        self.read();
        Enumerator::Empty
    }

    fn is_true(self: &Arc<Self>) -> bool {
        self.read();
        false
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.read();
        write!(f, "[]")
    }
}

impl Compiler {
    /// Renders every project hook; the ones that would run a statement are errors.
    pub(super) fn check_run_hooks(&self, nodes: &Assembled) -> Vec<Diagnostic> {
        if self.project.run_hooks.is_empty() {
            return Vec::new();
        }
        // dbt's `database_schemas` and `schemas`: where the run's nodes are built.
        let database_schemas: BTreeSet<(String, String)> = nodes
            .models
            .iter()
            .filter(|m| !m.ephemeral)
            .map(|m| &m.relation)
            .chain(nodes.seeds.iter().map(|s| &s.relation))
            .map(|r| (r.database.clone(), r.schema.clone()))
            .collect();
        let schemas: BTreeSet<String> = database_schemas.iter().map(|(_, s)| s.clone()).collect();
        self.project
            .run_hooks
            .iter()
            .filter_map(|hook| self.check_run_hook(hook, &database_schemas, &schemas).err())
            .collect()
    }

    fn check_run_hook(
        &self,
        hook: &RunHook,
        database_schemas: &BTreeSet<(String, String)>,
        schemas: &BTreeSet<String>,
    ) -> Result<(), Diagnostic> {
        let project = &self.project.name;
        let key = hook.kind.key();
        let name = format!("{project}-{key}-{}", hook.index);
        let at = |diagnostic: Diagnostic| {
            let mut diagnostic = diagnostic.at(hook.location.clone());
            diagnostic.node = Some(format!("operation {name}"));
            diagnostic
        };
        let mut node = RenderNode {
            shared: self.shared.clone(),
            name: name.clone(),
            version: None,
            unique_id: format!("operation.{project}.{name}"),
            resource_type: "operation",
            file: PROJECT_FILE.to_string(),
            fqn: vec![project.clone(), "hooks".to_string(), name.clone()],
            description: String::new(),
            phase: Phase::Compile,
            var_mode: VarMode::Markers,
            resolved: None,
            parsed_refs: None,
            this: self.placeholder_relation(&name),
            config: Mutex::new(Default::default()),
            captured: Mutex::new(Captured::default()),
            extra: Vec::new(),
            observed: Arc::new(AtomicBool::new(false)),
        };
        node.extra.push((
            "schemas",
            Value::from(schemas.iter().cloned().collect::<Vec<_>>()),
        ));
        node.extra.push((
            "database_schemas",
            Value::from(
                database_schemas
                    .iter()
                    .map(|(d, s)| Value::from(vec![Value::from(d.clone()), Value::from(s.clone())]))
                    .collect::<Vec<_>>(),
            ),
        ));
        let results = Arc::new(RunResults::default());
        node.extra
            .push(("results", Value::from_dyn_object(results.clone())));
        let node = Arc::new(node);
        let sql = self
            .engine
            .render_str(&hook.sql, &node, PROJECT_FILE)
            .map_err(at)?;
        if results.0.load(Ordering::Relaxed) {
            return Err(at(Diagnostic::new(format!(
                "`{key}` hook {} reads `results`, dbt's results of the run, which mdw's builds do not produce",
                hook.index + 1
            ))
            .help("remove the hook, or run it outside mdw (mdw's runs are terraform applies)")));
        }
        let captured = std::mem::take(&mut *lock(&node.captured));
        if let Some(var) = captured.deferred_vars.first() {
            return Err(at(Diagnostic::new(format!(
                "`{key}` hook {} reads var '{var}', deferred to Terraform",
                hook.index + 1
            ))
            .help(format!("bind it at compile time: --vars '{{{var}: ...}}'"))));
        }
        let statement = sql.trim();
        if statement.is_empty() {
            return Ok(());
        }
        let head: String = statement
            .split_whitespace()
            .take(4)
            .collect::<Vec<_>>()
            .join(" ");
        Err(at(Diagnostic::new(format!(
            "`{key}` hook {} runs `{head} …` around the whole run, which mdw does not do",
            hook.index + 1
        ))
        .help("mdw runs hooks around model builds: move the statement to a model's pre-hook or post-hook, or run it outside mdw")))
    }
}
