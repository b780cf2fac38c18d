//! Relation names: every enabled model and seed is named by `generate_database_name`,
//! `generate_schema_name` and `generate_alias_name` (the project's, or dbt's rules), seeds are
//! checked, sources are resolved, and names that would clash in Terraform or Glue are errors.

use std::sync::Arc;

use minijinja::Value;

use super::nodes::Renderable;
use super::parse::Parsed;
use super::{CompiledSeed, CompiledSource, Compiler, enabled, model_name, source_relation};
use crate::config::{self, Config};
use crate::error::{Diagnostic, Location, Result};
use crate::jinja::NAMING_TEMPLATES;
use crate::jinja::catalog::Columns;
use crate::jinja::context::{NodeContext, Phase, RenderNode, Resolved, VarMode};
use crate::jinja::objects::{DEFERRED_START, Relation};
use crate::names::{self, Named};
use crate::project::SourceFile;
use crate::values::json_scalar_text;

/// The relations of every node, known after the parse phase.
pub(super) struct Relations {
    pub resolved: Arc<Resolved>,
    /// Per renderable: the model's relation (`None` for tests, disabled or failed models).
    pub models: Vec<Option<Relation>>,
    pub seeds: Vec<CompiledSeed>,
    pub sources: Vec<CompiledSource>,
}

/// dbt's older snapshot configs `target_database`/`target_schema`, used as written (no
/// `generate_*_name`) when set, as dbt-core's parser does.
fn snapshot_target(mut relation: Relation, config: &Config) -> Relation {
    let set = |key: &str| config::as_str(config, key).filter(|v| !v.is_empty());
    if let Some(database) = set("target_database") {
        relation.database = database.to_string();
    }
    if let Some(schema) = set("target_schema") {
        relation.schema = schema.to_string();
    }
    relation
}

impl Compiler {
    pub(super) fn name_relations(
        &self,
        renderables: &[Renderable],
        parsed: &[Option<Parsed>],
    ) -> Relations {
        let project = &self.project.name;
        let mut resolved = Resolved::default();
        let mut models = Vec::with_capacity(renderables.len());
        for (r, p) in renderables.iter().zip(parsed) {
            if !r.is_model() {
                models.push(None);
                continue;
            }
            let Some(p) = p else {
                // Failed while parsing: dependants still resolve their refs (to a stand-in) so
                // their own errors are found, and are left out as the failure propagates.
                resolved
                    .nodes
                    .insert(r.key(), self.placeholder_relation(&r.name));
                models.push(None);
                continue;
            };
            if !enabled(&p.config) {
                models.push(None);
                continue;
            }
            let materialized = config::as_str(&p.config, "materialized");
            let kind = if materialized == Some("view") {
                "view"
            } else {
                "table"
            };
            let event_time = event_time_field(
                config::as_str(&p.config, "event_time"),
                self.node_props(r)
                    .map_or(&[], |props| props.columns.as_slice()),
                None,
            );
            let named = self.name_relation(r, &p.config, kind).map(|relation| {
                let relation = if materialized == Some("ephemeral") {
                    Relation::ephemeral(&relation)
                } else if r.is_snapshot() {
                    snapshot_target(relation, &p.config)
                } else {
                    relation
                };
                relation.with_event_time(event_time)
            });
            let relation = match named {
                Ok(relation) => relation,
                Err(error) => {
                    self.fail(Some(&r.unique_id(project)), error);
                    resolved
                        .nodes
                        .insert(r.key(), self.placeholder_relation(&r.name));
                    models.push(None);
                    continue;
                }
            };
            // The Terraform resource names no catalog: the engine builds in its own, the target's.
            if !relation
                .database
                .eq_ignore_ascii_case(&self.target.database)
                && !relation.is_ephemeral()
            {
                let key =
                    if r.is_snapshot() && config::as_str(&p.config, "target_database").is_some() {
                        "target_database"
                    } else {
                        "database"
                    };
                self.fail(
                    Some(&r.unique_id(project)),
                    Diagnostic::new(format!(
                        "{} '{}' is built in catalog '{}', not the target's ('{}')",
                        r.resource_type,
                        r.key(),
                        relation.database,
                        self.target.database
                    ))
                    .at(self.config_origin(r, key))
                    .help("mdw builds every model in the engine's catalog (the target's database): remove the database config, or set it to the target's"),
                );
                resolved
                    .nodes
                    .insert(r.key(), self.placeholder_relation(&r.name));
                models.push(None);
                continue;
            }
            if let Some(v) = &r.version
                && self
                    .props
                    .models
                    .get(&r.name)
                    .is_some_and(|props| props.latest_version.as_ref() == Some(v))
            {
                // `ref('m')` without a version is the latest version.
                resolved.nodes.insert(r.name.clone(), relation.clone());
                resolved.latest.insert(r.name.clone(), r.key());
            }
            resolved.nodes.insert(r.key(), relation.clone());
            models.push(Some(relation));
        }
        let seeds = self.seeds(renderables, &mut resolved);
        let mut sources = Vec::new();
        for table in &self.props.sources {
            let relation = source_relation(table, &self.target, &self.project);
            resolved.sources.insert(
                (table.source_name.clone(), table.table_name.clone()),
                relation.clone(),
            );
            sources.push(CompiledSource {
                table: table.clone(),
                relation,
            });
        }
        self.check_names(renderables, &models, &seeds);
        Relations {
            resolved: Arc::new(resolved),
            models,
            seeds,
            sources,
        }
    }

