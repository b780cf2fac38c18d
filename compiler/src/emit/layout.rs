//! Which resource holds each model — its own `mdw_iceberg_model`, or a `mdw_model_group` per
//! folder of `models/` (`--group-by folder`, and `auto` from [`AUTO_GROUP_MODELS`] models) —
//! and how the rest of the module refers to a model wherever it is.
//!
//! Groups are for large projects: Terraform's own time grows with the resources of a root
//! (bench/SCALE.md). A group may not wait for another group that waits for
//! it (a model of folder A reading one of folder B which reads one of A): Terraform orders
//! resources, not the models inside them, so that is refused with the models that make it.

use std::collections::{BTreeMap, BTreeSet};

use crate::compile::{Compiled, NodeRef};
use crate::error::{Diagnostic, Location, Result};

use super::terraform::resource_name;

/// How models are put into resources (`mdwc compile --group-by`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GroupBy {
    /// One `mdw_iceberg_model` per model.
    #[default]
    None,
    /// One `mdw_model_group` per folder directly under a model path (`models/sta/…` → `sta`;
    /// models at the top of a model path → `root`).
    Folder,
    /// `Folder` from [`AUTO_GROUP_MODELS`] models on, `None` below (and where folders read
    /// each other both ways, which groups cannot express): see [`GroupBy::resolve`].
    Auto,
}

/// The project size from which `--group-by auto` (mdwc's default) groups models by folder.
/// Measured with bench/scale.sh (release build, embedded engine; bench/SCALE.md): at 20 models
/// both layouts plan and apply in the same time; at 50 groups are faster (first apply 1.9 s
/// against 2.6 s, no-op plan 0.6 s against 0.8 s), and the gap grows with the project (200
/// models: 0.7 s against 1.8 s per plan). Below it, one resource per model keeps what users
/// know: an address per model for `-target`, `import` and `state` commands.
pub const AUTO_GROUP_MODELS: usize = 50;

impl GroupBy {
    /// The layout `self` means for `compiled`: `Auto` becomes `Folder` or `None`.
    pub fn resolve(self, compiled: &Compiled) -> GroupBy {
        if self != GroupBy::Auto {
            return self;
        }
        let models = compiled.models.iter().filter(|m| !m.ephemeral).count();
        let folders = EmitOptions {
            group_by: GroupBy::Folder,
        };
        if models >= AUTO_GROUP_MODELS && Layout::new(compiled, &folders).is_ok() {
            GroupBy::Folder
        } else {
            GroupBy::None
        }
    }
}

/// What the module is written for, beyond the compiled project.
#[derive(Debug, Clone, Default)]
pub struct EmitOptions {
    pub group_by: GroupBy,
}

/// The folder directly under the model path a model's file is in (`models/sta/x.sql` → `sta`),
/// or `root` for a file at the top of a model path.
fn folder<'a>(file: &'a str, model_paths: &[String]) -> &'a str {
    let parts: Vec<&str> = file.split('/').collect();
    let root = parts.iter().position(|part| {
        model_paths
            .iter()
            .any(|path| path.trim_end_matches('/').rsplit('/').next() == Some(*part))
    });
    match root {
        Some(i) if i + 2 < parts.len() => parts[i + 1],
        _ => "root",
    }
}

pub(crate) struct Layout {
    /// Model name → the resource name of its group; empty without grouping.
    group_of: BTreeMap<String, String>,
}

impl Layout {
    pub(crate) fn new(compiled: &Compiled, options: &EmitOptions) -> Result<Layout> {
        let mut group_of = BTreeMap::new();
        if options.group_by.resolve(compiled) == GroupBy::Folder {
            for model in compiled.models.iter().filter(|m| !m.ephemeral) {
                let folder = folder(&model.file, &compiled.project.model_paths);
                group_of.insert(model.name.clone(), resource_name(folder));
            }
        }
        let layout = Layout { group_of };
        layout.check_no_cycle(compiled)?;
        Ok(layout)
    }

    pub(crate) fn grouped(&self) -> bool {
        !self.group_of.is_empty()
    }

    /// The resource name of the group holding `model`, if grouped.
    pub(crate) fn group(&self, model: &str) -> Option<&str> {
        self.group_of.get(model).map(String::as_str)
    }

