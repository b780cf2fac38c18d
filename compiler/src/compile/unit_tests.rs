//! dbt 1.8+ unit tests: the tested model rendered again with the test's overrides (vars,
//! env vars, `is_incremental`) and every given input's relation replaced by the quoted name
//! `"__mdw_given_<i>"`, which the provider's `mdw_unit_test` fills with the fixture rows. dbt
//! replaces the inputs the same way (by ephemeral fixture CTEs); it needs every input the model
//! reads to be given, and so does mdwc.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use serde_json::{Map, Value as Json};

use super::nodes::Renderable;
use super::parse::Parsed;
use super::relations::Relations;
use super::{CompiledExpect, CompiledGiven, CompiledUnitTest, Compiler, NodeRef, model_name};
use crate::error::{Diagnostic, Location, Result};
use crate::jinja::context::{Phase, RefCall, RenderNode, Resolved, Shared, VarMode};
use crate::jinja::functions::{ENV_OVERRIDES, INCREMENTAL_FLAG};
use crate::jinja::objects::{Relation, lock};
use crate::properties::{Fixture, UnitTestSpec};
use crate::values::json_to_jinja;

/// What a given input stands for.
struct Input {
    node: NodeRef,
    /// How the model's render finds it: a ref's search name or a source.
    key: InputKey,
    relation: Relation,
}

enum InputKey {
    Ref(String),
    Source(String, String),
}

impl Compiler {
    /// Every enabled unit test whose model compiled, and the deferred vars their SQL uses.
    pub(super) fn unit_tests(
        &self,
        renderables: &[Renderable],
        parsed: &[Option<Parsed>],
        relations: &Relations,
    ) -> (Vec<CompiledUnitTest>, BTreeSet<String>) {
        let built: Vec<(CompiledUnitTest, BTreeSet<String>)> = self
            .props
            .unit_tests
            .par_iter()
            .filter(|spec| !matches!(spec.config.get("enabled"), Some(Json::Bool(false))))
            .filter_map(
                |spec| match self.unit_test(spec, renderables, parsed, relations) {
                    Ok(test) => test,
                    Err(error) => {
                        let id = format!(
                            "unit_test.{}.{}.{}",
                            self.project.name, spec.model, spec.name
                        );
                        self.fail(Some(&id), error.node("unit test", &spec.name));
                        None
                    }
                },
            )
            .collect();
        let mut deferred = BTreeSet::new();
        let mut tests = Vec::new();
        for (test, vars) in built {
            deferred.extend(vars);
            tests.push(test);
        }
        (tests, deferred)
    }