    /// Enabled seeds, their files checked and their relations named.
    fn seeds(&self, renderables: &[Renderable], resolved: &mut Resolved) -> Vec<CompiledSeed> {
        let project = &self.project.name;
        let mut out = Vec::new();
        for seed in &self.project.seeds {
            let name = model_name(&seed.path);
            let id = format!("seed.{project}.{name}");
            if let Some(model) = renderables.iter().find(|r| r.is_model() && r.key() == name) {
                self.fail(
                    Some(&id),
                    Diagnostic::new(format!(
                        "a seed and a model are both named '{name}': {} and {}",
                        model.file.path, seed.path
                    ))
                    .node("seed", &name)
                    .at(Location::new(&seed.path, 1, 1))
                    .help("seeds are ref-able like models, so names must be unique; rename one"),
                );
                continue;
            }
            let fqn = super::nodes::fqn_of(project, &self.project.seed_paths, &seed.path);
            let fqn_refs: Vec<&str> = fqn.iter().map(String::as_str).collect();
            let mut config = config::tree_config(&self.project.seeds_tree, &fqn_refs);
            if let Some(p) = self.props.seeds.get(&name) {
                config::merge_all(&mut config, &p.config);
            }
            if !enabled(&config) {
                continue;
            }
            let file = SourceFile {
                path: seed.path.clone(),
                text: String::new(),
            };
            let renderable = Renderable {
                file: &file,
                name: name.clone(),
                version: None,
                resource_type: "seed",
                fqn,
                config: config.clone(),
                description: String::new(),
            };
            let checked = seed_delimiter(&name, &seed.path, &config)
                .and_then(|delimiter| crate::seeds::check(seed, delimiter))
                .map(|columns| crate::seeds::glue_columns(columns, config.get("column_types")))
                .and_then(|columns| {
                    let event_time = event_time_field(
                        config::as_str(&config, "event_time"),
                        self.props
                            .seeds
                            .get(&name)
                            .map_or(&[], |props| props.columns.as_slice()),
                        None,
                    );
                    let relation = self
                        .name_relation(&renderable, &config, "table")?
                        .with_event_time(event_time);
                    Ok((relation, columns))
                });
            match checked {
                Ok((relation, columns)) => {
                    self.shared
                        .columns
                        .set(&relation, "seed", &name, Columns::Known(columns));
                    resolved.nodes.insert(name.clone(), relation.clone());
                    out.push(CompiledSeed {
                        fqn: renderable.fqn.clone(),
                        name,
                        file: seed.path.clone(),
                        absolute: seed.absolute.clone(),
                        relation,
                        config,
                    });
                }
                Err(error) => {
                    self.fail(Some(&id), error.node("seed", &name));
                    resolved
                        .nodes
                        .insert(name.clone(), self.placeholder_relation(&name));
                }
            }
        }
        out
    }

    /// Two nodes may not share a Terraform resource or a Glue table, and every relation name
    /// must be one Glue stores unchanged.
    fn check_names(
        &self,
        renderables: &[Renderable],
        models: &[Option<Relation>],
        seeds: &[CompiledSeed],
    ) {
        let mut named = Vec::new();
        for (r, relation) in renderables.iter().zip(models) {
            // An ephemeral model is no table: it is inlined where it is used.
            if let Some(relation) = relation.as_ref().filter(|r| !r.is_ephemeral()) {
                named.push(Named {
                    kind: "model",
                    name: r.key(),
                    file: &r.file.path,
                    relation,
                    location: self.naming_origin(r),
                });
            }
        }
        for seed in seeds {
            named.push(Named {
                kind: "seed",
                name: seed.name.clone(),
                file: &seed.file,
                relation: &seed.relation,
                location: Location::new(&seed.file, 1, 1),
            });
        }
        for (node, error) in names::check(&named) {
            let id = format!("{}.{}.{}", node.kind, self.project.name, node.name);
            self.fail(Some(&id), error);
        }
    }

