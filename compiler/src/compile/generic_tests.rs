//! Generic data tests from properties yml: their names (dbt's, md5-shortened when long), configs
//! and dependencies (arguments such as `to: ref('x')` are evaluated), and their rendering through
//! the test macro (`test_<name>`, or dbt's `default__` implementation).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use minijinja::Value;
use rayon::prelude::*;
use serde_json::Value as Json;

use super::nodes::Renderable;
use super::render::RenderedSql;
use super::{CompiledTest, Compiler, NodeRef, node_ref_id};
use crate::config::{self, Config};
use crate::data_tests::{looks_like_function, synthesize_test_name};
use crate::error::{Diagnostic, Result};
use crate::graph::{Graph, GraphNode, Kind};
use crate::jinja::context::{Captured, Phase, RenderNode, Resolved, VarMode, search_name};
use crate::jinja::macros::INTERNAL;
use crate::jinja::objects::{lock, replace_deferred};
use crate::jinja::{Engine, GENERIC_TEST_TEMPLATE};
use crate::project::SourceFile;
use crate::properties::TestSpec;
use crate::values::json_to_jinja;

impl Compiler {
    /// Every generic test of the properties yml, with its name, config and what it reads
    /// (its arguments are evaluated here); each becomes a graph node.
    pub(super) fn generic_tests(
        &self,
        resolved: &Arc<Resolved>,
        graph: &mut Graph,
    ) -> Vec<GenericTest> {
        let project = &self.project.name;
        let mut specs: Vec<(TestOwner, &TestSpec)> = Vec::new();
        for (name, props) in &self.props.models {
            // A versioned model's tests run against each version (dbt's parse_versioned_tests).
            for version in &props.versions {
                if !resolved
                    .nodes
                    .contains_key(&search_name(name, Some(&version.v)))
                {
                    continue;
                }
                let p = &version.props;
                for spec in p
                    .tests
                    .iter()
                    .chain(p.columns.iter().flat_map(|c| &c.tests))
                {
                    specs.push((TestOwner::Version(name.clone(), version.v.clone()), spec));
                }
            }
            if !props.versions.is_empty() || !resolved.nodes.contains_key(name) {
                continue; // docs for a model that does not exist (or is disabled): dbt warns only
            }
            for spec in props
                .tests
                .iter()
                .chain(props.columns.iter().flat_map(|c| &c.tests))
            {
                specs.push((TestOwner::Node(name.clone(), "model"), spec));
            }
        }
        for (kind, nodes) in [
            ("seed", &self.props.seeds),
            ("snapshot", &self.props.snapshots),
        ] {
            for (name, props) in nodes {
                if !resolved.nodes.contains_key(name) {
                    continue;
                }
                for spec in props
                    .tests
                    .iter()
                    .chain(props.columns.iter().flat_map(|c| &c.tests))
                {
                    specs.push((TestOwner::Node(name.clone(), kind), spec));
                }
            }
        }
        for table in &self.props.sources {
            for spec in table
                .tests
                .iter()
                .chain(table.columns.iter().flat_map(|c| &c.tests))
            {
                specs.push((
                    TestOwner::Source(table.source_name.clone(), table.table_name.clone()),
                    spec,
                ));
            }
        }
        let built: Vec<(String, Result<GenericTest>)> = specs
            .into_par_iter()
            .map(|(owner, spec)| self.generic_test(owner, spec, resolved))
            .collect();
        let mut tests = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (name, test) in built {
            // `enabled: false` (in the yml or dbt_project.yml): dbt neither compiles nor runs it.
            if test
                .as_ref()
                .is_ok_and(|test| !super::enabled(&test.config))
            {
                continue;
            }
            let count = seen.entry(name.clone()).or_insert(0);
            *count += 1;
            let key = match *count {
                1 => name.clone(),
                n => format!("{name}_{n}"),
            };
            let unique_id = format!("test.{project}.{key}");
            let mut test = match test {
                Ok(test) => test,
                Err(error) => {
                    self.fail(Some(&unique_id), error);
                    continue;
                }
            };
            test.key = key;
            let index = graph.add(GraphNode {
                kind: Kind::Test,
                name: test.key.clone(),
                unique_id,
                file: test.spec.file.clone(),
                fqn: vec![project.clone(), test.name.clone()],
                tags: config::as_string_list(test.config.get("tags")),
            });
            for parent in &test.depends_on {
                if let Some(p) = graph.index(&node_ref_id(project, parent)) {
                    graph.connect(p, index);
                }
            }
            tests.push(test);
        }
        tests
    }

