//! `mdw_athena_workgroup`: an Athena workgroup whose settings queries cannot override: result
//! location, result encryption, a per-query scan limit, the engine version.

use async_trait::async_trait;
use aws_sdk_athena::types::{
    EncryptionConfiguration, EncryptionOption, EngineVersion, ResultConfiguration,
    ResultConfigurationUpdates, Tag, WorkGroup, WorkGroupConfiguration,
    WorkGroupConfigurationUpdates, WorkGroupState,
};
use tfplugin::{
    ApplyError, Attribute, Diagnostic, Diagnostics, PlanChange, Resource, Schema, Value, validators,
};

use crate::aws::aws_error;
use crate::provider::{Client, validate_tag_keys};
use crate::resources::iam_role::{caller_account_id, validate_kms_key_arn};
use crate::resources::s3_url::validate_s3_url;
use crate::tags;

pub struct AthenaWorkgroup;

const TYPE_NAME: &str = "mdw_athena_workgroup";

/// Pinned rather than `AUTO`: the SQL mdw generates (Iceberg CTAS, MERGE) is Trino-based engine
/// 3 SQL, and `AUTO` lets Athena move a workgroup to a new engine version on its own schedule.
pub const DEFAULT_ENGINE_VERSION: &str = "Athena engine version 3";
/// Athena's smallest bytes-scanned cutoff: 10 MB.
pub const MIN_BYTES_SCANNED_CUTOFF: i64 = 10 * 1024 * 1024;
const ENCRYPTION_OPTIONS: &[&str] = &["SSE_S3", "SSE_KMS", "CSE_KMS"];

// ---- schema ---------------------------------------------------------------------------------

fn schema() -> Schema {
    Schema::new(
        "An Athena workgroup that enforces its settings on every query: result location and \
         encryption, an optional per-query scan limit, the engine version. Never adopts an \
         existing workgroup: import it instead.",
        vec![
            Attribute::string("name")
                .required()
                .requires_replace()
                .describe("1–128 letters, digits, `.`, `_` and `-`.")
                .validate(validate_name),
            Attribute::string("description")
                .validate(|v| match v.as_str() {
                    Some(s) if s.chars().count() > 1024 => {
                        Err("description must be at most 1024 characters.".to_string())
                    }
                    _ => Ok(()),
                }),
            Attribute::string("state")
                .default("ENABLED")
                .describe("`ENABLED` or `DISABLED` (a disabled workgroup runs no queries).")
                .validate(validators::one_of(&["ENABLED", "DISABLED"])),
            Attribute::string("result_location")
                .required()
                .describe("Where query results go, `s3://bucket/prefix/`, e.g. `s3://mdw-work-zone/results/`.")
                .validate(validate_s3_url),
            Attribute::string("result_encryption")
                .default("SSE_S3")
                .describe("`SSE_S3` (default), `SSE_KMS` or `CSE_KMS`; the KMS options need `kms_key_arn`.")
                .validate(validators::one_of(ENCRYPTION_OPTIONS)),
            Attribute::string("kms_key_arn")
                .describe("KMS key ARN for `SSE_KMS`/`CSE_KMS` result encryption.")
                .validate(validate_kms_key_arn),
            Attribute::bool("enforce_workgroup_configuration")
                .default(true)
                .describe("Queries cannot override the workgroup's settings (default true)."),
            Attribute::number("bytes_scanned_cutoff_per_query")
                .describe("Cancel a query once it has scanned this many bytes: 0 or unset for no limit, else at least 10485760 (10 MB).")
                .validate(validate_cutoff),
            Attribute::string("engine_version")
                .default(DEFAULT_ENGINE_VERSION)
                .describe("`Athena engine version 3` (default) or `AUTO` (Athena picks, and may upgrade).")
                .validate(validate_engine_version),
            Attribute::bool("publish_cloudwatch_metrics_enabled")
                .default(true)
                .describe("Publish query metrics to CloudWatch (default true)."),
            Attribute::bool("force_destroy")
                .default(false)
                .describe("Delete the workgroup with its named queries and query history."),
            Attribute::string_map("tags").validate(validate_tag_keys),
            Attribute::string("arn").computed(),
            Attribute::string_map("tags_all").computed().describe("`tags` plus the provider's `default_tags`."),
        ],
    )
}

