//! The graph of nodes, from the refs and sources the parse phase recorded: a ref or source
//! that names nothing, and a cycle, are errors of the node that writes them.

use super::nodes::Renderable;
use super::parse::Parsed;
use super::relations::Relations;
use super::{Compiler, NodeRef, enabled, locate_call, model_name, node_ref_id, source_id};
use crate::config;
use crate::error::{Diagnostic, Location, Result};
use crate::graph::{Graph, GraphNode, Kind};
use crate::jinja::context::{RefCall, Resolved};

impl Compiler {
    pub(super) fn build_graph(
        &self,
        renderables: &[Renderable],
        parsed: &[Option<Parsed>],
        relations: &Relations,
    ) -> Graph {
        let project = &self.project.name;
        let mut graph = Graph::default();
        for source in &relations.sources {
            let t = &source.table;
            graph.add(GraphNode {
                kind: Kind::Source,
                name: format!("{}.{}", t.source_name, t.table_name),
                unique_id: source_id(project, &t.source_name, &t.table_name),
                file: t.location.file.clone(),
                fqn: vec![project.clone(), t.source_name.clone(), t.table_name.clone()],
                tags: Vec::new(),
            });
        }
        for seed in &self.project.seeds {
            let name = model_name(&seed.path);
            let unique_id = format!("seed.{project}.{name}");
            let compiled = relations.seeds.iter().find(|s| s.name == name);
            if compiled.is_none() && !self.has_failed(&unique_id) {
                continue; // disabled
            }
            graph.add(GraphNode {
                kind: Kind::Seed,
                tags: compiled
                    .map(|s| config::as_string_list(s.config.get("tags")))
                    .unwrap_or_default(),
                name,
                unique_id,
                file: seed.path.clone(),
                fqn: super::nodes::fqn_of(project, &self.project.seed_paths, &seed.path),
            });
        }
        let mut graph_index = vec![None; renderables.len()];
        for (i, r) in renderables.iter().enumerate() {
            if parsed[i].as_ref().is_some_and(|p| !enabled(&p.config)) {
                continue;
            }
            let kind = if r.is_model() {
                Kind::Model
            } else {
                Kind::Test
            };
            graph_index[i] = Some(
                graph.add(GraphNode {
                    kind,
                    name: r.key(),
                    unique_id: r.unique_id(project),
                    file: r.file.path.clone(),
                    fqn: r.fqn.clone(),
                    tags: parsed[i]
                        .as_ref()
                        .map(|p| config::as_string_list(p.config.get("tags")))
                        .unwrap_or_default(),
                }),
            );
        }
        for (i, r) in renderables.iter().enumerate() {
            let (Some(index), Some(p)) = (graph_index[i], &parsed[i]) else {
                continue;
            };
            for call in &p.captured.refs {
                match self.ref_parent(&graph, &relations.resolved, r, call) {
                    Ok(parent) => graph.connect(parent, index),
                    Err(error) => self.fail(Some(&r.unique_id(project)), error),
                }
            }
            for (source_name, table_name) in &p.captured.sources {
                match graph.index(&source_id(project, source_name, table_name)) {
                    Some(parent) => graph.connect(parent, index),
                    None if self
                        .disabled_sources
                        .contains(&(source_name.clone(), table_name.clone())) =>
                    {
                        self.fail(
                            Some(&r.unique_id(project)),
                            Diagnostic::new(format!(
                                "'{}' depends on a source named '{source_name}.{table_name}' which is disabled",
                                r.name
                            ))
                            .node(r.resource_type, r.key())
                            .at(locate_call(r.file, &["source(", "source ("], Some(table_name)))
                            .help("enable the source (its `config: {enabled: …}` or dbt_project.yml's `sources:`), or disable this node too"),
                        )
                    }
                    None => self.fail(
                        Some(&r.unique_id(project)),
                        Diagnostic::new(format!(
                            "'{}' depends on a source named '{source_name}.{table_name}' which was not found",
                            r.name
                        ))
                        .node(r.resource_type, r.key())
                        .at(locate_call(r.file, &["source(", "source ("], Some(table_name)))
                        .help(format!(
                            "declare it in a properties yml: sources: [{{name: {source_name}, tables: [{{name: {table_name}}}]}}]"
                        )),
                    ),
                }
            }
        }
        self.check_cycles(renderables, &mut graph);
        graph
    }

