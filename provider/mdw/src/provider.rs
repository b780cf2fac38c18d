//! The `provider "mdw"` block: region, credentials (the standard AWS chain), endpoint overrides
//! for local emulators, default tags. Configuring builds AWS clients lazily and calls nothing.

use std::sync::Arc;

use async_trait::async_trait;
use tfplugin::{
    Attribute, DataSource, Diagnostic, Diagnostics, Nesting, Resource, Schema, StopSignal, Value,
    validators,
};

use crate::athena::workgroup::AthenaWorkgroup;
use crate::aws::s3_location::validate_s3_location;
use crate::aws::{AwsClients, Endpoints};
use crate::client::Client;
use crate::engines::{DEFAULT_WAREHOUSE_DIR, EngineConfig, Engines};
use crate::glue::database::GlueDatabase;
use crate::iam::airbyte_ec2::AirbyteEc2;
use crate::iam::dbt_runner::DbtRunner;
use crate::iam::role::Role;
use crate::iam::terraform_operator::TerraformOperator;
use crate::models::iceberg_model::IcebergModel;
use crate::models::query::Query;
use crate::models::seed::Seed;
use crate::models::source::Source;
use crate::s3::lake_bucket::LakeBucket;
use crate::s3::state_backend::StateBackend;
use crate::tags::validate_tag_keys;
use mdw_engine_athena::AthenaSettings;

/// Where state and tables live unless the configuration says otherwise (the seed's region).
const DEFAULT_REGION: &str = "us-west-2";

/// The workgroup every AWS account has.
const DEFAULT_WORKGROUP: &str = "primary";

/// The services whose endpoints can be overridden, e.g. to point at moto or LocalStack.
const ENDPOINT_SERVICES: &[&str] = &["s3", "glue", "athena", "dynamodb", "iam", "sts", "kms"];

pub(crate) struct MdwProvider;

fn endpoint_attributes() -> Vec<Attribute> {
    ENDPOINT_SERVICES
        .iter()
        .map(|service| {
            Attribute::string(service)
                .describe(&format!(
                    "URL of the {service} API, e.g. `http://127.0.0.1:4566` for a local emulator."
                ))
                .validate(validators::url(&["http", "https"]))
        })
        .collect()
}

#[async_trait]
impl tfplugin::Provider for MdwProvider {
    type Client = Client;

