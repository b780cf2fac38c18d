//! The warehouse's IAM roles, one resource type per principal — `mdw_dbt_runner_role`,
//! `mdw_airbyte_ec2_role`, `mdw_terraform_operator_role` — so each takes exactly the inputs its
//! policy is computed from (Terraform itself then reports a missing one). Each role carries one
//! inline policy, computed at plan time from the principal's inputs and shown in the plan as
//! `policy_json`. The lifecycle is written once here, for every `Principal`.

mod remote;

use std::collections::BTreeSet;
use std::marker::PhantomData;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tfplugin::validators::each;
use tfplugin::{
    ApplyError, Diagnostic, Diagnostics, Maybe, Model, PlanChange, Resource, Schema, Value,
    ValueError, Written, from_value, to_value,
};

use crate::aws::arn::account_of;
use crate::aws::{aws_error, names, removed};
use crate::client::Client;
use crate::iam::policy::{self, ParsedPolicy, ROLE_INLINE_POLICY_LIMIT, Scope, Trust};
use crate::iam::principal::{Principal, empty_list};
use crate::tags::{self, Tagging};
use remote::{INLINE_POLICY_NAME, InstanceProfileTags, Remote, RoleTags};

const DEFAULT_MAX_SESSION_SECONDS: i64 = 3600;

/// The role resource of principal `P`.
pub(crate) struct Role<P>(PhantomData<fn() -> P>);

impl<P: Principal> Role<P> {
    pub(crate) fn new() -> Self {
        Role(PhantomData)
    }
}

// ---- schema ---------------------------------------------------------------------------------

tfplugin::model! {
    /// The attributes every role has before its principal's inputs.
    pub(crate) struct RoleHead {
        /// Role name: 1–64 letters, digits and `+=,.@_-`. The Airbyte instance profile gets the
        /// same name.
        #[tf(required, requires_replace, validate = names::iam_role_name)]
        pub(crate) name: String,
        /// What the role is for; at most 1000 characters.
        #[tf(validate = validate_description)]
        pub(crate) description: Option<String>,
        // No default on purpose: unset means IAM's own default (3600 s), and the state then
        // holds no number (Terraform 1.10/1.11 report a refresh-only plan of a resource with a
        // number attribute as a change even when nothing changed, hashicorp/terraform#36403).
        /// Longest session in seconds, 3600 to 43200. Unset: IAM's default, 3600.
        #[tf(validate = validate_max_session_duration)]
        pub(crate) max_session_duration: Option<i64>,
    }
}

tfplugin::model! {
    /// Who may assume a role whose principal does not decide it.
    pub(crate) struct TrustModel {
        /// IAM principals allowed to assume the role, e.g. a CI role
        /// `arn:aws:iam::123456789012:role/ci`, or `arn:aws:iam::123456789012:root` for an account.
        #[tf(default = empty_list(), validate = each(names::iam_principal_arn))]
        pub(crate) trusted_principal_arns: Maybe<Vec<String>>,
        /// AWS services allowed to assume the role, e.g. `codebuild.amazonaws.com`.
        #[tf(default = empty_list(), validate = each(names::service_principal))]
        pub(crate) trusted_services: Maybe<Vec<String>>,
    }
}

tfplugin::model! {
    /// What the provider computes for every role.
    pub(crate) struct RoleComputed {
        /// The role's ARN.
        #[tf(computed)]
        pub(crate) arn: Maybe<String>,
        /// The trust policy, computed from the trusted principals.
        #[tf(computed)]
        pub(crate) assume_role_policy_json: Maybe<String>,
        /// The inline policy `mdw-least-privilege`, computed from the inputs; known at plan time.
        #[tf(computed)]
        pub(crate) policy_json: Maybe<String>,
    }
}

