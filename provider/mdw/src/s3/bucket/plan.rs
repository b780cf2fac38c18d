//! Planning the computed attributes of a hardened bucket, and checking its KMS key at plan time.

use aws_sdk_s3::error::ProvideErrorMetadata;
use tfplugin::{Diagnostic, PlanChange, Value};

use super::schema::Hardening;
use super::{OBJECT_OWNERSHIP, SSE_KMS, SSE_S3};
use crate::aws::aws_error;
use crate::client::Client;

// ---- plan -----------------------------------------------------------------------------------

/// Plans the computed attributes every hardened bucket has, for bucket `name` (`None` while
/// unknown). `policy` is the planned bucket policy (`Err(())` while it depends on unknown
/// values).
pub(crate) async fn plan_bucket(
    client: &Client,
    change: &mut PlanChange<'_>,
    name: Option<&str>,
    policy: Result<Option<String>, ()>,
) -> Result<(), Diagnostic> {
    let partition = client.partition();
    let planned = &mut change.planned;
    planned.set(
        Hardening::arn,
        name.map_or(Value::unknown(), |n| {
            Value::from(format!("arn:{partition}:s3:::{n}"))
        }),
    );
    planned.set(Hardening::region, client.region());
    planned.set(Hardening::block_public_access, true);
    planned.set(Hardening::object_ownership, OBJECT_OWNERSHIP);
    let kms = planned.get(Hardening::kms_key_arn).clone();
    planned.set(
        Hardening::sse_algorithm,
        match &kms {
            Value::Null => Value::from(SSE_S3),
            _ => Value::from(SSE_KMS),
        },
    );
    planned.set(
        Hardening::policy,
        match policy {
            Ok(policy) => Value::opt_string(policy),
            Err(()) => Value::unknown(),
        },
    );
    if let Some(arn) = kms.as_str()
        && (change.is_create() || change.prior.get(Hardening::kms_key_arn) != &kms)
    {
        check_kms_key(client, arn).await?;
    }
    Ok(())
}

/// A key S3 can encrypt with: it exists, is enabled and symmetric. Without permission to
/// describe it, the check is skipped (S3 reports a bad key at the first upload instead).
pub(crate) async fn check_kms_key(client: &Client, arn: &str) -> Result<(), Diagnostic> {
    let out = match client.aws.kms().describe_key().key_id(arn).send().await {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_not_found_exception()) =>
        {
            return Err(Diagnostic::error(
                format!("KMS key ({arn}) not found"),
                format!(
                    "No KMS key {arn} exists in region {} of this account. Create it first (or fix the ARN), \
                     or remove kms_key_arn to encrypt with SSE-S3.",
                    client.aws.region
                ),
            )
            .at_attribute("kms_key_arn"));
        }
        Err(e) if e.code().is_some_and(|c| c.contains("AccessDenied")) => {
            tracing::warn!("cannot describe KMS key {arn}: {e}; skipping the plan-time check");
            return Ok(());
        }
        Err(e) => {
            return Err(
                aws_error(&format!("describing KMS key ({arn})"), &e).at_attribute("kms_key_arn")
            );
        }
    };
    let Some(key) = out.key_metadata else {
        return Ok(());
    };
    use aws_sdk_kms::types::{KeySpec, KeyState};
    if let Some(state) = key.key_state().filter(|s| **s != KeyState::Enabled) {
        return Err(Diagnostic::error(
            format!("KMS key ({arn}) is {}", state.as_str()),
            "S3 can only encrypt with an enabled key: enable it (or cancel its deletion), or use another key.",
        )
        .at_attribute("kms_key_arn"));
    }
    if let Some(spec) = key.key_spec().filter(|s| **s != KeySpec::SymmetricDefault) {
        return Err(Diagnostic::error(
            format!("KMS key ({arn}) is not a symmetric encryption key"),
            format!(
                "Its key spec is {}; S3 default encryption needs SYMMETRIC_DEFAULT.",
                spec.as_str()
            ),
        )
        .at_attribute("kms_key_arn"));
    }
    Ok(())
}
