//! `mdw_state_backend`: where Terraform keeps the warehouse's remote state — a hardened,
//! versioned S3 bucket plus, optionally, the DynamoDB lock table of the seed's setup — and the
//! values a `backend "s3"` block needs. Created from `infra/bootstrap/` with local state.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::TableDescription;
use tfplugin::{
    ApplyError, Diagnostic, Diagnostics, Maybe, Model, PlanChange, Resource, Schema, Value,
    Written, from_value, to_value,
};

use crate::aws::names;
use crate::client::Client;
use crate::s3::bucket::{
    self, BucketSettings, Hardening, LifecycleSettings, RemoteBucket, bucket_policy, validate_days,
};
use crate::tags;

mod lock_table;

use lock_table::{
    create_lock_table, delete_lock_table, find_point_in_time_recovery, find_table,
    table_already_exists, update_lock_table,
};

pub(crate) struct StateBackend;

const TYPE_NAME: &str = "mdw_state_backend";
/// The hash key Terraform's S3 backend locks with.
const LOCK_KEY: &str = "LockID";
const LIFECYCLE_RULE_ID: &str = "mdw-terraform-state";

// ---- schema ---------------------------------------------------------------------------------

tfplugin::model! {
    /// The attributes of `mdw_state_backend`.
    pub(crate) struct StateBackendModel {
        /// Name of the state bucket, e.g. `mdw-terraform-remote-state`.
        #[tf(required, requires_replace, validate = names::bucket_name)]
        pub(crate) name: String,
        /// Name of a DynamoDB lock table to create (hash key `LockID`), e.g.
        /// `mdw-terraform-locks`. Unset: lock with S3 itself (`use_lockfile = true`), the modern
        /// choice. Changing it creates the new table, then deletes the old one; removing it
        /// deletes the table; the bucket stays.
        #[tf(validate = names::dynamodb_table_name)]
        pub(crate) lock_table: Option<String>,
        /// Days old state versions are kept for recovery; 0 keeps them forever.
        #[tf(default = 90, validate = validate_days(0))]
        pub(crate) noncurrent_version_expiration_days: Maybe<i64>,
        #[tf(flatten)]
        #[serde(flatten)]
        pub(crate) hardening: Hardening,
        /// Always true: every state write is a new version. Shows drift when suspended outside
        /// Terraform.
        #[tf(computed)]
        pub(crate) versioning: Maybe<bool>,
        /// The lock table's ARN (null without a lock table).
        #[tf(computed)]
        pub(crate) lock_table_arn: Maybe<String>,
        /// Always true for a lock table: point-in-time recovery on. Shows drift when turned off
        /// outside Terraform.
        #[tf(computed)]
        pub(crate) lock_table_point_in_time_recovery: Maybe<bool>,
        /// For the backend block: `bucket`.
        #[tf(computed)]
        pub(crate) bucket: Maybe<String>,
        /// For the backend block: `dynamodb_table` (null without a lock table).
        #[tf(computed)]
        pub(crate) dynamodb_table: Maybe<String>,
        /// For the backend block: `encrypt` (always true).
        #[tf(computed)]
        pub(crate) encrypt: Maybe<bool>,
        /// For the backend block: `kms_key_id` (null with SSE-S3).
        #[tf(computed)]
        pub(crate) kms_key_id: Maybe<String>,
        /// Every setting of the `backend "s3"` block but `key`, ready for `-backend-config`:
        /// `bucket`, `region`, `encrypt`, and `dynamodb_table` or `use_lockfile`, and
        /// `kms_key_id` with SSE-KMS.
        #[tf(computed)]
        pub(crate) backend_config: Maybe<BTreeMap<String, String>>,
    }
}

