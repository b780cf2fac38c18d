//! Writing the compile results: `target/compiled/<project>/**.sql` (where dbt writes them) and
//! the Terraform module (`--out`).

pub mod files;
pub mod lineage;
pub mod terraform;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::compile::Compiled;
use crate::error::{Diagnostic, Result};

#[derive(Debug, Default, Clone, Copy)]
pub struct WriteStats {
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
}

/// Writes the compiled SQL of the selected models and tests (`None` = all).
pub fn write_compiled_sql(
    compiled: &Compiled,
    selected: Option<&BTreeSet<String>>,
) -> Result<WriteStats> {
    let keep = |unique_id: String| selected.is_none_or(|s| s.contains(&unique_id));
    let project = &compiled.project;
    let mut files: Vec<(PathBuf, &str)> = Vec::new();
    for model in &compiled.models {
        if keep(format!("model.{}.{}", project.name, model.name)) {
            files.push((project.compiled_path(&model.file), &model.sql));
        }
    }
    for test in &compiled.tests {
        if keep(format!("test.{}.{}", project.name, test.name)) {
            files.push((project.compiled_path(&test.compiled_path), &test.sql));
        }
    }
    let written = files::write_all(&files)?;
    Ok(WriteStats {
        written,
        unchanged: files.len() - written,
        removed: 0,
    })
}

/// Writes the Terraform module into `out_dir` and removes stale files mdwc wrote there before.
pub fn write_terraform(compiled: &Compiled, out_dir: &Path) -> Result<WriteStats> {
    std::fs::create_dir_all(out_dir)
        .map_err(|err| Diagnostic::new(format!("cannot create {}: {err}", out_dir.display())))?;
    let out_abs = files::absolute(out_dir);
    let written = AtomicUsize::new(0);
    let names = terraform::visit(compiled, &out_abs, &|name, content| {
        if files::write_if_changed(&out_dir.join(name), content)? {
            written.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    })?;
    let keep: BTreeSet<String> = names.into_iter().collect();
    let removed = files::remove_stale_terraform(out_dir, &keep)?;
    let written = written.into_inner();
    Ok(WriteStats {
        written,
        unchanged: keep.len() - written,
        removed,
    })
}