pub fn validate_name(value: &Value) -> Result<(), String> {
    let Some(name) = value.as_str() else {
        return Ok(());
    };
    let valid = (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid Athena workgroup name: use 1–128 letters, digits, '.', '_' and '-', e.g. \"mdw\"."
        ))
    }
}

fn validate_cutoff(value: &Value) -> Result<(), String> {
    let message = |got: &str| {
        format!(
            "bytes_scanned_cutoff_per_query must be 0 (no limit) or a whole number of bytes of at least \
             {MIN_BYTES_SCANNED_CUTOFF} (10 MB, Athena's minimum), e.g. 10737418240 for 10 GB; got {got}."
        )
    };
    match value {
        Value::Number(n) => match n.as_i64() {
            Some(0) => Ok(()),
            Some(bytes) if bytes >= MIN_BYTES_SCANNED_CUTOFF => Ok(()),
            _ => Err(message(&n.canonical())),
        },
        _ => Ok(()),
    }
}

fn validate_engine_version(value: &Value) -> Result<(), String> {
    let Some(version) = value.as_str() else {
        return Ok(());
    };
    let numbered = version
        .strip_prefix("Athena engine version ")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if version == "AUTO" || numbered {
        Ok(())
    } else {
        Err(format!(
            "{version:?} is not an Athena SQL engine version: use \"{DEFAULT_ENGINE_VERSION}\" or \"AUTO\"."
        ))
    }
}

/// The KMS options need a key; SSE_S3 takes none (a key there would silently do nothing).
fn validate_encryption(config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let option = config.get("result_encryption");
    let key = config.get("kms_key_arn");
    if option.is_unknown() || key.is_unknown() {
        return diags;
    }
    let option = option.as_str().unwrap_or("SSE_S3");
    match (option, key.is_null()) {
        ("SSE_KMS" | "CSE_KMS", true) => diags.push(
            Diagnostic::error(
                format!("result_encryption = \"{option}\" needs a KMS key"),
                "Set kms_key_arn to the ARN of the key that encrypts query results, or use result_encryption = \"SSE_S3\".",
            )
            .at_attribute("kms_key_arn"),
        ),
        ("SSE_S3", false) => diags.push(
            Diagnostic::error(
                "kms_key_arn is only used with SSE_KMS or CSE_KMS",
                "Remove kms_key_arn, or set result_encryption = \"SSE_KMS\" (or \"CSE_KMS\") to encrypt results with that key.",
            )
            .at_attribute("kms_key_arn"),
        ),
        _ => {}
    }
    diags
}

// ---- find -----------------------------------------------------------------------------------

/// Athena answers a missing workgroup with InvalidRequestException "… is not found" (moto with
/// an empty body).
fn is_not_found(message: Option<&str>) -> bool {
    message.is_some_and(|m| m.contains("not found") || m.contains("does not exist"))
}

/// The workgroup, or `None` when it does not exist.
async fn find_workgroup(client: &Client, name: &str) -> Result<Option<WorkGroup>, Diagnostic> {
    use aws_sdk_athena::error::ProvideErrorMetadata;
    match client
        .aws
        .athena()
        .get_work_group()
        .work_group(name)
        .send()
        .await
    {
        Ok(out) => Ok(out.work_group),
        Err(e)
            if e.as_service_error().is_some_and(|se| {
                se.is_invalid_request_exception() && is_not_found(se.message())
            }) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_error(&format!("reading Athena WorkGroup ({name})"), &e)),
    }
}

