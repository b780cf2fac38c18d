//! `mdw_lake_bucket`: one S3 bucket of the lake, hardened by default — public access blocked,
//! ACLs disabled, default encryption, versioning, a lifecycle that fits its purpose, a TLS-only
//! policy, optional access logging, tags. One resource instead of the AWS provider's seven.

use async_trait::async_trait;
use tfplugin::{
    ApplyError, Diagnostic, Diagnostics, Maybe, Model, PlanChange, Resource, Schema, Value,
    Written, from_value, to_value, validators,
};

use crate::aws::names;
use crate::client::Client;
use crate::s3::bucket::{
    self, BucketSettings, Hardening, LifecycleSettings, RemoteBucket, bucket_policy, validate_days,
};
use crate::tags;

pub(crate) struct LakeBucket;

const TYPE_NAME: &str = "mdw_lake_bucket";

pub(crate) const PURPOSES: &[&str] = &["query_results", "warehouse", "raw", "logs"];

// ---- schema ---------------------------------------------------------------------------------

tfplugin::model! {
    /// The attributes of `mdw_lake_bucket`.
    pub(crate) struct LakeBucketModel {
        /// Bucket name: 3–63 lower-case letters, digits, `-` and `.`; global across all AWS
        /// accounts.
        #[tf(required, requires_replace, validate = names::bucket_name)]
        pub(crate) name: String,
        /// `query_results`, `warehouse`, `raw` or `logs`: picks the lifecycle defaults (and, for
        /// `logs`, lets S3 server access logs in). Changing it updates the lifecycle in place.
        #[tf(required, validate = validators::one_of(PURPOSES))]
        pub(crate) purpose: Option<String>,
        /// Days after which current objects expire; 0 never. Default by purpose: query_results
        /// 30, logs 365, warehouse and raw 0 (a warehouse bucket must keep 0: expiring would
        /// delete live Iceberg files).
        #[tf(optional_computed, validate = validate_days(0))]
        pub(crate) expiration_days: Maybe<i64>,
        /// Days after which overwritten or deleted versions are removed; 0 never. Default by
        /// purpose: query_results 1, warehouse 30, raw 90, logs 30.
        #[tf(optional_computed, validate = validate_days(0))]
        pub(crate) noncurrent_version_expiration_days: Maybe<i64>,
        /// Keep previous versions of overwritten and deleted objects; `false` suspends
        /// versioning (S3 cannot un-version a bucket).
        #[tf(default = true)]
        pub(crate) versioning: Maybe<bool>,
        #[tf(flatten)]
        #[serde(flatten)]
        pub(crate) hardening: Hardening,
    }
}

fn schema() -> Schema {
    Schema::new(
        "An S3 bucket of the lake with every hardening on by default: S3 Block Public Access, \
         bucket-owner-enforced ownership (no ACLs), SSE-S3 or SSE-KMS default encryption, versioning, \
         a lifecycle that fits its `purpose` (and always aborts stale multipart uploads), a TLS-only \
         bucket policy and tags. Never adopts an existing bucket: import it instead.",
        LakeBucketModel::attributes(),
    )
    .with_version(bucket::SCHEMA_VERSION)
}

/// Lifecycle defaults of a purpose: (expiration_days, noncurrent_version_expiration_days).
///
/// Query results are disposable (Athena can re-run the query); warehouse objects are Iceberg
/// data and metadata files, which only Iceberg itself may expire — expiring them would corrupt
/// tables; raw landing data is the source of truth; logs are kept for a year.
pub(crate) fn purpose_defaults(purpose: &str) -> Option<(i64, i64)> {
    match purpose {
        "query_results" => Some((30, 1)),
        "warehouse" => Some((0, 30)),
        "raw" => Some((0, 90)),
        "logs" => Some((365, 30)),
        _ => None,
    }
}

fn lifecycle_rule_id(purpose: &str) -> String {
    format!("mdw-{purpose}")
}

// ---- validation -----------------------------------------------------------------------------

