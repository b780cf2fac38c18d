//! `mdw_athena_workgroup`: an Athena workgroup whose settings queries cannot override: result
//! location, result encryption, a per-query scan limit, the engine version.

use async_trait::async_trait;
use aws_sdk_athena::types::{
    EncryptionConfiguration, EncryptionOption, EngineVersion, ResultConfiguration,
    ResultConfigurationUpdates, Tag, WorkGroup, WorkGroupConfiguration,
    WorkGroupConfigurationUpdates, WorkGroupState,
};
use tfplugin::{
    ApplyError, Diagnostic, Diagnostics, Maybe, Model, PlanChange, Resource, Schema, Value,
    Written, from_value, to_value, validators,
};

use crate::aws::names::{self, KmsKey};
use crate::aws::s3_location::validate_s3_url;
use crate::aws::{aws_error, found};
use crate::client::Client;
use crate::tags::{self, Taggable, Tags};

pub(crate) struct AthenaWorkgroup;

const TYPE_NAME: &str = "mdw_athena_workgroup";

/// Pinned rather than `AUTO`: the SQL mdw generates (Iceberg CTAS, MERGE) is Trino-based engine
/// 3 SQL, and `AUTO` lets Athena move a workgroup to a new engine version on its own schedule.
const DEFAULT_ENGINE_VERSION: &str = "Athena engine version 3";
/// Athena's smallest bytes-scanned cutoff: 10 MB.
const MIN_BYTES_SCANNED_CUTOFF: i64 = 10 * 1024 * 1024;
const ENCRYPTION_OPTIONS: &[&str] = &["SSE_S3", "SSE_KMS", "CSE_KMS"];

// ---- schema ---------------------------------------------------------------------------------

fn validate_description(value: &Value) -> Result<(), String> {
    match value.as_str() {
        Some(s) if s.chars().count() > 1024 => {
            Err("description must be at most 1024 characters.".to_string())
        }
        _ => Ok(()),
    }
}

tfplugin::model! {
    /// The attributes of `mdw_athena_workgroup`.
    pub(crate) struct WorkgroupModel {
        /// 1–128 letters, digits, `.`, `_` and `-`.
        #[tf(required, requires_replace, validate = names::athena_workgroup_name)]
        pub(crate) name: String,
        /// What the workgroup is for; at most 1024 characters.
        #[tf(validate = validate_description)]
        pub(crate) description: Option<String>,
        /// `ENABLED` or `DISABLED` (a disabled workgroup runs no queries).
        #[tf(default = "ENABLED", validate = validators::one_of(&["ENABLED", "DISABLED"]))]
        pub(crate) state: Maybe<String>,
        /// Where query results go, `s3://bucket/prefix/`, e.g. `s3://mdw-work-zone/results/`.
        #[tf(required, validate = validate_s3_url)]
        pub(crate) result_location: String,
        /// `SSE_S3` (default), `SSE_KMS` or `CSE_KMS`; the KMS options need `kms_key_arn`.
        #[tf(default = "SSE_S3", validate = validators::one_of(ENCRYPTION_OPTIONS))]
        pub(crate) result_encryption: Maybe<String>,
        /// KMS key ARN for `SSE_KMS`/`CSE_KMS` result encryption.
        #[tf(validate = names::kms_key_arn(KmsKey::KeyOnly))]
        pub(crate) kms_key_arn: Option<String>,
        /// Queries cannot override the workgroup's settings (default true).
        #[tf(default = true)]
        pub(crate) enforce_workgroup_configuration: Maybe<bool>,
        /// Cancel a query once it has scanned this many bytes: 0 or unset for no limit, else at
        /// least 10485760 (10 MB).
        #[tf(validate = validate_cutoff)]
        pub(crate) bytes_scanned_cutoff_per_query: Option<i64>,
        /// `Athena engine version 3` (default) or `AUTO` (Athena picks, and may upgrade).
        #[tf(default = DEFAULT_ENGINE_VERSION, validate = validate_engine_version)]
        pub(crate) engine_version: Maybe<String>,
        /// Publish query metrics to CloudWatch (default true).
        #[tf(default = true)]
        pub(crate) publish_cloudwatch_metrics_enabled: Maybe<bool>,
        /// Delete the workgroup with its named queries and query history.
        #[tf(default = false)]
        pub(crate) force_destroy: Maybe<bool>,
        #[tf(describe = tags::TAGS, validate = tags::validate_tags)]
        pub(crate) tags: Option<Tags>,
        /// `arn:aws:athena:REGION:ACCOUNT:workgroup/NAME`.
        #[tf(computed)]
        pub(crate) arn: Maybe<String>,
        #[tf(computed, describe = tags::TAGS_ALL)]
        pub(crate) tags_all: Maybe<Tags>,
    }
}

