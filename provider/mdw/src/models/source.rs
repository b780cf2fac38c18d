//! `data "mdw_source"`: a dbt source table, checked at plan time. dbt finds out at run time that
//! a source is missing; here the plan fails, naming the table and what to check.

use async_trait::async_trait;
use tfplugin::{
    DataSource, Diagnostic, Diagnostics, Maybe, Model, Schema, Value, from_value, to_value,
};

use crate::client::Client;
use crate::engines::engine_error;
use crate::models::columns::{Column, columns};
use crate::models::validators::validate_identifier;

pub(crate) struct Source;

tfplugin::model! {
    /// The attributes of `data "mdw_source"`.
    pub(crate) struct SourceModel {
        /// The source's schema (Glue database).
        #[tf(required, validate = validate_identifier)]
        pub(crate) database: String,
        /// The table (dbt `identifier`, else the table's name).
        #[tf(required)]
        pub(crate) name: String,
        /// The table's columns: name, type, comment.
        #[tf(computed)]
        pub(crate) columns: Maybe<Vec<Column>>,
        /// Current snapshot: new data changes it, which rebuilds the models that list the source
        /// in `upstream`.
        #[tf(computed)]
        pub(crate) snapshot_id: Maybe<String>,
        /// Where the table's data lives.
        #[tf(computed)]
        pub(crate) location: Maybe<String>,
    }
}

#[async_trait]
impl DataSource<Client> for Source {
    fn type_name(&self) -> &'static str {
        "mdw_source"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "A source table that models read; the plan fails when it does not exist.",
            SourceModel::attributes(),
        )
    }

    async fn read(&self, client: &Client, config: &Value) -> Result<Value, Diagnostics> {
        let config: SourceModel = from_value(config)?;
        let (database, name) = (&config.database, &config.name);
        let engine = client.engines.get().await?;
        let relation = format!("\"{}\".\"{database}\".\"{name}\"", client.engines.catalog());
        let info = engine
            .describe(database, name)
            .await
            .map_err(|e| engine_error(&format!("reading source {relation}"), &e))?;
        let Some(info) = info else {
            return Err(Diagnostic::error(
                format!("Source table {relation} does not exist"),
                "Models read it, so they cannot be built. Check the source's schema and identifier in the \
                 dbt project's sources yml, that the loader (e.g. Airbyte) has run, or load it with mdw_seed.",
            )
            .at_attribute(SourceModel::name)
            .into());
        };
        let state = SourceModel {
            columns: Maybe::Known(columns(&info.columns)),
            snapshot_id: Maybe::from_option(info.snapshot_id.map(|s| s.to_string())),
            location: Maybe::from_option(info.location),
            ..config
        };
        Ok(to_value(&state)?)
    }
}