fn schema() -> Schema {
    Schema::new(
        "Terraform remote state: a hardened S3 bucket (public access blocked, ACLs disabled, SSE-S3 or \
         SSE-KMS, versioning with expiry of old versions, TLS-only policy, optional access logging) and \
         an optional DynamoDB lock table (`LockID`, on-demand, point-in-time recovery, encrypted). \
         Never adopts an existing bucket or table: import instead.",
        StateBackendModel::attributes(),
    )
    .with_version(bucket::SCHEMA_VERSION)
}

/// The settings of a `backend "s3"` block (all but `key`, which each root module picks).
pub(crate) fn backend_config(
    bucket: &str,
    region: &str,
    lock_table: Option<&str>,
    kms_key_id: Option<&str>,
) -> BTreeMap<String, String> {
    let mut config = BTreeMap::from([
        ("bucket".to_string(), bucket.to_string()),
        ("region".to_string(), region.to_string()),
        ("encrypt".to_string(), "true".to_string()),
    ]);
    match lock_table {
        Some(table) => config.insert("dynamodb_table".to_string(), table.to_string()),
        None => config.insert("use_lockfile".to_string(), "true".to_string()),
    };
    if let Some(key) = kms_key_id {
        config.insert("kms_key_id".to_string(), key.to_string());
    }
    config
}

// ---- expand / flatten -----------------------------------------------------------------------

fn lifecycle_of(model: &StateBackendModel) -> Option<LifecycleSettings> {
    Some(LifecycleSettings {
        rule_id: LIFECYCLE_RULE_ID.to_string(),
        expiration_days: 0,
        noncurrent_days: *model.noncurrent_version_expiration_days.known()?,
        abort_multipart_days: *model
            .hardening
            .abort_incomplete_multipart_upload_days
            .known()?,
    })
}

fn settings_of(model: &StateBackendModel) -> BucketSettings {
    BucketSettings::of(
        &model.name,
        &model.hardening,
        model.versioning == Maybe::Known(true),
        lifecycle_of(model),
    )
}

/// Sets the backend outputs from `value`'s name, region, lock table and key (unknown while
/// any of them is).
fn set_outputs(value: &mut Value) {
    let bucket = value.get(StateBackendModel::name).clone();
    let region = value.get(Hardening::region).clone();
    let lock_table = value.get(StateBackendModel::lock_table).clone();
    let kms = value.get(Hardening::kms_key_arn).clone();
    value.set(StateBackendModel::bucket, bucket.clone());
    value.set(StateBackendModel::dynamodb_table, lock_table.clone());
    value.set(StateBackendModel::encrypt, true);
    value.set(StateBackendModel::kms_key_id, kms.clone());
    let known = [&bucket, &region, &lock_table, &kms]
        .iter()
        .all(|v| v.is_wholly_known());
    value.set(
        StateBackendModel::backend_config,
        match (bucket.as_str(), region.as_str()) {
            (Some(bucket), Some(region)) if known => Value::from(backend_config(
                bucket,
                region,
                lock_table.as_str(),
                kms.as_str(),
            )),
            _ => Value::unknown(),
        },
    );
}

fn flatten(
    client: &Client,
    remote: &RemoteBucket,
    table: Option<(&TableDescription, bool)>,
    prior: &StateBackendModel,
) -> Result<Value, tfplugin::ValueError> {
    let mut state = prior.clone();
    let name = prior.name.clone();
    let lifecycle = remote
        .lifecycle_rules
        .iter()
        .find(|r| r.id() == Some(LIFECYCLE_RULE_ID))
        .and_then(LifecycleSettings::from_rule);
    state.noncurrent_version_expiration_days =
        Maybe::from_option(lifecycle.as_ref().map(|l| l.noncurrent_days));
    state.hardening.abort_incomplete_multipart_upload_days =
        Maybe::from_option(lifecycle.as_ref().map(|l| l.abort_multipart_days));
    state.versioning = Maybe::Known(remote.versioning);
    let partition = client.partition();
    let tls = bucket::policy_enforces_tls(partition, &name, remote.policy.as_deref());
    let expected = bucket_policy(partition, &name, tls, None);
    bucket::flatten_bucket(
        client,
        &name,
        remote,
        &mut state.hardening,
        expected.as_deref(),
    );
    match table {
        Some((table, point_in_time_recovery)) => {
            state.lock_table = table.table_name.clone();
            state.lock_table_arn = Maybe::from_option(table.table_arn.clone());
            state.lock_table_point_in_time_recovery = Maybe::Known(point_in_time_recovery);
        }
        // A lock table deleted out of band reads as none: the plan creates it again.
        None => {
            state.lock_table = None;
            state.lock_table_arn = Maybe::Null;
            state.lock_table_point_in_time_recovery = Maybe::Null;
        }
    }
    let mut state = to_value(&state)?;
    set_outputs(&mut state);
    Ok(state)
}

