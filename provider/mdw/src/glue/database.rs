//! `mdw_glue_database`: a Glue Data Catalog database (an Athena schema).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_glue::types::{Database, DatabaseInput};
use tfplugin::{
    ApplyError, Diagnostic, Diagnostics, Maybe, Model, PlanChange, Resource, Schema, Value,
    Written, from_value, to_value,
};

use crate::aws::s3_location::validate_s3_location;
use crate::aws::{aws_error, found, names, removed};
use crate::client::Client;
use crate::tags::{self, Taggable, Tags};

pub(crate) struct GlueDatabase;

const TYPE_NAME: &str = "mdw_glue_database";

// ---- schema ---------------------------------------------------------------------------------

tfplugin::model! {
    /// The attributes of `mdw_glue_database`.
    pub(crate) struct DatabaseModel {
        /// Lower-case letters, digits and `_`, 1–255 characters (Athena reads no others).
        #[tf(required, requires_replace, validate = names::glue_database_name)]
        pub(crate) name: String,
        /// What the database holds; shown by Glue and Athena.
        #[tf()]
        pub(crate) description: Option<String>,
        /// Default location of the database's tables, e.g. `s3://mdw-warehouse/mdw/`.
        #[tf(validate = validate_s3_location)]
        pub(crate) location_uri: Option<String>,
        /// Key/value parameters stored on the database.
        #[tf()]
        pub(crate) parameters: Option<Tags>,
        /// Glue deletes a database's tables with it. Unless this is `true`, destroying a database
        /// that still has tables fails and names them.
        #[tf(default = false)]
        pub(crate) force_destroy: Maybe<bool>,
        /// `arn:aws:glue:REGION:ACCOUNT:database/NAME`.
        #[tf(computed)]
        pub(crate) arn: Maybe<String>,
        /// The AWS account id owning the catalog.
        #[tf(computed)]
        pub(crate) catalog_id: Maybe<String>,
        #[tf(describe = tags::TAGS, validate = tags::validate_tags)]
        pub(crate) tags: Option<Tags>,
        #[tf(computed, describe = tags::TAGS_ALL)]
        pub(crate) tags_all: Maybe<Tags>,
    }
}

fn schema() -> Schema {
    Schema::new(
        "A Glue Data Catalog database, which Athena shows as a schema. Never adopts an existing \
         database: import it instead.",
        DatabaseModel::attributes(),
    )
}

// ---- find -----------------------------------------------------------------------------------

/// The database, or `None` when it does not exist.
async fn find_database(client: &Client, name: &str) -> Result<Option<Database>, Diagnostic> {
    let result = client.aws.glue().get_database().name(name).send().await;
    let out = found(
        result,
        |e| e.is_entity_not_found_exception(),
        &format!("reading Glue Database ({name})"),
    )?;
    Ok(out.and_then(|out| out.database))
}

async fn find_tags(client: &Client, arn: &str, name: &str) -> Result<Tags, Diagnostic> {
    let out = client
        .aws
        .glue()
        .get_tags()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| aws_error(&format!("reading tags of Glue Database ({name})"), &e))?;
    Ok(out.tags.unwrap_or_default().into_iter().collect())
}

// ---- expand / flatten -----------------------------------------------------------------------

fn arn(client: &Client, catalog_id: &str, name: &str) -> String {
    format!(
        "arn:{}:glue:{}:{catalog_id}:database/{name}",
        client.partition(),
        client.region()
    )
}

/// The database's tags, changed key by key.
struct DatabaseTags<'a> {
    client: &'a Client,
    arn: &'a str,
    name: &'a str,
}

#[async_trait]
impl Taggable for DatabaseTags<'_> {
    async fn tag(&self, tags: &Tags) -> Result<(), Diagnostic> {
        let name = self.name;
        self.client
            .aws
            .glue()
            .tag_resource()
            .resource_arn(self.arn)
            .set_tags_to_add(Some(tags.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| aws_error(&format!("tagging Glue Database ({name})"), &e))?;
        Ok(())
    }

    async fn untag(&self, keys: Vec<String>) -> Result<(), Diagnostic> {
        let name = self.name;
        self.client
            .aws
            .glue()
            .untag_resource()
            .resource_arn(self.arn)
            .set_tags_to_remove(Some(keys))
            .send()
            .await
            .map_err(|e| aws_error(&format!("removing tags of Glue Database ({name})"), &e))?;
        Ok(())
    }
}

/// The API input for the planned values; `current` carries over what Terraform does not manage
/// (Lake Formation default permissions, federation) so an update does not reset it.
fn expand_input(
    planned: &DatabaseModel,
    current: Option<&Database>,
) -> Result<DatabaseInput, Diagnostic> {
    let parameters: HashMap<String, String> = planned
        .parameters
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    DatabaseInput::builder()
        .name(&planned.name)
        .set_description(planned.description.clone())
        .set_location_uri(planned.location_uri.clone())
        .set_parameters((!parameters.is_empty()).then_some(parameters))
        .set_create_table_default_permissions(
            current.and_then(|d| d.create_table_default_permissions.clone()),
        )
        .set_target_database(current.and_then(|d| d.target_database.clone()))
        .set_federated_database(current.and_then(|d| d.federated_database.clone()))
        .build()
        .map_err(|e| Diagnostic::error("building a Glue DatabaseInput", e.to_string()))
}