async fn find_tags(client: &Client, arn: &str, name: &str) -> Result<tags::Tags, Diagnostic> {
    let mut remote = tags::Tags::new();
    let mut next_token = None;
    loop {
        let result = client
            .aws
            .athena()
            .list_tags_for_resource()
            .resource_arn(arn)
            .set_next_token(next_token)
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            // The workgroup was just found: "does not exist" here means "has no tags" (moto
            // answers so for an untagged workgroup).
            Err(e)
                if e.as_service_error().is_some_and(|se| {
                    se.is_resource_not_found_exception() || se.is_invalid_request_exception()
                }) =>
            {
                return Ok(remote);
            }
            Err(e) => {
                return Err(aws_error(
                    &format!("reading tags of Athena WorkGroup ({name})"),
                    &e,
                ));
            }
        };
        remote.extend(out.tags().iter().filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        }));
        match out.next_token {
            Some(token) if !token.is_empty() => next_token = Some(token),
            _ => return Ok(remote),
        }
    }
}

// ---- expand / flatten -----------------------------------------------------------------------

fn arn(client: &Client, account_id: &str, name: &str) -> String {
    format!(
        "arn:{}:athena:{}:{account_id}:workgroup/{name}",
        client.aws.partition(),
        client.aws.region
    )
}

fn string_attr<'a>(values: &'a Value, attribute: &str) -> &'a str {
    values.get(attribute).as_str().unwrap_or_default()
}

/// The cutoff to send: `None` for no limit (unset or 0).
fn cutoff(values: &Value) -> Option<i64> {
    values
        .get("bytes_scanned_cutoff_per_query")
        .as_i64()
        .filter(|n| *n > 0)
}

fn expand_encryption(planned: &Value) -> Result<EncryptionConfiguration, Diagnostic> {
    let option = planned
        .get("result_encryption")
        .as_str()
        .unwrap_or("SSE_S3");
    EncryptionConfiguration::builder()
        .encryption_option(EncryptionOption::from(option))
        .set_kms_key(planned.get("kms_key_arn").as_str().map(str::to_string))
        .build()
        .map_err(|e| Diagnostic::error("building an Athena EncryptionConfiguration", e.to_string()))
}

fn expand_engine_version(planned: &Value) -> EngineVersion {
    EngineVersion::builder()
        .selected_engine_version(
            planned
                .get("engine_version")
                .as_str()
                .unwrap_or(DEFAULT_ENGINE_VERSION),
        )
        .build()
}

/// The whole configuration, for CreateWorkGroup.
fn expand_configuration(planned: &Value) -> Result<WorkGroupConfiguration, Diagnostic> {
    Ok(WorkGroupConfiguration::builder()
        .result_configuration(
            ResultConfiguration::builder()
                .output_location(string_attr(planned, "result_location"))
                .encryption_configuration(expand_encryption(planned)?)
                .build(),
        )
        .enforce_work_group_configuration(
            planned
                .get("enforce_workgroup_configuration")
                .as_bool()
                .unwrap_or(true),
        )
        .publish_cloud_watch_metrics_enabled(
            planned
                .get("publish_cloudwatch_metrics_enabled")
                .as_bool()
                .unwrap_or(true),
        )
        .set_bytes_scanned_cutoff_per_query(cutoff(planned))
        .engine_version(expand_engine_version(planned))
        .build())
}

/// The ConfigurationUpdates of an UpdateWorkGroup for `prior` → `planned`: only what changed,
/// so settings nobody touched are not rewritten. `None` when the configuration is unchanged.
pub fn expand_configuration_updates(
    prior: &Value,
    planned: &Value,
) -> Result<Option<WorkGroupConfigurationUpdates>, Diagnostic> {
    let changed = |attribute: &str| prior.get(attribute) != planned.get(attribute);
    let mut updates = WorkGroupConfigurationUpdates::builder();
    let mut any = false;
    if changed("enforce_workgroup_configuration") {
        updates = updates.set_enforce_work_group_configuration(
            planned.get("enforce_workgroup_configuration").as_bool(),
        );
        any = true;
    }
    if changed("publish_cloudwatch_metrics_enabled") {
        updates = updates.set_publish_cloud_watch_metrics_enabled(
            planned.get("publish_cloudwatch_metrics_enabled").as_bool(),
        );
        any = true;
    }
    // 0 and unset both mean "no limit": switching between them changes nothing.
    if cutoff(prior) != cutoff(planned) {
        updates = match cutoff(planned) {
            Some(bytes) => updates.bytes_scanned_cutoff_per_query(bytes),
            None => updates.remove_bytes_scanned_cutoff_per_query(true),
        };
        any = true;
    }
    if changed("engine_version") {
        updates = updates.engine_version(expand_engine_version(planned));
        any = true;
    }
    let mut result = ResultConfigurationUpdates::builder();
    let mut result_changed = false;
    if changed("result_location") {
        result = result.output_location(string_attr(planned, "result_location"));
        result_changed = true;
    }
    if changed("result_encryption") || changed("kms_key_arn") {
        result = result.encryption_configuration(expand_encryption(planned)?);
        result_changed = true;
    }
    if result_changed {
        updates = updates.result_configuration_updates(result.build());
        any = true;
    }
    Ok(any.then(|| updates.build()))
}

