//! Writing the compile results: `target/compiled/<project>/**.sql` (where dbt writes them) and
//! the Terraform module (`--out`).

mod build_order;
mod data_tests;
pub(crate) mod files;
pub mod layout;
pub(crate) mod lineage;
mod microbatch;
mod snapshot;
pub mod terraform;
mod unit_tests;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::compile::Compiled;
use crate::error::{Diagnostic, Result};

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct WriteStats {
    pub(crate) written: usize,
    pub(crate) unchanged: usize,
    pub(crate) removed: usize,
}

/// Writes the compiled SQL of the selected models and tests (`None` = all), and
/// `target/manifest.json`.
pub(crate) fn write_compiled_sql(
    compiled: &Compiled,
    selected: Option<&BTreeSet<String>>,
) -> Result<WriteStats> {
    let keep = |unique_id: String| selected.is_none_or(|s| s.contains(&unique_id));
    let project = &compiled.project;
    let mut files: Vec<(PathBuf, &str)> = Vec::new();
    // `dbt compile` writes no compiled SQL for snapshots (they compile when they run).
    for model in compiled
        .models
        .iter()
        .filter(|m| m.resource_type != "snapshot")
    {
        if keep(model.unique_id(&project.name)) {
            files.push((project.compiled_path(&model.file), &model.sql));
        }
    }
    for test in &compiled.tests {
        if keep(format!("test.{}.{}", project.name, test.key)) {
            files.push((project.compiled_path(&test.compiled_path), &test.sql));
        }
    }
    let manifest_path = project.dir.join(&project.target_path).join("manifest.json");
    let cannot = |err: std::io::Error| {
        Diagnostic::new(format!("cannot write {}: {err}", manifest_path.display()))
    };
    if let Some(parent) = manifest_path.parent() {
        std::fs::create_dir_all(parent).map_err(cannot)?;
    }
    let mut manifest_file =
        std::io::BufWriter::new(std::fs::File::create(&manifest_path).map_err(cannot)?);
    compiled
        .write_manifest(
            &mut manifest_file,
            crate::jinja::globals::invocation_id(),
            &chrono::Utc::now()
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string(),
        )
        .and_then(|()| std::io::Write::flush(&mut manifest_file))
        .map_err(cannot)?;
    let written = files::write_all(&files)?;
    Ok(WriteStats {
        written,
        unchanged: files.len() - written,
        removed: 0,
    })
}

/// Refuses to write a module without models over one that has them (a `model-paths` typo
/// would otherwise make the next plan destroy every model), unless `allow_empty`.
pub(crate) fn check_not_emptied(
    compiled: &Compiled,
    out_dir: &Path,
    allow_empty: bool,
) -> Result<()> {
    if allow_empty || !compiled.models.is_empty() {
        return Ok(());
    }
    let earlier = files::generated_files(out_dir)
        .into_iter()
        .filter(|name| name.starts_with("model_") || name.starts_with("group_"))
        .count();
    if earlier == 0 {
        return Ok(());
    }
    let project = &compiled.project;
    let at = crate::yaml::locate(
        crate::project::PROJECT_FILE,
        &project.file_text,
        &[crate::yaml::Step::key("model-paths")],
    );
    Err(Diagnostic::new(format!(
        "the project compiled to no models, but {} holds {earlier} models from an earlier compile",
        out_dir.display()
    ))
    .at(at)
    .help(format!(
        "writing it would make Terraform destroy them: check model-paths ({}), or pass --allow-empty if removing every model is intended",
        project.model_paths.join(", ")
    )))
}

/// The Terraform module, written into a folder beside `--out` and moved in by
/// [`Staged::commit`] once everything is built: a failing compile leaves `--out` untouched.
pub(crate) struct Staged {
    staging: PathBuf,
    out_dir: PathBuf,
    names: Vec<String>,
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.staging);
    }
}

/// Builds the Terraform module for `out_dir` into a staging folder beside it.
pub(crate) fn stage_terraform(
    compiled: &Compiled,
    out_dir: &Path,
    options: &layout::EmitOptions,
) -> Result<Staged> {
    let out_abs = files::absolute(out_dir);
    let parent = out_abs.parent().unwrap_or(&out_abs).to_path_buf();
    let leaf = out_abs
        .file_name()
        .map_or_else(|| "out".to_string(), |n| n.to_string_lossy().into_owned());
    let staging = parent.join(format!(".{leaf}.mdwc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)
        .map_err(|err| Diagnostic::new(format!("cannot create {}: {err}", staging.display())))?;
    let mut staged = Staged {
        staging,
        out_dir: out_dir.to_path_buf(),
        names: Vec::new(),
    };
    let target = staged.staging.clone();
    staged.names = terraform::visit(compiled, &out_abs, options, &|name, content| {
        let path = target.join(name);
        std::fs::write(&path, content)
            .map_err(|err| Diagnostic::new(format!("cannot write {}: {err}", path.display())))
    })?;
    Ok(staged)
}

impl Staged {
    /// Moves the staged files into `--out` (each by a rename, so no file is ever half
    /// written), leaving unchanged ones untouched, and removes files mdwc wrote there before
    /// that this compile did not produce.
    pub(crate) fn commit(self) -> Result<WriteStats> {
        std::fs::create_dir_all(&self.out_dir).map_err(|err| {
            Diagnostic::new(format!("cannot create {}: {err}", self.out_dir.display()))
        })?;
        let mut written = 0;
        for name in &self.names {
            let staged = self.staging.join(name);
            let target = self.out_dir.join(name);
            let same = match (std::fs::read(&staged), std::fs::read(&target)) {
                (Ok(new), Ok(old)) => new == old,
                _ => false,
            };
            if same {
                continue;
            }
            std::fs::rename(&staged, &target).map_err(|err| {
                Diagnostic::new(format!("cannot write {}: {err}", target.display()))
            })?;
            written += 1;
        }
        let keep: BTreeSet<String> = self.names.iter().cloned().collect();
        let removed = files::remove_stale_terraform(&self.out_dir, &keep)?;
        Ok(WriteStats {
            written,
            unchanged: keep.len().saturating_sub(written),
            removed,
        })
    }
}
