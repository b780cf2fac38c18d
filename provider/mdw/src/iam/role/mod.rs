//! The warehouse's IAM roles, one resource type per principal — `mdw_dbt_runner_role`,
//! `mdw_airbyte_ec2_role`, `mdw_terraform_operator_role` — so each takes exactly the inputs its
//! policy is computed from (Terraform itself then reports a missing one). Each role carries one
//! inline policy, computed at plan time from the principal's inputs and shown in the plan as
//! `policy_json`. The lifecycle is written once here, for every `Principal`.

mod remote;

use std::collections::BTreeSet;
use std::marker::PhantomData;

use async_trait::async_trait;
use tfplugin::validators::each;
use tfplugin::{
    ApplyError, Attribute, Diagnostic, Diagnostics, PlanChange, Resource, Schema, Value, Written,
};

use crate::aws::arn::account_of;
use crate::aws::{aws_error, names, removed};
use crate::client::Client;
use crate::iam::policy::{self, ParsedPolicy, ROLE_INLINE_POLICY_LIMIT, Scope, Trust};
use crate::iam::principal::{Principal, string_list};
use crate::tags;
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

fn schema<P: Principal>() -> Schema {
    let mut attributes = vec![
        Attribute::string("name")
            .required()
            .requires_replace()
            .describe("Role name: 1–64 letters, digits and `+=,.@_-`. The Airbyte instance profile gets the same name.")
            .validate(names::iam_role_name),
        Attribute::string("description")
            .describe("What the role is for; at most 1000 characters.")
            .validate(|v| match v.as_str() {
                Some(s) if s.chars().count() > 1000 => {
                    Err("description must be at most 1000 characters.".to_string())
                }
                _ => Ok(()),
            }),
        // No default on purpose: unset means IAM's own default (3600 s), and the state then
        // holds no number (Terraform 1.10/1.11 report a refresh-only plan of a resource with a
        // number attribute as a change even when nothing changed, hashicorp/terraform#36403).
        Attribute::number("max_session_duration")
            .describe("Longest session in seconds, 3600 to 43200. Unset: IAM's default, 3600.")
            .validate(|v| match v.as_i64() {
                Some(n) if (3600..=43200).contains(&n) => Ok(()),
                _ => Err("max_session_duration must be a whole number of seconds from 3600 to 43200.".to_string()),
            }),
    ];
    if P::fixed_trust("aws").is_none() {
        attributes.push(
            string_list("trusted_principal_arns")
                .describe("IAM principals allowed to assume the role, e.g. a CI role `arn:aws:iam::123456789012:role/ci`, or `arn:aws:iam::123456789012:root` for an account.")
                .validate(each(names::iam_principal_arn)),
        );
        attributes.push(
            string_list("trusted_services")
                .describe(
                    "AWS services allowed to assume the role, e.g. `codebuild.amazonaws.com`.",
                )
                .validate(each(names::service_principal)),
        );
    }
    attributes.extend(P::input_attributes());
    attributes.extend(tags::attributes());
    attributes.extend([
        Attribute::string("arn").computed().describe("The role's ARN."),
        Attribute::string("assume_role_policy_json")
            .computed()
            .describe("The trust policy, computed from the trusted principals."),
        Attribute::string("policy_json")
            .computed()
            .describe("The inline policy `mdw-least-privilege`, computed from the inputs; known at plan time."),
    ]);
    if P::INSTANCE_PROFILE {
        attributes.push(
            Attribute::string("instance_profile_arn")
                .computed()
                .describe("The ARN of the instance profile named like the role."),
        );
        attributes.push(
            Attribute::string("instance_profile_name")
                .computed()
                .describe("For `aws_instance.iam_instance_profile` (same as the role name)."),
        );
    }
    Schema::new(P::DESCRIPTION, attributes)
}

