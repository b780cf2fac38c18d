//! Phase 1, dbt's parse: every model and singular test is rendered with `execute` false to
//! record its refs, sources and `config()` calls; then each model's merged config is checked.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use rayon::prelude::*;

use super::nodes::Renderable;
use super::{Compiler, enabled};
use crate::config::Config;
use crate::config::types::check_model;
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
                match self.engine.render(&r.file.path, &node) {
                    Ok(output) => Some(Parsed {
                        config: std::mem::take(&mut *lock(&node.config)),
                        captured: std::mem::take(&mut *lock(&node.captured)),
                        output,
                        observed: node.observed.load(Ordering::Relaxed),
                    }),
                    Err(error) => {
                        self.fail(Some(&r.unique_id(&self.project.name)), error);
                        None
                    }
                }
            })
            .collect()
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
            if let Err((key, invalid)) = check_model(config) {
                self.fail(
                    Some(&r.unique_id(&self.project.name)),
                    Diagnostic::new(invalid.message)
                        .model(r.key())
                        .at(self.config_origin(r, key))
                        .help(invalid.help),
                );
                *p = None;
            }
        }
    }
}