    /// A unit test; `None` when its model did not compile (that error is reported already).
    fn unit_test(
        &self,
        spec: &UnitTestSpec,
        renderables: &[Renderable],
        parsed: &[Option<Parsed>],
        relations: &Relations,
    ) -> Result<Option<(CompiledUnitTest, BTreeSet<String>)>> {
        let name = &spec.name;
        let error = |message: String, help: &str| {
            Diagnostic::new(message)
                .at(spec.location.clone())
                .help(help)
        };
        let Some(index) = renderables
            .iter()
            .position(|r| r.is_model() && r.name == spec.model)
        else {
            return Err(error(
                format!(
                    "unit test '{name}' tests model '{}', which does not exist",
                    spec.model
                ),
                "set `model:` to the name of a model of this project",
            ));
        };
        let r = &renderables[index];
        if r.is_snapshot() {
            return Err(error(
                format!(
                    "unit test '{name}' tests snapshot '{}': dbt unit-tests models only",
                    spec.model
                ),
                "set `model:` to a model; test the snapshot's query in a model it reads, or with data tests",
            ));
        }
        if r.version.is_some() {
            return Err(error(
                format!(
                    "unit test '{name}' tests versioned model '{}': not supported by mdwc",
                    spec.model
                ),
                "unit tests of versioned models are not supported yet; remove the test or the versions",
            ));
        }
        let (Some(p), Some(this)) = (&parsed[index], &relations.models[index]) else {
            return Ok(None); // failed or disabled
        };
        if self.has_failed(&r.unique_id(&self.project.name)) {
            return Ok(None);
        }
        if this.is_ephemeral() {
            return Err(error(
                format!(
                    "unit test '{name}' tests ephemeral model '{}': not supported",
                    spec.model
                ),
                "unit-test the models that read it, or materialize it as a view",
            ));
        }
        // dbt's rules for a model that calls is_incremental(): the test says which build it
        // checks, and the incremental one needs `input: this` (not supported here).
        if r.file.text.contains("is_incremental(") {
            let flag = spec
                .macros
                .iter()
                .find(|(macro_name, _, _)| macro_name == "is_incremental");
            match flag {
                Some((_, Json::Bool(false), _)) => {}
                Some((_, Json::Bool(true), at)) => {
                    return Err(Diagnostic::new(format!(
                        "unit test '{name}' for incremental model '{}' must have a 'this' input, and `input: this` is not supported by mdwc",
                        spec.model
                    ))
                    .at(at.clone())
                    .help("test the full build: `is_incremental: false`"));
                }
                _ => {
                    return Err(error(
                        format!(
                            "boolean override for 'is_incremental' must be provided for unit test '{name}' in model '{}'",
                            spec.model
                        ),
                        "add `overrides: {macros: {is_incremental: false}}` (mdwc tests the full build only)",
                    ));
                }
            }
        }
        let resolved = &relations.resolved;

        // The inputs, each resolved to the node it stands for.
        let mut inputs = Vec::new();
        for given in &spec.given {
            inputs.push(self.given_input(
                spec,
                given.input.as_str(),
                &given.location,
                r,
                resolved,
            )?);
        }
        // dbt builds the test's graph from the given inputs only: every ref and source the
        // model reads must be given (rows: [] for an empty one).
        for call in &p.captured.refs {
            let key = resolved.target_key(call);
            if !inputs
                .iter()
                .any(|i| matches!(&i.key, InputKey::Ref(k) if *k == key))
            {
                return Err(error(
                    format!(
                        "unit test '{name}' gives no rows for ref('{}'), which model '{}' reads",
                        call.name, spec.model
                    ),
                    &format!(
                        "add `- input: ref('{}')` under `given:` (with `rows: []` for an empty input)",
                        call.name
                    ),
                ));
            }
        }
        for (s, t) in &p.captured.sources {
            if !inputs
                .iter()
                .any(|i| matches!(&i.key, InputKey::Source(a, b) if a == s && b == t))
            {
                return Err(error(
                    format!(
                        "unit test '{name}' gives no rows for source('{s}', '{t}'), which model '{}' reads",
                        spec.model
                    ),
                    &format!(
                        "add `- input: source('{s}', '{t}')` under `given:` (with `rows: []` for an empty input)"
                    ),
                ));
            }
        }

        // The model's render, with the inputs replaced and the overrides applied.
        let mut test_resolved: Resolved = Resolved::clone(resolved);
        for (i, input) in inputs.iter().enumerate() {
            match &input.key {
                InputKey::Ref(key) => {
                    test_resolved.nodes.insert(key.clone(), Relation::given(i));
                }
                InputKey::Source(s, t) => {
                    test_resolved
                        .sources
                        .insert((s.clone(), t.clone()), Relation::given(i));
                }
            }
        }
        let test_resolved = Arc::new(test_resolved);
        let mut extra = Vec::new();
        for (macro_name, value, at) in &spec.macros {
            match macro_name.as_str() {
                "is_incremental" => {
                    if value.as_bool().unwrap_or(false) {
                        extra.push((INCREMENTAL_FLAG, minijinja::Value::from(true)));
                    }
                }
                other => {
                    return Err(Diagnostic::new(format!(
                        "unit test '{name}' overrides macro '{other}': mdwc only applies `is_incremental`"
                    ))
                    .at(at.clone())
                    .help("remove the override, or bind what the macro reads with `overrides: vars:`"));
                }
            }
        }
        if !spec.env_vars.is_empty() {
            extra.push((
                ENV_OVERRIDES,
                json_to_jinja(&Json::Object(spec.env_vars.clone())),
            ));
        }
        let shared = Arc::new(Shared {
            project_name: self.shared.project_name.clone(),
            target: self.shared.target.clone(),
            target_database: self.shared.target_database.clone(),
            target_schema: self.shared.target_schema.clone(),
            vars: self.shared.vars.with_overrides(&spec.vars),
            checker: self.shared.checker.clone(),
            graph_source: self.shared.graph_source.clone(),
            graph: std::sync::OnceLock::new(),
            selected_resources: self.shared.selected_resources.clone(),
            // A unit test's inputs are its given rows, not the project's relations.
            columns: Default::default(),
        });
        let parsed_refs: HashSet<String> = p.captured.refs.iter().map(RefCall::key).collect();
        let make = |mode: VarMode| {
            let mut node = RenderNode {
                shared: shared.clone(),
                resolved: Some(test_resolved.clone()),
                parsed_refs: Some(parsed_refs.clone()),
                ..Arc::unwrap_or_clone(self.node(r, Phase::Compile, mode, this.clone()))
            };
            node.config = Mutex::new(p.config.clone());
            node.extra.extend(extra.iter().cloned());
            Ok(Arc::new(node))
        };
        let rendered = self
            .render_checked(&r.name, &r.template(), &make, None)
            .map_err(|d| {
                let message = format!("unit test '{name}': {}", d.message);
                Diagnostic { message, ..d }
            })?;
        // `{{ this }}` (an incremental model's own table) would be read for real.
        if rendered.sql_with_markers.contains(&this.rendered()) {
            return Err(error(
                format!(
                    "unit test '{name}': model '{}' reads its own table ({{{{ this }}}}) here, and `input: this` is not supported by mdwc",
                    spec.model
                ),
                "test the full build (no `is_incremental: true` override), or move the part that reads {{ this }} out of the tested branch",
            ));
        }

        let mut given = Vec::new();
        for (input, spec_given) in inputs.iter().zip(&spec.given) {
            let fixture = self.fixture_file(spec, &spec_given.fixture)?;
            let (relation, rows_json, fixture_sql) = match &fixture {
                Fixture::Sql(sql) => (None, None, Some(sql.clone())),
                fixture => {
                    if relation_is_cte(&input.relation) {
                        return Err(Diagnostic::new(format!(
                            "unit test '{name}': input {} is an ephemeral model, which has no table to type the rows by",
                            spec_given.input
                        ))
                        .at(spec_given.location.clone())
                        .help("give its rows with `format: sql` (a select with typed columns)"));
                    }
                    let rows = match fixture {
                        Fixture::Rows(rows) => rows.clone(),
                        _ => self.seed_rows(
                            spec,
                            &input.node,
                            &spec_given.input,
                            &spec_given.location,
                            relations,
                        )?,
                    };
                    (
                        Some(input.relation.rendered()),
                        Some(rows_text(&rows)),
                        None,
                    )
                }
            };
            given.push(CompiledGiven {
                node: input.node.clone(),
                relation,
                rows_json,
                fixture_sql,
            });
        }
        let expect = match self.fixture_file(spec, &spec.expect)? {
            Fixture::Rows(rows) => CompiledExpect::RowsJson(rows_text(&rows)),
            Fixture::Sql(sql) => CompiledExpect::Sql(sql),
            Fixture::SeedFile | Fixture::File { .. } => CompiledExpect::RowsJson("[]".to_string()),
        };
        Ok(Some((
            CompiledUnitTest {
                name: name.clone(),
                model: r.key(),
                source_file: format!("{}:{}", spec.location.file, spec.location.line),
                sql_with_markers: rendered.sql_with_markers,
                given,
                expect,
            },
            rendered.deferred_vars,
        )))
    }

