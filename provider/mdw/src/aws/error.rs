//! AWS errors as diagnostics: what was being done ("creating Glue Database (sales)"), what AWS
//! answered, and what to try. Also the two answers that are not errors: "not found" on a read,
//! "already gone" on a delete.

use std::error::Error as StdError;
use std::fmt::Debug;

use aws_sdk_glue::error::{ProvideErrorMetadata, SdkError};
use tfplugin::Diagnostic;

/// A read where "it does not exist" (`is_missing`) is an answer, not an error: `Ok(None)`.
pub(crate) fn found<T, E, R>(
    result: Result<T, SdkError<E, R>>,
    is_missing: impl FnOnce(&E) -> bool,
    doing: &str,
) -> Result<Option<T>, Diagnostic>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    tfplugin::found(result, |e| e.as_service_error().is_some_and(is_missing))
        .map_err(|e| aws_error(doing, &e))
}

/// A removal where "it is gone already" (`is_gone`) counts as done: destroy must converge
/// whoever removed the thing first.
pub(crate) fn removed<T, E, R>(
    result: Result<T, SdkError<E, R>>,
    is_gone: impl FnOnce(&E) -> bool,
    doing: &str,
) -> Result<(), Diagnostic>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(err) => match err.as_service_error() {
            Some(e) if is_gone(e) => Ok(()),
            _ => Err(aws_error(doing, &err)),
        },
    }
}

/// An AWS call that failed, as a diagnostic: `doing` is the summary, the detail says what AWS
/// answered and what to try.
pub(crate) fn aws_error<E, R>(doing: &str, err: &SdkError<E, R>) -> Diagnostic
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
