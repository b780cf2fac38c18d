//! The optional DynamoDB lock table of a state backend: created as Terraform's S3 backend
//! expects it (hash key `LockID`), on demand, encrypted, with point-in-time recovery.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    PointInTimeRecoveryStatus, ScalarAttributeType, SseSpecification, SseType, TableDescription,
    TableStatus, Tag,
};
use tfplugin::{Diagnostic, Maybe};

use super::{LOCK_KEY, StateBackendModel, TYPE_NAME};
use crate::aws::{aws_error, found};
use crate::client::Client;
use crate::tags::{self, Taggable, Tags};

// ---- find -----------------------------------------------------------------------------------

/// The lock table, or `None` when it does not exist.
pub(super) async fn find_table(
    client: &Client,
    name: &str,
) -> Result<Option<TableDescription>, Diagnostic> {
    let result = client
        .aws
        .dynamodb()
        .describe_table()
        .table_name(name)
        .send()
        .await;
    let out = found(
        result,
        |e| e.is_resource_not_found_exception(),
        &format!("reading DynamoDB Table ({name})"),
    )?;
    Ok(out.and_then(|out| out.table))
}

pub(super) async fn find_point_in_time_recovery(
    client: &Client,
    name: &str,
) -> Result<bool, Diagnostic> {
    let out = client
        .aws
        .dynamodb()
        .describe_continuous_backups()
        .table_name(name)
        .send()
        .await
        .map_err(|e| {
            aws_error(
                &format!("reading point-in-time recovery of DynamoDB Table ({name})"),
                &e,
            )
        })?;
    Ok(out
        .continuous_backups_description
        .and_then(|d| d.point_in_time_recovery_description)
        .and_then(|p| p.point_in_time_recovery_status)
        .is_some_and(|s| s == PointInTimeRecoveryStatus::Enabled))
}

// ---- lock table -----------------------------------------------------------------------------

pub(super) fn table_already_exists(table: &str) -> Diagnostic {
    Diagnostic::error(
        format!("DynamoDB Table ({table}) already exists"),
        format!(
            "mdw does not take over existing tables silently. If it is the lock table of this state \
             bucket, import both:\n  terraform import {TYPE_NAME}.<resource name> <bucket>,{table}\n\
             If it is left over from a deleted state backend (it only holds locks), delete it; or \
             choose another lock_table name."
        ),
    )
    .at_attribute("lock_table")
}

fn sse_specification(kms_key_arn: Option<&str>) -> SseSpecification {
    // Enabled without a key: the AWS managed key `aws/dynamodb` (auditable in CloudTrail).
    SseSpecification::builder()
        .enabled(true)
        .sse_type(SseType::Kms)
        .set_kms_master_key_id(kms_key_arn.map(str::to_string))
        .build()
}

fn dynamodb_tags(tags: &Tags) -> Result<Vec<Tag>, Diagnostic> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<_, _>>()
        .map_err(|e| Diagnostic::error("building DynamoDB tags", e.to_string()))
}

/// Creates the lock table as Terraform's S3 backend expects it (hash key `LockID`, a string),
/// on demand, encrypted, with point-in-time recovery once it is active.
pub(super) async fn create_lock_table(
    client: &Client,
    table: &str,
    planned: &StateBackendModel,
) -> Result<(), Diagnostic> {
    let dynamodb = client.aws.dynamodb();
    let doing = format!("creating DynamoDB Table ({table})");
    let build =
        |e: aws_sdk_dynamodb::error::BuildError| Diagnostic::error(doing.clone(), e.to_string());
    let tags = dynamodb_tags(
        &planned
            .hardening
            .tags_all
            .known()
            .cloned()
            .unwrap_or_default(),
    )?;
    let result = dynamodb
        .create_table()
        .table_name(table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(LOCK_KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build)?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(LOCK_KEY)
                .key_type(KeyType::Hash)
                .build()
                .map_err(build)?,
        )
        .billing_mode(BillingMode::PayPerRequest)
        .sse_specification(sse_specification(planned.hardening.kms_key_arn.as_deref()))
        .set_tags(if tags.is_empty() { None } else { Some(tags) })
        .send()
        .await;
    if let Err(e) = result {
        if e.as_service_error()
            .is_some_and(|se| se.is_resource_in_use_exception())
        {
            return Err(table_already_exists(table));
        }
        return Err(aws_error(&doing, &e).at_attribute("lock_table"));
    }
    wait_until_active(client, table).await?;
    enable_point_in_time_recovery(client, table).await
}

