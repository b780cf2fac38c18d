//! Jinja in config values, rendered as dbt renders dbt_project.yml and properties yml before
//! any node: with `var`, `env_var` and `target`, and native values (`"{{ var('x', false) }}"`
//! is the boolean `false`, not the text). Hooks are left for the engine, as dbt leaves them
//! for run time.
//!
//! A var used here is bound at compile time; one that is also deferred to Terraform in SQL
//! would take two values, which the caller reports (see [`ConfigRenderer::vars_used`]).

use std::collections::BTreeSet;
use std::sync::Mutex;

use minijinja::{Environment, Value};
use serde_json::Value as Json;

use crate::error::{Diagnostic, Location, Result};
use crate::jinja::objects::lock;
use crate::values::json_to_jinja;
use crate::vars::{VarBinding, Vars};

/// Keys dbt does not render while reading configs: hooks run later, with a node's context.
const LEFT_FOR_RUN_TIME: &[&str] = &[
    "pre-hook",
    "post-hook",
    "+pre-hook",
    "+post-hook",
    "pre_hook",
    "post_hook",
];

pub(crate) struct ConfigRenderer {
    env: Environment<'static>,
    used: std::sync::Arc<Mutex<BTreeSet<String>>>,
}

impl ConfigRenderer {
    pub(crate) fn new(vars: &Vars, target: &serde_json::Map<String, Json>) -> ConfigRenderer {
        let mut env = Environment::new();
        env.add_function("env_var", crate::jinja::functions::env_var);
        env.add_global("target", json_to_jinja(&Json::Object(target.clone())));
        env.add_global("modules", crate::jinja::modules::modules());
        let used = std::sync::Arc::new(Mutex::new(BTreeSet::new()));
        let seen = used.clone();
        let vars = vars.clone();
        env.add_function(
            "var",
            move |name: String, default: Option<Value>| -> Result<Value, minijinja::Error> {
                lock(&seen).insert(name.clone());
                match vars.binding(&name) {
                    VarBinding::Inline(value) | VarBinding::Deferred(value) => {
                        Ok(json_to_jinja(&value))
                    }
                    VarBinding::Missing => default.ok_or_else(|| {
                        crate::jinja::functions::error_with_help(
                            format!("required var '{name}' not found in config"),
                            format!("define `{name}` under `vars:` in dbt_project.yml, pass --vars '{{{name}: ...}}', or give var() a default"),
                        )
                    }),
                }
            },
        );
        ConfigRenderer { env, used }
    }

    /// The vars the rendered configs read.
    pub(crate) fn vars_used(&self) -> BTreeSet<String> {
        lock(&self.used).clone()
    }

    /// `value` with every string holding Jinja rendered (mappings and lists recursively,
    /// except hooks). `at` says where the value is written, for errors.
    pub(crate) fn render(&self, value: &Json, at: &dyn Fn() -> Location) -> Result<Json> {
        Ok(match value {
            Json::String(text) if text.contains("{{") || text.contains("{%") => {
                let rendered = self.env.render_str(text, ()).map_err(|err| {
                    Diagnostic::new(format!(
                        "cannot render the config value `{text}`: {}",
                        err.detail().unwrap_or("template error")
                    ))
                    .at(at())
                    .help("config values may use var(), env_var() and target")
                })?;
                native(&rendered)
            }
            Json::Array(items) => Json::Array(
                items
                    .iter()
                    .map(|item| self.render(item, at))
                    .collect::<Result<_>>()?,
            ),
            Json::Object(map) => {
                let mut out = serde_json::Map::new();
                for (key, item) in map {
                    let rendered = if LEFT_FOR_RUN_TIME.contains(&key.as_str()) {
                        item.clone()
                    } else {
                        self.render(item, at)?
                    };
                    out.insert(key.clone(), rendered);
                }
                Json::Object(out)
            }
            other => other.clone(),
        })
    }
}

/// dbt renders config values as Python literals when they read as one (its native Jinja
/// environment): `True`, `42`, `1.5`, `None`, `[...]`; anything else stays text.
fn native(text: &str) -> Json {
    let trimmed = text.trim();
    match trimmed {
        "True" => return Json::Bool(true),
        "False" => return Json::Bool(false),
        "None" => return Json::Null,
        _ => {}
    }
    if let Ok(int) = trimmed.parse::<i64>() {
        return Json::from(int);
    }
    if let Ok(float) = trimmed.parse::<f64>()
        && trimmed.contains('.')
    {
        return serde_json::Number::from_f64(float).map_or(Json::Null, Json::Number);
    }
    if (trimmed.starts_with('[') && trimmed.ends_with(']'))
        || (trimmed.starts_with('{') && trimmed.ends_with('}'))
    {
        // Python's repr of lists and dicts is close enough to YAML flow style.
        let yaml_ish = trimmed
            .replace("True", "true")
            .replace("False", "false")
            .replace("None", "null");
        if let Ok(value) = crate::yaml::parse("<config value>", &yaml_ish) {
            return value;
        }
    }
    Json::String(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_render_natively() {
        let vars = Vars::new(&json!({"load": true}), "p", Default::default());
        let target = json!({"name": "dev", "schema": "mdw"});
        let renderer = ConfigRenderer::new(&vars, target.as_object().unwrap());
        let at = || Location::new("dbt_project.yml", 1, 1);
        let render = |v: Json| renderer.render(&v, &at).unwrap();
        assert_eq!(render(json!("{{ var('load') }}")), json!(true));
        assert_eq!(render(json!("{{ var('missing', false) }}")), json!(false));
        assert_eq!(
            render(json!(
                "{{ 'ephemeral' if target.name == 'trino' else 'table' }}"
            )),
            json!("table")
        );
        assert_eq!(
            render(json!({"+post-hook": "{{ x }}", "n": "{{ 1 + 1 }}"})),
            json!({"+post-hook": "{{ x }}", "n": 2})
        );
        assert_eq!(
            renderer.vars_used().into_iter().collect::<Vec<_>>(),
            ["load", "missing"]
        );
    }
}
