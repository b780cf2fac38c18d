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

/// Writes `text` to `dir/name`, creating the folders on the way (a file of a dbt project the
/// test writes).
pub fn write_project_file(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// The `profiles.yml` of a test's dbt project `name`: one Athena target, schema `mdw`, nothing
/// a compile needs to reach.
pub fn athena_profile(name: &str) -> String {
    format!(
        "{name}:\n  target: dev\n  outputs:\n    dev:\n      type: athena\n      database: awsdatacatalog\n      schema: mdw\n      region_name: us-west-2\n      s3_staging_dir: s3://unused/\n"
    )
}