tfplugin::model! {
    /// The instance profile of a role for EC2.
    pub(crate) struct InstanceProfile {
        /// The ARN of the instance profile named like the role.
        #[tf(computed)]
        pub(crate) instance_profile_arn: Maybe<String>,
        /// For `aws_instance.iam_instance_profile` (same as the role name).
        #[tf(computed)]
        pub(crate) instance_profile_name: Maybe<String>,
    }
}

fn validate_description(value: &Value) -> Result<(), String> {
    match value.as_str() {
        Some(s) if s.chars().count() > 1000 => {
            Err("description must be at most 1000 characters.".to_string())
        }
        _ => Ok(()),
    }
}

fn validate_max_session_duration(value: &Value) -> Result<(), String> {
    match value.as_i64() {
        Some(n) if (3600..=43200).contains(&n) => Ok(()),
        _ => Err(
            "max_session_duration must be a whole number of seconds from 3600 to 43200."
                .to_string(),
        ),
    }
}

/// Whether the configuration names who may assume roles of `P`.
fn configurable_trust<P: Principal>() -> bool {
    P::fixed_trust("aws").is_none()
}

fn schema<P: Principal>() -> Schema {
    let mut attributes = RoleHead::attributes();
    if configurable_trust::<P>() {
        attributes.extend(TrustModel::attributes());
    }
    attributes.extend(P::Config::attributes());
    attributes.extend(Tagging::attributes());
    attributes.extend(RoleComputed::attributes());
    if P::INSTANCE_PROFILE {
        attributes.extend(InstanceProfile::attributes());
    }
    Schema::new(P::DESCRIPTION, attributes)
}

// ---- the values of a role -------------------------------------------------------------------

/// A role's values, group by group (the principal's inputs in the middle); a group its
/// principal does not have stays at its default and is not written.
struct RoleModel<P: Principal> {
    head: RoleHead,
    trust: TrustModel,
    inputs: P::Config,
    tagging: Tagging,
    computed: RoleComputed,
    instance_profile: InstanceProfile,
}

// By hand: a derive would ask the principal itself to be `Clone`.
impl<P: Principal> Clone for RoleModel<P> {
    fn clone(&self) -> Self {
        RoleModel {
            head: self.head.clone(),
            trust: self.trust.clone(),
            inputs: self.inputs.clone(),
            tagging: self.tagging.clone(),
            computed: self.computed.clone(),
            instance_profile: self.instance_profile.clone(),
        }
    }
}

impl<P: Principal> RoleModel<P> {
    /// Reads a state or a planned value at apply, where every configured value is known.
    fn read(value: &Value) -> Result<Self, ValueError> {
        Ok(RoleModel {
            head: from_value(value)?,
            trust: from_value(value)?,
            inputs: from_value(value)?,
            tagging: from_value(value)?,
            computed: from_value(value)?,
            instance_profile: from_value(value)?,
        })
    }

    fn to_value(&self) -> Result<Value, ValueError> {
        let mut value = Value::object::<String>([]);
        write(&mut value, &self.head)?;
        if configurable_trust::<P>() {
            write(&mut value, &self.trust)?;
        }
        write(&mut value, &self.inputs)?;
        write(&mut value, &self.tagging)?;
        write(&mut value, &self.computed)?;
        if P::INSTANCE_PROFILE {
            write(&mut value, &self.instance_profile)?;
        }
        Ok(value)
    }
}

/// Writes the attributes of one group into a role's value.
fn write(value: &mut Value, group: &impl Serialize) -> Result<(), ValueError> {
    if let Value::Map(attributes) = to_value(group)? {
        for (name, attribute) in attributes {
            value.set(&name, attribute);
        }
    }
    Ok(())
}

/// One group of a value whose other attributes may not be known (a plan, a configuration).
fn group<G: DeserializeOwned>(value: &Value) -> Result<G, Diagnostic> {
    from_value(value).map_err(Diagnostic::from)
}

