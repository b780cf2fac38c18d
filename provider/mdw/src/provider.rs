//! The `provider "mdw"` block: region, credentials (the standard AWS chain), endpoint overrides
//! for local emulators, default tags. Configuring builds AWS clients lazily and calls nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use tfplugin::{
    DataSource, Diagnostic, Diagnostics, Maybe, Model, Resource, Schema, StopSignal, Value,
    from_value,
};

use crate::athena::workgroup::AthenaWorkgroup;
use crate::aws::{AwsClients, Endpoints, validate_endpoints};
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
use crate::models::model_group::ModelGroup;
use crate::models::query::Query;
use crate::models::seed::Seed;
use crate::models::source::Source;
use crate::models::unit_test::UnitTest;
use crate::s3::lake_bucket::LakeBucket;
use crate::s3::state_backend::StateBackend;
use crate::tags::{Tags, validate_tags};

/// Where state and tables live unless the configuration says otherwise (the seed's region).
const DEFAULT_REGION: &str = "us-west-2";

tfplugin::model! {
    /// The provider block, but for the engines' settings (`engines::settings_attributes`). A
    /// value not known while configuring counts as unset.
    pub(crate) struct ProviderModel {
        /// AWS region. Defaults to `AWS_REGION`/`AWS_DEFAULT_REGION`, then `us-west-2`.
        #[tf(validate = validate_region)]
        pub(crate) region: Maybe<String>,
        /// Named profile from the shared AWS config (default: `AWS_PROFILE`).
        #[tf()]
        pub(crate) profile: Maybe<String>,
        /// Attempts per AWS call on throttling and transient errors (default 3).
        #[tf(validate = validate_max_retries)]
        pub(crate) max_retries: Maybe<i64>,
        /// Per-service endpoint overrides, for a local AWS emulator such as moto or LocalStack:
        /// keys among `s3`, `glue`, `athena`, `dynamodb`, `iam`, `sts`, `kms`, each an http(s) URL
        /// (any other key is an error).
        #[tf(validate = validate_endpoints)]
        pub(crate) endpoints: Maybe<BTreeMap<String, String>>,
        /// Tags added to every taggable resource; a resource's own `tags` win on conflict.
        #[tf(validate = validate_tags)]
        pub(crate) default_tags: Maybe<Tags>,
        #[tf(describe = &engines::engine_description(), validate = engines::validate_engine_name)]
        pub(crate) engine: Maybe<String>,
        /// Catalog name in the models' three-part relation names
        /// (`"awsdatacatalog"."mdw"."t"`). Default `awsdatacatalog`.
        #[tf()]
        pub(crate) catalog: Maybe<String>,
    }
}

fn validate_region(value: &Value) -> Result<(), String> {
    match value.as_str() {
        Some(region) if !is_region_name(region) => Err(format!(
            "{region:?} is not an AWS region name such as \"{DEFAULT_REGION}\"."
        )),
        _ => Ok(()),
    }
}

fn is_region_name(region: &str) -> bool {
    !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn validate_max_retries(value: &Value) -> Result<(), String> {
    match value.as_i64() {
        Some(n) if (1..=25).contains(&n) => Ok(()),
        _ => Err("max_retries must be a whole number from 1 to 25.".to_string()),
    }
}

pub(crate) struct MdwProvider;

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
            ProviderModel::attributes()
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
        let model: ProviderModel = from_value(config)?;
        let region = model
            .region
            .into_known()
            .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()))
            .or_else(|| {
                std::env::var("AWS_DEFAULT_REGION")
                    .ok()
                    .filter(|r| !r.is_empty())
            })
            .unwrap_or_else(|| DEFAULT_REGION.to_string());
        if !is_region_name(&region) {
            return Err(Diagnostic::error(
                "Invalid region",
                format!("{region:?} is not an AWS region name such as \"{DEFAULT_REGION}\"."),
            )
            .at_attribute(ProviderModel::region)
            .into());
        }
        let max_attempts = model.max_retries.into_known().map_or(3, |n| n as u32);
        let aws = AwsClients::load(
            region,
            model.profile.known().map(String::as_str),
            Endpoints::new(model.endpoints.into_known().unwrap_or_default()),
            max_attempts,
        )
        .await;
        let catalog = model
            .catalog
            .into_known()
            .unwrap_or_else(|| mdw_engine::DEFAULT_CATALOG_NAME.to_string());
        if let Err(e) = mdw_engine::normalize_identifier(ProviderModel::catalog, &catalog) {
            return Err(Diagnostic::error("Invalid catalog", e.to_string())
                .at_attribute(ProviderModel::catalog)
                .into());
        }
        let context = EngineContext {
            config,
            aws: &aws,
            catalog: &catalog,
            stop: &stop,
        };
        let engines = engines::configure(model.engine.known().map(String::as_str), &context)?;
        engines.check().await?;
        Ok(Client::new(
            aws,
            model.default_tags.into_known().unwrap_or_default(),
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
            Arc::new(ModelGroup),
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
