//! The real AWS SDK for Rust, pointed at moto, for checks that do not trust the provider.

use std::future::Future;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_glue::config::Credentials;

/// The region of every test, in the provider block and the SDK.
pub const REGION: &str = "us-west-2";
/// moto's fixed account id.
pub const ACCOUNT_ID: &str = "123456789012";

/// SDK configuration for one moto server plus a runtime to call it from synchronous tests.
///
/// Tests are plain `#[test]` functions: terraform runs block anyway, and `block_on` inside a
/// `#[tokio::test]` would panic.
pub struct Aws {
    runtime: tokio::runtime::Runtime,
    config: SdkConfig,
}

impl Aws {
    /// SDK config for `endpoint` with moto's dummy credentials.
    pub fn new(endpoint: &str) -> Aws {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("building a tokio runtime for AWS SDK calls");
        let config = runtime.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .endpoint_url(endpoint)
                .region(Region::new(REGION))
                .credentials_provider(Credentials::new(
                    "testing",
                    "testing",
                    None,
                    None,
                    "mdw-acceptance",
                ))
                // moto answers unimplemented calls with HTTP 500: retrying those only slows the
                // failure down.
                .retry_config(RetryConfig::standard().with_max_attempts(2))
                // A hung moto must fail the test, not hang it.
                .timeout_config(
                    TimeoutConfig::builder()
                        .operation_timeout(Duration::from_secs(30))
                        .build(),
                )
                .load(),
        );
        Aws { runtime, config }
    }

    /// The shared config, for clients of other services: `aws_sdk_s3::Client::new(aws.config())`.
    pub fn config(&self) -> &SdkConfig {
        &self.config
    }

    pub fn glue(&self) -> aws_sdk_glue::Client {
        aws_sdk_glue::Client::new(&self.config)
    }

    pub fn athena(&self) -> aws_sdk_athena::Client {
        aws_sdk_athena::Client::new(&self.config)
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.config)
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.config)
    }

    pub fn kms(&self) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.config)
    }

    /// Path-style addressing: moto serves buckets by path, not by virtual host.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.config)
                .force_path_style(true)
                .build(),
        )
    }

    pub fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.config)
    }

    /// Runs one SDK call (or any future) to completion.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}