fn schema() -> Schema {
    Schema::new(
        "An Athena workgroup that enforces its settings on every query: result location and \
         encryption, an optional per-query scan limit, the engine version. Never adopts an \
         existing workgroup: import it instead.",
        WorkgroupModel::attributes(),
    )
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
    let option = from_value::<Maybe<String>>(config.get(WorkgroupModel::result_encryption));
    let key = from_value::<Maybe<String>>(config.get(WorkgroupModel::kms_key_arn));
    let (Ok(option), Ok(key)) = (option, key) else {
        return diags;
    };
    if option.is_unknown() || key.is_unknown() {
        return diags;
    }
    let option = option.known().map_or("SSE_S3", String::as_str);
    match (option, key.is_null()) {
        ("SSE_KMS" | "CSE_KMS", true) => diags.push(
            Diagnostic::error(
                format!("result_encryption = \"{option}\" needs a KMS key"),
                "Set kms_key_arn to the ARN of the key that encrypts query results, or use result_encryption = \"SSE_S3\".",
            )
            .at_attribute(WorkgroupModel::kms_key_arn),
        ),
        ("SSE_S3", false) => diags.push(
            Diagnostic::error(
                "kms_key_arn is only used with SSE_KMS or CSE_KMS",
                "Remove kms_key_arn, or set result_encryption = \"SSE_KMS\" (or \"CSE_KMS\") to encrypt results with that key.",
            )
            .at_attribute(WorkgroupModel::kms_key_arn),
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

fn is_missing<E>(e: &E) -> bool
where
    E: aws_sdk_athena::error::ProvideErrorMetadata + IsInvalidRequest,
{
    e.is_invalid_request() && is_not_found(e.message())
}

/// The operations' error types that can say "invalid request", which is how Athena says
/// "not found".
trait IsInvalidRequest {
    fn is_invalid_request(&self) -> bool;
}

macro_rules! invalid_request {
    ($($error:ty),*) => {$(
        impl IsInvalidRequest for $error {
            fn is_invalid_request(&self) -> bool {
                self.is_invalid_request_exception()
            }
        }
    )*};
}

invalid_request!(
    aws_sdk_athena::operation::get_work_group::GetWorkGroupError,
    aws_sdk_athena::operation::list_named_queries::ListNamedQueriesError,
    aws_sdk_athena::operation::delete_work_group::DeleteWorkGroupError
);

/// The workgroup, or `None` when it does not exist.
async fn find_workgroup(client: &Client, name: &str) -> Result<Option<WorkGroup>, Diagnostic> {
    let result = client
        .aws
        .athena()
        .get_work_group()
        .work_group(name)
        .send()
        .await;
    let out = found(
        result,
        is_missing,
        &format!("reading Athena WorkGroup ({name})"),
    )?;
    Ok(out.and_then(|out| out.work_group))
}

async fn find_tags(client: &Client, arn: &str, name: &str) -> Result<Tags, Diagnostic> {
    let mut remote = Tags::new();
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
        client.partition(),
        client.region()
    )
}

/// The workgroup's tags, changed key by key.
struct WorkgroupTags<'a> {
    client: &'a Client,
    arn: &'a str,
    name: &'a str,
}

#[async_trait]
impl Taggable for WorkgroupTags<'_> {
    async fn tag(&self, tags: &Tags) -> Result<(), Diagnostic> {
        let name = self.name;
        self.client
            .aws
            .athena()
            .tag_resource()
            .resource_arn(self.arn)
            .set_tags(expand_tags(tags))
            .send()
            .await
            .map_err(|e| aws_error(&format!("tagging Athena WorkGroup ({name})"), &e))?;
        Ok(())
    }

    async fn untag(&self, keys: Vec<String>) -> Result<(), Diagnostic> {
        let name = self.name;
        self.client
            .aws
            .athena()
            .untag_resource()
            .resource_arn(self.arn)
            .set_tag_keys(Some(keys))
            .send()
            .await
            .map_err(|e| aws_error(&format!("removing tags of Athena WorkGroup ({name})"), &e))?;
        Ok(())
    }
}

/// The cutoff to send: `None` for no limit (unset or 0).
fn cutoff(values: &WorkgroupModel) -> Option<i64> {
    values.bytes_scanned_cutoff_per_query.filter(|n| *n > 0)
}