/// Checks across attributes: someone must be able to assume the role, lists hold no
/// duplicates, and the principal's own checks.
fn validate_config<P: Principal>(config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    // A value of the wrong shape (a null in a list) is the attribute validators' to report.
    let (Ok(trust), Ok(inputs)) = (group::<TrustModel>(config), group::<P::Config>(config)) else {
        return diags;
    };
    if configurable_trust::<P>() {
        let empty = |v: &Maybe<Vec<String>>| match v {
            Maybe::Null => true,
            Maybe::Known(items) => items.is_empty(),
            Maybe::Unknown => false,
        };
        if empty(&trust.trusted_principal_arns) && empty(&trust.trusted_services) {
            diags.push(
                Diagnostic::error(
                    format!("{} needs a principal that may assume it", P::TYPE_NAME),
                    "Set trusted_principal_arns (e.g. [\"arn:aws:iam::123456789012:role/ci\"]) or trusted_services \
                     (e.g. [\"codebuild.amazonaws.com\"]).",
                )
                .at_attribute(TrustModel::trusted_principal_arns),
            );
        }
    }
    let lists = [to_value(&trust), to_value(&inputs)];
    for (attribute, items) in lists
        .iter()
        .flatten()
        .filter_map(Value::as_map)
        .flatten()
        .filter_map(|(name, value)| Some((name, value.as_list()?)))
    {
        let mut seen = BTreeSet::new();
        if let Some(duplicate) = items
            .iter()
            .filter_map(Value::as_str)
            .find(|s| !seen.insert(*s))
        {
            diags.push(
                Diagnostic::error(
                    format!("{attribute} lists {duplicate:?} twice"),
                    format!("Remove the repeated {duplicate:?} from {attribute}."),
                )
                .at_attribute(attribute),
            );
        }
    }
    diags.extend(P::validate(&inputs));
    diags
}

// ---- expand / flatten -----------------------------------------------------------------------

/// The inputs; `None` while any of them is unknown.
fn expand_inputs<P: Principal>(config: &P::Config) -> Result<Option<P::Inputs>, Diagnostic> {
    let known = to_value(config).is_ok_and(|v| v.is_wholly_known());
    if known {
        P::expand(config).map(Some)
    } else {
        Ok(None)
    }
}

fn recover_inputs<P: Principal>(policy_json: &str) -> Option<P::Inputs> {
    ParsedPolicy::parse(policy_json).and_then(|p| P::recover(&p))
}

/// The trust policy's principals; `None` while unknown.
fn expand_trust<P: Principal>(trust: &TrustModel, partition: &str) -> Option<Trust> {
    if let Some(trust) = P::fixed_trust(partition) {
        return Some(trust);
    }
    let list = |v: &Maybe<Vec<String>>| match v {
        Maybe::Unknown => None,
        other => Some(other.known().cloned().unwrap_or_default()),
    };
    Some(Trust {
        principal_arns: list(&trust.trusted_principal_arns)?,
        services: list(&trust.trusted_services)?,
    })
}

fn scope(client: &Client, account_id: &str) -> Scope {
    Scope {
        partition: client.partition().to_string(),
        region: client.region().to_string(),
        account_id: account_id.to_string(),
    }
}

/// What to store for a document: the known text when IAM holds the same grants (IAM may
/// reformat), else what IAM holds, so an out-of-band edit shows up as a change.
fn document_state(remote: &str, candidates: &[Option<&str>]) -> String {
    candidates
        .iter()
        .flatten()
        .find(|known| policy::equivalent(known, remote))
        .map_or_else(|| remote.to_string(), |known| known.to_string())
}