    /// The node a `given:` input names (`ref('x')`, `source('s', 't')`), evaluated as dbt
    /// evaluates it.
    fn given_input(
        &self,
        spec: &UnitTestSpec,
        text: &str,
        at: &Location,
        model: &Renderable,
        resolved: &Resolved,
    ) -> Result<Input> {
        let bad = |message: String, help: &str| Diagnostic::new(message).at(at.clone()).help(help);
        let parse_node = self.node(
            model,
            Phase::Parse,
            VarMode::Markers,
            self.placeholder_relation(&model.name),
        );
        self.engine
            .eval_expression(text, &parse_node, &at.file)
            .map_err(|d| Diagnostic {
                location: Some(at.clone()),
                ..d
            })?;
        let captured = std::mem::take(&mut *lock(&parse_node.captured));
        match (captured.refs.as_slice(), captured.sources.as_slice()) {
            ([call], []) => {
                let key = resolved.target_key(call);
                let Some(relation) = resolved.nodes.get(&key) else {
                    return Err(bad(
                        format!(
                            "unit test '{}' has an input ({text}) which was not found",
                            spec.name
                        ),
                        "name a model or seed of this project",
                    ));
                };
                Ok(Input {
                    node: self.node_ref(resolved, &key),
                    relation: relation.clone(),
                    key: InputKey::Ref(key),
                })
            }
            ([], [(s, t)]) => {
                let Some(relation) = resolved.sources.get(&(s.clone(), t.clone())) else {
                    return Err(bad(
                        format!(
                            "unit test '{}' has an input ({text}) which was not found",
                            spec.name
                        ),
                        "declare the source table in a properties yml",
                    ));
                };
                Ok(Input {
                    node: NodeRef::Source(s.clone(), t.clone()),
                    relation: relation.clone(),
                    key: InputKey::Source(s.clone(), t.clone()),
                })
            }
            _ => Err(bad(
                format!("unit test '{}': invalid input {text}", spec.name),
                "write `input: ref('model_name')` or `input: source('src', 'table')`",
            )),
        }
    }