/// State from what Glue returned; attributes Glue does not hold come from `prior`.
fn flatten(
    client: &Client,
    db: &Database,
    remote_tags: &Tags,
    prior: &DatabaseModel,
) -> DatabaseModel {
    let catalog_id = db.catalog_id.clone().unwrap_or_default();
    let parameters: Tags = db
        .parameters
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    DatabaseModel {
        name: db.name.clone(),
        description: db.description.clone(),
        location_uri: db.location_uri.clone(),
        parameters: (!parameters.is_empty() || prior.parameters.is_some()).then_some(parameters),
        force_destroy: Maybe::Known(prior.force_destroy.known().copied().unwrap_or(false)),
        arn: Maybe::Known(arn(client, &catalog_id, &db.name)),
        catalog_id: Maybe::Known(catalog_id),
        tags: tags::own_tags(remote_tags, prior.tags.as_ref(), &client.default_tags),
        tags_all: Maybe::Known(remote_tags.clone()),
    }
}

// ---- create / read / update / delete / import -----------------------------------------------

#[async_trait]
impl Resource<Client> for GlueDatabase {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn plan(&self, client: &Client, change: &mut PlanChange<'_>) -> Result<(), Diagnostics> {
        tags::plan_tags_all(&client.default_tags, change);
        Ok(())
    }

    async fn create(&self, client: &Client, planned_value: &Value) -> Result<Value, ApplyError> {
        let planned: DatabaseModel = from_value(planned_value)?;
        let name = &planned.name;
        let tags_all = planned.tags_all.known().cloned().unwrap_or_default();
        let result = client
            .aws
            .glue()
            .create_database()
            .database_input(expand_input(&planned, None)?)
            .set_tags(if tags_all.is_empty() {
                None
            } else {
                Some(tags_all.into_iter().collect())
            })
            .send()
            .await;
        if let Err(e) = result {
            if e.as_service_error()
                .is_some_and(|se| se.is_already_exists_exception())
            {
                return Err(Diagnostic::error(
                    format!("Glue Database ({name}) already exists"),
                    format!(
                        "mdw does not take over existing databases silently. To manage it with Terraform, import it:\n  \
                         terraform import {TYPE_NAME}.<resource name> {name}\nor choose another name."
                    ),
                )
                .at_attribute("name")
                .into());
            }
            return Err(aws_error(&format!("creating Glue Database ({name})"), &e).into());
        }
        // The database exists from here on: anything failing below must not orphan it.
        let created = self.read(client, planned_value).await;
        tfplugin::read_back(
            created,
            &format!("Glue Database ({name})"),
            Written::Created,
            planned_value,
        )
    }

    async fn read(&self, client: &Client, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let state: DatabaseModel = from_value(state)?;
        let name = &state.name;
        let Some(db) = find_database(client, name).await? else {
            return Ok(None);
        };
        let catalog_id = db.catalog_id.clone().unwrap_or_default();
        let remote_tags = find_tags(client, &arn(client, &catalog_id, name), name).await?;
        Ok(Some(to_value(&flatten(client, &db, &remote_tags, &state))?))
    }

    async fn update(
        &self,
        client: &Client,
        prior_value: &Value,
        planned_value: &Value,
    ) -> Result<Value, ApplyError> {
        let prior: DatabaseModel = from_value(prior_value)?;
        let planned: DatabaseModel = from_value(planned_value)?;
        let name = planned.name.as_str();
        let glue = client.aws.glue();
        let definition_changed = prior.description != planned.description
            || prior.location_uri != planned.location_uri
            || prior.parameters != planned.parameters;
        if definition_changed {
            let current = find_database(client, name).await?;
            glue.update_database()
                .name(name)
                .database_input(expand_input(&planned, current.as_ref())?)
                .send()
                .await
                .map_err(|e| aws_error(&format!("updating Glue Database ({name})"), &e))?;
        }
        let arn = prior.arn.known().map_or("", String::as_str);
        let target = DatabaseTags { client, arn, name };
        tags::update(&target, &prior.tags_all, &planned.tags_all).await?;
        let updated = self.read(client, planned_value).await;
        tfplugin::read_back(
            updated,
            &format!("Glue Database ({name})"),
            Written::Updated,
            planned_value,
        )
    }

    async fn delete(&self, client: &Client, state: &Value) -> Result<(), Diagnostics> {
        let state: DatabaseModel = from_value(state)?;
        let name = state.name.as_str();
        let glue = client.aws.glue();
        if state.force_destroy != Maybe::Known(true) {
            let tables = glue
                .get_tables()
                .database_name(name)
                .max_results(5)
                .send()
                .await;
            match tables {
                Ok(out) if !out.table_list().is_empty() => {
                    let names: Vec<&str> = out.table_list().iter().map(|t| t.name()).collect();
                    return Err(Diagnostic::error(
                        format!("Glue Database ({name}) still has tables"),
                        format!(
                            "Deleting the database would delete its tables too ({}{}). Remove them first, \
                             or set force_destroy = true and apply before destroying.",
                            names.join(", "),
                            if out.next_token.is_some() { ", …" } else { "" }
                        ),
                    )
                    .into());
                }
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|se| se.is_entity_not_found_exception()) =>
                {
                    return Ok(());
                }
                Err(e) => {
                    return Err(aws_error(
                        &format!("listing tables of Glue Database ({name})"),
                        &e,
                    )
                    .into());
                }
            }
        }
        let result = glue.delete_database().name(name).send().await;
        removed(
            result,
            |e| e.is_entity_not_found_exception(),
            &format!("deleting Glue Database ({name})"),
        )?;
        Ok(())
    }

    async fn import(&self, _client: &Client, id: &str) -> Result<Value, Diagnostics> {
        tfplugin::check_import_id(
            TYPE_NAME,
            id,
            "the database name",
            names::glue_database_name,
        )?;
        let state = DatabaseModel {
            name: id.to_string(),
            force_destroy: Maybe::Known(false),
            ..DatabaseModel::default()
        };
        Ok(to_value(&state)?)
    }
}