fn validate(config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let expiration = config
        .get(LakeBucketModel::expiration_days)
        .as_i64()
        .unwrap_or(0);
    let purpose = config.get(LakeBucketModel::purpose).as_str();
    if purpose == Some("warehouse") && expiration > 0 {
        diags.push(
            // An error, not a warning: the rule would delete table data no one asked to lose,
            // weeks after the apply that set it.
            Diagnostic::error(
                "Expiring objects of a warehouse bucket deletes live table files",
                "Iceberg tables reference their data files until Iceberg expires the snapshots \
                 (Athena: OPTIMIZE / VACUUM); an S3 expiration deletes them underneath and breaks the \
                 tables. Leave expiration_days at 0 for purpose = \"warehouse\" (a bucket of \
                 disposable files is purpose = \"raw\" or \"query_results\").",
            )
            .at_attribute(LakeBucketModel::expiration_days),
        );
    }
    diags
}

// ---- expand / flatten -----------------------------------------------------------------------

/// The lifecycle a model describes; `None` while any part is unknown or missing.
fn lifecycle_of(model: &LakeBucketModel) -> Option<LifecycleSettings> {
    Some(LifecycleSettings {
        rule_id: lifecycle_rule_id(model.purpose.as_deref()?),
        expiration_days: *model.expiration_days.known()?,
        noncurrent_days: *model.noncurrent_version_expiration_days.known()?,
        abort_multipart_days: *model
            .hardening
            .abort_incomplete_multipart_upload_days
            .known()?,
    })
}

fn settings_of(model: &LakeBucketModel) -> BucketSettings {
    BucketSettings::of(
        &model.name,
        &model.hardening,
        model.versioning == Maybe::Known(true),
        lifecycle_of(model),
    )
}

/// The policy a bucket's settings call for; `Err(())` while they are unknown.
async fn expected_policy(
    client: &Client,
    name: Option<&str>,
    purpose: Option<&str>,
    enforce_tls: Option<bool>,
) -> Result<Result<Option<String>, ()>, Diagnostic> {
    let (Some(name), Some(purpose), Some(tls)) = (name, purpose, enforce_tls) else {
        return Ok(Err(()));
    };
    let account = if purpose == "logs" {
        Some(client.account_id().await?)
    } else {
        None
    };
    Ok(Ok(bucket_policy(
        client.partition(),
        name,
        tls,
        account.as_deref(),
    )))
}

/// Our rule: the one for the state's purpose, or — on import, when the purpose is not known
/// yet — any `mdw-<purpose>` rule, which then names the purpose.
fn find_purpose_rule(
    remote: &RemoteBucket,
    purpose: Option<&str>,
) -> (Option<String>, Option<LifecycleSettings>) {
    let candidates: Vec<&str> = match purpose {
        Some(p) => vec![p],
        None => PURPOSES.to_vec(),
    };
    for candidate in candidates {
        let id = lifecycle_rule_id(candidate);
        if let Some(rule) = remote
            .lifecycle_rules
            .iter()
            .find(|r| r.id() == Some(id.as_str()))
        {
            return (
                Some(candidate.to_string()),
                LifecycleSettings::from_rule(rule),
            );
        }
    }
    (purpose.map(str::to_string), None)
}

async fn flatten(
    client: &Client,
    remote: &RemoteBucket,
    prior: &LakeBucketModel,
) -> Result<LakeBucketModel, Diagnostic> {
    let mut state = prior.clone();
    let name = prior.name.clone();
    let (purpose, lifecycle) = find_purpose_rule(remote, prior.purpose.as_deref());
    state.purpose = purpose;
    let days =
        |pick: fn(&LifecycleSettings) -> i64| Maybe::from_option(lifecycle.as_ref().map(pick));
    state.expiration_days = days(|l| l.expiration_days);
    state.noncurrent_version_expiration_days = days(|l| l.noncurrent_days);
    state.hardening.abort_incomplete_multipart_upload_days = days(|l| l.abort_multipart_days);
    state.versioning = Maybe::Known(remote.versioning);
    let tls = bucket::policy_enforces_tls(client.partition(), &name, remote.policy.as_deref());
    let expected = expected_policy(client, Some(&name), state.purpose.as_deref(), Some(tls))
        .await?
        .unwrap_or(None);
    bucket::flatten_bucket(
        client,
        &name,
        remote,
        &mut state.hardening,
        expected.as_deref(),
    );
    Ok(state)
}

