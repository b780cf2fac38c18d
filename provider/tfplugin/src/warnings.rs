//! Warnings raised while an operation succeeds: Terraform shows them with the result of the
//! apply (a data test with `severity: warn` found rows, a build left files it could not delete).
//! A resource calls [`warn`] anywhere below its `create`/`update`; the framework collects what
//! the operation's task raised and sends it with the response.

use std::cell::RefCell;
use std::future::Future;

use crate::diag::{Diagnostic, Diagnostics};

tokio::task_local! {
    static WARNINGS: RefCell<Diagnostics>;
}

/// Adds a warning to the response of the operation running on this task; outside one (a
/// background task) it is only logged.
pub fn warn(diagnostic: Diagnostic) {
    let logged = format!("{}: {}", diagnostic.summary, diagnostic.detail);
    if WARNINGS
        .try_with(|warnings| warnings.borrow_mut().push(diagnostic))
        .is_err()
    {
        tracing::warn!("{logged}");
    }
}

/// Runs `operation`, returning its output and the warnings it raised.
pub(crate) async fn collecting<F: Future>(operation: F) -> (F::Output, Diagnostics) {
    WARNINGS
        .scope(RefCell::new(Diagnostics::new()), async {
            let output = operation.await;
            let warnings = WARNINGS.with(|warnings| warnings.take());
            (output, warnings)
        })
        .await
}
