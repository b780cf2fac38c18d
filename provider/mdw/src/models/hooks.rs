//! dbt's pre- and post-hooks of a model: checked by the engine at plan, run around each build.

use mdw_engine::Engine;
use tfplugin::{ApplyError, AttributePath, Diagnostic, Diagnostics, Value};

use crate::engines::engine_error;

/// A model's hooks, checked by the engine at plan (the embedded engine refuses the ones it
/// cannot run): `hooks` are the hook attributes by name with their planned lists.
pub(crate) fn check(
    engine: &dyn Engine,
    model: &str,
    hooks: [(&'static str, &Value); 2],
) -> Result<(), Diagnostics> {
    let mut diags = Diagnostics::new();
    for (attribute, list) in hooks {
        let Some(hooks) = list.as_list() else {
            continue;
        };
        for (i, hook) in hooks.iter().enumerate() {
            if let Some(hook) = hook.as_str()
                && let Err(e) = engine.check_statement(hook)
            {
                diags.push(
                    Diagnostic::error(
                        format!("Model {model}: a hook cannot run on this engine"),
                        format!("{e}."),
                    )
                    .at(AttributePath::root(attribute).index(i as i64)),
                );
            }
        }
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(())
    }
}

/// Runs a model's hooks in order; the first failure stops the build, naming the hook.
pub(crate) async fn run(
    engine: &dyn Engine,
    model: &str,
    kind: &str,
    hooks: Option<&[String]>,
) -> Result<(), ApplyError> {
    for (i, hook) in hooks.unwrap_or_default().iter().enumerate() {
        engine
            .run_statement(hook)
            .await
            .map_err(|e| engine_error(&format!("running {kind} {} of model {model}", i + 1), &e))?;
    }
    Ok(())
}