    /// Renders every generic test; `None` for one that failed.
    pub(super) fn render_generic_tests(
        &self,
        tests: &[GenericTest],
        resolved: &Arc<Resolved>,
    ) -> Vec<Option<CompiledTest>> {
        tests
            .par_iter()
            .map(|test| match self.render_generic_test(test, resolved) {
                Ok(compiled) => Some(compiled),
                Err(error) => {
                    let id = format!("test.{}.{}", self.project.name, test.key);
                    self.fail(Some(&id), error.node("test", &test.name));
                    None
                }
            })
            .collect()
    }

    /// A test's name (known even when the rest fails) and the test.
    fn generic_test(
        &self,
        owner: TestOwner,
        spec: &TestSpec,
        resolved: &Arc<Resolved>,
    ) -> (String, Result<GenericTest>) {
        let (namespace, test_type) = match spec.test_name.split_once('.') {
            Some((ns, name)) => (Some(ns.to_string()), name.to_string()),
            None => (None, spec.test_name.clone()),
        };
        let (target_name, prefix, model_expr) = match &owner {
            TestOwner::Node(name, _) => (name.clone(), String::new(), format!("ref('{name}')")),
            TestOwner::Version(name, v) => (
                format!("{name}_v{v}"),
                String::new(),
                format!("ref('{name}', version='{v}')"),
            ),
            TestOwner::Source(s, t) => (
                format!("{s}_{t}"),
                "source_".to_string(),
                format!("source('{s}', '{t}')"),
            ),
        };
        let mut name_args: BTreeMap<String, Json> = spec.args.clone().into_iter().collect();
        if let Some(column) = &spec.column {
            name_args.insert("column_name".into(), Json::String(column.clone()));
        }
        let test_prefix = match &namespace {
            Some(ns) => format!("{ns}_{prefix}{test_type}"),
            None => format!("{prefix}{test_type}"),
        };
        let (short_name, full_name) = synthesize_test_name(&test_prefix, &target_name, &name_args);
        // dbt's fqn of a generic test: the project, the yml's folders below its top folder,
        // and the test's full name; the project's `data_tests:` configs apply along it.
        let fqn_name = spec.custom_name.clone().unwrap_or(full_name);
        let name = spec.custom_name.clone().unwrap_or(short_name);
        let mut fqn = vec![self.project.name.clone()];
        let folders: Vec<&str> = spec.file.split('/').collect();
        if folders.len() > 2 {
            fqn.extend(folders[1..folders.len() - 1].iter().map(|f| f.to_string()));
        }
        fqn.push(fqn_name);
        let test = self.generic_test_named(
            &name, &fqn, namespace, &test_type, model_expr, owner, spec, resolved,
        );
        (name, test)
    }

