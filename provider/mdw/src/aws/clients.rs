//! One SDK configuration and the service clients built from it on first use, each with its
//! endpoint override.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use aws_config::BehaviorVersion;
use aws_config::Region;
use aws_config::retry::RetryConfig;
use tfplugin::{Value, validators};

/// The services whose endpoint the provider block's `endpoints` may override.
const SERVICES: [&str; 7] = ["s3", "glue", "athena", "dynamodb", "iam", "sts", "kms"];

/// Per-service endpoint overrides, e.g. to point at moto or LocalStack: the provider block's
/// `endpoints`. A map rather than an object on purpose: Terraform drops unknown keys of an
/// object before the provider sees them, and a misspelt `s3x` would then send the requests to
/// AWS itself; a map reaches the provider whole, so `validate_endpoints` can refuse it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Endpoints {
    by_service: BTreeMap<String, String>,
}

impl Endpoints {
    /// The overrides of a validated `endpoints` map (unknown values count as none).
    pub(crate) fn new(by_service: BTreeMap<String, String>) -> Self {
        Endpoints { by_service }
    }

    pub(crate) fn url_of(&self, service: &str) -> Option<&str> {
        self.by_service.get(service).map(String::as_str)
    }
}

/// `endpoints`: only the services the provider calls, each an http(s) URL.
pub(crate) fn validate_endpoints(value: &Value) -> Result<(), String> {
    let Some(endpoints) = value.as_map() else {
        return Ok(());
    };
    let url = validators::url(&["http", "https"]);
    for (service, endpoint) in endpoints {
        if !SERVICES.contains(&service.as_str()) {
            return Err(format!(
                "{service:?} is not a service the provider calls; the keys are {}. (A misspelt key \
                 would otherwise send that service's requests to AWS itself.)",
                SERVICES.join(", ")
            ));
        }
        url(endpoint).map_err(|e| format!("endpoints[{service:?}]: {e}"))?;
    }
    Ok(())
}

/// The AWS side of the provider's client: the region, the credential chain, one client per
/// service.
pub(crate) struct AwsClients {
    pub(crate) region: String,
    sdk: aws_config::SdkConfig,
    endpoints: Endpoints,
    athena: OnceLock<aws_sdk_athena::Client>,
    dynamodb: OnceLock<aws_sdk_dynamodb::Client>,
    glue: OnceLock<aws_sdk_glue::Client>,
    iam: OnceLock<aws_sdk_iam::Client>,
    kms: OnceLock<aws_sdk_kms::Client>,
    s3: OnceLock<aws_sdk_s3::Client>,
    sts: OnceLock<aws_sdk_sts::Client>,
}

/// A lazily built client of one service, honouring its endpoint override.
macro_rules! service_client {
    ($method:ident, $krate:ident $(, $extra:ident($arg:expr))*) => {
        pub(crate) fn $method(&self) -> &$krate::Client {
            self.$method.get_or_init(|| {
                let mut config = $krate::config::Builder::from(&self.sdk);
                if let Some(url) = self.endpoints.url_of(stringify!($method)) {
                    config = config.endpoint_url(url);
                }
                $(config = config.$extra($arg);)*
                $krate::Client::from_conf(config.build())
            })
        }
    };
}

impl AwsClients {
    /// Loads the standard credential chain lazily: nothing is resolved or called until a resource
    /// makes its first request, so plans that need no AWS work offline.
    pub(crate) async fn load(
        region: String,
        profile: Option<&str>,
        endpoints: Endpoints,
        max_attempts: u32,
    ) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.clone()))
            .retry_config(RetryConfig::standard().with_max_attempts(max_attempts));
        if let Some(profile) = profile {
            loader = loader.profile_name(profile);
        }
        let sdk = loader.load().await;
        AwsClients {
            region,
            sdk,
            endpoints,
            athena: OnceLock::new(),
            dynamodb: OnceLock::new(),
            glue: OnceLock::new(),
            iam: OnceLock::new(),
            kms: OnceLock::new(),
            s3: OnceLock::new(),
            sts: OnceLock::new(),
        }
    }

    service_client!(athena, aws_sdk_athena);
    service_client!(dynamodb, aws_sdk_dynamodb);
    service_client!(glue, aws_sdk_glue);
    service_client!(iam, aws_sdk_iam);
    service_client!(kms, aws_sdk_kms);
    service_client!(sts, aws_sdk_sts);

    pub(crate) fn s3(&self) -> &aws_sdk_s3::Client {
        self.s3.get_or_init(|| {
            let mut config = aws_sdk_s3::config::Builder::from(&self.sdk);
            if let Some(url) = self.endpoints.url_of("s3") {
                // Emulators (moto, LocalStack) serve buckets by path, not by virtual host.
                config = config.endpoint_url(url).force_path_style(true);
            }
            aws_sdk_s3::Client::from_conf(config.build())
        })
    }

    /// The endpoint overrides.
    pub(crate) fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The credential chain, for code that signs its own requests (the embedded engine's S3
    /// file IO). Resolved when asked, not here.
    pub(crate) fn credentials_provider(
        &self,
    ) -> Option<aws_credential_types::provider::SharedCredentialsProvider> {
        self.sdk.credentials_provider()
    }

    /// The ARN partition of the configured region.
    pub(crate) fn partition(&self) -> &'static str {
        crate::aws::arn::partition_of(&self.region)
    }
}