// ---- create / read / update / delete / import -----------------------------------------------

#[async_trait]
impl Resource<Client> for LakeBucket {
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
            LakeBucketModel::name,
        ))
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        validate(config)
    }

    async fn plan(&self, client: &Client, change: &mut PlanChange<'_>) -> Result<(), Diagnostics> {
        tags::plan_tags_all(&client.default_tags, change);
        let purpose = change.planned.get(LakeBucketModel::purpose).as_str();
        let defaults = purpose.and_then(purpose_defaults);
        // Purpose-dependent defaults follow the purpose, also when it changes.
        let purpose_default: [(&str, fn((i64, i64)) -> i64); 2] = [
            (LakeBucketModel::expiration_days, |d| d.0),
            (LakeBucketModel::noncurrent_version_expiration_days, |d| d.1),
        ];
        for (attribute, pick) in purpose_default {
            if change.config.get(attribute).is_null() {
                change.planned.set(
                    attribute,
                    defaults.map_or(Value::unknown(), |d| Value::from(pick(d))),
                );
            }
        }
        let planned = &change.planned;
        let name = planned
            .get(LakeBucketModel::name)
            .as_str()
            .map(str::to_string);
        let policy = expected_policy(
            client,
            name.as_deref(),
            planned.get(LakeBucketModel::purpose).as_str(),
            planned.get(Hardening::enforce_tls).as_bool(),
        )
        .await?;
        bucket::plan_bucket(client, change, name.as_deref(), policy).await?;
        Ok(())
    }

    async fn create(&self, client: &Client, planned_value: &Value) -> Result<Value, ApplyError> {
        let planned: LakeBucketModel = from_value(planned_value)?;
        let name = planned.name.as_str();
        bucket::create_bucket(client, TYPE_NAME, name).await?;
        // The bucket exists from here on: anything failing below must not orphan it. Read
        // then shows what is missing, and the next apply completes it.
        if let Err(d) = bucket::apply_settings(client, name, None, &settings_of(&planned)).await {
            return Err(ApplyError::from(d).with_partial_state(planned_value.clone()));
        }
        match self.read(client, planned_value).await {
            Ok(Some(state)) => Ok(state),
            // Not visible yet (S3 is eventually consistent): every setting was acknowledged.
            Ok(None) => Ok(planned_value.clone()),
            Err(d) => Err(ApplyError::from(d).with_partial_state(planned_value.clone())),
        }
    }

    async fn read(&self, client: &Client, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let state: LakeBucketModel = from_value(state)?;
        let Some(remote) = bucket::find_bucket(client, &state.name).await? else {
            return Ok(None);
        };
        Ok(Some(to_value(&flatten(client, &remote, &state).await?)?))
    }

    async fn update(
        &self,
        client: &Client,
        prior_value: &Value,
        planned_value: &Value,
    ) -> Result<Value, ApplyError> {
        let prior: LakeBucketModel = from_value(prior_value)?;
        let planned: LakeBucketModel = from_value(planned_value)?;
        let name = planned.name.as_str();
        bucket::apply_settings(
            client,
            name,
            Some(&settings_of(&prior)),
            &settings_of(&planned),
        )
        .await?;
        let updated = self.read(client, planned_value).await;
        tfplugin::read_back(
            updated,
            &format!("S3 Bucket ({name})"),
            Written::Updated,
            planned_value,
        )
    }

    async fn delete(&self, client: &Client, state: &Value) -> Result<(), Diagnostics> {
        let state: LakeBucketModel = from_value(state)?;
        let force = state.hardening.force_destroy == Maybe::Known(true);
        Ok(bucket::delete_bucket(client, &state.name, force).await?)
    }

    async fn import(&self, _client: &Client, id: &str) -> Result<Value, Diagnostics> {
        tfplugin::check_import_id(TYPE_NAME, id, "the bucket name", names::bucket_name)?;
        let mut state = LakeBucketModel {
            name: id.to_string(),
            ..LakeBucketModel::default()
        };
        state.hardening.force_destroy = Maybe::Known(false);
        Ok(to_value(&state)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::types::LifecycleRule;

    #[test]
    fn every_purpose_has_defaults_and_warehouse_data_never_expires() {
        for purpose in PURPOSES {
            assert!(purpose_defaults(purpose).is_some(), "{purpose}");
        }
        assert_eq!(purpose_defaults("query_results"), Some((30, 1)));
        assert_eq!(purpose_defaults("warehouse").map(|d| d.0), Some(0));
        assert_eq!(purpose_defaults("raw").map(|d| d.0), Some(0));
        assert_eq!(purpose_defaults("logs"), Some((365, 30)));
        assert_eq!(purpose_defaults("other"), None);
    }

    #[test]
    fn lifecycle_per_purpose_becomes_one_rule_named_after_it() {
        for purpose in PURPOSES {
            let (expiration, noncurrent) = purpose_defaults(purpose).unwrap();
            let value = Value::object([
                ("purpose", Value::from(*purpose)),
                ("expiration_days", Value::from(expiration)),
                (
                    "noncurrent_version_expiration_days",
                    Value::from(noncurrent),
                ),
                ("abort_incomplete_multipart_upload_days", Value::from(7)),
            ]);
            let model: LakeBucketModel = from_value(&value).unwrap();
            let rule = lifecycle_of(&model).unwrap().to_rule().unwrap();
            assert_eq!(rule.id(), Some(format!("mdw-{purpose}").as_str()));
            assert_eq!(
                rule.abort_incomplete_multipart_upload()
                    .and_then(|a| a.days_after_initiation()),
                Some(7),
                "{purpose}: every bucket aborts stale multipart uploads"
            );
            let expires = rule.expiration().and_then(|e| e.days());
            assert_eq!(
                expires,
                (expiration > 0).then_some(expiration as i32),
                "{purpose}"
            );
            assert_eq!(
                rule.noncurrent_version_expiration()
                    .and_then(|n| n.noncurrent_days()),
                Some(noncurrent as i32),
                "{purpose}"
            );
        }
        let partial: LakeBucketModel =
            from_value(&Value::object([("purpose", Value::from("raw"))])).unwrap();
        assert!(lifecycle_of(&partial).is_none());
    }

    #[test]
    fn import_finds_the_purpose_from_the_rule() {
        let rule: LifecycleRule = LifecycleSettings {
            rule_id: "mdw-logs".into(),
            expiration_days: 365,
            noncurrent_days: 30,
            abort_multipart_days: 7,
        }
        .to_rule()
        .unwrap();
        let remote = RemoteBucket {
            lifecycle_rules: vec![rule],
            ..Default::default()
        };
        let (purpose, lifecycle) = find_purpose_rule(&remote, None);
        assert_eq!(purpose.as_deref(), Some("logs"));
        assert_eq!(lifecycle.map(|l| l.expiration_days), Some(365));
        // With a known purpose, another purpose's rule is not ours.
        let (purpose, lifecycle) = find_purpose_rule(&remote, Some("raw"));
        assert_eq!(purpose.as_deref(), Some("raw"));
        assert_eq!(lifecycle, None);
    }

    #[test]
    fn warehouse_expiration_is_refused_at_the_attribute() {
        let config = Value::object([
            ("purpose", Value::from("warehouse")),
            ("expiration_days", Value::from(30)),
        ]);
        let diags = validate(&config);
        assert_eq!(diags.0.len(), 1);
        assert!(diags.has_errors());
        assert_eq!(
            diags.0[0].path,
            Some(tfplugin::AttributePath::root("expiration_days"))
        );
        let fine = Value::object([("purpose", Value::from("query_results"))]);
        assert!(validate(&fine).is_empty());
    }

    #[test]
    fn schema_defaults_are_secure() {
        let schema = schema();
        let default = |name: &str| schema.attribute(name).and_then(|a| a.default.clone());
        assert_eq!(default("versioning"), Some(Value::from(true)));
        assert_eq!(default("enforce_tls"), Some(Value::from(true)));
        assert_eq!(default("force_destroy"), Some(Value::from(false)));
        assert_eq!(
            default("abort_incomplete_multipart_upload_days"),
            Some(Value::from(7))
        );
        assert!(schema.attribute("name").is_some_and(|a| a.requires_replace));
    }
}