    /// A `fixture:` file read into rows (csv) or a query (sql); other fixtures as they are.
    fn fixture_file(&self, spec: &UnitTestSpec, fixture: &Fixture) -> Result<Fixture> {
        let Fixture::File {
            name,
            extension,
            location,
        } = fixture
        else {
            return Ok(fixture.clone());
        };
        let file = self.project.fixtures.iter().find(|f| {
            std::path::Path::new(&f.path)
                .file_stem()
                .and_then(|s| s.to_str())
                == Some(name)
                && f.path.ends_with(&format!(".{extension}"))
        });
        let Some(file) = file else {
            let folders: Vec<String> = self
                .project
                .test_paths
                .iter()
                .map(|p| format!("{p}/fixtures/"))
                .collect();
            return Err(Diagnostic::new(format!(
                "file not found for fixture '{name}' of unit test '{}'",
                spec.name
            ))
            .at(location.clone())
            .help(format!(
                "add {name}.{extension} under {}",
                folders.join(" or ")
            )));
        };
        if *extension == "sql" {
            return Ok(Fixture::Sql(file.text.clone()));
        }
        crate::properties::csv_rows(&file.text)
            .map(Fixture::Rows)
            .map_err(|err| {
                Diagnostic::new(format!("fixture {} is not valid CSV: {err}", file.path))
                    .at(Location::new(&file.path, 1, 1))
                    .help("write a header line, then one line per row")
            })
    }

    /// `format: dict` without rows on a seed input: the seed's own rows, as dbt reads them.
    fn seed_rows(
        &self,
        spec: &UnitTestSpec,
        node: &NodeRef,
        input: &str,
        at: &Location,
        relations: &Relations,
    ) -> Result<Vec<Map<String, Json>>> {
        let seed = match node {
            NodeRef::Seed(name) => relations.seeds.iter().find(|s| &s.name == name),
            _ => None,
        };
        let Some(seed) = seed else {
            return Err(Diagnostic::new(format!(
                "unit test '{}': input {input} has no `rows:`",
                spec.name
            ))
            .at(at.clone())
            .help("give its rows (`rows: []` for none); only a seed input may leave them out"));
        };
        let text = std::fs::read_to_string(&seed.absolute).map_err(|err| {
            Diagnostic::new(format!("cannot read seed {}: {err}", seed.file))
                .at(Location::new(&seed.file, 1, 1))
        })?;
        crate::properties::csv_rows(&text).map_err(|err| {
            Diagnostic::new(format!("cannot read seed {} as CSV: {err}", seed.file))
                .at(Location::new(&seed.file, 1, 1))
                .help(format!(
                    "fix the seed, or give the rows of {} inline",
                    model_name(&seed.file)
                ))
        })
    }
}

fn relation_is_cte(relation: &Relation) -> bool {
    relation.is_ephemeral()
}

/// Fixture rows as the JSON array the provider reads.
fn rows_text(rows: &[Map<String, Json>]) -> String {
    let rows: Vec<Json> = rows.iter().cloned().map(Json::Object).collect();
    serde_json::to_string(&rows).unwrap_or_else(|_| "[]".to_string())
}