fn expand_encryption(planned: &WorkgroupModel) -> Result<EncryptionConfiguration, Diagnostic> {
    let option = planned
        .result_encryption
        .known()
        .map_or("SSE_S3", String::as_str);
    EncryptionConfiguration::builder()
        .encryption_option(EncryptionOption::from(option))
        .set_kms_key(planned.kms_key_arn.clone())
        .build()
        .map_err(|e| Diagnostic::error("building an Athena EncryptionConfiguration", e.to_string()))
}

fn expand_engine_version(planned: &WorkgroupModel) -> EngineVersion {
    EngineVersion::builder()
        .selected_engine_version(
            planned
                .engine_version
                .known()
                .map_or(DEFAULT_ENGINE_VERSION, String::as_str),
        )
        .build()
}

/// The whole configuration, for CreateWorkGroup.
fn expand_configuration(planned: &WorkgroupModel) -> Result<WorkGroupConfiguration, Diagnostic> {
    Ok(WorkGroupConfiguration::builder()
        .result_configuration(
            ResultConfiguration::builder()
                .output_location(&planned.result_location)
                .encryption_configuration(expand_encryption(planned)?)
                .build(),
        )
        .enforce_work_group_configuration(
            planned
                .enforce_workgroup_configuration
                .known()
                .copied()
                .unwrap_or(true),
        )
        .publish_cloud_watch_metrics_enabled(
            planned
                .publish_cloudwatch_metrics_enabled
                .known()
                .copied()
                .unwrap_or(true),
        )
        .set_bytes_scanned_cutoff_per_query(cutoff(planned))
        .engine_version(expand_engine_version(planned))
        .build())
}