/// State from what Athena returned; attributes Athena does not hold come from `prior`.
fn flatten(
    wg: &WorkGroup,
    arn: &str,
    remote_tags: &tags::Tags,
    client: &Client,
    prior: &Value,
) -> Value {
    let config = wg.configuration();
    let result = config.and_then(|c| c.result_configuration());
    let encryption = result.and_then(|r| r.encryption_configuration());
    let mut state = prior.clone();
    state.set("name", wg.name());
    state.set(
        "description",
        Value::opt_string(wg.description().filter(|d| !d.is_empty())),
    );
    state.set(
        "state",
        wg.state().map_or("ENABLED", WorkGroupState::as_str),
    );
    state.set(
        "result_location",
        Value::opt_string(result.and_then(|r| r.output_location())),
    );
    // No encryption configuration at all shows as null, so the plan puts SSE_S3 back.
    state.set(
        "result_encryption",
        Value::opt_string(encryption.map(|e| e.encryption_option().as_str())),
    );
    state.set(
        "kms_key_arn",
        Value::opt_string(encryption.and_then(|e| e.kms_key())),
    );
    state.set(
        "enforce_workgroup_configuration",
        config
            .and_then(|c| c.enforce_work_group_configuration())
            .unwrap_or(true),
    );
    state.set(
        "publish_cloudwatch_metrics_enabled",
        config
            .and_then(|c| c.publish_cloud_watch_metrics_enabled())
            .unwrap_or(false),
    );
    let remote_cutoff = config.and_then(|c| c.bytes_scanned_cutoff_per_query());
    state.set(
        "bytes_scanned_cutoff_per_query",
        match remote_cutoff {
            Some(bytes) => Value::from(bytes),
            // Keep the user's explicit 0 ("no limit") rather than showing a change to null.
            None if prior.get("bytes_scanned_cutoff_per_query").as_i64() == Some(0) => {
                Value::from(0)
            }
            None => Value::Null,
        },
    );
    state.set(
        "engine_version",
        Value::opt_string(
            config
                .and_then(|c| c.engine_version())
                .and_then(|v| v.selected_engine_version()),
        ),
    );
    state.set(
        "force_destroy",
        prior.get("force_destroy").as_bool().unwrap_or(false),
    );
    state.set(
        "tags",
        tags::split_remote_tags(remote_tags, prior.get("tags"), &client.default_tags),
    );
    state.set("tags_all", Value::from(remote_tags.clone()));
    state.set("arn", arn);
    state
}

fn expand_tags(tags: &tags::Tags) -> Option<Vec<Tag>> {
    (!tags.is_empty()).then(|| {
        tags.iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect()
    })
}

// ---- create / read / update / delete / import -----------------------------------------------

