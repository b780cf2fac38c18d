//! Which engine builds the models. Engines are registered by name in [`REGISTRY`], the one
//! place to add one: the provider's `engine` attribute, its validator and the engines'
//! settings blocks are all derived from it. An engine is opened on first use, so plans
//! without models touch nothing.

mod athena;
mod embedded;

use std::sync::Arc;

use async_trait::async_trait;
use mdw_engine::{Engine, EngineError};
use tfplugin::{Attribute, Diagnostic, Diagnostics, Maybe, StopSignal, Value, from_value};
use tokio::sync::OnceCell;

use crate::aws::AwsClients;

/// Every engine, by name; the first is the default.
const REGISTRY: &[Registration] = &[embedded::REGISTRATION, athena::REGISTRATION];

/// What an engine needs to be configured: the provider block and its AWS side.
pub(crate) struct EngineContext<'a> {
    /// The whole provider configuration; an engine reads its own settings from it.
    pub(crate) config: &'a Value,
    pub(crate) aws: &'a AwsClients,
    /// The catalog name in the models' three-part relation names.
    pub(crate) catalog: &'a str,
    /// Terraform's stop request; engines cancel running work on it.
    pub(crate) stop: &'a StopSignal,
}

/// A configured engine, not yet opened.
#[async_trait]
pub(crate) trait EngineFactory: Send + Sync {
    async fn open(&self, catalog: &str) -> Result<Arc<dyn Engine>, Diagnostic>;

    /// Checks at configure what a plan can know is wrong with the settings (the Athena
    /// workgroup does not exist), with the setting's path; a check that cannot run (no
    /// credentials, access denied) warns and passes.
    async fn check(&self) -> Result<(), Diagnostic> {
        Ok(())
    }
}

/// One engine of the registry.
pub(crate) struct Registration {
    /// The value of the provider's `engine` attribute.
    pub(crate) name: &'static str,
    /// One line for the `engine` attribute's description.
    pub(crate) summary: &'static str,
    /// The provider-block attributes that configure this engine.
    pub(crate) settings: fn() -> Vec<Attribute>,
    /// Reads the engine's settings; calls nothing remote.
    pub(crate) configure: fn(&EngineContext<'_>) -> Result<Box<dyn EngineFactory>, Diagnostic>,
}

/// The description of the provider's `engine` attribute: the registered engines (its
/// validator, `validate_engine_name`, accepts exactly them).
pub(crate) fn engine_description() -> String {
    let names: Vec<String> = REGISTRY.iter().map(|r| format!("`{}`", r.name)).collect();
    let summaries: Vec<String> = REGISTRY
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let default = if i == 0 { " (default)" } else { "" };
            format!("`{}`{default}: {}", r.name, r.summary)
        })
        .collect();
    format!(
        "What builds the models, one of {}. {}.",
        names.join(", "),
        summaries.join("; ")
    )
}

pub(crate) fn validate_engine_name(value: &Value) -> Result<(), String> {
    match value.as_str() {
        Some(name) if REGISTRY.iter().all(|r| r.name != name) => {
            let names: Vec<&str> = REGISTRY.iter().map(|r| r.name).collect();
            Err(format!(
                "{name:?} is not an engine; use {}.",
                tfplugin::validators::quoted_list(&names).replace(", ", " or ")
            ))
        }
        _ => Ok(()),
    }
}

/// Settings of a registered engine other than the one in use are errors: it would ignore them.
pub(crate) fn validate_settings(config: &Value) -> Diagnostics {
    /// The provider block's `engine`, which may not be known yet.
    #[derive(serde::Deserialize)]
    struct InUse {
        #[serde(default)]
        engine: Maybe<String>,
    }
    let mut diags = Diagnostics::new();
    let in_use = match from_value::<InUse>(config).map(|c| c.engine) {
        Ok(Maybe::Known(name)) => name,
        Ok(Maybe::Null) => REGISTRY[0].name.to_string(),
        _ => return diags,
    };
    for registration in REGISTRY.iter().filter(|r| r.name != in_use) {
        for attribute in (registration.settings)() {
            if !config.get(&attribute.name).is_null() {
                diags.push(
                    Diagnostic::error(
                        format!("{} is set, but engine = {in_use:?}", attribute.name),
                        format!(
                            "{} configures the {} engine, which this provider block does not use: remove it, or set engine = \"{}\".",
                            attribute.name, registration.name, registration.name
                        ),
                    )
                    .at_attribute(&attribute.name),
                );
            }
        }
    }
    diags
}

/// The settings attributes of every registered engine, for the provider schema.
pub(crate) fn settings_attributes() -> Vec<Attribute> {
    REGISTRY.iter().flat_map(|r| (r.settings)()).collect()
}

/// The engine the configuration names (the default when it names none), configured but not
/// opened.
pub(crate) fn configure(
    name: Option<&str>,
    context: &EngineContext<'_>,
) -> Result<Engines, Diagnostic> {
    let registration = match name {
        None => &REGISTRY[0],
        Some(name) => REGISTRY.iter().find(|r| r.name == name).ok_or_else(|| {
            Diagnostic::error(
                "Unknown engine",
                validate_engine_name(&Value::from(name))
                    .err()
                    .unwrap_or_default(),
            )
            .at_attribute("engine")
        })?,
    };
    Ok(Engines {
        factory: (registration.configure)(context)?,
        catalog: context.catalog.to_string(),
        opened: OnceCell::new(),
    })
}

/// The configured engine, opened on first use.
pub(crate) struct Engines {
    factory: Box<dyn EngineFactory>,
    catalog: String,
    opened: OnceCell<Arc<dyn Engine>>,
}

impl Engines {
    /// The catalog name models use in three-part names (`"awsdatacatalog"."mdw"."t"`).
    pub(crate) fn catalog(&self) -> &str {
        &self.catalog
    }

    /// The engine's own check of its settings (`EngineFactory::check`).
    pub(crate) async fn check(&self) -> Result<(), Diagnostic> {
        self.factory.check().await
    }

    pub(crate) async fn get(&self) -> Result<Arc<dyn Engine>, Diagnostic> {
        self.opened
            .get_or_try_init(|| self.factory.open(&self.catalog))
            .await
            .cloned()
    }
}

/// An engine failure as a diagnostic: what was being done to which relation, and the engine's
/// own words.
pub(crate) fn engine_error(doing: &str, err: &EngineError) -> Diagnostic {
    Diagnostic::error(doing.to_string(), format!("{err}.{}", engine_hint(err)))
}

/// What to do about an engine error, as a sentence after it (empty when there is nothing to
/// add).
pub(crate) fn engine_hint(err: &EngineError) -> &'static str {
    match err {
        EngineError::Sql { .. } => {
            " Fix the model's SQL (see target/compiled/ for what mdwc rendered) and apply again."
        }
        EngineError::Conflict { .. } => {
            " Another run changed it at the same time; apply again (the next apply re-reads it and refuses it if it now belongs to someone else)."
        }
        EngineError::InvalidInput(_) => " Fix the model's configuration.",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_attribute_follows_the_registry() {
        let description = engine_description();
        for registration in REGISTRY {
            assert!(description.contains(registration.name));
            assert!(validate_engine_name(&Value::from(registration.name)).is_ok());
        }
        let err = validate_engine_name(&Value::from("spark")).unwrap_err();
        assert_eq!(
            err,
            "\"spark\" is not an engine; use \"embedded\" or \"athena\"."
        );
    }

    #[test]
    fn engine_names_are_unique() {
        let mut names: Vec<&str> = REGISTRY.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), REGISTRY.len());
    }
}