    /// Every cycle is an error of the node whose ref closes it; the ref is dropped from the
    /// graph so the search can go on.
    fn check_cycles(&self, renderables: &[Renderable], graph: &mut Graph) {
        while let Some(cycle) = graph.find_cycle() {
            let names: Vec<&str> = cycle
                .iter()
                .map(|&i| graph.nodes[i].name.as_str())
                .collect();
            let first = &graph.nodes[cycle[0]];
            let next = &graph.nodes[cycle[1]];
            let location = match renderables.iter().find(|r| r.file.path == next.file) {
                Some(r) => locate_call(r.file, &["ref("], Some(&first.name)),
                None => Location::new(&next.file, 1, 1),
            };
            let error = Diagnostic::new(format!("found a cycle: {}", names.join(" -> ")))
                .node(next.kind.as_str(), &next.name)
                .at(location)
                .help("models cannot depend on themselves; remove one of these refs");
            let ids: Vec<String> = cycle
                .iter()
                .map(|&i| graph.nodes[i].unique_id.clone())
                .collect();
            for id in &ids {
                crate::jinja::objects::lock(&self.failed).insert(id.clone());
            }
            self.fail(None, error);
            graph.disconnect(cycle[0], cycle[1]);
        }
    }

    pub(super) fn node_ref(&self, resolved: &Resolved, name: &str) -> NodeRef {
        if self
            .project
            .seeds
            .iter()
            .any(|s| model_name(&s.path) == name)
            && resolved.nodes.contains_key(name)
        {
            NodeRef::Seed(name.to_string())
        } else {
            NodeRef::Model(name.to_string())
        }
    }

    fn ref_parent(
        &self,
        graph: &Graph,
        resolved: &Resolved,
        r: &Renderable,
        call: &RefCall,
    ) -> Result<usize> {
        let key = resolved.target_key(call);
        let id = node_ref_id(&self.project.name, &self.node_ref(resolved, &key));
        let found = graph
            .index(&id)
            .or_else(|| graph.index(&format!("model.{}.{key}", self.project.name)));
        if let (None, Some(version)) = (found, &call.version) {
            let (what, help) = match self.props.models.get(&call.name) {
                Some(props) if !props.versions.is_empty() => {
                    let all: Vec<&str> = props.versions.iter().map(|v| v.v.as_str()).collect();
                    (
                        format!(
                            "model '{}' has no version '{version}'; its versions are: {}",
                            call.name,
                            all.join(", ")
                        ),
                        format!(
                            "ref one of those versions, or ref('{}') for the latest",
                            call.name
                        ),
                    )
                }
                _ => (
                    format!("model '{}' is not versioned", call.name),
                    format!(
                        "drop the version argument, or declare `versions:` for '{}' in a properties yml",
                        call.name
                    ),
                ),
            };
            return Err(Diagnostic::new(format!(
                "'{}' depends on a node named '{}' with version '{version}' which was not found: {what}",
                r.key(),
                call.name
            ))
            .node(r.resource_type, r.key())
            .at(locate_call(r.file, &["ref("], Some(&call.name)))
            .help(help));
        }
        found.ok_or_else(|| {
            Diagnostic::new(format!(
                "'{}' depends on a node named '{}' which was not found",
                r.key(),
                call.name
            ))
            .node(r.resource_type, r.key())
            .at(locate_call(r.file, &["ref("], Some(&call.name)))
            .help(format!(
                "create models/…/{}.sql or a seed of that name, or fix the ref",
                call.name
            ))
        })
    }
}
