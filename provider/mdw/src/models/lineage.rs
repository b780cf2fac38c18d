//! `mdw_lineage`: the identity of one Terraform root among everything that writes to a
//! warehouse. Its `id` is made once, at create, and kept in the root's state; models and seeds
//! that name it (`lineage = mdw_lineage.this.id`, as mdwc writes them) mark their tables and
//! views with an owner id derived from it. Another root — another state, another lineage — is
//! then refused instead of silently replacing them, while this root's own retried creates
//! recognise what an interrupted apply already built.

use async_trait::async_trait;
use tfplugin::{
    ApplyError, Diagnostic, Diagnostics, Maybe, Model, Resource, Schema, Value, from_value,
    to_value,
};

use crate::client::Client;

pub(crate) struct Lineage;

const TYPE_NAME: &str = "mdw_lineage";

tfplugin::model! {
    /// The attributes of `mdw_lineage`.
    pub(crate) struct LineageModel {
        /// What this root is, for people.
        #[tf()]
        pub(crate) description: Option<String>,
        /// A random id made at create and kept in state.
        #[tf(computed)]
        pub(crate) id: Maybe<String>,
    }
}

fn schema() -> Schema {
    Schema::new(
        "The identity of this Terraform root for the relations its models and seeds own. \
         Create one per root and pass its id to every model and seed (mdwc does this).",
        LineageModel::attributes(),
    )
}

#[async_trait]
impl Resource<Client> for Lineage {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn create(&self, _client: &Client, planned: &Value) -> Result<Value, ApplyError> {
        let mut state: LineageModel = from_value(planned)?;
        state.id = Maybe::Known(uuid::Uuid::new_v4().to_string());
        Ok(to_value(&state)?)
    }

    async fn read(&self, _client: &Client, state: &Value) -> Result<Option<Value>, Diagnostics> {
        // Nothing outside the state: it exists as long as the state says so.
        Ok(Some(state.clone()))
    }

    async fn update(
        &self,
        _client: &Client,
        _prior: &Value,
        planned: &Value,
    ) -> Result<Value, ApplyError> {
        Ok(planned.clone())
    }

    async fn delete(&self, _client: &Client, _state: &Value) -> Result<(), Diagnostics> {
        Ok(())
    }

    /// Importing an id moves a root's identity into another state (a moved root keeps owning
    /// what it built).
    async fn import(&self, _client: &Client, id: &str) -> Result<Value, Diagnostics> {
        if id.trim().is_empty() || id.contains('/') {
            return Err(Diagnostic::error(
                format!("Invalid import id {id:?}"),
                format!("The import id of {TYPE_NAME} is the lineage id itself, e.g. the value of mdw_lineage.this.id in the old state."),
            )
            .into());
        }
        Ok(to_value(&LineageModel {
            description: None,
            id: Maybe::Known(id.to_string()),
        })?)
    }
}
