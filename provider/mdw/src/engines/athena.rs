//! The Athena engine: Athena builds the models in a workgroup, Glue is the catalog.

use std::sync::Arc;

use async_trait::async_trait;
use mdw_engine::Engine;
use mdw_engine_athena::{AthenaEngine, AthenaSettings};
use tfplugin::{Attribute, Diagnostic, Maybe, Model, from_value};

use super::{EngineContext, EngineFactory, Registration};
use crate::aws::s3_location::validate_s3_location;
use crate::aws::{aws_error, names};

/// The workgroup every AWS account has.
const DEFAULT_WORKGROUP: &str = "primary";

pub(super) const REGISTRATION: Registration = Registration {
    name: "athena",
    summary: "Athena runs the models in `workgroup`, with Glue as the catalog",
    settings,
    configure,
};

tfplugin::model! {
    /// The provider block's `athena = { … }`.
    pub(crate) struct AthenaBlock {
        /// `s3://` prefix for query results, used when the workgroup does not enforce its own.
        #[tf(validate = validate_s3_location)]
        pub(crate) output_location: Maybe<String>,
        /// `s3://` root of the models' tables (`<root>/<database>/<name>/<build id>`). Default:
        /// the Glue database's location.
        #[tf(validate = validate_s3_location)]
        pub(crate) data_location: Maybe<String>,
    }
}

tfplugin::model! {
    /// The provider-block settings of the Athena engine.
    pub(crate) struct AthenaConfig {
        /// Athena workgroup the models run in (engine `athena`). Default `primary`. A workgroup
        /// that enforces its configuration keeps its own result location.
        #[tf(validate = names::athena_workgroup_name)]
        pub(crate) workgroup: Maybe<String>,
        /// Settings of the Athena engine (a misspelt key is an error).
        #[tf(keyed)]
        pub(crate) athena: Maybe<AthenaBlock>,
    }
}

fn settings() -> Vec<Attribute> {
    AthenaConfig::attributes()
}

fn configure(context: &EngineContext<'_>) -> Result<Box<dyn EngineFactory>, Diagnostic> {
    let config: AthenaConfig = from_value(context.config)?;
    let block = config.athena.into_known().unwrap_or_default();
    let aws = context.aws;
    Ok(Box::new(Athena {
        settings: AthenaSettings {
            workgroup: config
                .workgroup
                .into_known()
                .unwrap_or_else(|| DEFAULT_WORKGROUP.to_string()),
            catalog: context.catalog.to_string(),
            output_location: block.output_location.into_known(),
            data_location: block.data_location.into_known(),
        },
        athena: aws.athena().clone(),
        glue: aws.glue().clone(),
        s3: aws.s3().clone(),
        stop: context.stop.receiver(),
    }))
}

struct Athena {
    settings: AthenaSettings,
    athena: aws_sdk_athena::Client,
    glue: aws_sdk_glue::Client,
    s3: aws_sdk_s3::Client,
    /// Terraform's stop request cancels running queries.
    stop: tokio::sync::watch::Receiver<bool>,
}

/// The error of a workgroup that does not exist, on the provider's `workgroup`.
/// A warning, not an error: the root that runs the models often creates the workgroup in the
/// same apply (infra/ does: mdw_athena_workgroup, then the models), and the provider is
/// configured before that resource exists.
fn missing_workgroup(name: &str) -> Diagnostic {
    Diagnostic::warning(
        format!("Athena workgroup {name:?} does not exist (yet)"),
        format!(
            "The athena engine runs the models in it. If this apply creates it (an mdw_athena_workgroup \
             the models depend on), nothing is wrong. Otherwise every model build will fail: create it, \
             or set workgroup in the provider block to an existing one (default {DEFAULT_WORKGROUP:?})."
        ),
    )
    .at_attribute(AthenaConfig::workgroup)
}

#[async_trait]
impl EngineFactory for Athena {
    async fn check(&self) -> Result<(), Diagnostic> {
        let name = &self.settings.workgroup;
        match self.athena.get_work_group().work_group(name).send().await {
            Ok(out) if out.work_group().is_some_and(|g| !g.name().is_empty()) => Ok(()),
            Ok(_) => {
                tfplugin::warn(missing_workgroup(name));
                Ok(())
            }
            // What Athena answers for a workgroup it does not have (the name is valid).
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_invalid_request_exception()) =>
            {
                tfplugin::warn(missing_workgroup(name));
                Ok(())
            }
            Err(e) => {
                let reason = aws_error(&format!("reading Athena workgroup {name:?}"), &e);
                tfplugin::warn(
                    Diagnostic::warning(
                        format!("Could not check that Athena workgroup {name:?} exists"),
                        format!(
                            "{}. The first model built will find out; check the credentials' athena:GetWorkGroup permission.",
                            reason.detail
                        ),
                    )
                    .at_attribute(AthenaConfig::workgroup),
                );
                Ok(())
            }
        }
    }

    async fn open(&self, _catalog: &str) -> Result<Arc<dyn Engine>, Diagnostic> {
        AthenaEngine::open(
            self.athena.clone(),
            self.glue.clone(),
            self.s3.clone(),
            self.settings.clone(),
            self.stop.clone(),
        )
        .await
        .map(|engine| Arc::new(engine) as Arc<dyn Engine>)
        .map_err(|e| {
            Diagnostic::error(
                format!(
                    "Opening the Athena engine (workgroup {:?})",
                    self.settings.workgroup
                ),
                format!("{e}."),
            )
        })
    }
}
