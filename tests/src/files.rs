//! Copying a checked-in project (a Terraform root, a dbt project, a package) into a test's
//! workspace.

use std::path::Path;

/// Copies `from` into `to` recursively, leaving out Terraform's working files (`.terraform*`,
/// `*.tfstate`) at every level and the top-level entries named in `skip` (a dbt `target/`, a
/// root's `bootstrap/`), so a developer's local runs never leak into a test.
pub fn copy_tree(from: &Path, to: &Path, skip: &[&str]) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".terraform")
            || name.ends_with(".tfstate")
            || skip.contains(&name.as_str())
        {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target, &[]);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