// ---- create / read / update / delete / import -----------------------------------------------

#[async_trait]
impl Resource<Client> for StateBackend {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn upgrade_state(&self, from_version: i64, state: Value) -> Result<Value, Diagnostics> {
        Ok(bucket::upgrade_state(
            from_version,
            state,
            StateBackendModel::name,
        ))
    }

    async fn plan(&self, client: &Client, change: &mut PlanChange<'_>) -> Result<(), Diagnostics> {
        tags::plan_tags_all(&client.default_tags, change);
        change.planned.set(StateBackendModel::versioning, true);
        let name = change
            .planned
            .get(StateBackendModel::name)
            .as_str()
            .map(str::to_string);
        let policy = match (
            name.as_deref(),
            change.planned.get(Hardening::enforce_tls).as_bool(),
        ) {
            (Some(name), Some(tls)) => Ok(bucket_policy(client.partition(), name, tls, None)),
            _ => Err(()),
        };
        bucket::plan_bucket(client, change, name.as_deref(), policy).await?;
        let lock_table = change.planned.get(StateBackendModel::lock_table).clone();
        let unchanged =
            !change.is_create() && change.prior.get(StateBackendModel::lock_table) == &lock_table;
        let (arn, point_in_time_recovery) = if lock_table.is_null() {
            (Value::Null, Value::Null)
        } else if unchanged {
            (
                change.prior.get(StateBackendModel::lock_table_arn).clone(),
                Value::from(true),
            )
        } else {
            (Value::unknown(), Value::from(true))
        };
        change.planned.set(StateBackendModel::lock_table_arn, arn);
        change.planned.set(
            StateBackendModel::lock_table_point_in_time_recovery,
            point_in_time_recovery,
        );
        set_outputs(&mut change.planned);
        Ok(())
    }

    async fn create(&self, client: &Client, planned_value: &Value) -> Result<Value, ApplyError> {
        let planned: StateBackendModel = from_value(planned_value)?;
        let name = planned.name.as_str();
        let lock_table = planned.lock_table.as_deref();
        // Refuse before creating anything, so a taken table name leaves no bucket behind.
        if let Some(table) = lock_table
            && find_table(client, table).await?.is_some()
        {
            return Err(table_already_exists(table).into());
        }
        bucket::create_bucket(client, TYPE_NAME, name).await?;
        // The bucket exists from here on: a failure below keeps it in state, and the next
        // apply completes what Read finds missing.
        let partial = |d: Diagnostic| ApplyError::from(d).with_partial_state(planned_value.clone());
        bucket::apply_settings(client, name, None, &settings_of(&planned))
            .await
            .map_err(partial)?;
        if let Some(table) = lock_table {
            create_lock_table(client, table, &planned)
                .await
                .map_err(partial)?;
        }
        match self.read(client, planned_value).await {
            Ok(Some(state)) => Ok(state),
            // Not visible yet (S3 is eventually consistent): every setting was acknowledged.
            Ok(None) => Ok(planned_value.clone()),
            Err(d) => Err(ApplyError::from(d).with_partial_state(planned_value.clone())),
        }
    }

