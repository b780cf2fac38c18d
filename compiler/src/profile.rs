//! `profiles.yml`: which file, which profile and target, and the Athena connection fields that
//! become the template's `target`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use crate::error::{Diagnostic, Location, Result};
use crate::project::PROJECT_FILE;
use crate::yaml::{self, Step};

/// The resolved output of a profile (`target` in templates).
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The Athena catalog (dbt `database`), e.g. `awsdatacatalog`.
    pub database: String,
    /// The default Glue database (dbt `schema`).
    pub schema: String,
    /// Every field of the output plus `name`, `profile_name`, `type`, `threads`.
    pub fields: Map<String, Json>,
}

pub(crate) struct ProfileRequest<'a> {
    pub project_dir: &'a Path,
    /// dbt_project.yml's text, to point at its `profile:` key.
    pub project_text: &'a str,
    pub profiles_dir: Option<&'a Path>,
    pub profile: &'a str,
    pub target: Option<&'a str>,
}

/// Where dbt looks for `profiles.yml`: `--profiles-dir`, then `DBT_PROFILES_DIR`, then the
/// project directory, then `~/.dbt/`.
fn profiles_file(request: &ProfileRequest) -> Result<PathBuf> {
    if let Some(dir) = request.profiles_dir {
        return Ok(dir.join("profiles.yml"));
    }
    if let Some(dir) = std::env::var_os("DBT_PROFILES_DIR") {
        return Ok(PathBuf::from(dir).join("profiles.yml"));
    }
    let in_project = request.project_dir.join("profiles.yml");
    if in_project.exists() {
        return Ok(in_project);
    }
    if let Some(home) = std::env::var_os("HOME") {
        let in_home = PathBuf::from(home).join(".dbt").join("profiles.yml");
        if in_home.exists() {
            return Ok(in_home);
        }
    }
    Err(Diagnostic::new("no profiles.yml found")
        .help("pass --profiles-dir DIR, set DBT_PROFILES_DIR, or put profiles.yml in the project directory"))
}

pub(crate) fn load_target(request: &ProfileRequest) -> Result<Target> {
    let path = profiles_file(request)?;
    // Inside the project, show the path as dbt does (relative); elsewhere as found.
    let project_dir = crate::emit::files::absolute(request.project_dir);
    let shown = match crate::emit::files::absolute(&path).strip_prefix(&project_dir) {
        Ok(inside) => inside.display().to_string(),
        Err(_) => path.display().to_string(),
    };
    let text = std::fs::read_to_string(&path).map_err(|err| {
        Diagnostic::new(format!("cannot read {shown}: {err}"))
            .help("pass --profiles-dir DIR pointing at the folder that holds profiles.yml")
    })?;
    let profiles = yaml::parse(&shown, &text)?;
    if !profiles.is_object() {
        return Err(
            Diagnostic::new(format!("{shown} must be a mapping of profiles"))
                .at(Location::new(&shown, 1, 1))
                .help("write `my_profile:` with `target:` and `outputs:` below it"),
        );
    }
    let at = |path: &[&str]| {
        let steps: Vec<Step> = path.iter().map(|key| Step::key(key)).collect();
        yaml::locate(&shown, &text, &steps)
    };
    let Some(profile) = profiles.get(request.profile).filter(|p| p.is_object()) else {
        let declared = yaml::locate(PROJECT_FILE, request.project_text, &[Step::key("profile")]);
        let location = if declared.line > 1 || request.project_text.starts_with("profile") {
            declared
        } else {
            Location::new(&shown, 1, 1)
        };
        return Err(Diagnostic::new(format!(
            "profile '{}' not found in {shown}",
            request.profile
        ))
        .at(location)
        .help(format!(
            "add a `{}:` profile to {shown} or set `profile:` in dbt_project.yml",
            request.profile
        )));
    };
    let target_name = match request.target {
        Some(name) => name.to_string(),
        None => profile
            .get("target")
            .and_then(Json::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                Diagnostic::new(format!(
                    "profile '{}' has no default `target`",
                    request.profile
                ))
                .at(at(&[request.profile]))
                .help("add `target: dev` to the profile or pass --target")
            })?,
    };
    let Some(Json::Object(output)) = profile.get("outputs").and_then(|o| o.get(&target_name))
    else {
        return Err(Diagnostic::new(format!(
            "target '{target_name}' not found in profile '{}'",
            request.profile
        ))
        .at(at(&[request.profile]))
        .help(format!(
            "add `outputs: {target_name}:` to the profile or pass an existing --target"
        )));
    };

    let output_path = |key: &str| at(&[request.profile, "outputs", &target_name, key]);
    let mut fields = Map::new();
    for (key, value) in output {
        fields.insert(key.clone(), render_env_vars(value, output_path(key))?);
    }
    let required = |key: &str| -> Result<String> {
        match fields.get(key) {
            Some(Json::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(Diagnostic::new(format!(
                "target '{target_name}' of profile '{}' has no `{key}`",
                request.profile
            ))
            .at(at(&[request.profile, "outputs", &target_name]))
            .help(format!(
                "add `{key}:` to the output (Athena needs type, database, schema)"
            ))),
        }
    };
    let kind = required("type")?;
    if kind != "athena" {
        return Err(Diagnostic::new(format!(
            "target '{target_name}' has type '{kind}'; mdwc compiles for Athena"
        ))
        .at(output_path("type"))
        .help("set `type: athena` in the profile output"));
    }
    let database = required("database")?;
    let schema = required("schema")?;
    if !crate::names::is_glue_name(&schema) {
        return Err(Diagnostic::new(format!(
            "target schema '{schema}' is not a valid Glue database name"
        ))
        .at(output_path("schema"))
        .help("Glue stores database names in lower case: use lower-case letters, digits and underscores"));
    }
    fields.insert("name".into(), Json::String(target_name.clone()));
    fields.insert("target_name".into(), Json::String(target_name.clone()));
    fields.insert(
        "profile_name".into(),
        Json::String(request.profile.to_string()),
    );
    fields.entry("threads").or_insert(Json::from(1));
    fields
        .entry("s3_data_naming")
        .or_insert(Json::String("schema_table_unique".into()));
    Ok(Target {
        database,
        schema,
        fields,
    })
}

/// Profiles commonly read secrets and names from the environment (`{{ env_var('X') }}`).
fn render_env_vars(value: &Json, at: Location) -> Result<Json> {
    let Json::String(s) = value else {
        return Ok(value.clone());
    };
    if !s.contains("{{") && !s.contains("{%") {
        return Ok(value.clone());
    }
    let mut env = minijinja::Environment::new();
    env.add_function("env_var", crate::jinja::functions::env_var);
    env.render_str(s, ()).map(Json::String).map_err(|err| {
        Diagnostic::new(format!(
            "cannot render `{s}`: {}",
            err.detail().unwrap_or("error")
        ))
        .at(at)
        .help("set the environment variable or give env_var() a default")
    })
}