    fn type_name(&self) -> &'static str {
        "mdw"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "Runs an AWS Athena + Iceberg warehouse as code. Credentials come from the standard AWS chain \
             (environment, shared config and SSO profiles, instance role); none are stored in state.",
            vec![
                Attribute::string("region").describe(&format!(
                    "AWS region. Defaults to `AWS_REGION`/`AWS_DEFAULT_REGION`, then `{DEFAULT_REGION}`."
                )),
                Attribute::string("profile").describe("Named profile from the shared AWS config (default: `AWS_PROFILE`)."),
                Attribute::number("max_retries")
                    .describe("Attempts per AWS call on throttling and transient errors (default 3).")
                    .validate(|v| match v.as_i64() {
                        Some(n) if (1..=25).contains(&n) => Ok(()),
                        _ => Err("max_retries must be a whole number from 1 to 25.".to_string()),
                    }),
                Attribute::nested("endpoints", Nesting::Single, endpoint_attributes())
                    .describe("Per-service endpoint overrides, for a local AWS emulator such as moto or LocalStack."),
                Attribute::string_map("default_tags")
                    .describe("Tags added to every taggable resource; a resource's own `tags` win on conflict.")
                    .validate(validate_tag_keys),
                Attribute::string("engine")
                    .describe("What builds the models: `embedded` (default; DataFusion + Iceberg on local disk, no AWS needed) or `athena`.")
                    .validate(|v| match v.as_str() {
                        Some("embedded" | "athena") | None => Ok(()),
                        Some(other) => Err(format!("{other:?} is not an engine; use \"embedded\" or \"athena\".")),
                    }),
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
                Attribute::string("catalog").describe(
                    "Catalog name in the models' three-part relation names (`\"awsdatacatalog\".\"mdw\".\"t\"`). Default `awsdatacatalog`.",
                ),
                Attribute::nested(
                    "embedded",
                    Nesting::Single,
                    vec![Attribute::string("warehouse").describe(&format!(
                        "Directory of the local catalog and tables, relative to the root module (default `{DEFAULT_WAREHOUSE_DIR}`); or an `s3://bucket/prefix` location: then the tables are written to S3 and registered in Glue, where Athena reads them."
                    ))],
                )
                .describe("Settings of the embedded engine."),
            ],
        )
    }

    async fn configure(&self, config: &Value, stop: StopSignal) -> Result<Client, Diagnostics> {
        let region = config
            .get("region")
            .as_str()
            .map(str::to_string)
            .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()))
            .or_else(|| {
                std::env::var("AWS_DEFAULT_REGION")
                    .ok()
                    .filter(|r| !r.is_empty())
            })
            .unwrap_or_else(|| DEFAULT_REGION.to_string());
        if region.is_empty()
            || !region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(Diagnostic::error(
                "Invalid region",
                format!("{region:?} is not an AWS region name such as \"us-west-2\"."),
            )
            .at_attribute("region")
            .into());
        }
        let endpoints = Endpoints(
            ENDPOINT_SERVICES
                .iter()
                .filter_map(|s| {
                    config
                        .get("endpoints")
                        .get(s)
                        .as_str()
                        .map(|url| (s.to_string(), url.to_string()))
                })
                .collect(),
        );
        let max_attempts = config.get("max_retries").as_i64().map_or(3, |n| n as u32);
        let aws = AwsClients::load(
            region,
            config.get("profile").as_str(),
            endpoints,
            max_attempts,
        )
        .await;
        let warehouse = config
            .get("embedded")
            .get("warehouse")
            .as_str()
            .unwrap_or(DEFAULT_WAREHOUSE_DIR)
            .to_string();
        let catalog = config
            .get("catalog")
            .as_str()
            .unwrap_or(mdw_engine::DEFAULT_CATALOG_NAME)
            .to_string();
        if let Err(e) = mdw_engine::normalize_identifier("catalog", &catalog) {
            return Err(Diagnostic::error("Invalid catalog", e.to_string())
                .at_attribute("catalog")
                .into());
        }
        let engine = match config.get("engine").as_str() {
            Some("athena") => EngineConfig::Athena {
                settings: AthenaSettings {
                    workgroup: config
                        .get("workgroup")
                        .as_str()
                        .unwrap_or(DEFAULT_WORKGROUP)
                        .to_string(),
                    catalog: catalog.clone(),
                    output_location: config
                        .get("athena")
                        .get("output_location")
                        .as_str()
                        .map(str::to_string),
                    data_location: config
                        .get("athena")
                        .get("data_location")
                        .as_str()
                        .map(str::to_string),
                },
                athena: aws.athena().clone(),
                glue: aws.glue().clone(),
                s3: aws.s3().clone(),
                stop: stop.receiver(),
            },
            _ if warehouse.starts_with("s3://") => EngineConfig::EmbeddedOnAws {
                warehouse,
                region: aws.region.clone(),
                glue_endpoint: aws.endpoint("glue").map(str::to_string),
                s3_endpoint: aws.endpoint("s3").map(str::to_string),
                credentials: aws.credentials_provider(),
                glue: aws.glue().clone(),
            },
            _ => EngineConfig::Embedded {
                warehouse_dir: warehouse.into(),
            },
        };
        let engines = Engines::new(engine, catalog);
        Ok(Client::new(
            aws,
            config.get("default_tags").string_map(),
            engines,
        ))
    }

    /// Every resource type, one line each.
    fn resources(&self) -> Vec<Arc<dyn Resource<Client>>> {
        vec![
            Arc::new(GlueDatabase),
            Arc::new(AthenaWorkgroup),
            Arc::new(LakeBucket),
            Arc::new(StateBackend),
            Arc::new(Role::<DbtRunner>::new()),
            Arc::new(Role::<AirbyteEc2>::new()),
            Arc::new(Role::<TerraformOperator>::new()),
            Arc::new(IcebergModel),
            Arc::new(Seed),
        ]
    }

    /// Every data source, one line each.
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<Client>>> {
        vec![Arc::new(Source), Arc::new(Query)]
    }
}
