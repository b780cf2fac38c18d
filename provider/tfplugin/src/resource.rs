//! What a provider implements: a small required interface per resource and data source, with the
//! protocol's plan and apply rules done once by the framework (see `plan.rs`).

use std::sync::Arc;

use async_trait::async_trait;

use crate::diag::{AttributePath, Diagnostics};
use crate::schema::Schema;
use crate::value::Value;

/// A provider: its configuration schema, how configuration becomes a client `C` shared by every
/// resource, and the resources and data sources it offers.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    type Client: Send + Sync + 'static;

    /// The provider's type name, the prefix of its resources (`aws` for `aws_s3_bucket`); it also
    /// names the provider in the framework's messages.
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> Schema;

    /// Extra checks of the provider configuration beyond attribute validators.
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Turns configuration into a client. Must not call remote services: a plan of resources that
    /// need none must work offline.
    async fn configure(
        &self,
        config: &Value,
        stop: StopSignal,
    ) -> Result<Self::Client, Diagnostics>;

    fn resources(&self) -> Vec<Arc<dyn Resource<Self::Client>>>;

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<Self::Client>>> {
        Vec::new()
    }
}

/// What a plan looks like while a resource adjusts it (`Resource::plan`).
pub struct PlanChange<'a> {
    /// Null when the resource is being created.
    pub prior: &'a Value,
    pub config: &'a Value,
    /// Starts as Terraform's proposal with the framework's rules applied; the resource may set
    /// computed attributes (known values, or `Value::unknown()` for "known after apply").
    pub planned: Value,
    /// Attributes whose change forces replacement, beyond those marked `requires_replace`.
    pub requires_replace: Vec<AttributePath>,
}

impl PlanChange<'_> {
    pub fn is_create(&self) -> bool {
        self.prior.is_null()
    }

    /// True when the planned value of `attribute` differs from the prior state.
    pub fn changes(&self, attribute: &str) -> bool {
        self.prior.get(attribute) != self.planned.get(attribute)
    }

    /// True when any attribute differs from the prior state.
    pub fn changes_anything(&self) -> bool {
        self.prior != &self.planned
    }
}

/// A failed create or update. `partial_state` is what exists despite the failure, so Terraform
/// tracks it instead of orphaning it (e.g. a database created whose tags failed).
#[derive(Debug)]
pub struct ApplyError {
    pub diagnostics: Diagnostics,
    pub partial_state: Option<Value>,
}

impl From<Diagnostics> for ApplyError {
    fn from(diagnostics: Diagnostics) -> Self {
        ApplyError {
            diagnostics,
            partial_state: None,
        }
    }
}

impl From<crate::diag::Diagnostic> for ApplyError {
    fn from(d: crate::diag::Diagnostic) -> Self {
        ApplyError {
            diagnostics: d.into(),
            partial_state: None,
        }
    }
}

impl From<crate::value::ValueError> for ApplyError {
    fn from(e: crate::value::ValueError) -> Self {
        crate::diag::Diagnostic::from(e).into()
    }
}

impl ApplyError {
    pub fn with_partial_state(mut self, state: Value) -> Self {
        self.partial_state = Some(state);
        self
    }
}

/// A managed resource. Values are objects of the resource's schema type (`Value::get` reads an
/// attribute, `Value::set` writes one).
#[async_trait]
pub trait Resource<C>: Send + Sync {
    /// The resource type name, prefixed with the provider's (`aws_s3_bucket`).
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> Schema;

    /// Checks across attributes; attribute validators in the schema run first. Values may be
    /// unknown here: skip them.
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Adjusts a create or update plan (destroys are not shown here): compute attributes that are
    /// known at plan time, mark those an update will change as unknown, add replacement reasons.
    async fn plan(&self, _client: &C, _change: &mut PlanChange<'_>) -> Result<(), Diagnostics> {
        Ok(())
    }

    /// Creates the object. The result must keep every known planned value as planned.
    async fn create(&self, client: &C, planned: &Value) -> Result<Value, ApplyError>;

    /// Reads the object back; `Ok(None)` means it no longer exists (Terraform then plans a create).
    async fn read(&self, client: &C, state: &Value) -> Result<Option<Value>, Diagnostics>;

    async fn update(&self, client: &C, prior: &Value, planned: &Value)
    -> Result<Value, ApplyError>;

    async fn delete(&self, client: &C, state: &Value) -> Result<(), Diagnostics>;

    /// Turns an import id into a state that `read` can complete. Return an error with what an id
    /// looks like when `id` is malformed.
    async fn import(&self, client: &C, id: &str) -> Result<Value, Diagnostics>;

    /// Converts state stored under an older schema version (already decoded leniently against
    /// the current schema: removed attributes dropped, new ones null).
    fn upgrade_state(&self, _from_version: i64, state: Value) -> Result<Value, Diagnostics> {
        Ok(state)
    }
}

/// A data source: reads something at plan time.
#[async_trait]
pub trait DataSource<C>: Send + Sync {
    fn type_name(&self) -> &'static str;

    fn schema(&self) -> Schema;

    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Returns the configuration with its computed attributes filled in.
    async fn read(&self, client: &C, config: &Value) -> Result<Value, Diagnostics>;
}

/// Raised when Terraform asks the provider to stop (Ctrl-C in the terminal); long operations
/// should watch it and cancel what they started.
#[derive(Clone)]
pub struct StopSignal(tokio::sync::watch::Receiver<bool>);

impl StopSignal {
    pub fn new() -> (tokio::sync::watch::Sender<bool>, StopSignal) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        (tx, StopSignal(rx))
    }

    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }

    /// The underlying channel, for code that cannot depend on this crate (engines).
    pub fn receiver(&self) -> tokio::sync::watch::Receiver<bool> {
        self.0.clone()
    }

    /// Completes once a stop was requested.
    pub async fn stopped(&self) {
        let mut rx = self.0.clone();
        // An error means the sender is gone: the provider is exiting, which is a stop too.
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}
