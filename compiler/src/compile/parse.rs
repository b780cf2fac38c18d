//! Phase 1, dbt's parse: every model and singular test is rendered with `execute` false to
//! record its refs, sources and `config()` calls; then each model's merged config is checked.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use rayon::prelude::*;

use super::nodes::Renderable;
use super::{Compiler, enabled};
use crate::config::Config;
use crate::config::types::{check_model, check_snapshot, ignored_by_athena};
use crate::error::Diagnostic;
use crate::jinja::context::{Captured, Phase, RenderNode, VarMode};
use crate::jinja::objects::lock;

/// What the parse render of a node found.
pub(super) struct Parsed {
    pub config: Config,
    pub captured: Captured,
    /// The parse render, with relation markers; it becomes the compiled SQL unless `observed`.
    pub output: String,
    pub observed: bool,
}

impl Compiler {
    /// Renders every node for parsing, in parallel. `None` for a node that failed (its error
    /// is recorded).
    pub(super) fn parse(&self, renderables: &[Renderable]) -> Vec<Option<Parsed>> {
        renderables
            .par_iter()
            .map(|r| {
                let node = RenderNode {
                    resolved: Some(self.source_relations.clone()),
                    ..Arc::unwrap_or_clone(self.node(
                        r,
                        Phase::Parse,
                        VarMode::Markers,
                        self.placeholder_relation(&r.name),
                    ))
                };
                let node = Arc::new(node);
                let parsed = self.engine.render(&r.template(), &node).and_then(|output| {
                    // dbt renders a model's hooks while parsing too: their refs and sources are
                    // the model's dependencies (a post-hook inserting into another model runs
                    // after that model is built).
                    let config = lock(&node.config).clone();
                    for key in ["pre-hook", "post-hook"] {
                        let hooks = config.get(key).and_then(crate::config::hooks);
                        for hook in hooks.unwrap_or_default() {
                            self.engine.render_str(&hook, &node, &r.file.path)?;
                        }
                    }
                    Ok(output)
                });
                match parsed {
                    Ok(output) => Some(Parsed {
                        config: std::mem::take(&mut *lock(&node.config)),
                        captured: std::mem::take(&mut *lock(&node.captured)),
                        output,
                        observed: node.observed.load(Ordering::Relaxed),
                    }),
                    Err(error) => {
                        let deferred = lock(&node.captured).deferred_vars.clone();
                        let error = self.explain_deferred(r, &deferred).unwrap_or(error);
                        self.fail(Some(&r.unique_id(&self.project.name)), error);
                        None
                    }
                }
            })
            .collect()
    }

    /// A render that fails with deferred vars as text but works with their values: the
    /// template computes with a var Terraform sets later, which cannot be carried over.
    fn explain_deferred(
        &self,
        r: &Renderable,
        deferred: &std::collections::BTreeSet<String>,
    ) -> Option<Diagnostic> {
        let var = deferred.iter().next()?;
        let node = RenderNode {
            resolved: Some(self.source_relations.clone()),
            ..Arc::unwrap_or_clone(self.node(
                r,
                Phase::Parse,
                VarMode::Values,
                self.placeholder_relation(&r.name),
            ))
        };
        self.engine.render(&r.template(), &Arc::new(node)).ok()?;
        let text = &r.file.text;
        let location = [format!("var('{var}'"), format!("var(\"{var}\"")]
            .iter()
            .find_map(|needle| text.find(needle.as_str()))
            .map_or_else(
                || crate::error::Location::new(&r.file.path, 1, 1),
                |offset| crate::error::Location::at_offset(&r.file.path, text, offset),
            );
        Some(
            Diagnostic::new(format!(
                "var '{var}' is deferred to Terraform (not bound by --vars), so here it is text: arithmetic, filters and tests on it cannot be carried to Terraform"
            ))
            .node(r.resource_type, r.key())
            .at(location)
            .help(format!(
                "bind it at compile time (--vars '{{{var}: ...}}'), or use it only as text (`~`, `+` with strings)"
            )),
        )
    }

    /// Checks what only a model's merged config decides (an incremental model's strategy, a
    /// table's format), at the place the deciding value is written.
    pub(super) fn check_parsed(&self, renderables: &[Renderable], parsed: &mut [Option<Parsed>]) {
        for (r, p) in renderables.iter().zip(parsed.iter_mut()) {
            let Some(config) = p.as_ref().map(|p| &p.config) else {
                continue;
            };
            if !r.is_model() || !enabled(config) {
                continue;
            }
            if let Some(ignored) = ignored_by_athena(config) {
                eprintln!("warning: {} '{}' sets {ignored}", r.resource_type, r.key());
            }
            let checked = check_model(config).and_then(|()| {
                if r.is_snapshot() {
                    check_snapshot(config)
                } else {
                    Ok(())
                }
            });
            if let Err((key, invalid)) = checked {
                self.fail(
                    Some(&r.unique_id(&self.project.name)),
                    Diagnostic::new(invalid.message)
                        .node(r.resource_type, r.key())
                        .at(self.config_origin(r, key))
                        .help(invalid.help),
                );
                *p = None;
            }
        }
    }
}