    async fn read(&self, client: &Client, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let state: StateBackendModel = from_value(state)?;
        let Some(remote) = bucket::find_bucket(client, &state.name).await? else {
            return Ok(None);
        };
        let table = match state.lock_table.as_deref() {
            Some(table) => match find_table(client, table).await? {
                Some(description) => {
                    let pitr = find_point_in_time_recovery(client, table).await?;
                    Some((description, pitr))
                }
                None => None,
            },
            None => None,
        };
        Ok(Some(flatten(
            client,
            &remote,
            table.as_ref().map(|(t, pitr)| (t, *pitr)),
            &state,
        )?))
    }

    async fn update(
        &self,
        client: &Client,
        prior_value: &Value,
        planned_value: &Value,
    ) -> Result<Value, ApplyError> {
        let prior: StateBackendModel = from_value(prior_value)?;
        let planned: StateBackendModel = from_value(planned_value)?;
        let name = planned.name.as_str();
        bucket::apply_settings(
            client,
            name,
            Some(&settings_of(&prior)),
            &settings_of(&planned),
        )
        .await?;
        let (old, new) = (prior.lock_table.as_deref(), planned.lock_table.as_deref());
        match (old, new) {
            (Some(old), Some(new)) if old == new => {
                update_lock_table(client, new, &prior, &planned).await?;
            }
            _ => {
                // A new lock table first, then the old one goes: locking never has a gap.
                if let Some(new) = new {
                    if find_table(client, new).await?.is_some() {
                        return Err(table_already_exists(new).into());
                    }
                    create_lock_table(client, new, &planned).await?;
                }
                if let Some(old) = old {
                    delete_lock_table(client, old).await?;
                }
            }
        }
        let updated = self.read(client, planned_value).await;
        tfplugin::read_back(
            updated,
            &format!("S3 Bucket ({name})"),
            Written::Updated,
            planned_value,
        )
    }

    async fn delete(&self, client: &Client, state: &Value) -> Result<(), Diagnostics> {
        let state: StateBackendModel = from_value(state)?;
        let name = state.name.as_str();
        let force = state.hardening.force_destroy == Maybe::Known(true);
        // Refuse before touching anything: a state bucket with state in it stays whole.
        if !force
            && let Some(contents) = bucket::count_contents(client, name).await?
            && !contents.is_empty()
        {
            return Err(bucket::not_empty_error(name, &contents).into());
        }
        if let Some(table) = state.lock_table.as_deref() {
            delete_lock_table(client, table).await?;
        }
        Ok(bucket::delete_bucket(client, name, force).await?)
    }

    async fn import(&self, _client: &Client, id: &str) -> Result<Value, Diagnostics> {
        let (bucket, table) = parse_import_id(id)
            .map_err(|message| Diagnostic::error(format!("Invalid import id {id:?}"), message))?;
        let mut state = StateBackendModel {
            name: bucket,
            lock_table: table,
            ..StateBackendModel::default()
        };
        state.hardening.force_destroy = Maybe::Known(false);
        Ok(to_value(&state)?)
    }
}

