//! What distinguishes one IAM role resource from another: the principal it is for. A principal
//! names its resource type, declares the inputs its policy is computed from (schema and typed
//! inputs), computes the policy, and reads the inputs back from a policy it wrote. The role's
//! lifecycle (`role.rs`) is written once for all of them.

use std::fmt::Debug;

use tfplugin::{Attribute, Diagnostic, Diagnostics, Value};

use crate::aws::names::{self, KmsKey};
use crate::aws::s3_location::S3Url;
use crate::iam::policy::{ParsedPolicy, Policy, Scope, Trust};

pub(crate) trait Principal: Send + Sync + 'static {
    /// The typed inputs of the inline policy.
    type Inputs: Debug + Clone + PartialEq + Send + Sync;

    /// `mdw_dbt_runner_role`.
    const TYPE_NAME: &'static str;
    const DESCRIPTION: &'static str;
    /// Whether the role also gets an instance profile named like it (for EC2).
    const INSTANCE_PROFILE: bool = false;

    /// The attributes the inline policy is computed from, in schema order.
    fn input_attributes() -> Vec<Attribute>;

    /// Who may assume the role when the configuration does not say (`None`: the configuration
    /// names trusted principals and services).
    fn fixed_trust(_partition: &str) -> Option<Trust> {
        None
    }

    /// The inputs from values where every input attribute is known.
    fn expand(values: &Value) -> Result<Self::Inputs, Diagnostic>;

    /// Writes inputs read back from a policy into state (after `terraform import`).
    fn flatten(inputs: &Self::Inputs, state: &mut Value);

    fn policy(inputs: &Self::Inputs, scope: &Scope) -> Policy;

    /// The inputs of a policy this provider wrote; `None` when it is not one.
    fn recover(policy: &ParsedPolicy) -> Option<Self::Inputs>;

    /// Checks of the inputs beyond their attribute validators.
    fn validate(_config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
}

/// The KMS keys a principal may use; every principal takes them.
pub(crate) fn kms_key_arns() -> Attribute {
    string_list("kms_key_arns")
        .describe(
            "KMS keys of SSE-KMS buckets or CSE-KMS results: encrypt, decrypt, generate data keys.",
        )
        .validate(tfplugin::validators::each(names::kms_key_arn(
            KmsKey::KeyOnly,
        )))
}

/// A list attribute defaulting to empty.
pub(crate) fn string_list(name: &str) -> Attribute {
    Attribute::string_list(name).default(Value::List(Vec::new()))
}

// ---- reading inputs out of values -----------------------------------------------------------

/// An optional location attribute.
pub(crate) fn location(values: &Value, attribute: &str) -> Result<Option<S3Url>, Diagnostic> {
    values
        .get(attribute)
        .as_str()
        .map(|url| {
            S3Url::parse(url).map_err(|e| {
                Diagnostic::error(format!("Invalid value for {attribute}"), e)
                    .at_attribute(attribute)
            })
        })
        .transpose()
}

/// A required location attribute.
pub(crate) fn required_location(values: &Value, attribute: &str) -> Result<S3Url, Diagnostic> {
    location(values, attribute)?.ok_or_else(|| {
        Diagnostic::error(
            format!("{attribute} is required"),
            format!("Set {attribute}."),
        )
        .at_attribute(attribute)
    })
}

/// A list of locations.
pub(crate) fn locations(values: &Value, attribute: &str) -> Result<Vec<S3Url>, Diagnostic> {
    values
        .get(attribute)
        .string_list()
        .iter()
        .map(|url| {
            S3Url::parse(url).map_err(|e| {
                Diagnostic::error(format!("Invalid value for {attribute}"), e)
                    .at_attribute(attribute)
            })
        })
        .collect()
}

pub(crate) fn opt_string(values: &Value, attribute: &str) -> Option<String> {
    values.get(attribute).as_str().map(str::to_string)
}

// ---- writing inputs into state --------------------------------------------------------------

pub(crate) fn url(location: &S3Url) -> Value {
    Value::from(location.url())
}

pub(crate) fn opt_url(location: &Option<S3Url>) -> Value {
    location.as_ref().map_or(Value::Null, url)
}

pub(crate) fn urls(locations: &[S3Url]) -> Value {
    Value::List(locations.iter().map(url).collect())
}
