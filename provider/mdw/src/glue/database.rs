//! `mdw_glue_database`: a Glue Data Catalog database (an Athena schema).

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_glue::types::{Database, DatabaseInput};
use tfplugin::{
    ApplyError, Attribute, Diagnostic, Diagnostics, PlanChange, Resource, Schema, Value, Written,
};

use crate::aws::{aws_error, found, names, removed};
use crate::client::Client;
use crate::tags::{self, Taggable, Tags};

pub(crate) struct GlueDatabase;

const TYPE_NAME: &str = "mdw_glue_database";

// ---- schema ---------------------------------------------------------------------------------

fn schema() -> Schema {
    Schema::new(
        "A Glue Data Catalog database, which Athena shows as a schema. Never adopts an existing \
         database: import it instead.",
        [
            Attribute::string("name")
                .required()
                .requires_replace()
                .describe("Lower-case letters, digits and `_`, 1–255 characters (Athena reads no others).")
                .validate(names::glue_database_name),
            Attribute::string("description").describe("What the database holds; shown by Glue and Athena."),
            Attribute::string("location_uri").describe("Default location of the database's tables, e.g. `s3://mdw-warehouse/mdw/`."),
            Attribute::string_map("parameters").describe("Glue database parameters (key-value metadata)."),
            Attribute::bool("force_destroy")
                .default(false)
                .describe("Delete the database even when it still has tables (Glue deletes them with it)."),
            Attribute::string("arn").computed().describe("The database's ARN."),
            Attribute::string("catalog_id").computed().describe("The AWS account id owning the catalog."),
        ]
        .into_iter()
        .chain(tags::attributes())
        .collect(),
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
fn expand_input(planned: &Value, current: Option<&Database>) -> Result<DatabaseInput, Diagnostic> {
    let parameters: HashMap<String, String> =
        planned.get("parameters").string_map().into_iter().collect();
    DatabaseInput::builder()
        .name(planned.get("name").as_str().unwrap_or_default())
        .set_description(planned.get("description").as_str().map(str::to_string))
        .set_location_uri(planned.get("location_uri").as_str().map(str::to_string))
        .set_parameters(if parameters.is_empty() {
            None
        } else {
            Some(parameters)
        })
        .set_create_table_default_permissions(
            current.and_then(|d| d.create_table_default_permissions.clone()),
        )
        .set_target_database(current.and_then(|d| d.target_database.clone()))
        .set_federated_database(current.and_then(|d| d.federated_database.clone()))
        .build()
        .map_err(|e| Diagnostic::error("building a Glue DatabaseInput", e.to_string()))
}

/// State from what Glue returned; attributes Glue does not hold come from `prior`.
fn flatten(client: &Client, db: &Database, remote_tags: &Tags, prior: &Value) -> Value {
    let catalog_id = db.catalog_id.clone().unwrap_or_default();
    let parameters: BTreeMap<String, String> = db
        .parameters
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut state = prior.clone();
    state.set("name", db.name.as_str());
    state.set("description", Value::opt_string(db.description.clone()));
    state.set("location_uri", Value::opt_string(db.location_uri.clone()));
    state.set(
        "parameters",
        if parameters.is_empty() && prior.get("parameters").is_null() {
            Value::Null
        } else {
            Value::from(parameters)
        },
    );
    tags::flatten(&mut state, remote_tags, prior, &client.default_tags);
    state.set(
        "force_destroy",
        prior.get("force_destroy").as_bool().unwrap_or(false),
    );
    state.set("arn", arn(client, &catalog_id, &db.name));
    state.set("catalog_id", catalog_id);
    state
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

    async fn create(&self, client: &Client, planned: &Value) -> Result<Value, ApplyError> {
        let name = planned.get("name").as_str().unwrap_or_default().to_string();
        let tags_all = planned.get("tags_all").string_map();
        let result = client
            .aws
            .glue()
            .create_database()
            .database_input(expand_input(planned, None)?)
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
        let created = self.read(client, planned).await;
        tfplugin::read_back(
            created,
            &format!("Glue Database ({name})"),
            Written::Created,
            planned,
        )
    }

    async fn read(&self, client: &Client, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let name = state.get("name").as_str().unwrap_or_default();
        let Some(db) = find_database(client, name).await? else {
            return Ok(None);
        };
        let catalog_id = db.catalog_id.clone().unwrap_or_default();
        let remote_tags = find_tags(client, &arn(client, &catalog_id, name), name).await?;
        Ok(Some(flatten(client, &db, &remote_tags, state)))
    }

    async fn update(
        &self,
        client: &Client,
        prior: &Value,
        planned: &Value,
    ) -> Result<Value, ApplyError> {
        let name = planned.get("name").as_str().unwrap_or_default();
        let glue = client.aws.glue();
        let definition_changed = ["description", "location_uri", "parameters"]
            .iter()
            .any(|a| prior.get(a) != planned.get(a));
        if definition_changed {
            let current = find_database(client, name).await?;
            glue.update_database()
                .name(name)
                .database_input(expand_input(planned, current.as_ref())?)
                .send()
                .await
                .map_err(|e| aws_error(&format!("updating Glue Database ({name})"), &e))?;
        }
        let arn = prior.get("arn").as_str().unwrap_or_default();
        tags::update_tags(&DatabaseTags { client, arn, name }, prior, planned).await?;
        let updated = self.read(client, planned).await;
        tfplugin::read_back(
            updated,
            &format!("Glue Database ({name})"),
            Written::Updated,
            planned,
        )
    }

    async fn delete(&self, client: &Client, state: &Value) -> Result<(), Diagnostics> {
        let name = state.get("name").as_str().unwrap_or_default();
        let glue = client.aws.glue();
        if !state.get("force_destroy").as_bool().unwrap_or(false) {
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
        tfplugin::import_by_attribute(
            TYPE_NAME,
            id,
            "name",
            "the database name",
            names::glue_database_name,
            [("force_destroy", Value::from(false))],
        )
    }
}
