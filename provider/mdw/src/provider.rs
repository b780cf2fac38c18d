//! The `provider "mdw"` block: region, credentials (the standard AWS chain), endpoint overrides
//! for local emulators, default tags. Configuring builds AWS clients lazily and calls nothing.

use std::sync::Arc;

use async_trait::async_trait;
use tfplugin::{
    Attribute, DataSource, Diagnostic, Diagnostics, Nesting, Resource, Schema, StopSignal, Value,
    validators,
};

use crate::athena::workgroup::AthenaWorkgroup;
use crate::aws::{AwsClients, Endpoints};
use crate::client::Client;
use crate::engines::{self, EngineContext};
use crate::glue::database::GlueDatabase;
use crate::iam::airbyte_ec2::AirbyteEc2;
use crate::iam::dbt_runner::DbtRunner;
use crate::iam::role::Role;
use crate::iam::terraform_operator::TerraformOperator;
use crate::models::data_test::DataTest;
use crate::models::iceberg_model::IcebergModel;
use crate::models::lineage::Lineage;
use crate::models::query::Query;
use crate::models::seed::Seed;
use crate::models::source::Source;
use crate::models::unit_test::UnitTest;
use crate::s3::lake_bucket::LakeBucket;
use crate::s3::state_backend::StateBackend;
use crate::tags::validate_tag_keys;

/// Where state and tables live unless the configuration says otherwise (the seed's region).
const DEFAULT_REGION: &str = "us-west-2";

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
            [
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
                engines::engine_attribute(),
                Attribute::string("catalog").describe(
                    "Catalog name in the models' three-part relation names (`\"awsdatacatalog\".\"mdw\".\"t\"`). Default `awsdatacatalog`.",
                ),
                            ]
            .into_iter()
            .chain(engines::settings_attributes())
            .collect(),
        )
    }

    /// Settings of an engine that is not in use would be silently ignored: they are errors.
    fn validate(&self, config: &Value) -> Diagnostics {
        engines::validate_settings(config)
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
        let context = EngineContext {
            config,
            aws: &aws,
            catalog: &catalog,
            stop: &stop,
        };
        let engines = engines::configure(config.get("engine").as_str(), &context)?;
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
            Arc::new(Lineage),
            Arc::new(DataTest),
            Arc::new(UnitTest),
        ]
    }

    /// Every data source, one line each.
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<Client>>> {
        vec![Arc::new(Source), Arc::new(Query)]
    }
}
