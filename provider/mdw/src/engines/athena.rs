//! The Athena engine: Athena builds the models in a workgroup, Glue is the catalog.

use std::sync::Arc;

use async_trait::async_trait;
use mdw_engine::Engine;
use mdw_engine_athena::{AthenaEngine, AthenaSettings};
use tfplugin::{Attribute, Diagnostic, Nesting};

use super::{EngineContext, EngineFactory, Registration};
use crate::aws::s3_location::validate_s3_location;

/// The workgroup every AWS account has.
const DEFAULT_WORKGROUP: &str = "primary";

pub(super) const REGISTRATION: Registration = Registration {
    name: "athena",
    summary: "Athena runs the models in `workgroup`, with Glue as the catalog",
    settings,
    configure,
};

fn settings() -> Vec<Attribute> {
    vec![
        Attribute::string("workgroup").describe(&format!(
            "Athena workgroup the models run in (engine `athena`). Default `{DEFAULT_WORKGROUP}`. A workgroup that enforces its configuration keeps its own result location."
        )),
        Attribute::nested(
            "athena",
            Nesting::Single,
            vec![
                Attribute::string("output_location")
                    .describe("`s3://` prefix for query results, used when the workgroup does not enforce its own.")
                    .validate(validate_s3_location),
                Attribute::string("data_location")
                    .describe("`s3://` root of the models' tables (`<root>/<database>/<name>/<build id>`). Default: the Glue database's location.")
                    .validate(validate_s3_location),
            ],
        )
        .describe("Settings of the Athena engine."),
    ]
}

fn configure(context: &EngineContext<'_>) -> Result<Box<dyn EngineFactory>, Diagnostic> {
    let config = context.config;
    let string = |v: &tfplugin::Value| v.as_str().map(str::to_string);
    let aws = context.aws;
    Ok(Box::new(Athena {
        settings: AthenaSettings {
            workgroup: string(config.get("workgroup"))
                .unwrap_or_else(|| DEFAULT_WORKGROUP.to_string()),
            catalog: context.catalog.to_string(),
            output_location: string(config.get("athena").get("output_location")),
            data_location: string(config.get("athena").get("data_location")),
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

#[async_trait]
impl EngineFactory for Athena {
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