/// State from what IAM returned; inputs come from `prior`, or after an import from the
/// policy itself.
fn flatten<P: Principal>(client: &Client, remote: &Remote, prior: &RoleModel<P>) -> RoleModel<P> {
    let role = &remote.role;
    let name = role.role_name();
    let mut state = prior.clone();
    state.head = RoleHead {
        name: name.to_string(),
        description: role
            .description()
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        max_session_duration: match role
            .max_session_duration()
            .map_or(DEFAULT_MAX_SESSION_SECONDS, i64::from)
        {
            // IAM's default, and the configuration left it unset: nothing to show.
            DEFAULT_MAX_SESSION_SECONDS if prior.head.max_session_duration.is_none() => None,
            seconds => Some(seconds),
        },
    };
    state.computed.arn = Maybe::Known(role.arn().to_string());
    let remote_trust = role
        .assume_role_policy_document()
        .map(remote::decode_document);
    let imported = prior.inputs == P::Config::default();
    if imported {
        if let Some(inputs) = remote.policy.as_deref().and_then(recover_inputs::<P>) {
            state.inputs = P::flatten(&inputs);
        }
        if configurable_trust::<P>()
            && let Some(trust) = remote_trust.as_deref().and_then(Trust::from_json)
        {
            state.trust = TrustModel {
                trusted_principal_arns: Maybe::Known(trust.principal_arns),
                trusted_services: Maybe::Known(trust.services),
            };
        }
    }
    let partition = client.partition();
    let expected_trust = expand_trust::<P>(&state.trust, partition).map(|t| t.to_json());
    state.computed.assume_role_policy_json =
        Maybe::from_option(remote_trust.as_deref().map(|doc| {
            document_state(
                doc,
                &[
                    prior
                        .computed
                        .assume_role_policy_json
                        .known()
                        .map(String::as_str),
                    expected_trust.as_deref(),
                ],
            )
        }));
    let expected_policy = account_of(role.arn()).and_then(|account| {
        let inputs = expand_inputs::<P>(&state.inputs).ok().flatten()?;
        Some(P::policy(&inputs, &scope(client, account)).to_json())
    });
    state.computed.policy_json = Maybe::from_option(remote.policy.as_deref().map(|doc| {
        document_state(
            doc,
            &[
                prior.computed.policy_json.known().map(String::as_str),
                expected_policy.as_deref(),
            ],
        )
    }));
    state.tagging = Tagging {
        tags: tags::own_tags(
            &remote.tags,
            prior.tagging.tags.as_ref(),
            &client.default_tags,
        ),
        tags_all: Maybe::Known(remote.tags.clone()),
    };
    if P::INSTANCE_PROFILE {
        state.instance_profile = InstanceProfile {
            instance_profile_arn: Maybe::from_option(remote.instance_profile_arn.clone()),
            instance_profile_name: Maybe::from_option(
                remote
                    .instance_profile_arn
                    .as_ref()
                    .map(|_| name.to_string()),
            ),
        };
    }
    state
}

/// The trust and inline policy documents for `role`, computed now when the plan left
/// them unknown.
async fn documents<P: Principal>(
    client: &Client,
    role: &RoleModel<P>,
) -> Result<(String, String), Diagnostic> {
    let trust = match role.computed.assume_role_policy_json.known() {
        Some(doc) => doc.clone(),
        None => expand_trust::<P>(&role.trust, client.partition())
            .map(|t| t.to_json())
            .ok_or_else(|| unknown_at_apply("trusted principals"))?,
    };
    let policy = match role.computed.policy_json.known() {
        Some(doc) => doc.clone(),
        None => {
            let inputs = expand_inputs::<P>(&role.inputs)?
                .ok_or_else(|| unknown_at_apply("policy inputs"))?;
            let account = client.account_id().await?;
            P::policy(&inputs, &scope(client, &account)).to_json()
        }
    };
    Ok((trust, policy))
}

fn unknown_at_apply(what: &str) -> Diagnostic {
    Diagnostic::error(
        format!("The role's {what} are still unknown at apply"),
        "This is a bug in the mdw provider; please report it with the plan that showed it.",
    )
}

/// A document planned from a computed one: the prior text when equivalent (no spurious
/// change), unknown when it cannot be computed yet.
fn keep_equivalent(prior: &Maybe<String>, doc: Option<String>) -> Value {
    match doc {
        None => Value::unknown(),
        Some(doc) => match prior.known() {
            Some(known) if policy::equivalent(known, &doc) => Value::from(known),
            _ => Value::from(doc),
        },
    }
}