    #[allow(clippy::too_many_arguments)]
    fn generic_test_named(
        &self,
        name: &str,
        fqn: &[String],
        namespace: Option<String>,
        test_type: &str,
        model_expr: String,
        owner: TestOwner,
        spec: &TestSpec,
        resolved: &Arc<Resolved>,
    ) -> Result<GenericTest> {
        let name = name.to_string();
        let registry = &self.engine.registry;
        let Some((package, macro_name)) = registry.test_macro(namespace.as_deref(), test_type)
        else {
            let (what, help) = match &namespace {
                Some(ns) if registry.packages.contains_key(ns) => (
                    format!("package '{ns}' has no generic test '{test_type}'"),
                    "check the test's name against the package's documentation".to_string(),
                ),
                Some(ns) => (
                    format!(
                        "generic test '{ns}.{test_type}' comes from package '{ns}', which is not installed"
                    ),
                    format!("add {ns} to packages.yml and run `mdwc deps`"),
                ),
                None => (
                    format!("unknown generic test '{test_type}'"),
                    format!(
                        "define it with {{% test {test_type}(model, column_name) %}} in macros/ or tests/generic/"
                    ),
                ),
            };
            return Err(Diagnostic::new(what)
                .node("test", &name)
                .at(spec.location())
                .help(help));
        };
        let fqn_refs: Vec<&str> = fqn.iter().map(String::as_str).collect();
        let mut config = config::tree_config(&self.project.tests_tree, &fqn_refs);
        config::merge_all(&mut config, &spec.config);

        // Parse the arguments (e.g. `to: ref('customers')`) to learn what the test depends on.
        let owner_ref = match &owner {
            TestOwner::Node(n, "seed") => NodeRef::Seed(n.clone()),
            TestOwner::Node(n, _) => NodeRef::Model(n.clone()),
            TestOwner::Version(n, v) => NodeRef::Model(search_name(n, Some(v))),
            TestOwner::Source(s, t) => NodeRef::Source(s.clone(), t.clone()),
        };
        let mut depends_on = vec![owner_ref.clone()];
        let file = SourceFile {
            path: spec.file.clone(),
            text: String::new(),
        };
        let renderable = Renderable {
            file: &file,
            name: name.clone(),
            version: None,
            resource_type: "test",
            fqn: vec![self.project.name.clone(), name.clone()],
            config: config.clone(),
            description: String::new(),
        };
        let function_args: Vec<&str> = spec
            .args
            .values()
            .filter_map(|value| value.as_str().filter(|text| looks_like_function(text)))
            .collect();
        let mut captured = Captured::default();
        if !function_args.is_empty() {
            let parse_node = self.node(
                &renderable,
                Phase::Parse,
                VarMode::Markers,
                self.placeholder_relation(&name),
            );
            for text in function_args {
                self.engine
                    .eval_expression(text, &parse_node, &spec.file)
                    .map_err(|d| located(d, spec))?;
            }
            captured = std::mem::take(&mut *lock(&parse_node.captured));
        }
        for call in captured.refs {
            let key = resolved.target_key(&call);
            if !resolved.nodes.contains_key(&key) {
                return Err(Diagnostic::new(format!(
                    "test '{name}' depends on a node named '{}' which was not found",
                    call.name
                ))
                .node("test", &name)
                .at(spec.location())
                .help("fix the `to:` argument of the test"));
            }
            depends_on.push(self.node_ref(resolved, &key));
        }
        for (s, t) in captured.sources {
            if !resolved.sources.contains_key(&(s.clone(), t.clone())) {
                return Err(Diagnostic::new(format!(
                    "test '{name}' depends on a source named '{s}.{t}' which was not found"
                ))
                .node("test", &name)
                .at(spec.location())
                .help("declare the source table in a properties yml"));
            }
            depends_on.push(NodeRef::Source(s, t));
        }
        depends_on.sort();
        depends_on.dedup();
        // dbt's own tests dispatch to `default__test_x`: call it directly unless the project
        // changes that (saves a dispatch per test).
        let default = format!("default__{macro_name}");
        let implementation = if package == INTERNAL
            && !registry.is_customized(&macro_name)
            && registry.get(INTERNAL, &default).is_some()
        {
            (package, default)
        } else {
            (package, macro_name)
        };
        Ok(GenericTest {
            key: name.clone(),
            name,
            implementation,
            depends_on_owner: owner_ref,
            spec: spec.clone(),
            model_expr,
            config,
            depends_on,
        })
    }