/// Checks across attributes: someone must be able to assume the role, lists hold no
/// duplicates, and the principal's own checks.
fn validate_config<P: Principal>(config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if P::fixed_trust("aws").is_none() {
        let arns = config.get("trusted_principal_arns");
        let services = config.get("trusted_services");
        let empty = |v: &Value| v.is_null() || v.as_list().is_some_and(<[Value]>::is_empty);
        if empty(arns) && empty(services) {
            diags.push(
                Diagnostic::error(
                    format!("{} needs a principal that may assume it", P::TYPE_NAME),
                    "Set trusted_principal_arns (e.g. [\"arn:aws:iam::123456789012:role/ci\"]) or trusted_services \
                     (e.g. [\"codebuild.amazonaws.com\"]).",
                )
                .at_attribute("trusted_principal_arns"),
            );
        }
    }
    for attribute in schema::<P>().attributes.iter().map(|a| a.name.as_str()) {
        let Some(items) = config.get(attribute).as_list() else {
            continue;
        };
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
    diags.extend(P::validate(config));
    diags
}

// ---- expand / flatten -----------------------------------------------------------------------

/// The inputs from planned values; `None` while any of them is unknown.
fn expand_inputs<P: Principal>(values: &Value) -> Result<Option<P::Inputs>, Diagnostic> {
    let known = P::input_attributes()
        .iter()
        .all(|a| values.get(&a.name).is_wholly_known());
    if known {
        P::expand(values).map(Some)
    } else {
        Ok(None)
    }
}

fn recover_inputs<P: Principal>(policy_json: &str) -> Option<P::Inputs> {
    ParsedPolicy::parse(policy_json).and_then(|p| P::recover(&p))
}

/// The trust policy's principals; `None` while unknown.
fn expand_trust<P: Principal>(values: &Value, partition: &str) -> Option<Trust> {
    if let Some(trust) = P::fixed_trust(partition) {
        return Some(trust);
    }
    let arns = values.get("trusted_principal_arns");
    let services = values.get("trusted_services");
    (arns.is_wholly_known() && services.is_wholly_known()).then(|| Trust {
        principal_arns: arns.string_list(),
        services: services.string_list(),
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
fn document_state(remote: &str, candidates: &[Option<&str>]) -> Value {
    candidates
        .iter()
        .flatten()
        .find(|known| policy::equivalent(known, remote))
        .map_or_else(|| Value::from(remote), |known| Value::from(*known))
}

/// State from what IAM returned; inputs come from `prior`, or after an import from the
/// policy itself.
fn flatten<P: Principal>(client: &Client, remote: &Remote, prior: &Value) -> Value {
    let role = &remote.role;
    let name = role.role_name();
    let mut state = prior.clone();
    state.set("name", name);
    state.set("arn", role.arn());
    state.set(
        "description",
        Value::opt_string(role.description().filter(|d| !d.is_empty())),
    );
    state.set(
        "max_session_duration",
        match role
            .max_session_duration()
            .map_or(DEFAULT_MAX_SESSION_SECONDS, i64::from)
        {
            // IAM's default, and the configuration left it unset: nothing to show.
            DEFAULT_MAX_SESSION_SECONDS if prior.get("max_session_duration").is_null() => {
                Value::Null
            }
            seconds => Value::from(seconds),
        },
    );
    let remote_trust = role
        .assume_role_policy_document()
        .map(remote::decode_document);
    let imported = P::input_attributes()
        .iter()
        .all(|a| prior.get(&a.name).is_null());
    if imported {
        if let Some(inputs) = remote.policy.as_deref().and_then(recover_inputs::<P>) {
            P::flatten(&inputs, &mut state);
        }
        if P::fixed_trust("aws").is_none()
            && let Some(trust) = remote_trust.as_deref().and_then(Trust::from_json)
        {
            state.set("trusted_principal_arns", trust.principal_arns);
            state.set("trusted_services", trust.services);
        }
    }
    let partition = client.partition();
    let expected_trust = expand_trust::<P>(&state, partition).map(|t| t.to_json());
    state.set(
        "assume_role_policy_json",
        remote_trust.as_deref().map_or(Value::Null, |doc| {
            document_state(
                doc,
                &[
                    prior.get("assume_role_policy_json").as_str(),
                    expected_trust.as_deref(),
                ],
            )
        }),
    );
    let expected_policy = account_of(role.arn()).and_then(|account| {
        let inputs = expand_inputs::<P>(&state).ok().flatten()?;
        Some(P::policy(&inputs, &scope(client, account)).to_json())
    });
    state.set(
        "policy_json",
        remote.policy.as_deref().map_or(Value::Null, |doc| {
            document_state(
                doc,
                &[
                    prior.get("policy_json").as_str(),
                    expected_policy.as_deref(),
                ],
            )
        }),
    );
    tags::flatten(&mut state, &remote.tags, prior, &client.default_tags);
    if P::INSTANCE_PROFILE {
        state.set(
            "instance_profile_arn",
            Value::opt_string(remote.instance_profile_arn.clone()),
        );
        state.set(
            "instance_profile_name",
            Value::opt_string(remote.instance_profile_arn.as_ref().map(|_| name)),
        );
    }
    state
}

/// The trust and inline policy documents for `values`, computed now when the plan left
/// them unknown.
async fn documents<P: Principal>(
    client: &Client,
    values: &Value,
) -> Result<(String, String), Diagnostic> {
    let trust = match values.get("assume_role_policy_json").as_str() {
        Some(doc) => doc.to_string(),
        None => expand_trust::<P>(values, client.partition())
            .map(|t| t.to_json())
            .ok_or_else(|| unknown_at_apply("trusted principals"))?,
    };
    let policy = match values.get("policy_json").as_str() {
        Some(doc) => doc.to_string(),
        None => {
            let inputs =
                expand_inputs::<P>(values)?.ok_or_else(|| unknown_at_apply("policy inputs"))?;
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
        let keep_equivalent = |prior: &Value, attribute: &str, doc: Option<String>| match doc {
            None => Value::unknown(),
            Some(doc) => match prior.get(attribute).as_str() {
                Some(known) if policy::equivalent(known, &doc) => Value::from(known),
                _ => Value::from(doc),
            },
        };
        let trust = expand_trust::<P>(&change.planned, client.partition()).map(|t| t.to_json());
        let trust = keep_equivalent(change.prior, "assume_role_policy_json", trust);
        change.planned.set("assume_role_policy_json", trust);

        let policy = match expand_inputs::<P>(&change.planned)? {
            None => None,
            Some(inputs) => {
                // An existing role's ARN names the account; only a new role costs an STS call.
                let account = match change.prior.get("arn").as_str().and_then(account_of) {
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
        let policy = keep_equivalent(change.prior, "policy_json", policy);
        change.planned.set("policy_json", policy);

        // The instance profile was deleted or emptied out of band: the update recreates it.
        if P::INSTANCE_PROFILE
            && !change.is_create()
            && change.prior.get("instance_profile_arn").is_null()
        {
            change.planned.set("instance_profile_arn", Value::unknown());
            change
                .planned
                .set("instance_profile_name", Value::unknown());
        }
        Ok(())
    }

    async fn create(&self, client: &Client, planned: &Value) -> Result<Value, ApplyError> {
        let name = planned.get("name").as_str().unwrap_or_default().to_string();
        let iam = client.aws.iam();
        let (trust, policy) = documents::<P>(client, planned).await?;
        let tags_all = planned.get("tags_all").string_map();
        let result = iam
            .create_role()
            .role_name(&name)
            .assume_role_policy_document(&trust)
            .set_description(planned.get("description").as_str().map(str::to_string))
            .set_max_session_duration(
                planned
                    .get("max_session_duration")
                    .as_i64()
                    .map(|n| n as i32),
            )
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
                .at_attribute("name")
                .into());
            }
            return Err(aws_error(&format!("creating IAM Role ({name})"), &e).into());
        }
        // The role exists from here on: anything failing below must not orphan it, and the
        // state must not claim a policy or profile that is not there.
        let partial = |policy_put: bool| {
            let mut state = planned.clone();
            if !policy_put {
                state.set("policy_json", Value::Null);
            }
            if P::INSTANCE_PROFILE {
                state.set("instance_profile_arn", Value::Null);
                state.set("instance_profile_name", Value::Null);
            }
            state
        };
        iam.put_role_policy()
            .role_name(&name)
            .policy_name(INLINE_POLICY_NAME)
            .policy_document(&policy)
            .send()
            .await
            .map_err(|e| {
                ApplyError::from(aws_error(
                    &format!("putting inline policy {INLINE_POLICY_NAME} on IAM Role ({name})"),
                    &e,
                ))
                .with_partial_state(partial(false))
            })?;
        if P::INSTANCE_PROFILE {
            remote::ensure_instance_profile(client, &name, &tags_all)
                .await
                .map_err(|d| ApplyError::from(d).with_partial_state(partial(true)))?;
        }
        let created = self.read(client, planned).await;
        tfplugin::read_back(
            created,
            &format!("IAM Role ({name})"),
            Written::Created,
            &partial(true),
        )
    }

    async fn read(&self, client: &Client, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let name = state.get("name").as_str().unwrap_or_default();
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
        Ok(Some(flatten::<P>(client, &remote, state)))
    }

    async fn update(
        &self,
        client: &Client,
        prior: &Value,
        planned: &Value,
    ) -> Result<Value, ApplyError> {
        let name = planned.get("name").as_str().unwrap_or_default();
        let iam = client.aws.iam();
        let (trust, policy) = documents::<P>(client, planned).await?;
        if prior.get("assume_role_policy_json").as_str() != Some(trust.as_str()) {
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
        if prior.get("description") != planned.get("description")
            || prior.get("max_session_duration") != planned.get("max_session_duration")
        {
            iam.update_role()
                .role_name(name)
                // An empty description is how UpdateRole removes it.
                .description(planned.get("description").as_str().unwrap_or_default())
                // Unset means IAM's default: put it back explicitly.
                .max_session_duration(
                    planned
                        .get("max_session_duration")
                        .as_i64()
                        .unwrap_or(DEFAULT_MAX_SESSION_SECONDS) as i32,
                )
                .send()
                .await
                .map_err(|e| aws_error(&format!("updating IAM Role ({name})"), &e))?;
        }
        if prior.get("policy_json").as_str() != Some(policy.as_str()) {
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
        tags::update_tags(&RoleTags { client, name }, prior, planned).await?;
        if P::INSTANCE_PROFILE {
            if prior.get("instance_profile_arn").is_null() {
                let tags_all = planned.get("tags_all").string_map();
                remote::ensure_instance_profile(client, name, &tags_all).await?;
            } else {
                tags::update_tags(&InstanceProfileTags { client, name }, prior, planned).await?;
            }
        }
        let updated = self.read(client, planned).await;
        tfplugin::read_back(
            updated,
            &format!("IAM Role ({name})"),
            Written::Updated,
            planned,
        )
    }

    /// IAM refuses to delete a role that still has policies or sits in an instance profile
    /// (DeleteConflict): take all of those off first, whoever added them.
    async fn delete(&self, client: &Client, state: &Value) -> Result<(), Diagnostics> {
        let name = state.get("name").as_str().unwrap_or_default();
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
            "name",
            "the role name",
            names::iam_role_name,
            [],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::airbyte_ec2::AirbyteEc2;
    use crate::iam::dbt_runner::DbtRunner;

    #[test]
    fn list_validators_name_the_element() {
        let err = each(names::glue_database_name)(&Value::from(vec![
            "ok".to_string(),
            "Bad".to_string(),
        ]))
        .unwrap_err();
        assert!(err.starts_with("element 1:"), "{err}");
    }

    fn runner_config(pairs: &[(&str, Value)]) -> Value {
        let mut config = Value::object([
            ("name", Value::from("mdw-dbt")),
            ("workgroup", Value::from("mdw")),
            (
                "results_location",
                Value::from("s3://mdw-work-zone/results/"),
            ),
            ("warehouse_location", Value::from("s3://mdw-warehouse/")),
            ("databases", Value::from(vec!["mdw".to_string()])),
            (
                "trusted_principal_arns",
                Value::from(vec!["arn:aws:iam::123456789012:role/ci".to_string()]),
            ),
        ]);
        for (k, v) in pairs {
            config.set(k, v.clone());
        }
        config
    }

    #[test]
    fn config_checks_point_at_the_attribute() {
        assert!(validate_config::<DbtRunner>(&runner_config(&[])).is_empty());
        let untrusted = runner_config(&[("trusted_principal_arns", Value::List(Vec::new()))]);
        let diags = validate_config::<DbtRunner>(&untrusted);
        assert_eq!(diags.0.len(), 1, "{diags}");
        assert_eq!(
            diags.0[0].path,
            Some(tfplugin::AttributePath::root("trusted_principal_arns"))
        );
        // Unknown until apply (a reference): not judged yet.
        let unknown = runner_config(&[("trusted_principal_arns", Value::unknown())]);
        assert!(validate_config::<DbtRunner>(&unknown).is_empty());
        let twice = runner_config(&[(
            "databases",
            Value::from(vec!["a".to_string(), "a".to_string()]),
        )]);
        let diags = validate_config::<DbtRunner>(&twice);
        assert_eq!(
            diags.0[0].path,
            Some(tfplugin::AttributePath::root("databases")),
            "{diags}"
        );
        let none = runner_config(&[("databases", Value::List(Vec::new()))]);
        assert_eq!(validate_config::<DbtRunner>(&none).0.len(), 1);
        // EC2 trusts the Airbyte role; nothing to configure.
        let airbyte = Value::object([
            ("name", Value::from("x")),
            ("raw_location", Value::from("s3://raw-bucket/")),
        ]);
        assert!(validate_config::<AirbyteEc2>(&airbyte).is_empty());
    }

    #[test]
    fn inputs_are_unknown_until_every_one_is_known() {
        let known = runner_config(&[]);
        let Ok(Some(runner)) = expand_inputs::<DbtRunner>(&known) else {
            panic!("known inputs expand");
        };
        assert_eq!(runner.workgroup, "mdw");
        assert_eq!(runner.results_location.prefix, "results/");
        let later = runner_config(&[("databases", Value::List(vec![Value::unknown()]))]);
        assert_eq!(expand_inputs::<DbtRunner>(&later), Ok(None));
    }

    #[test]
    fn imported_inputs_round_trip_through_the_policy() {
        let scope = Scope {
            partition: "aws".into(),
            region: "us-west-2".into(),
            account_id: "123456789012".into(),
        };
        let config = runner_config(&[
            (
                "source_locations",
                Value::from(vec!["s3://mdw-raw/airbyte/".to_string()]),
            ),
            ("source_databases", Value::from(vec!["raw".to_string()])),
            ("kms_key_arns", Value::List(Vec::new())),
        ]);
        let Ok(Some(inputs)) = expand_inputs::<DbtRunner>(&config) else {
            panic!("known inputs expand");
        };
        let json = DbtRunner::policy(&inputs, &scope).to_json();
        let recovered = recover_inputs::<DbtRunner>(&json).expect("our own policy reads back");
        assert_eq!(recovered, inputs);
        let mut state = Value::object([("name", Value::from("mdw-dbt"))]);
        DbtRunner::flatten(&recovered, &mut state);
        for attribute in DbtRunner::input_attributes() {
            let attribute = attribute.name.as_str();
            assert_eq!(state.get(attribute), config.get(attribute), "{attribute}");
        }
    }

    #[test]
    fn equivalent_documents_keep_the_known_text() {
        let known = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/*"]}]}"#;
        let reformatted = r#"{"Statement":{"Resource":"arn:aws:s3:::b/*","Action":"s3:GetObject","Effect":"Allow"},"Version":"2012-10-17"}"#;
        assert_eq!(
            document_state(reformatted, &[Some(known)]),
            Value::from(known)
        );
        let edited = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        assert_eq!(document_state(edited, &[Some(known)]), Value::from(edited));
    }
}