/// Backoff while a new table is being created (seconds on AWS, instant on emulators).
const TABLE_WAIT_MS: &[u64] = &[
    250, 500, 1000, 2000, 4000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000,
    5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000,
];

async fn wait_until_active(client: &Client, table: &str) -> Result<(), Diagnostic> {
    for ms in TABLE_WAIT_MS {
        let status = find_table(client, table)
            .await?
            .and_then(|t| t.table_status);
        if status == Some(TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(*ms)).await;
    }
    Err(Diagnostic::error(
        format!("DynamoDB Table ({table}) did not become active"),
        "It is still being created after two minutes; run terraform apply again to finish.",
    ))
}

async fn enable_point_in_time_recovery(client: &Client, table: &str) -> Result<(), Diagnostic> {
    let specification = PointInTimeRecoverySpecification::builder()
        .point_in_time_recovery_enabled(true)
        .build()
        .map_err(|e| {
            Diagnostic::error("building a point-in-time recovery setting", e.to_string())
        })?;
    let mut delays = TABLE_WAIT_MS.iter();
    loop {
        let result = client
            .aws
            .dynamodb()
            .update_continuous_backups()
            .table_name(table)
            .point_in_time_recovery_specification(specification.clone())
            .send()
            .await;
        match result {
            Ok(_) => return Ok(()),
            // Continuous backups become available a little after the table is active.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_continuous_backups_unavailable_exception()) =>
            {
                match delays.next() {
                    Some(ms) => tokio::time::sleep(Duration::from_millis(*ms)).await,
                    None => {
                        return Err(aws_error(
                            &format!("enabling point-in-time recovery of DynamoDB Table ({table})"),
                            &e,
                        ));
                    }
                }
            }
            Err(e) => {
                return Err(aws_error(
                    &format!("enabling point-in-time recovery of DynamoDB Table ({table})"),
                    &e,
                ));
            }
        }
    }
}

pub(super) async fn delete_lock_table(client: &Client, table: &str) -> Result<(), Diagnostic> {
    match client
        .aws
        .dynamodb()
        .delete_table()
        .table_name(table)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_not_found_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(aws_error(&format!("deleting DynamoDB Table ({table})"), &e)),
    }
}

/// Brings an existing lock table from `prior` to `planned`: point-in-time recovery back on,
/// the encryption key, the tags.
pub(super) async fn update_lock_table(
    client: &Client,
    table: &str,
    prior: &StateBackendModel,
    planned: &StateBackendModel,
) -> Result<(), Diagnostic> {
    let dynamodb = client.aws.dynamodb();
    if prior.lock_table_point_in_time_recovery != Maybe::Known(true) {
        enable_point_in_time_recovery(client, table).await?;
    }
    if prior.hardening.kms_key_arn != planned.hardening.kms_key_arn {
        dynamodb
            .update_table()
            .table_name(table)
            .sse_specification(sse_specification(planned.hardening.kms_key_arn.as_deref()))
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    &format!("changing the encryption key of DynamoDB Table ({table})"),
                    &e,
                )
            })?;
    }
    let (prior_tags, planned_tags) = (&prior.hardening.tags_all, &planned.hardening.tags_all);
    if prior_tags == planned_tags {
        return Ok(());
    }
    let arn = match prior.lock_table_arn.known() {
        Some(arn) => arn.to_string(),
        None => find_table(client, table)
            .await?
            .and_then(|t| t.table_arn)
            .unwrap_or_default(),
    };
    let target = TableTags {
        client,
        arn: &arn,
        table,
    };
    tags::update(&target, prior_tags, planned_tags).await
}

/// The lock table's tags, changed key by key.
struct TableTags<'a> {
    client: &'a Client,
    arn: &'a str,
    table: &'a str,
}

#[async_trait]
impl Taggable for TableTags<'_> {
    async fn tag(&self, tags: &Tags) -> Result<(), Diagnostic> {
        let table = self.table;
        self.client
            .aws
            .dynamodb()
            .tag_resource()
            .resource_arn(self.arn)
            .set_tags(Some(dynamodb_tags(tags)?))
            .send()
            .await
            .map_err(|e| aws_error(&format!("tagging DynamoDB Table ({table})"), &e))?;
        Ok(())
    }

    async fn untag(&self, keys: Vec<String>) -> Result<(), Diagnostic> {
        let table = self.table;
        self.client
            .aws
            .dynamodb()
            .untag_resource()
            .resource_arn(self.arn)
            .set_tag_keys(Some(keys))
            .send()
            .await
            .map_err(|e| aws_error(&format!("removing tags of DynamoDB Table ({table})"), &e))?;
        Ok(())
    }
}