    /// Each group's models, by group.
    pub(crate) fn groups(&self) -> BTreeMap<&str, Vec<&str>> {
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (model, group) in &self.group_of {
            groups.entry(group).or_default().push(model);
        }
        groups
    }

    /// How the module refers to a model's `build_id`. A grouped model's is read from a local
    /// holding the group's computed `build_ids` ([`Layout::builds_local`]), for two costs of
    /// Terraform that grow with references × group size: it analyses a reference into an
    /// attribute written in the configuration (`models["x"].build_id`) by reading all of
    /// `models` again, and it decodes the whole state of a resource for every reference to it
    /// in an expression — a local is evaluated once.
    pub(crate) fn build_ref(&self, model: &str) -> String {
        match self.group(model) {
            Some(group) => format!("local.{}[\"{model}\"]", Self::builds_local(group)),
            None => format!("mdw_iceberg_model.{}.build_id", resource_name(model)),
        }
    }

    /// The name of the local holding the definitions of `group`'s models.
    pub(crate) fn models_local(group: &str) -> String {
        format!("mdw_models_{group}")
    }

    /// The name of the local holding `group`'s `build_ids`.
    pub(crate) fn builds_local(group: &str) -> String {
        format!("mdw_builds_{group}")
    }

    /// Whether `node` is a model of `group`.
    pub(crate) fn in_group(&self, node: &NodeRef, group: &str) -> bool {
        matches!(node, NodeRef::Model(name) if self.group(name) == Some(group))
    }

    /// Refuses groups that read each other both ways, naming a model of each direction.
    fn check_no_cycle(&self, compiled: &Compiled) -> Result<()> {
        // group → group it reads → (reading model, read model)
        let mut reads: BTreeMap<&str, BTreeMap<&str, (&str, &str)>> = BTreeMap::new();
        for model in compiled.models.iter().filter(|m| !m.ephemeral) {
            let Some(from) = self.group(&model.name) else {
                continue;
            };
            for parent in &model.refs {
                if let Some(to) = self.group(parent)
                    && to != from
                {
                    reads
                        .entry(from)
                        .or_default()
                        .entry(to)
                        .or_insert((&model.name, parent));
                }
            }
        }
        let groups: BTreeSet<&str> = reads.keys().copied().collect();
        for start in groups {
            // A path from `start` back to itself, found depth first.
            let mut stack = vec![(start, vec![start])];
            let mut seen = BTreeSet::new();
            while let Some((group, path)) = stack.pop() {
                for next in reads
                    .get(group)
                    .map(|m| m.keys().copied())
                    .into_iter()
                    .flatten()
                {
                    if next == start {
                        let mut steps = Vec::new();
                        let mut cycle = path.clone();
                        cycle.push(start);
                        for pair in cycle.windows(2) {
                            let (model, parent) = reads[pair[0]][pair[1]];
                            steps.push(format!(
                                "{model} ({}) reads {parent} ({})",
                                pair[0], pair[1]
                            ));
                        }
                        let file = compiled
                            .models
                            .iter()
                            .find(|m| m.name == reads[cycle[0]][cycle[1]].0)
                            .map(|m| m.file.clone())
                            .unwrap_or_default();
                        return Err(Diagnostic::new(format!(
                            "--group-by folder makes groups that read each other: {}",
                            steps.join(", ")
                        ))
                        .at(Location::new(&file, 1, 1))
                        .help("Terraform orders whole resources: move these models so that folders read each other one way only, or compile with --group-by none (auto does so by itself)"));
                    }
                    if seen.insert(next) {
                        let mut longer = path.clone();
                        longer.push(next);
                        stack.push((next, longer));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_models_group_is_its_first_folder() {
        let paths = vec!["models".to_string()];
        assert_eq!(folder("models/sta/stg_orders.sql", &paths), "sta");
        assert_eq!(folder("models/mart/finance/revenue.sql", &paths), "mart");
        assert_eq!(folder("models/top.sql", &paths), "root");
        let custom = vec!["transform/dbt_models/".to_string()];
        assert_eq!(folder("transform/dbt_models/dim/d.sql", &custom), "dim");
    }
}