// ---- create / read / update / delete / import -----------------------------------------------

#[async_trait]
impl<P: Principal> Resource<Client> for Role<P> {
    fn type_name(&self) -> &'static str {
        P::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema::<P>()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        validate_config::<P>(config)
    }

    async fn plan(&self, client: &Client, change: &mut PlanChange<'_>) -> Result<(), Diagnostics> {
        tags::plan_tags_all(&client.default_tags, change);
        let prior: RoleComputed = if change.is_create() {
            RoleComputed::default()
        } else {
            group(change.prior)?
        };
        let trust = group::<TrustModel>(&change.planned)?;
        let trust = expand_trust::<P>(&trust, client.partition()).map(|t| t.to_json());
        change.planned.set(
            RoleComputed::assume_role_policy_json,
            keep_equivalent(&prior.assume_role_policy_json, trust),
        );

        let inputs = group::<P::Config>(&change.planned)?;
        let policy = match expand_inputs::<P>(&inputs)? {
            None => None,
            Some(inputs) => {
                // An existing role's ARN names the account; only a new role costs an STS call.
                let account = match prior.arn.known().and_then(|arn| account_of(arn)) {
                    Some(account) => account.to_string(),
                    None => client.account_id().await?,
                };
                let policy = P::policy(&inputs, &scope(client, &account));
                let size = policy.size();
                if size > ROLE_INLINE_POLICY_LIMIT {
                    return Err(Diagnostic::error(
                        format!("The policy computed for this {} is too large for IAM", P::TYPE_NAME),
                        format!(
                            "It has {size} characters; IAM allows {ROLE_INLINE_POLICY_LIMIT} for a role's inline policies. \
                             Use fewer databases or locations per role (one warehouse_location for all databases, say), \
                             or split the work across two roles."
                        ),
                    )
                    .at_attribute("databases")
                    .into());
                }
                Some(policy.to_json())
            }
        };
        change.planned.set(
            RoleComputed::policy_json,
            keep_equivalent(&prior.policy_json, policy),
        );

        // The instance profile was deleted or emptied out of band: the update recreates it.
        if P::INSTANCE_PROFILE && !change.is_create() {
            let profile: InstanceProfile = group(change.prior)?;
            if profile.instance_profile_arn.is_null() {
                change
                    .planned
                    .set(InstanceProfile::instance_profile_arn, Value::unknown());
                change
                    .planned
                    .set(InstanceProfile::instance_profile_name, Value::unknown());
            }
        }
        Ok(())
    }

    async fn create(&self, client: &Client, planned_value: &Value) -> Result<Value, ApplyError> {
        let planned = RoleModel::<P>::read(planned_value)?;
        let name = planned.head.name.clone();
        let iam = client.aws.iam();
        let (trust, policy) = documents::<P>(client, &planned).await?;
        let tags_all = planned
            .tagging
            .tags_all
            .known()
            .cloned()
            .unwrap_or_default();
        let result = iam
            .create_role()
            .role_name(&name)
            .assume_role_policy_document(&trust)
            .set_description(planned.head.description.clone())
            .set_max_session_duration(planned.head.max_session_duration.map(|n| n as i32))
            .set_tags(remote::iam_tags(&tags_all)?)
            .send()
            .await;
        if let Err(e) = result {
            if e.as_service_error()
                .is_some_and(|se| se.is_entity_already_exists_exception())
            {
                return Err(Diagnostic::error(
                    format!("IAM Role ({name}) already exists"),
                    format!(
                        "mdw does not take over existing roles silently. To manage it with Terraform, import it:\n  \
                         terraform import {}.<resource name> {name}\nor choose another name.",
                        P::TYPE_NAME
                    ),
                )
                .at_attribute(RoleHead::name)
                .into());
            }
            return Err(aws_error(&format!("creating IAM Role ({name})"), &e).into());
        }
        // The role exists from here on: anything failing below must not orphan it, and the
        // state must not claim a policy or profile that is not there.
        let partial = |policy_put: bool| {
            let mut state = planned.clone();
            if !policy_put {
                state.computed.policy_json = Maybe::Null;
            }
            state.instance_profile = InstanceProfile::default();
            state.to_value()
        };
        iam.put_role_policy()
            .role_name(&name)
            .policy_name(INLINE_POLICY_NAME)
            .policy_document(&policy)
            .send()
            .await
            .map_err(|e| {
                let error = ApplyError::from(aws_error(
                    &format!("putting inline policy {INLINE_POLICY_NAME} on IAM Role ({name})"),
                    &e,
                ));
                match partial(false) {
                    Ok(state) => error.with_partial_state(state),
                    Err(_) => error,
                }
            })?;
        let with_policy = partial(true)?;
        if P::INSTANCE_PROFILE {
            remote::ensure_instance_profile(client, &name, &tags_all)
                .await
                .map_err(|d| ApplyError::from(d).with_partial_state(with_policy.clone()))?;
        }
        let created = self.read(client, planned_value).await;
        tfplugin::read_back(
            created,
            &format!("IAM Role ({name})"),
            Written::Created,
            &with_policy,
        )
    }

    async fn read(&self, client: &Client, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let state = RoleModel::<P>::read(state)?;
        let name = state.head.name.as_str();
        let Some(role) = remote::find_role(client, name).await? else {
            return Ok(None);
        };
        let remote = Remote {
            policy: remote::find_role_policy(client, name).await?,
            tags: remote::find_role_tags(client, name).await?,
            instance_profile_arn: if P::INSTANCE_PROFILE {
                remote::find_instance_profile_arn(client, name).await?
            } else {
                None
            },
            role,
        };
        Ok(Some(flatten::<P>(client, &remote, &state).to_value()?))
    }

    async fn update(
        &self,
        client: &Client,
        prior_value: &Value,
        planned_value: &Value,
    ) -> Result<Value, ApplyError> {
        let prior = RoleModel::<P>::read(prior_value)?;
        let planned = RoleModel::<P>::read(planned_value)?;
        let name = planned.head.name.as_str();
        let iam = client.aws.iam();
        let (trust, policy) = documents::<P>(client, &planned).await?;
        if prior.computed.assume_role_policy_json.known() != Some(&trust) {
            iam.update_assume_role_policy()
                .role_name(name)
                .policy_document(&trust)
                .send()
                .await
                .map_err(|e| {
                    aws_error(
                        &format!("updating the trust policy of IAM Role ({name})"),
                        &e,
                    )
                })?;
        }
        if prior.head.description != planned.head.description
            || prior.head.max_session_duration != planned.head.max_session_duration
        {
            iam.update_role()
                .role_name(name)
                // An empty description is how UpdateRole removes it.
                .description(planned.head.description.as_deref().unwrap_or_default())
                // Unset means IAM's default: put it back explicitly.
                .max_session_duration(
                    planned
                        .head
                        .max_session_duration
                        .unwrap_or(DEFAULT_MAX_SESSION_SECONDS) as i32,
                )
                .send()
                .await
                .map_err(|e| aws_error(&format!("updating IAM Role ({name})"), &e))?;
        }
        if prior.computed.policy_json.known() != Some(&policy) {
            iam.put_role_policy()
                .role_name(name)
                .policy_name(INLINE_POLICY_NAME)
                .policy_document(&policy)
                .send()
                .await
                .map_err(|e| {
                    aws_error(
                        &format!("putting inline policy {INLINE_POLICY_NAME} on IAM Role ({name})"),
                        &e,
                    )
                })?;
        }
        let (prior_tags, planned_tags) = (&prior.tagging.tags_all, &planned.tagging.tags_all);
        tags::update(&RoleTags { client, name }, prior_tags, planned_tags).await?;
        if P::INSTANCE_PROFILE {
            if prior.instance_profile.instance_profile_arn.is_null() {
                let tags_all = planned_tags.known().cloned().unwrap_or_default();
                remote::ensure_instance_profile(client, name, &tags_all).await?;
            } else {
                let target = InstanceProfileTags { client, name };
                tags::update(&target, prior_tags, planned_tags).await?;
            }
        }
        let updated = self.read(client, planned_value).await;
        tfplugin::read_back(
            updated,
            &format!("IAM Role ({name})"),
            Written::Updated,
            planned_value,
        )
    }

    /// IAM refuses to delete a role that still has policies or sits in an instance profile
    /// (DeleteConflict): take all of those off first, whoever added them.
    async fn delete(&self, client: &Client, state: &Value) -> Result<(), Diagnostics> {
        let state: RoleHead = from_value(state)?;
        let name = state.name.as_str();
        let iam = client.aws.iam();
        let profiles = match iam
            .list_instance_profiles_for_role()
            .role_name(name)
            .send()
            .await
        {
            Ok(out) => out.instance_profiles().to_vec(),
            // The role is gone already.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_no_such_entity_exception()) =>
            {
                return Ok(());
            }
            Err(e) => {
                return Err(aws_error(
                    &format!("listing instance profiles of IAM Role ({name})"),
                    &e,
                )
                .into());
            }
        };
        for profile in &profiles {
            let profile_name = profile.instance_profile_name();
            let result = iam
                .remove_role_from_instance_profile()
                .instance_profile_name(profile_name)
                .role_name(name)
                .send()
                .await;
            removed(
                result,
                |e| e.is_no_such_entity_exception(),
                &format!("removing IAM Role ({name}) from instance profile {profile_name}"),
            )?;
        }
        if P::INSTANCE_PROFILE {
            let result = iam
                .delete_instance_profile()
                .instance_profile_name(name)
                .send()
                .await;
            removed(
                result,
                |e| e.is_no_such_entity_exception(),
                &format!("deleting IAM Instance Profile ({name})"),
            )?;
        }
        let inline = iam
            .list_role_policies()
            .role_name(name)
            .send()
            .await
            .map_err(|e| aws_error(&format!("listing inline policies of IAM Role ({name})"), &e))?;
        for policy_name in inline.policy_names() {
            let result = iam
                .delete_role_policy()
                .role_name(name)
                .policy_name(policy_name)
                .send()
                .await;
            removed(
                result,
                |e| e.is_no_such_entity_exception(),
                &format!("deleting inline policy {policy_name} of IAM Role ({name})"),
            )?;
        }
        let attached = iam
            .list_attached_role_policies()
            .role_name(name)
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    &format!("listing attached policies of IAM Role ({name})"),
                    &e,
                )
            })?;
        for policy in attached.attached_policies() {
            let Some(arn) = policy.policy_arn() else {
                continue;
            };
            let result = iam
                .detach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await;
            removed(
                result,
                |e| e.is_no_such_entity_exception(),
                &format!("detaching policy {arn} from IAM Role ({name})"),
            )?;
        }
        match iam.delete_role().role_name(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_no_such_entity_exception()) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_delete_conflict_exception()) => {
                Err(Diagnostic::error(
                    format!("IAM Role ({name}) is still in use"),
                    format!(
                        "IAM refused to delete it ({}). Something attached it again while it was being \
                         destroyed (a policy or instance profile); remove that and run terraform destroy again.",
                        aws_error("", &e).detail
                    ),
                )
                .into())
            }
            Err(e) => Err(aws_error(&format!("deleting IAM Role ({name})"), &e).into()),
        }
    }

    async fn import(&self, _client: &Client, id: &str) -> Result<Value, Diagnostics> {
        tfplugin::import_by_attribute(
            P::TYPE_NAME,
            id,
            RoleHead::name,
            "the role name",
            names::iam_role_name,
            [],
        )
    }
}

#[cfg(test)]
mod tests;
