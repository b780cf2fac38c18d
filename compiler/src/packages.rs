//! dbt packages (`packages.yml` / `dependencies.yml`).

use std::path::Path;

use serde_json::Value as Json;

use crate::error::{Diagnostic, Result};
use crate::project::{type_name, utf8};
use crate::yaml::{self, Step};

/// The files dbt reads package requirements from.
const FILES: [&str; 2] = ["packages.yml", "dependencies.yml"];

/// Packages are not loaded yet: a project that requires any is an error at its first entry.
pub(crate) fn check(dir: &Path) -> Result<()> {
    for file in FILES {
        let Ok(bytes) = std::fs::read(dir.join(file)) else {
            continue;
        };
        let text = utf8(file, bytes)?;
        let doc = yaml::parse(file, &text)?;
        let packages = match doc.get("packages") {
            None | Some(Json::Null) => continue,
            Some(Json::Array(items)) => items,
            Some(other) => {
                return Err(Diagnostic::new(format!(
                    "`packages:` must be a list, not {}",
                    type_name(other)
                ))
                .at(yaml::locate(file, &text, &[Step::key("packages")]))
                .help("write `packages:` followed by `- package: dbt-labs/dbt_utils` entries"));
            }
        };
        if !packages.is_empty() {
            return Err(Diagnostic::new("dbt packages are not supported yet")
                .at(yaml::locate(
                    file,
                    &text,
                    &[Step::key("packages"), Step::Index(0)],
                ))
                .help(
                    "mdwc compiles a single project: copy the macros the project uses into macros/",
                ));
        }
    }
    Ok(())
}