/// `bucket` or `bucket,lock_table`.
fn parse_import_id(id: &str) -> Result<(String, Option<String>), String> {
    let (bucket, table) = match id.split_once(',') {
        Some((bucket, table)) => (bucket, Some(table)),
        None => (id, None),
    };
    let problem = names::bucket_name(&Value::from(bucket))
        .err()
        .or_else(|| table.and_then(|t| names::dynamodb_table_name(&Value::from(t)).err()));
    match problem {
        Some(message) => Err(format!(
            "{message} The import id of {TYPE_NAME} is the bucket name, or \"<bucket>,<lock table>\" \
             with a DynamoDB lock table, e.g. \"mdw-terraform-remote-state,mdw-terraform-locks\"."
        )),
        None => Ok((bucket.to_string(), table.map(str::to_string))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_config_prefers_s3_locking_without_a_table() {
        let modern = backend_config("mdw-terraform-remote-state", "us-west-2", None, None);
        assert_eq!(
            modern,
            BTreeMap::from([
                ("bucket".into(), "mdw-terraform-remote-state".into()),
                ("region".into(), "us-west-2".into()),
                ("encrypt".into(), "true".into()),
                ("use_lockfile".into(), "true".into()),
            ])
        );
        let seed = backend_config(
            "mdw-terraform-remote-state",
            "us-west-2",
            Some("mdw-terraform-locks"),
            Some("arn:aws:kms:us-west-2:1:key/k"),
        );
        assert_eq!(seed["dynamodb_table"], "mdw-terraform-locks");
        assert_eq!(seed["kms_key_id"], "arn:aws:kms:us-west-2:1:key/k");
        assert!(!seed.contains_key("use_lockfile"));
    }

    #[test]
    fn outputs_follow_the_settings_and_stay_unknown_while_they_are() {
        let mut value = Value::object([
            ("name", Value::from("mdw-terraform-remote-state")),
            ("region", Value::from("us-west-2")),
            ("lock_table", Value::from("mdw-terraform-locks")),
        ]);
        set_outputs(&mut value);
        assert_eq!(
            value.get(StateBackendModel::bucket).as_str(),
            Some("mdw-terraform-remote-state")
        );
        assert_eq!(
            value.get(StateBackendModel::dynamodb_table).as_str(),
            Some("mdw-terraform-locks")
        );
        assert_eq!(value.get(StateBackendModel::encrypt).as_bool(), Some(true));
        assert!(value.get(StateBackendModel::kms_key_id).is_null());
        assert_eq!(
            value.get(StateBackendModel::backend_config).string_map()["dynamodb_table"],
            "mdw-terraform-locks"
        );
        value.set(StateBackendModel::lock_table, Value::unknown());
        set_outputs(&mut value);
        assert!(value.get(StateBackendModel::backend_config).is_unknown());
    }

    #[test]
    fn state_lifecycle_keeps_current_state_and_expires_old_versions() {
        let value = Value::object([
            ("noncurrent_version_expiration_days", Value::from(90)),
            ("abort_incomplete_multipart_upload_days", Value::from(7)),
        ]);
        let model: StateBackendModel = from_value(&value).unwrap();
        let rule = lifecycle_of(&model).unwrap().to_rule().unwrap();
        assert_eq!(rule.id(), Some(LIFECYCLE_RULE_ID));
        assert_eq!(
            rule.expiration().and_then(|e| e.days()),
            None,
            "current state never expires"
        );
        assert_eq!(
            rule.noncurrent_version_expiration()
                .and_then(|n| n.noncurrent_days()),
            Some(90)
        );
    }

    #[test]
    fn import_ids_name_the_bucket_and_optionally_the_table() {
        assert_eq!(
            parse_import_id("mdw-terraform-remote-state"),
            Ok(("mdw-terraform-remote-state".to_string(), None))
        );
        assert_eq!(
            parse_import_id("mdw-terraform-remote-state,mdw-terraform-locks"),
            Ok((
                "mdw-terraform-remote-state".to_string(),
                Some("mdw-terraform-locks".to_string())
            ))
        );
        let err = parse_import_id("Bad_Bucket,locks").unwrap_err();
        assert!(err.contains("<bucket>,<lock table>"), "{err}");
        assert!(parse_import_id("bucket,x y").is_err());
    }

    #[test]
    fn versioning_is_not_optional_and_a_new_lock_table_does_not_replace_the_bucket() {
        let schema = schema();
        assert!(
            schema
                .attribute("versioning")
                .is_some_and(|a| a.computed && !a.optional)
        );
        assert!(
            schema
                .attribute("lock_table")
                .is_some_and(|a| !a.requires_replace)
        );
        assert_eq!(
            schema
                .attribute("noncurrent_version_expiration_days")
                .and_then(|a| a.default.clone()),
            Some(Value::from(90))
        );
    }
}