/// The ConfigurationUpdates of an UpdateWorkGroup for `prior` → `planned`: only what changed,
/// so settings nobody touched are not rewritten. `None` when the configuration is unchanged.
fn expand_configuration_updates(
    prior: &WorkgroupModel,
    planned: &WorkgroupModel,
) -> Result<Option<WorkGroupConfigurationUpdates>, Diagnostic> {
    let mut updates = WorkGroupConfigurationUpdates::builder();
    let mut any = false;
    if prior.enforce_workgroup_configuration != planned.enforce_workgroup_configuration {
        updates = updates.set_enforce_work_group_configuration(
            planned.enforce_workgroup_configuration.known().copied(),
        );
        any = true;
    }
    if prior.publish_cloudwatch_metrics_enabled != planned.publish_cloudwatch_metrics_enabled {
        updates = updates.set_publish_cloud_watch_metrics_enabled(
            planned.publish_cloudwatch_metrics_enabled.known().copied(),
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
    if prior.engine_version != planned.engine_version {
        updates = updates.engine_version(expand_engine_version(planned));
        any = true;
    }
    let mut result = ResultConfigurationUpdates::builder();
    let mut result_changed = false;
    if prior.result_location != planned.result_location {
        result = result.output_location(&planned.result_location);
        result_changed = true;
    }
    if prior.result_encryption != planned.result_encryption
        || prior.kms_key_arn != planned.kms_key_arn
    {
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
    remote_tags: &Tags,
    client: &Client,
    prior: &WorkgroupModel,
) -> WorkgroupModel {
    let config = wg.configuration();
    let result = config.and_then(|c| c.result_configuration());
    let encryption = result.and_then(|r| r.encryption_configuration());
    let string = |s: Option<&str>| s.map(str::to_string);
    WorkgroupModel {
        name: wg.name().to_string(),
        description: string(wg.description().filter(|d| !d.is_empty())),
        state: Maybe::Known(
            wg.state()
                .map_or("ENABLED", WorkGroupState::as_str)
                .to_string(),
        ),
        result_location: result
            .and_then(|r| r.output_location())
            .unwrap_or_default()
            .to_string(),
        // No encryption configuration at all shows as null, so the plan puts SSE_S3 back.
        result_encryption: Maybe::from_option(string(
            encryption.map(|e| e.encryption_option().as_str()),
        )),
        kms_key_arn: string(encryption.and_then(|e| e.kms_key())),
        enforce_workgroup_configuration: Maybe::Known(
            config
                .and_then(|c| c.enforce_work_group_configuration())
                .unwrap_or(true),
        ),
        publish_cloudwatch_metrics_enabled: Maybe::Known(
            config
                .and_then(|c| c.publish_cloud_watch_metrics_enabled())
                .unwrap_or(false),
        ),
        bytes_scanned_cutoff_per_query: match config
            .and_then(|c| c.bytes_scanned_cutoff_per_query())
        {
            Some(bytes) => Some(bytes),
            // Keep the user's explicit 0 ("no limit") rather than showing a change to null.
            None if prior.bytes_scanned_cutoff_per_query == Some(0) => Some(0),
            None => None,
        },
        engine_version: Maybe::from_option(string(
            config
                .and_then(|c| c.engine_version())
                .and_then(|v| v.selected_engine_version()),
        )),
        force_destroy: Maybe::Known(prior.force_destroy.known().copied().unwrap_or(false)),
        tags: tags::own_tags(remote_tags, prior.tags.as_ref(), &client.default_tags),
        arn: Maybe::Known(arn.to_string()),
        tags_all: Maybe::Known(remote_tags.clone()),
    }
}

fn expand_tags(tags: &Tags) -> Option<Vec<Tag>> {
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

    async fn create(&self, client: &Client, planned_value: &Value) -> Result<Value, ApplyError> {
        use aws_sdk_athena::error::ProvideErrorMetadata;
        let planned: WorkgroupModel = from_value(planned_value)?;
        let name = planned.name.as_str();
        let athena = client.aws.athena();
        let result = athena
            .create_work_group()
            .name(name)
            .configuration(expand_configuration(&planned)?)
            .set_description(planned.description.clone())
            .set_tags(expand_tags(
                &planned.tags_all.known().cloned().unwrap_or_default(),
            ))
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
                .at_attribute(WorkgroupModel::name)
                .into());
            }
            return Err(aws_error(&format!("creating Athena WorkGroup ({name})"), &e).into());
        }
        // The workgroup exists from here on: anything failing below must not orphan it.
        let partial = || {
            to_value(&WorkgroupModel {
                state: Maybe::Known("ENABLED".to_string()),
                ..planned.clone()
            })
            .unwrap_or_else(|_| planned_value.clone())
        };
        // CreateWorkGroup takes no state: a workgroup starts enabled.
        if planned.state.known().map(String::as_str) == Some("DISABLED") {
            athena
                .update_work_group()
                .work_group(name)
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
        let created = self.read(client, planned_value).await;
        tfplugin::read_back(
            created,
            &format!("Athena WorkGroup ({name})"),
            Written::Created,
            planned_value,
        )
    }

    async fn read(&self, client: &Client, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let state: WorkgroupModel = from_value(state)?;
        let name = state.name.as_str();
        let Some(wg) = find_workgroup(client, name).await? else {
            return Ok(None);
        };
        let suffix = format!(":workgroup/{name}");
        let arn = match state.arn.known() {
            Some(known) if known.ends_with(&suffix) => known.to_string(),
            _ => arn(client, &client.account_id().await?, name),
        };
        let remote_tags = find_tags(client, &arn, name).await?;
        Ok(Some(to_value(&flatten(
            &wg,
            &arn,
            &remote_tags,
            client,
            &state,
        ))?))
    }

    async fn update(
        &self,
        client: &Client,
        prior_value: &Value,
        planned_value: &Value,
    ) -> Result<Value, ApplyError> {
        let prior: WorkgroupModel = from_value(prior_value)?;
        let planned: WorkgroupModel = from_value(planned_value)?;
        let name = planned.name.as_str();
        let athena = client.aws.athena();
        let configuration = expand_configuration_updates(&prior, &planned)?;
        let description = (prior.description != planned.description)
            // An empty description is how UpdateWorkGroup removes it.
            .then(|| planned.description.clone().unwrap_or_default());
        let state = (prior.state != planned.state)
            .then(|| WorkGroupState::from(planned.state.known().map_or("", String::as_str)));
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
        let arn = prior.arn.known().map_or("", String::as_str);
        let target = WorkgroupTags { client, arn, name };
        tags::update(&target, &prior.tags_all, &planned.tags_all).await?;
        let updated = self.read(client, planned_value).await;
        tfplugin::read_back(
            updated,
            &format!("Athena WorkGroup ({name})"),
            Written::Updated,
            planned_value,
        )
    }

    async fn delete(&self, client: &Client, state: &Value) -> Result<(), Diagnostics> {
        let state: WorkgroupModel = from_value(state)?;
        let name = state.name.as_str();
        let athena = client.aws.athena();
        let force_destroy = state.force_destroy == Maybe::Known(true);
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
                Err(e) if e.as_service_error().is_some_and(is_missing) => return Ok(()),
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
            Err(e) if e.as_service_error().is_some_and(is_missing) => Ok(()),
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
        tfplugin::check_import_id(
            TYPE_NAME,
            id,
            "the workgroup name",
            names::athena_workgroup_name,
        )?;
        let state = WorkgroupModel {
            name: id.to_string(),
            force_destroy: Maybe::Known(false),
            ..WorkgroupModel::default()
        };
        Ok(to_value(&state)?)
    }
}

#[cfg(test)]
mod tests;