#[async_trait]
impl Resource<Client> for AthenaWorkgroup {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        validate_encryption(config)
    }

    async fn plan(&self, client: &Client, change: &mut PlanChange<'_>) -> Result<(), Diagnostics> {
        tags::plan_tags_all(&client.default_tags, change);
        Ok(())
    }

    async fn create(&self, client: &Client, planned: &Value) -> Result<Value, ApplyError> {
        use aws_sdk_athena::error::ProvideErrorMetadata;
        let name = string_attr(planned, "name").to_string();
        let athena = client.aws.athena();
        let result = athena
            .create_work_group()
            .name(&name)
            .configuration(expand_configuration(planned)?)
            .set_description(planned.get("description").as_str().map(str::to_string))
            .set_tags(expand_tags(&planned.get("tags_all").string_map()))
            .send()
            .await;
        if let Err(e) = result {
            let exists = e.as_service_error().is_some_and(|se| {
                se.is_invalid_request_exception()
                    && se.message().is_some_and(|m| m.contains("already"))
            });
            if exists {
                return Err(Diagnostic::error(
                    format!("Athena WorkGroup ({name}) already exists"),
                    format!(
                        "mdw does not take over existing workgroups silently. To manage it with Terraform, import it:\n  \
                         terraform import {TYPE_NAME}.<resource name> {name}\nor choose another name."
                    ),
                )
                .at_attribute("name")
                .into());
            }
            return Err(aws_error(&format!("creating Athena WorkGroup ({name})"), &e).into());
        }
        // The workgroup exists from here on: anything failing below must not orphan it.
        let partial = || {
            let mut state = planned.clone();
            state.set("state", "ENABLED");
            state
        };
        // CreateWorkGroup takes no state: a workgroup starts enabled.
        if string_attr(planned, "state") == "DISABLED" {
            athena
                .update_work_group()
                .work_group(&name)
                .state(WorkGroupState::Disabled)
                .send()
                .await
                .map_err(|e| {
                    ApplyError::from(aws_error(
                        &format!("disabling Athena WorkGroup ({name})"),
                        &e,
                    ))
                    .with_partial_state(partial())
                })?;
        }
        match self.read(client, planned).await {
            Ok(Some(state)) => Ok(state),
            Ok(None) => Err(ApplyError::from(Diagnostic::error(
                format!("Athena WorkGroup ({name}) vanished right after it was created"),
                "Another process may have deleted it; run terraform apply again.",
            ))),
            Err(d) => Err(ApplyError::from(d).with_partial_state(planned.clone())),
        }
    }

    async fn read(&self, client: &Client, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let name = string_attr(state, "name");
        let Some(wg) = find_workgroup(client, name).await? else {
            return Ok(None);
        };
        let suffix = format!(":workgroup/{name}");
        let arn = match state.get("arn").as_str() {
            Some(known) if known.ends_with(&suffix) => known.to_string(),
            _ => arn(client, &caller_account_id(client).await?, name),
        };
        let remote_tags = find_tags(client, &arn, name).await?;
        Ok(Some(flatten(&wg, &arn, &remote_tags, client, state)))
    }

    async fn update(
        &self,
        client: &Client,
        prior: &Value,
        planned: &Value,
    ) -> Result<Value, ApplyError> {
        let name = string_attr(planned, "name");
        let athena = client.aws.athena();
        let configuration = expand_configuration_updates(prior, planned)?;
        let description = (prior.get("description") != planned.get("description"))
            // An empty description is how UpdateWorkGroup removes it.
            .then(|| string_attr(planned, "description").to_string());
        let state = (prior.get("state") != planned.get("state"))
            .then(|| WorkGroupState::from(string_attr(planned, "state")));
        if configuration.is_some() || description.is_some() || state.is_some() {
            athena
                .update_work_group()
                .work_group(name)
                .set_configuration_updates(configuration)
                .set_description(description)
                .set_state(state)
                .send()
                .await
                .map_err(|e| aws_error(&format!("updating Athena WorkGroup ({name})"), &e))?;
        }
        let arn = string_attr(prior, "arn");
        let (removed, changed) = tags::diff(
            &prior.get("tags_all").string_map(),
            &planned.get("tags_all").string_map(),
        );
        if !removed.is_empty() {
            athena
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(removed))
                .send()
                .await
                .map_err(|e| {
                    aws_error(&format!("removing tags of Athena WorkGroup ({name})"), &e)
                })?;
        }
        if !changed.is_empty() {
            athena
                .tag_resource()
                .resource_arn(arn)
                .set_tags(expand_tags(&changed))
                .send()
                .await
                .map_err(|e| aws_error(&format!("tagging Athena WorkGroup ({name})"), &e))?;
        }
        match self.read(client, planned).await? {
            Some(state) => Ok(state),
            None => Err(Diagnostic::error(
                format!("Athena WorkGroup ({name}) was deleted during the update"),
                "Another process deleted it; run terraform apply again to recreate it.",
            )
            .into()),
        }
    }

    async fn delete(&self, client: &Client, state: &Value) -> Result<(), Diagnostics> {
        use aws_sdk_athena::error::ProvideErrorMetadata;
        let name = string_attr(state, "name");
        let athena = client.aws.athena();
        let force_destroy = state.get("force_destroy").as_bool().unwrap_or(false);
        let keep_contents_hint = "Delete them first, or set force_destroy = true and apply before destroying \
             (that deletes the workgroup's named queries and query history with it).";
        // Checked here rather than left to Athena: its refusal does not say what is inside, and
        // some endpoints ignore RecursiveDeleteOption altogether.
        if !force_destroy {
            match athena
                .list_named_queries()
                .work_group(name)
                .max_results(5)
                .send()
                .await
            {
                Ok(out) if !out.named_query_ids().is_empty() => {
                    return Err(Diagnostic::error(
                        format!("Athena WorkGroup ({name}) still has named queries"),
                        format!(
                            "Deleting the workgroup would delete its named queries ({}{}). {keep_contents_hint}",
                            out.named_query_ids().join(", "),
                            if out.next_token().is_some() { ", …" } else { "" }
                        ),
                    )
                    .into());
                }
                Ok(_) => {}
                Err(e)
                    if e.as_service_error().is_some_and(|se| {
                        se.is_invalid_request_exception() && is_not_found(se.message())
                    }) =>
                {
                    return Ok(());
                }
                Err(e) => {
                    return Err(aws_error(
                        &format!("listing named queries of Athena WorkGroup ({name})"),
                        &e,
                    )
                    .into());
                }
            }
        }
        match athena
            .delete_work_group()
            .work_group(name)
            .recursive_delete_option(force_destroy)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error().is_some_and(|se| {
                    se.is_invalid_request_exception() && is_not_found(se.message())
                }) =>
            {
                Ok(())
            }
            Err(e)
                if !force_destroy
                    && e.as_service_error()
                        .is_some_and(|se| se.is_invalid_request_exception()) =>
            {
                let answer = aws_error("", &e).detail;
                Err(Diagnostic::error(
                    format!("Athena WorkGroup ({name}) is not empty"),
                    format!("Athena refused to delete it ({answer}) {keep_contents_hint}"),
                )
                .into())
            }
            Err(e) => Err(aws_error(&format!("deleting Athena WorkGroup ({name})"), &e).into()),
        }
    }

    async fn import(&self, _client: &Client, id: &str) -> Result<Value, Diagnostics> {
        if let Err(message) = validate_name(&Value::from(id)) {
            return Err(Diagnostic::error(
                format!("Invalid import id {id:?}"),
                format!("{message} The import id of {TYPE_NAME} is the workgroup name."),
            )
            .into());
        }
        Ok(Value::object([
            ("name", Value::from(id)),
            ("force_destroy", Value::from(false)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, Value)]) -> Value {
        Value::object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }

    /// The planned values of `mdw_athena_workgroup { name = "mdw" result_location = … }`.
    fn defaults() -> Value {
        values(&[
            ("name", "mdw".into()),
            ("state", "ENABLED".into()),
            ("result_location", "s3://mdw-work-zone/results/".into()),
            ("result_encryption", "SSE_S3".into()),
            ("enforce_workgroup_configuration", true.into()),
            ("engine_version", DEFAULT_ENGINE_VERSION.into()),
            ("publish_cloudwatch_metrics_enabled", true.into()),
            ("force_destroy", false.into()),
        ])
    }

    fn with(base: &Value, pairs: &[(&str, Value)]) -> Value {
        let mut v = base.clone();
        for (k, value) in pairs {
            v.set(k, value.clone());
        }
        v
    }

    #[test]
    fn the_minimal_workgroup_is_complete_and_enforced() {
        let config = expand_configuration(&defaults()).unwrap();
        let result = config.result_configuration().unwrap();
        assert_eq!(
            result.output_location(),
            Some("s3://mdw-work-zone/results/")
        );
        let encryption = result.encryption_configuration().unwrap();
        assert_eq!(encryption.encryption_option(), &EncryptionOption::SseS3);
        assert_eq!(encryption.kms_key(), None);
        assert_eq!(config.enforce_work_group_configuration(), Some(true));
        assert_eq!(config.publish_cloud_watch_metrics_enabled(), Some(true));
        assert_eq!(config.bytes_scanned_cutoff_per_query(), None);
        assert_eq!(
            config
                .engine_version()
                .and_then(|v| v.selected_engine_version()),
            Some(DEFAULT_ENGINE_VERSION)
        );
    }

    #[test]
    fn no_change_sends_no_configuration_updates() {
        assert!(
            expand_configuration_updates(&defaults(), &defaults())
                .unwrap()
                .is_none()
        );
        // Only a description, state, tags or force_destroy changed: nothing for Configuration.
        let planned = with(
            &defaults(),
            &[
                ("description", "now described".into()),
                ("state", "DISABLED".into()),
                ("force_destroy", true.into()),
            ],
        );
        assert!(
            expand_configuration_updates(&defaults(), &planned)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_new_result_location_updates_only_the_output_location() {
        let planned = with(
            &defaults(),
            &[("result_location", "s3://mdw-work-zone/other/".into())],
        );
        let updates = expand_configuration_updates(&defaults(), &planned)
            .unwrap()
            .unwrap();
        let result = updates.result_configuration_updates().unwrap();
        assert_eq!(result.output_location(), Some("s3://mdw-work-zone/other/"));
        assert!(result.encryption_configuration().is_none());
        assert_eq!(result.remove_output_location(), None);
        assert_eq!(updates.enforce_work_group_configuration(), None);
        assert_eq!(updates.publish_cloud_watch_metrics_enabled(), None);
        assert_eq!(updates.bytes_scanned_cutoff_per_query(), None);
        assert_eq!(updates.remove_bytes_scanned_cutoff_per_query(), None);
        assert!(updates.engine_version().is_none());
    }

    #[test]
    fn switching_to_kms_sends_option_and_key_together() {
        let key = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let planned = with(
            &defaults(),
            &[
                ("result_encryption", "SSE_KMS".into()),
                ("kms_key_arn", key.into()),
            ],
        );
        let updates = expand_configuration_updates(&defaults(), &planned)
            .unwrap()
            .unwrap();
        let result = updates.result_configuration_updates().unwrap();
        let encryption = result.encryption_configuration().unwrap();
        assert_eq!(encryption.encryption_option(), &EncryptionOption::SseKms);
        assert_eq!(encryption.kms_key(), Some(key));
        assert_eq!(result.output_location(), None);

        // A new key alone resends the whole encryption configuration.
        let rotated = with(&planned, &[("kms_key_arn", format!("{key}0").into())]);
        let updates = expand_configuration_updates(&planned, &rotated)
            .unwrap()
            .unwrap();
        let encryption = updates
            .result_configuration_updates()
            .and_then(|r| r.encryption_configuration())
            .unwrap();
        assert_eq!(encryption.encryption_option(), &EncryptionOption::SseKms);
        assert_eq!(encryption.kms_key(), Some(format!("{key}0").as_str()));
    }

    #[test]
    fn cutoff_is_set_changed_and_removed() {
        let limited = with(
            &defaults(),
            &[("bytes_scanned_cutoff_per_query", Value::from(1i64 << 30))],
        );
        let set = expand_configuration_updates(&defaults(), &limited)
            .unwrap()
            .unwrap();
        assert_eq!(set.bytes_scanned_cutoff_per_query(), Some(1 << 30));
        assert_eq!(set.remove_bytes_scanned_cutoff_per_query(), None);
        assert!(set.result_configuration_updates().is_none());

        for unlimited in [Value::Null, Value::from(0)] {
            let planned = with(
                &defaults(),
                &[("bytes_scanned_cutoff_per_query", unlimited.clone())],
            );
            let removed = expand_configuration_updates(&limited, &planned)
                .unwrap()
                .unwrap();
            assert_eq!(
                removed.remove_bytes_scanned_cutoff_per_query(),
                Some(true),
                "{unlimited:?}"
            );
            assert_eq!(removed.bytes_scanned_cutoff_per_query(), None);
        }
        // 0 and unset both mean no limit.
        let zero = with(
            &defaults(),
            &[("bytes_scanned_cutoff_per_query", Value::from(0))],
        );
        assert!(
            expand_configuration_updates(&defaults(), &zero)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn flags_and_engine_version_are_sent_when_changed() {
        let planned = with(
            &defaults(),
            &[
                ("enforce_workgroup_configuration", false.into()),
                ("publish_cloudwatch_metrics_enabled", false.into()),
                ("engine_version", "AUTO".into()),
            ],
        );
        let updates = expand_configuration_updates(&defaults(), &planned)
            .unwrap()
            .unwrap();
        assert_eq!(updates.enforce_work_group_configuration(), Some(false));
        assert_eq!(updates.publish_cloud_watch_metrics_enabled(), Some(false));
        assert_eq!(
            updates
                .engine_version()
                .and_then(|v| v.selected_engine_version()),
            Some("AUTO")
        );
        assert!(updates.result_configuration_updates().is_none());
    }

    #[test]
    fn cutoff_below_ten_megabytes_is_refused() {
        assert!(validate_cutoff(&Value::from(0)).is_ok());
        assert!(validate_cutoff(&Value::from(MIN_BYTES_SCANNED_CUTOFF)).is_ok());
        let err = validate_cutoff(&Value::from(MIN_BYTES_SCANNED_CUTOFF - 1)).unwrap_err();
        assert!(err.contains("10485760") && err.contains("10 MB"), "{err}");
        assert!(validate_cutoff(&Value::from(-5)).is_err());
        assert!(
            validate_cutoff(&Value::from(15_000_000.5)).is_err(),
            "fractional bytes"
        );
    }

    #[test]
    fn names_and_engine_versions_are_checked() {
        assert!(validate_name(&Value::from("mdw.prod_v2-x")).is_ok());
        assert!(validate_name(&Value::from("has space")).is_err());
        assert!(validate_name(&Value::from("")).is_err());
        assert!(validate_engine_version(&Value::from("AUTO")).is_ok());
        assert!(validate_engine_version(&Value::from("Athena engine version 3")).is_ok());
        let err = validate_engine_version(&Value::from("v3")).unwrap_err();
        assert!(err.contains(DEFAULT_ENGINE_VERSION), "{err}");
    }

    #[test]
    fn kms_options_need_a_key_and_sse_s3_takes_none() {
        let key = "arn:aws:kms:us-west-2:123456789012:key/abc";
        let kms_without_key = with(&defaults(), &[("result_encryption", "CSE_KMS".into())]);
        let diags = validate_encryption(&kms_without_key);
        assert_eq!(diags.0.len(), 1);
        assert_eq!(
            diags.0[0].path,
            Some(tfplugin::AttributePath::root("kms_key_arn"))
        );
        let s3_with_key = with(&defaults(), &[("kms_key_arn", key.into())]);
        assert_eq!(validate_encryption(&s3_with_key).0.len(), 1);
        let kms_with_key = with(&kms_without_key, &[("kms_key_arn", key.into())]);
        assert!(validate_encryption(&kms_with_key).is_empty());
        let unknown_key = with(&kms_without_key, &[("kms_key_arn", Value::unknown())]);
        assert!(validate_encryption(&unknown_key).is_empty());
    }
}
