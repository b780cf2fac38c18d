//! One SDK configuration and the service clients built from it on first use, each with its
//! endpoint override.

use std::sync::OnceLock;

use aws_config::BehaviorVersion;
use aws_config::Region;
use aws_config::retry::RetryConfig;
use tfplugin::{Maybe, validators};

tfplugin::model! {
    /// Per-service endpoint overrides, e.g. to point at moto or LocalStack: the provider
    /// block's `endpoints`. An unknown value counts as none.
    pub(crate) struct Endpoints {
        /// URL of the s3 API, e.g. `http://127.0.0.1:4566` for a local emulator.
        #[tf(validate = validators::url(&["http", "https"]))]
        pub(crate) s3: Maybe<String>,
        /// URL of the glue API, e.g. `http://127.0.0.1:4566` for a local emulator.
        #[tf(validate = validators::url(&["http", "https"]))]
        pub(crate) glue: Maybe<String>,
        /// URL of the athena API, e.g. `http://127.0.0.1:4566` for a local emulator.
        #[tf(validate = validators::url(&["http", "https"]))]
        pub(crate) athena: Maybe<String>,
        /// URL of the dynamodb API, e.g. `http://127.0.0.1:4566` for a local emulator.
        #[tf(validate = validators::url(&["http", "https"]))]
        pub(crate) dynamodb: Maybe<String>,
        /// URL of the iam API, e.g. `http://127.0.0.1:4566` for a local emulator.
        #[tf(validate = validators::url(&["http", "https"]))]
        pub(crate) iam: Maybe<String>,
        /// URL of the sts API, e.g. `http://127.0.0.1:4566` for a local emulator.
        #[tf(validate = validators::url(&["http", "https"]))]
        pub(crate) sts: Maybe<String>,
        /// URL of the kms API, e.g. `http://127.0.0.1:4566` for a local emulator.
        #[tf(validate = validators::url(&["http", "https"]))]
        pub(crate) kms: Maybe<String>,
    }
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
                if let Some(url) = self.endpoints.$method.known() {
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
            if let Some(url) = self.endpoints.s3.known() {
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
