//! dbt vars: project values, `--vars` overrides, and which vars are deferred to Terraform.
//!
//! The rule (documented in compiler/README.md):
//! - a var bound by `--vars` is inlined into the SQL;
//! - a var the models use that is not bound by `--vars` but has a scalar project value becomes a
//!   Terraform `variable` whose default is that value, and is written into the SQL as
//!   `${var.<name>}` so `terraform apply -var <name>=...` decides it at plan time;
//! - a var with neither falls back to the `var('x', default)` call's default, inlined (there is
//!   no project value to defer), and is an error without one, as in dbt.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::error::{Diagnostic, Result};
use crate::project::type_name;

#[derive(Debug, Default, Clone)]
pub(crate) struct Vars {
    project: BTreeMap<String, Json>,
    cli: BTreeMap<String, Json>,
}

/// How a var reference resolves.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum VarBinding {
    /// Inline this value (bound by `--vars`, or a non-scalar project value).
    Inline(Json),
    /// Defer to the Terraform variable of the same name; the value is its default.
    Deferred(Json),
    /// Not defined anywhere.
    Missing,
}

impl Vars {
    /// `vars:` from dbt_project.yml: global keys, overridden by the block named after the project
    /// (`vars: {retail: {pdate: ...}}`).
    pub(crate) fn new(
        project_vars: &Json,
        project_name: &str,
        cli: BTreeMap<String, Json>,
    ) -> Vars {
        let mut project = BTreeMap::new();
        if let Json::Object(map) = project_vars {
            for (key, value) in map {
                // Blocks named after other packages would be scoped to them; mdwc compiles one
                // project, so every other key is a global var.
                if key != project_name {
                    project.insert(key.clone(), value.clone());
                }
            }
            if let Some(Json::Object(scoped)) = map.get(project_name) {
                for (key, value) in scoped {
                    project.insert(key.clone(), value.clone());
                }
            }
        }
        Vars { project, cli }
    }

    /// These vars with `overrides` bound as `--vars` binds (a unit test's `overrides: vars:`).
    pub(crate) fn with_overrides(&self, overrides: &serde_json::Map<String, Json>) -> Vars {
        let mut vars = self.clone();
        vars.cli
            .extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
        vars
    }

    pub(crate) fn binding(&self, name: &str) -> VarBinding {
        if let Some(value) = self.cli.get(name) {
            return VarBinding::Inline(value.clone());
        }
        match self.project.get(name) {
            Some(value @ (Json::String(_) | Json::Number(_) | Json::Bool(_)))
                if is_terraform_identifier(name) =>
            {
                VarBinding::Deferred(value.clone())
            }
            Some(value) => VarBinding::Inline(value.clone()),
            None => VarBinding::Missing,
        }
    }
}

pub(crate) fn is_terraform_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Parses `--vars`, which dbt reads as YAML (so JSON works too) and which must be a mapping.
pub(crate) fn parse_cli_vars(text: Option<&str>) -> Result<BTreeMap<String, Json>> {
    let Some(text) = text else {
        return Ok(BTreeMap::new());
    };
    let help = "pass a YAML or JSON mapping, e.g. --vars '{pdate: 20261127}'";
    match crate::yaml::parse("--vars", text).map_err(|d| d.help(help))? {
        Json::Object(map) => Ok(map.into_iter().collect()),
        Json::Null => Ok(BTreeMap::new()),
        other => Err(Diagnostic::new(format!(
            "--vars must be a YAML mapping, but was {}",
            type_name(&other)
        ))
        .help(help)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cli_binds_inline_and_project_scalars_defer() {
        let project = json!({"pdate": 20260101, "retail": {"region": "us"}, "cols": ["a"]});
        let cli = parse_cli_vars(Some("{region: eu}")).unwrap();
        let vars = Vars::new(&project, "retail", cli);
        assert_eq!(vars.binding("pdate"), VarBinding::Deferred(json!(20260101)));
        assert_eq!(vars.binding("region"), VarBinding::Inline(json!("eu")));
        assert_eq!(vars.binding("cols"), VarBinding::Inline(json!(["a"])));
        assert_eq!(vars.binding("nope"), VarBinding::Missing);
    }

    #[test]
    fn bad_vars_are_rejected() {
        assert!(parse_cli_vars(Some("[1, 2]")).is_err());
        assert!(parse_cli_vars(Some("{a: [}")).is_err());
        assert!(parse_cli_vars(Some("{}")).unwrap().is_empty());
    }
}
