//! AWS plumbing shared by every resource: one SDK configuration, service clients built on first
//! use with their endpoint overrides, and errors turned into diagnostics that say what to do.

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fmt::Debug;
use std::sync::OnceLock;

use aws_config::BehaviorVersion;
use aws_config::Region;
use aws_config::retry::RetryConfig;
use aws_sdk_glue::error::{ProvideErrorMetadata, SdkError};
use tfplugin::Diagnostic;

/// Endpoint overrides by service name (`glue` → `http://127.0.0.1:4566`).
#[derive(Debug, Clone, Default)]
pub struct Endpoints(pub BTreeMap<String, String>);

impl Endpoints {
    pub fn get(&self, service: &str) -> Option<&str> {
        self.0.get(service).map(String::as_str)
    }
}

pub struct AwsClients {
    pub region: String,
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
    ($method:ident, $krate:ident, $service:literal $(, $extra:ident($arg:expr))*) => {
        pub fn $method(&self) -> &$krate::Client {
            self.$method.get_or_init(|| {
                let mut config = $krate::config::Builder::from(&self.sdk);
                if let Some(url) = self.endpoints.get($service) {
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
    pub async fn load(
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

    service_client!(athena, aws_sdk_athena, "athena");
    service_client!(dynamodb, aws_sdk_dynamodb, "dynamodb");
    service_client!(glue, aws_sdk_glue, "glue");
    service_client!(iam, aws_sdk_iam, "iam");
    service_client!(kms, aws_sdk_kms, "kms");
    service_client!(sts, aws_sdk_sts, "sts");

    pub fn s3(&self) -> &aws_sdk_s3::Client {
        self.s3.get_or_init(|| {
            let mut config = aws_sdk_s3::config::Builder::from(&self.sdk);
            if let Some(url) = self.endpoints.get("s3") {
                // Emulators (moto, LocalStack) serve buckets by path, not by virtual host.
                config = config.endpoint_url(url).force_path_style(true);
            }
            aws_sdk_s3::Client::from_conf(config.build())
        })
    }

    /// The endpoint override of `service`, if any.
    pub fn endpoint(&self, service: &str) -> Option<&str> {
        self.endpoints.get(service)
    }

    /// The credential chain, for code that signs its own requests (the embedded engine's S3
    /// file IO). Resolved when asked, not here.
    pub fn credentials_provider(
        &self,
    ) -> Option<aws_credential_types::provider::SharedCredentialsProvider> {
        self.sdk.credentials_provider()
    }

    /// The ARN partition of the configured region.
    pub fn partition(&self) -> &'static str {
        partition_of(&self.region)
    }
}

pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// An AWS call that failed, as a diagnostic: `summary` says what was being done
/// ("creating Glue Database (sales)"), the detail says what AWS answered and what to try.
/// A removal where "it is gone already" (`gone_code`, e.g. `NoSuchEntity`) counts as done:
/// destroy must converge whoever removed the thing first.
pub fn removed<T, E, R>(
    result: Result<T, SdkError<E, R>>,
    gone_code: &str,
    doing: &str,
) -> Result<(), Diagnostic>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(err) if err.as_service_error().and_then(|e| e.code()) == Some(gone_code) => Ok(()),
        Err(err) => Err(aws_error(doing, &err)),
    }
}

pub fn aws_error<E, R>(doing: &str, err: &SdkError<E, R>) -> Diagnostic
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let detail = match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("error");
            let message = e.message().unwrap_or("(no message)");
            let hint = match code {
                "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => {
                    " Grant the Terraform operator's role this permission, or check which credentials are in use (aws sts get-caller-identity)."
                }
                "ThrottlingException" | "Throttling" | "TooManyRequestsException" => {
                    " AWS kept throttling after retries; raise max_retries in the provider block or run with -parallelism lower."
                }
                _ => "",
            };
            format!("{code}: {message}.{hint}")
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            let context = error_chain(err);
            if context.contains("credentials") || context.contains("Credentials") {
                format!(
                    "No usable AWS credentials: {context}. Set AWS_PROFILE (and run `aws sso login` for SSO), \
                     AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where an instance role is available."
                )
            } else {
                format!(
                    "Could not reach AWS: {context}. Check the network, the region, and any `endpoints` override in the provider block."
                )
            }
        }
        _ => error_chain(err),
    };
    Diagnostic::error(doing.to_string(), detail)
}

/// "outer: cause: root cause", without the SDK's Debug dump of responses and headers.
fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}