    /// Runs the project's (or the built-in) naming macros for a node.
    pub(super) fn name_relation(
        &self,
        r: &Renderable,
        config: &Config,
        kind: &'static str,
    ) -> Result<Relation> {
        let (name, version, file) = (&r.name, r.version.as_deref(), &r.file.path);
        let custom = |key: &str| config.get(key).and_then(json_scalar_text);
        let mut values = Vec::new();
        for (template, function) in NAMING_TEMPLATES {
            let key = match function {
                "generate_schema_name" => "schema",
                "generate_alias_name" => "alias",
                _ => "database",
            };
            let custom_value = custom(key);
            let value = if !self.engine.registry.is_customized(function) {
                // The built-in rules, without a template round trip (this runs for every node).
                match (key, custom_value) {
                    ("schema", None) => self.target.schema.clone(),
                    ("schema", Some(c)) => format!("{}_{}", self.target.schema, c.trim()),
                    ("alias", Some(c)) if !c.is_empty() => c.trim().to_string(),
                    ("alias", _) => match version {
                        Some(v) => format!("{name}_v{}", v.replace('.', "_")),
                        None => name.to_string(),
                    },
                    (_, None) => self.target.database.clone(),
                    (_, Some(c)) => c,
                }
            } else {
                let base = {
                    let mut with_config = Renderable {
                        file: r.file,
                        name: r.name.clone(),
                        version: r.version.clone(),
                        resource_type: r.resource_type,
                        fqn: r.fqn.clone(),
                        config: config.clone(),
                        description: r.description.clone(),
                    };
                    with_config.config = config.clone();
                    self.node(
                        &with_config,
                        Phase::Parse,
                        VarMode::Markers,
                        self.placeholder_relation(name),
                    )
                };
                let node_value = Value::from_object(NodeContext(base.clone()))
                    .get_attr("model")
                    .unwrap_or_default();
                let node = Arc::new(RenderNode {
                    extra: vec![
                        (
                            "__mdw_custom_name",
                            custom_value
                                .map(Value::from)
                                .unwrap_or_else(|| Value::from(())),
                        ),
                        ("__mdw_node", node_value),
                    ],
                    ..Arc::unwrap_or_clone(base)
                });
                let rendered = self.engine.render(template, &node).map_err(|mut d| {
                    if d.location.is_none() {
                        d = d.in_file(file);
                    }
                    d.node(r.resource_type, r.key())
                })?;
                rendered.trim().to_string()
            };
            if value.contains(DEFERRED_START) {
                return Err(Diagnostic::new(format!(
                    "the {key} name of '{name}' depends on a var deferred to Terraform"
                ))
                .node(r.resource_type, r.key())
                .at(Location::new(file, 1, 1))
                .help("relation names are fixed at compile time: bind the var with --vars"));
            }
            if value.is_empty() {
                return Err(Diagnostic::new(format!(
                    "{function} returned an empty name for '{name}'"
                ))
                .node(r.resource_type, r.key())
                .at(Location::new(file, 1, 1))
                .help(format!("make {function} return a non-empty name")));
            }
            values.push(value);
        }
        let (schema, alias, database) = (&values[0], &values[1], &values[2]);
        Ok(Relation::new(database, schema, alias, kind)
            .quoted(self.project.quoting.with(config.get("quoting"))))
    }
}

/// A seed's `delimiter` config: one character, `,` by default.
fn seed_delimiter(name: &str, path: &str, config: &Config) -> Result<u8> {
    match config::as_str(config, "delimiter") {
        None => Ok(b','),
        Some(d) if d.len() == 1 => Ok(d.as_bytes()[0]),
        Some(d) => Err(Diagnostic::new(format!(
            "seed '{name}' has delimiter '{d}'; a delimiter is one character"
        ))
        .at(Location::new(path, 1, 1))
        .help("set delimiter to a single character such as ',' or ';'")),
    }
}

/// How dbt names a node's `event_time` column in a microbatch batch's filter
/// (`_resolve_event_time_field_name`): quoted when the column's `quote:` says so, else when the
/// source's `quoting: column:` does.
pub(super) fn event_time_field(
    event_time: Option<&str>,
    columns: &[crate::properties::Column],
    quote_columns: Option<bool>,
) -> Option<String> {
    let name = event_time?;
    let quoted = columns
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.quote)
        .or(quote_columns)
        .unwrap_or(false);
    Some(if quoted {
        format!("\"{name}\"")
    } else {
        name.to_string()
    })
}