    fn render_generic_test(
        &self,
        test: &GenericTest,
        resolved: &Arc<Resolved>,
    ) -> Result<CompiledTest> {
        let file = SourceFile {
            path: test.spec.file.clone(),
            text: String::new(),
        };
        let renderable = Renderable {
            file: &file,
            name: test.name.clone(),
            version: None,
            resource_type: "test",
            fqn: vec![self.project.name.clone(), test.name.clone()],
            config: test.config.clone(),
            description: String::new(),
        };
        let make = |mode: VarMode| -> Result<Arc<RenderNode>> {
            let base = RenderNode {
                resolved: Some(resolved.clone()),
                ..Arc::unwrap_or_clone(self.node(
                    &renderable,
                    Phase::Compile,
                    mode,
                    self.placeholder_relation(&test.name),
                ))
            };
            let base = Arc::new(base);
            // dbt renders each argument: ref()/source()/var() calls as expressions, other strings
            // as templates; `column_name` stays as written.
            let mut kwargs = Vec::new();
            let model = if self.engine.registry.is_customized("get_where_subquery") {
                self.engine
                    .eval_expression(
                        &format!("get_where_subquery({})", test.model_expr),
                        &base,
                        &test.spec.file,
                    )
                    .map_err(|d| located(d, &test.spec))?
            } else {
                // dbt's default get_where_subquery, without two macro calls per test.
                let relation = match &test.depends_on_owner {
                    NodeRef::Source(s, t) => resolved.sources.get(&(s.clone(), t.clone())),
                    NodeRef::Model(n) | NodeRef::Seed(n) => resolved.nodes.get(n),
                }
                .cloned()
                .ok_or_else(|| {
                    Diagnostic::new(format!(
                        "test '{}' reads a node that was not found",
                        test.name
                    ))
                })?;
                match config::as_str(&test.config, "where").filter(|w| !w.is_empty()) {
                    Some(filter) => Value::from(format!(
                        "(select * from {} where {filter}) dbt_subquery",
                        relation.rendered()
                    )),
                    None => Value::from_object(relation),
                }
            };
            kwargs.push(("model".to_string(), model));
            if let Some(column) = &test.spec.column {
                kwargs.push(("column_name".to_string(), Value::from(column.as_str())));
            }
            for (key, value) in &test.spec.args {
                let value = match value {
                    Json::String(text) if looks_like_function(text) => self
                        .engine
                        .eval_expression(text, &base, &test.spec.file)
                        .map_err(|d| located(d, &test.spec))?,
                    Json::String(text) if text.contains("{{") || text.contains("{%") => {
                        Value::from(
                            self.engine
                                .render_str(text, &base, &test.spec.file)
                                .map_err(|d| located(d, &test.spec))?,
                        )
                    }
                    other => json_to_jinja(other),
                };
                kwargs.push((key.clone(), value));
            }
            let (package, macro_name) = &test.implementation;
            let macro_value = self
                .engine
                .registry
                .in_package(package, macro_name)
                .ok_or_else(|| {
                    Diagnostic::new(format!(
                        "unknown generic test macro '{package}.{macro_name}'"
                    ))
                })?;
            let mut node = Arc::unwrap_or_clone(base);
            node.extra = vec![
                ("__mdw_test_macro", macro_value),
                ("__mdw_test_kwargs", Engine::test_kwargs(kwargs)),
            ];
            Ok(Arc::new(node))
        };
        let RenderedSql {
            sql,
            sql_with_markers,
            ..
        } = self
            .render_checked(&test.name, GENERIC_TEST_TEMPLATE, &make, None)
            .map_err(|d| located(d, &test.spec))?;
        let yml_dir = test.spec.file.clone();
        let audit_schema = self
            .audit_schema(&renderable, &test.config)
            .map_err(|d| located(d, &test.spec))?;
        Ok(CompiledTest {
            name: test.name.clone(),
            key: test.key.clone(),
            compiled_path: format!("{yml_dir}/{}.sql", test.name),
            file: test.spec.file.clone(),
            line: Some(test.spec.location().line),
            attached_node: Some(test.depends_on_owner.clone()),
            audit_schema,
            depends_on: test.depends_on.clone(),
            config: test.config.clone(),
            sql,
            sql_with_markers,
        })
    }
}

pub(super) struct GenericTest {
    pub name: String,
    /// `name`, or `name_<n>` for the n-th test of the same name.
    pub key: String,
    /// The macro that renders the test, `(package, name)`: `test_<name>`, or dbt's
    /// `default__test_<name>` directly when the project changes neither.
    implementation: (String, String),
    /// The node the test is attached to.
    pub depends_on_owner: NodeRef,
    pub spec: TestSpec,
    model_expr: String,
    pub config: Config,
    pub depends_on: Vec<NodeRef>,
}

enum TestOwner {
    Node(String, &'static str),
    /// A model version: the model's name and `v`.
    Version(String, String),
    Source(String, String),
}

fn located(mut diagnostic: Diagnostic, spec: &TestSpec) -> Diagnostic {
    let in_generated = diagnostic
        .location
        .as_ref()
        .is_none_or(|l| l.file.starts_with('<'));
    if in_generated {
        diagnostic.location = Some(spec.location());
    }
    diagnostic
}

pub(super) fn test_deferred(test: &CompiledTest) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    replace_deferred(&test.sql_with_markers, |name| {
        used.insert(name.to_string());
        String::new()
    });
    used
}
