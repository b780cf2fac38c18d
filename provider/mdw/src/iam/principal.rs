//! What distinguishes one IAM role resource from another: the principal it is for. A principal
//! names its resource type, declares the inputs its policy is computed from (a model, whose
//! fields are the input attributes, and the typed inputs), computes the policy, and reads the
//! inputs back from a policy it wrote. The role's lifecycle (`role/`) is written once for all
//! of them.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tfplugin::{Diagnostic, Diagnostics, Maybe, Model, Value};

use crate::aws::names::{self, KmsKey};
use crate::aws::s3_location::S3Url;
use crate::iam::policy::{ParsedPolicy, Policy, Scope, Trust};

pub(crate) trait Principal: Send + Sync + 'static {
    /// The typed inputs of the inline policy.
    type Inputs: Debug + Clone + PartialEq + Send + Sync;
    /// The input attributes as configuration holds them (`tfplugin::model!`); every field a
    /// `Maybe`, as a plan may not know them yet.
    type Config: Model
        + Serialize
        + DeserializeOwned
        + Debug
        + Clone
        + PartialEq
        + Default
        + Send
        + Sync;

    /// `mdw_dbt_runner_role`.
    const TYPE_NAME: &'static str;
    const DESCRIPTION: &'static str;
    /// Whether the role also gets an instance profile named like it (for EC2).
    const INSTANCE_PROFILE: bool = false;

    /// Who may assume the role when the configuration does not say (`None`: the configuration
    /// names trusted principals and services).
    fn fixed_trust(_partition: &str) -> Option<Trust> {
        None
    }

    /// The inputs from a configuration whose every input is known.
    fn expand(config: &Self::Config) -> Result<Self::Inputs, Diagnostic>;

    /// The input attributes of inputs read back from a policy (after `terraform import`).
    fn flatten(inputs: &Self::Inputs) -> Self::Config;

    fn policy(inputs: &Self::Inputs, scope: &Scope) -> Policy;

    /// The inputs of a policy this provider wrote; `None` when it is not one.
    fn recover(policy: &ParsedPolicy) -> Option<Self::Inputs>;

    /// Checks of the inputs beyond their attribute validators; unknown values are skipped.
    fn validate(_config: &Self::Config) -> Diagnostics {
        Diagnostics::new()
    }
}

/// The description of every principal's `kms_key_arns`.
pub(crate) const KMS_KEY_ARNS: &str =
    "KMS keys of SSE-KMS buckets or CSE-KMS results: encrypt, decrypt, generate data keys.";

/// The validator of every principal's `kms_key_arns`.
pub(crate) fn validate_kms_key_arns(value: &Value) -> Result<(), String> {
    tfplugin::validators::each(names::kms_key_arn(KmsKey::KeyOnly))(value)
}

/// The default of a list input: empty.
pub(crate) fn empty_list() -> Value {
    Value::List(Vec::new())
}

// ---- reading inputs out of a configuration --------------------------------------------------

/// An optional location input; `attribute` names it in the error.
pub(crate) fn location(
    value: &Maybe<String>,
    attribute: &str,
) -> Result<Option<S3Url>, Diagnostic> {
    value
        .known()
        .map(|url| {
            S3Url::parse(url).map_err(|e| {
                Diagnostic::error(format!("Invalid value for {attribute}"), e)
                    .at_attribute(attribute)
            })
        })
        .transpose()
}

/// A required location input.
pub(crate) fn required_location(
    value: &Maybe<String>,
    attribute: &str,
) -> Result<S3Url, Diagnostic> {
    location(value, attribute)?.ok_or_else(|| {
        Diagnostic::error(
            format!("{attribute} is required"),
            format!("Set {attribute}."),
        )
        .at_attribute(attribute)
    })
}

/// A list of locations.
pub(crate) fn locations(
    value: &Maybe<Vec<String>>,
    attribute: &str,
) -> Result<Vec<S3Url>, Diagnostic> {
    list(value)
        .iter()
        .map(|url| {
            S3Url::parse(url).map_err(|e| {
                Diagnostic::error(format!("Invalid value for {attribute}"), e)
                    .at_attribute(attribute)
            })
        })
        .collect()
}

/// A list input; null reads as empty.
pub(crate) fn list(value: &Maybe<Vec<String>>) -> Vec<String> {
    value.known().cloned().unwrap_or_default()
}

/// An optional string input.
pub(crate) fn string(value: &Maybe<String>) -> Option<String> {
    value.known().cloned()
}

// ---- writing inputs into a configuration ----------------------------------------------------

pub(crate) fn url(location: &S3Url) -> Maybe<String> {
    Maybe::Known(location.url())
}

pub(crate) fn opt_url(location: &Option<S3Url>) -> Maybe<String> {
    Maybe::from_option(location.as_ref().map(S3Url::url))
}

pub(crate) fn urls(locations: &[S3Url]) -> Maybe<Vec<String>> {
    Maybe::Known(locations.iter().map(S3Url::url).collect())
}
