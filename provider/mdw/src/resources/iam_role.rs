//! The warehouse's IAM roles, one resource type per principal — `mdw_dbt_runner_role`,
//! `mdw_airbyte_ec2_role`, `mdw_terraform_operator_role` — so each takes exactly the inputs its
//! policy is computed from (Terraform itself then reports a missing one). Each role carries one
//! inline policy, computed by `iam_policy` at plan time and shown in the plan as `policy_json`.

use async_trait::async_trait;
use aws_sdk_iam::types::{Role, Tag};
use tfplugin::{
    ApplyError, Attribute, Diagnostic, Diagnostics, PlanChange, Resource, Schema, Value,
};

use crate::aws::{aws_error, removed};

/// IAM's error code for "no such role, profile or policy".
const NO_SUCH_ENTITY: &str = "NoSuchEntity";
use crate::provider::{Client, validate_tag_keys};
use crate::resources::athena_workgroup;
use crate::resources::glue_database;
use crate::resources::iam_policy::{
    self, AirbyteEc2, DbtRunner, Policy, ROLE_INLINE_POLICY_LIMIT, Scope, TerraformOperator, Trust,
};
use crate::resources::s3_url::{
    S3Url, validate_bucket_name, validate_s3_url, validate_s3_url_list,
};
use crate::tags;

/// The name of the one inline policy each role gets.
pub const INLINE_POLICY_NAME: &str = "mdw-least-privilege";
const DEFAULT_MAX_SESSION_SECONDS: i64 = 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    DbtRunner,
    AirbyteEc2,
    TerraformOperator,
}

pub struct IamRole {
    principal: Principal,
}

impl IamRole {
    pub const DBT_RUNNER: IamRole = IamRole {
        principal: Principal::DbtRunner,
    };
    pub const AIRBYTE_EC2: IamRole = IamRole {
        principal: Principal::AirbyteEc2,
    };
    pub const TERRAFORM_OPERATOR: IamRole = IamRole {
        principal: Principal::TerraformOperator,
    };
}

impl Principal {
    fn type_name(self) -> &'static str {
        match self {
            Principal::DbtRunner => "mdw_dbt_runner_role",
            Principal::AirbyteEc2 => "mdw_airbyte_ec2_role",
            Principal::TerraformOperator => "mdw_terraform_operator_role",
        }
    }

    /// The attributes the inline policy is computed from.
    fn inputs(self) -> &'static [&'static str] {
        match self {
            Principal::DbtRunner => &[
                "workgroup",
                "results_location",
                "warehouse_location",
                "source_locations",
                "databases",
                "source_databases",
                "kms_key_arns",
            ],
            Principal::AirbyteEc2 => &["raw_location", "raw_database", "kms_key_arns"],
            Principal::TerraformOperator => &[
                "state_bucket",
                "state_key",
                "lock_table",
                "lake_buckets",
                "workgroups",
                "databases",
                "results_location",
                "warehouse_location",
                "source_locations",
                "source_databases",
                "iam_role_name_prefix",
                "kms_key_arns",
            ],
        }
    }

    /// EC2 assumes the Airbyte role; the others trust whom the configuration names.
    fn configurable_trust(self) -> bool {
        self != Principal::AirbyteEc2
    }

    fn has_instance_profile(self) -> bool {
        self == Principal::AirbyteEc2
    }
}

// ---- schema ---------------------------------------------------------------------------------

fn empty_list() -> Value {
    Value::List(Vec::new())
}

fn string_list(name: &str) -> Attribute {
    Attribute::string_list(name).default(empty_list())
}

fn schema(principal: Principal) -> Schema {
    let (description, mut attributes) = match principal {
        Principal::DbtRunner => (
            "The role dbt (or any SQL client) runs models as: queries in one Athena workgroup, the \
             tables of the named Glue databases, read/write on exactly the query-result and warehouse \
             prefixes, read on the source prefixes. The policy is computed from these inputs.",
            vec![
                Attribute::string("workgroup")
                    .required()
                    .describe("The Athena workgroup queries run in, e.g. `mdw_athena_workgroup.main.name`.")
                    .validate(athena_workgroup::validate_name),
                Attribute::string("results_location")
                    .required()
                    .describe("The workgroup's result location, e.g. `mdw_athena_workgroup.main.result_location`.")
                    .validate(validate_s3_url),
                Attribute::string("warehouse_location")
                    .required()
                    .describe("Where the tables' data lives, e.g. `s3://mdw-warehouse/`.")
                    .validate(validate_s3_url),
                string_list("source_locations")
                    .describe("Read-only locations of source data, e.g. `[\"s3://mdw-raw/airbyte/\"]`.")
                    .validate(validate_s3_url_list),
                Attribute::string_list("databases")
                    .required()
                    .describe("Glue databases whose tables dbt creates, replaces and drops.")
                    .validate(each(glue_database::validate_name)),
                string_list("source_databases")
                    .describe("Glue databases dbt only reads (sources).")
                    .validate(each(glue_database::validate_name)),
                kms_key_arns(),
            ],
        ),
        Principal::AirbyteEc2 => (
            "The role (and instance profile) of an EC2 instance running Airbyte: write to the raw \
             prefix, and register tables in one Glue database if asked. Trusted by EC2 only.",
            vec![
                Attribute::string("raw_location")
                    .required()
                    .describe("Where Airbyte writes, e.g. `s3://mdw-raw/airbyte/`.")
                    .validate(validate_s3_url),
                Attribute::string("raw_database")
                    .describe("A Glue database Airbyte creates and updates tables in (S3 Glue destination).")
                    .validate(glue_database::validate_name),
                kms_key_arns(),
            ],
        ),
        Principal::TerraformOperator => (
            "The role `terraform apply` runs as: the state backend (bucket key, lock file, lock table), \
             the warehouse's buckets, workgroups, databases and roles, and the models' data.",
            vec![
                Attribute::string("state_bucket")
                    .required()
                    .describe("The S3 bucket holding Terraform state, e.g. `mdw-terraform-remote-state`.")
                    .validate(|v| v.as_str().map_or(Ok(()), validate_bucket_name)),
                Attribute::string("state_key")
                    .required()
                    .describe("The state object's key, as in the backend block, e.g. `mdw/terraform.tfstate`.")
                    .validate(validate_state_key),
                Attribute::string("lock_table")
                    .describe("The DynamoDB lock table of the backend (`dynamodb_table`), if it uses one.")
                    .validate(validate_table_name),
                string_list("lake_buckets")
                    .describe("Buckets the operator manages (`mdw_lake_bucket`), including emptying them on destroy.")
                    .validate(each(|v| v.as_str().map_or(Ok(()), validate_bucket_name))),
                string_list("workgroups")
                    .describe("Athena workgroups the operator manages and runs model queries in.")
                    .validate(each(athena_workgroup::validate_name)),
                string_list("databases")
                    .describe("Glue databases the operator manages, with their tables (models).")
                    .validate(each(glue_database::validate_name)),
                Attribute::string("results_location")
                    .describe("Query-result location the operator's model queries write to.")
                    .validate(validate_s3_url),
                Attribute::string("warehouse_location")
                    .describe("Where model tables' data lives.")
                    .validate(validate_s3_url),
                string_list("source_locations")
                    .describe("Read-only locations of source data.")
                    .validate(validate_s3_url_list),
                string_list("source_databases")
                    .describe("Glue databases the operator only reads (sources).")
                    .validate(each(glue_database::validate_name)),
                Attribute::string("iam_role_name_prefix")
                    .describe("Lets the operator manage IAM roles and instance profiles whose names start with this, e.g. `mdw-`. Unset: no IAM permissions.")
                    .validate(validate_role_name_prefix),
                kms_key_arns(),
            ],
        ),
    };
    let mut common = vec![
        Attribute::string("name")
            .required()
            .requires_replace()
            .describe("Role name: 1–64 letters, digits and `+=,.@_-`. The Airbyte instance profile gets the same name.")
            .validate(validate_role_name),
        Attribute::string("description").validate(|v| match v.as_str() {
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
    if principal.configurable_trust() {
        common.push(
            string_list("trusted_principal_arns")
                .describe("IAM principals allowed to assume the role, e.g. a CI role `arn:aws:iam::123456789012:role/ci`, or `arn:aws:iam::123456789012:root` for an account.")
                .validate(each(validate_principal_arn)),
        );
        common.push(
            string_list("trusted_services")
                .describe(
                    "AWS services allowed to assume the role, e.g. `codebuild.amazonaws.com`.",
                )
                .validate(each(validate_service_principal)),
        );
    }
    common.append(&mut attributes);
    common.extend([
        Attribute::string_map("tags").validate(validate_tag_keys),
        Attribute::string("arn").computed(),
        Attribute::string("assume_role_policy_json")
            .computed()
            .describe("The trust policy, computed from the trusted principals."),
        Attribute::string("policy_json")
            .computed()
            .describe("The inline policy `mdw-least-privilege`, computed from the inputs; known at plan time."),
        Attribute::string_map("tags_all").computed().describe("`tags` plus the provider's `default_tags`."),
    ]);
    if principal.has_instance_profile() {
        common.push(Attribute::string("instance_profile_arn").computed());
        common.push(
            Attribute::string("instance_profile_name")
                .computed()
                .describe("For `aws_instance.iam_instance_profile` (same as the role name)."),
        );
    }
    Schema::new(description, common)
}

fn kms_key_arns() -> Attribute {
    string_list("kms_key_arns")
        .describe(
            "KMS keys of SSE-KMS buckets or CSE-KMS results: encrypt, decrypt, generate data keys.",
        )
        .validate(each(validate_kms_key_arn))
}

/// A validator of every element of a list; the message names the element.
fn each(
    check: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
) -> impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static {
    move |list| {
        for (i, item) in list.as_list().unwrap_or(&[]).iter().enumerate() {
            if !item.is_null() && !item.is_unknown() {
                check(item).map_err(|e| format!("element {i}: {e}"))?;
            }
        }
        Ok(())
    }
}

fn validate_role_name(value: &Value) -> Result<(), String> {
    let Some(name) = value.as_str() else {
        return Ok(());
    };
    if (1..=64).contains(&name.len()) && name.bytes().all(is_role_name_byte) {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid IAM role name: use 1–64 letters, digits and +=,.@_-, e.g. \"mdw-dbt-runner\"."
        ))
    }
}

fn is_role_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b)
}

fn validate_role_name_prefix(value: &Value) -> Result<(), String> {
    let Some(prefix) = value.as_str() else {
        return Ok(());
    };
    if (1..=60).contains(&prefix.len()) && prefix.bytes().all(is_role_name_byte) {
        Ok(())
    } else {
        Err(format!(
            "{prefix:?} is not a role name prefix: use 1–60 letters, digits and +=,.@_- (no wildcards), e.g. \"mdw-\"."
        ))
    }
}

pub fn validate_kms_key_arn(value: &Value) -> Result<(), String> {
    let Some(arn) = value.as_str() else {
        return Ok(());
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let valid = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "kms"
        && !parts[3].is_empty()
        && is_account_id(parts[4])
        && parts[5]
            .strip_prefix("key/")
            .is_some_and(|id| !id.is_empty() && !id.contains(['*', '?', '/']));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{arn:?} is not a KMS key ARN: write it as arn:aws:kms:<region>:<account>:key/<key id> \
             (IAM grants on keys, not on aliases or bare key ids)."
        ))
    }
}

fn validate_principal_arn(value: &Value) -> Result<(), String> {
    let Some(arn) = value.as_str() else {
        return Ok(());
    };
    if is_account_id(arn) {
        return Err(format!(
            "{arn:?} is an account id: write the account as \"arn:aws:iam::{arn}:root\" (that is how IAM stores it)."
        ));
    }
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let valid = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && matches!(parts[2], "iam" | "sts")
        && parts[3].is_empty()
        && is_account_id(parts[4])
        && !parts[5].is_empty()
        && !arn.contains(['*', '?']);
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{arn:?} is not an IAM principal ARN: use a role, user or account ARN such as \
             \"arn:aws:iam::123456789012:role/ci\" or \"arn:aws:iam::123456789012:root\" (no wildcards)."
        ))
    }
}

fn validate_service_principal(value: &Value) -> Result<(), String> {
    let Some(service) = value.as_str() else {
        return Ok(());
    };
    let host = service
        .strip_suffix(".amazonaws.com")
        .or_else(|| service.strip_suffix(".amazonaws.com.cn"));
    let valid = host.is_some_and(|h| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{service:?} is not an AWS service principal: write it as <service>.amazonaws.com, e.g. \"codebuild.amazonaws.com\"."
        ))
    }
}

fn validate_state_key(value: &Value) -> Result<(), String> {
    let Some(key) = value.as_str() else {
        return Ok(());
    };
    if key.is_empty() || key.len() > 1024 || key.starts_with('/') || key.ends_with('/') {
        return Err(format!(
            "{key:?} is not a state key: use the backend block's `key`, e.g. \"mdw/terraform.tfstate\" (no leading or trailing \"/\")."
        ));
    }
    if let Some(c) = key
        .chars()
        .find(|c| c.is_control() || matches!(c, '*' | '?' | '$'))
    {
        return Err(format!(
            "{key:?} contains {c:?}, which IAM would read as a wildcard or variable; choose a key without it."
        ));
    }
    Ok(())
}

fn validate_table_name(value: &Value) -> Result<(), String> {
    let Some(name) = value.as_str() else {
        return Ok(());
    };
    if (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a DynamoDB table name: use 3–255 letters, digits, '_', '.' and '-', e.g. \"mdw-terraform-locks\"."
        ))
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Checks across attributes: someone must be able to assume the role, lists hold no
/// duplicates, the dbt runner has a database to build in.
fn validate_config(principal: Principal, config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if principal.configurable_trust() {
        let arns = config.get("trusted_principal_arns");
        let services = config.get("trusted_services");
        let empty = |v: &Value| v.is_null() || v.as_list().is_some_and(<[Value]>::is_empty);
        if empty(arns) && empty(services) {
            diags.push(
                Diagnostic::error(
                    format!("{} needs a principal that may assume it", principal.type_name()),
                    "Set trusted_principal_arns (e.g. [\"arn:aws:iam::123456789012:role/ci\"]) or trusted_services \
                     (e.g. [\"codebuild.amazonaws.com\"]).",
                )
                .at_attribute("trusted_principal_arns"),
            );
        }
    }
    for attribute in schema(principal).attributes.iter().map(|a| a.name.as_str()) {
        let Some(items) = config.get(attribute).as_list() else {
            continue;
        };
        let mut seen = std::collections::BTreeSet::new();
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
    if principal == Principal::DbtRunner
        && config
            .get("databases")
            .as_list()
            .is_some_and(<[Value]>::is_empty)
    {
        diags.push(
            Diagnostic::error(
                "databases is empty",
                "List the Glue databases dbt builds models in, e.g. databases = [mdw_glue_database.mdw.name].",
            )
            .at_attribute("databases"),
        );
    }
    diags
}

// ---- find -----------------------------------------------------------------------------------

/// The AWS account the provider's credentials belong to (sts:GetCallerIdentity needs no
/// permission, so this works for any identity).
pub async fn caller_account_id(client: &Client) -> Result<String, Diagnostic> {
    let out = client
        .aws
        .sts()
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| aws_error("reading the AWS account id (sts:GetCallerIdentity)", &e))?;
    out.account.filter(|a| !a.is_empty()).ok_or_else(|| {
        Diagnostic::error(
            "reading the AWS account id (sts:GetCallerIdentity)",
            "STS returned no account id; check the sts endpoint in the provider block.",
        )
    })
}

/// `arn:aws:iam::123456789012:role/x` → `123456789012`.
fn account_of_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| is_account_id(a))
}

async fn find_role(client: &Client, name: &str) -> Result<Option<Role>, Diagnostic> {
    match client.aws.iam().get_role().role_name(name).send().await {
        Ok(out) => Ok(out.role),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_no_such_entity_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_error(&format!("reading IAM Role ({name})"), &e)),
    }
}

/// The inline policy's document, or `None` when the role has no policy of that name.
async fn find_role_policy(client: &Client, name: &str) -> Result<Option<String>, Diagnostic> {
    match client
        .aws
        .iam()
        .get_role_policy()
        .role_name(name)
        .policy_name(INLINE_POLICY_NAME)
        .send()
        .await
    {
        Ok(out) => Ok(Some(decode_document(out.policy_document()))),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_no_such_entity_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_error(
            &format!("reading inline policy {INLINE_POLICY_NAME} of IAM Role ({name})"),
            &e,
        )),
    }
}

async fn find_role_tags(client: &Client, name: &str) -> Result<tags::Tags, Diagnostic> {
    let mut remote = tags::Tags::new();
    let mut marker = None;
    loop {
        let out = client
            .aws
            .iam()
            .list_role_tags()
            .role_name(name)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| aws_error(&format!("reading tags of IAM Role ({name})"), &e))?;
        remote.extend(
            out.tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string())),
        );
        match (out.is_truncated(), out.marker) {
            (true, Some(next)) => marker = Some(next),
            _ => return Ok(remote),
        }
    }
}

/// The ARN of the instance profile named like the role, when it holds the role.
async fn find_instance_profile_arn(
    client: &Client,
    name: &str,
) -> Result<Option<String>, Diagnostic> {
    match client
        .aws
        .iam()
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .instance_profile
            .filter(|p| p.roles().iter().any(|r| r.role_name() == name))
            .map(|p| p.arn().to_string())),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_no_such_entity_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_error(
            &format!("reading IAM Instance Profile ({name})"),
            &e,
        )),
    }
}

// ---- expand / flatten -----------------------------------------------------------------------

/// IAM returns policy documents URL-encoded (RFC 3986).
fn decode_document(document: &str) -> String {
    if document.trim_start().starts_with('{') {
        return document.to_string();
    }
    let bytes = document.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The typed inputs of one principal.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Inputs {
    DbtRunner(DbtRunner),
    AirbyteEc2(AirbyteEc2),
    TerraformOperator(TerraformOperator),
}

impl Inputs {
    fn policy(&self, scope: &Scope) -> Policy {
        match self {
            Inputs::DbtRunner(i) => i.policy(scope),
            Inputs::AirbyteEc2(i) => i.policy(scope),
            Inputs::TerraformOperator(i) => i.policy(scope),
        }
    }
}

fn location(values: &Value, attribute: &str) -> Result<Option<S3Url>, Diagnostic> {
    values
        .get(attribute)
        .as_str()
        .map(|url| {
            S3Url::parse(url).map_err(|e| {
                Diagnostic::error(format!("Invalid value for {attribute}"), e)
                    .at_attribute(attribute)
            })
        })
        .transpose()
}

fn required_location(values: &Value, attribute: &str) -> Result<S3Url, Diagnostic> {
    location(values, attribute)?.ok_or_else(|| {
        Diagnostic::error(
            format!("{attribute} is required"),
            format!("Set {attribute}."),
        )
        .at_attribute(attribute)
    })
}

fn locations(values: &Value, attribute: &str) -> Result<Vec<S3Url>, Diagnostic> {
    values
        .get(attribute)
        .string_list()
        .iter()
        .map(|url| {
            S3Url::parse(url).map_err(|e| {
                Diagnostic::error(format!("Invalid value for {attribute}"), e)
                    .at_attribute(attribute)
            })
        })
        .collect()
}

fn opt_string(values: &Value, attribute: &str) -> Option<String> {
    values.get(attribute).as_str().map(str::to_string)
}

/// The inputs from planned values; `None` while any of them is unknown.
fn expand_inputs(principal: Principal, values: &Value) -> Result<Option<Inputs>, Diagnostic> {
    if principal
        .inputs()
        .iter()
        .any(|a| !values.get(a).is_wholly_known())
    {
        return Ok(None);
    }
    let list = |attribute: &str| values.get(attribute).string_list();
    Ok(Some(match principal {
        Principal::DbtRunner => Inputs::DbtRunner(DbtRunner {
            workgroup: opt_string(values, "workgroup").unwrap_or_default(),
            results_location: required_location(values, "results_location")?,
            warehouse_location: required_location(values, "warehouse_location")?,
            source_locations: locations(values, "source_locations")?,
            databases: list("databases"),
            source_databases: list("source_databases"),
            kms_key_arns: list("kms_key_arns"),
        }),
        Principal::AirbyteEc2 => Inputs::AirbyteEc2(AirbyteEc2 {
            raw_location: required_location(values, "raw_location")?,
            raw_database: opt_string(values, "raw_database"),
            kms_key_arns: list("kms_key_arns"),
        }),
        Principal::TerraformOperator => Inputs::TerraformOperator(TerraformOperator {
            state_bucket: opt_string(values, "state_bucket").unwrap_or_default(),
            state_key: opt_string(values, "state_key").unwrap_or_default(),
            lock_table: opt_string(values, "lock_table"),
            lake_buckets: list("lake_buckets"),
            workgroups: list("workgroups"),
            databases: list("databases"),
            results_location: location(values, "results_location")?,
            warehouse_location: location(values, "warehouse_location")?,
            source_locations: locations(values, "source_locations")?,
            source_databases: list("source_databases"),
            iam_role_name_prefix: opt_string(values, "iam_role_name_prefix"),
            kms_key_arns: list("kms_key_arns"),
        }),
    }))
}

/// Writes inputs read back from a policy into state (after `terraform import`).
fn flatten_inputs(inputs: &Inputs, state: &mut Value) {
    let url = |u: &S3Url| Value::from(u.url());
    let opt_url = |u: &Option<S3Url>| u.as_ref().map_or(Value::Null, url);
    let urls = |us: &[S3Url]| Value::List(us.iter().map(url).collect());
    match inputs {
        Inputs::DbtRunner(i) => {
            state.set("workgroup", i.workgroup.as_str());
            state.set("results_location", url(&i.results_location));
            state.set("warehouse_location", url(&i.warehouse_location));
            state.set("source_locations", urls(&i.source_locations));
            state.set("databases", i.databases.clone());
            state.set("source_databases", i.source_databases.clone());
            state.set("kms_key_arns", i.kms_key_arns.clone());
        }
        Inputs::AirbyteEc2(i) => {
            state.set("raw_location", url(&i.raw_location));
            state.set("raw_database", Value::opt_string(i.raw_database.clone()));
            state.set("kms_key_arns", i.kms_key_arns.clone());
        }
        Inputs::TerraformOperator(i) => {
            state.set("state_bucket", i.state_bucket.as_str());
            state.set("state_key", i.state_key.as_str());
            state.set("lock_table", Value::opt_string(i.lock_table.clone()));
            state.set("lake_buckets", i.lake_buckets.clone());
            state.set("workgroups", i.workgroups.clone());
            state.set("databases", i.databases.clone());
            state.set("results_location", opt_url(&i.results_location));
            state.set("warehouse_location", opt_url(&i.warehouse_location));
            state.set("source_locations", urls(&i.source_locations));
            state.set("source_databases", i.source_databases.clone());
            state.set(
                "iam_role_name_prefix",
                Value::opt_string(i.iam_role_name_prefix.clone()),
            );
            state.set("kms_key_arns", i.kms_key_arns.clone());
        }
    }
}

fn recover_inputs(principal: Principal, policy_json: &str) -> Option<Inputs> {
    match principal {
        Principal::DbtRunner => {
            iam_policy::recover_inputs(policy_json, DbtRunner::recover).map(Inputs::DbtRunner)
        }
        Principal::AirbyteEc2 => {
            iam_policy::recover_inputs(policy_json, AirbyteEc2::recover).map(Inputs::AirbyteEc2)
        }
        Principal::TerraformOperator => {
            iam_policy::recover_inputs(policy_json, TerraformOperator::recover)
                .map(Inputs::TerraformOperator)
        }
    }
}

/// EC2's service principal; China's partition names it differently.
fn ec2_service(partition: &str) -> &'static str {
    if partition == "aws-cn" {
        "ec2.amazonaws.com.cn"
    } else {
        "ec2.amazonaws.com"
    }
}

/// The trust policy's principals; `None` while unknown.
fn expand_trust(principal: Principal, values: &Value, partition: &str) -> Option<Trust> {
    if !principal.configurable_trust() {
        return Some(Trust {
            principal_arns: Vec::new(),
            services: vec![ec2_service(partition).to_string()],
        });
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
        partition: client.aws.partition().to_string(),
        region: client.aws.region.clone(),
        account_id: account_id.to_string(),
    }
}

/// What to store for a document: the known text when IAM holds the same grants (IAM may
/// reformat), else what IAM holds, so an out-of-band edit shows up as a change.
fn document_state(remote: &str, candidates: &[Option<&str>]) -> Value {
    candidates
        .iter()
        .flatten()
        .find(|known| iam_policy::equivalent(known, remote))
        .map_or_else(|| Value::from(remote), |known| Value::from(*known))
}

fn iam_tags(tags: &tags::Tags) -> Result<Option<Vec<Tag>>, Diagnostic> {
    if tags.is_empty() {
        return Ok(None);
    }
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
        .map_err(|e| Diagnostic::error("building IAM tags", e.to_string()))
}

/// What IAM holds for one role.
struct Remote {
    role: Role,
    policy: Option<String>,
    tags: tags::Tags,
    instance_profile_arn: Option<String>,
}

impl IamRole {
    /// State from what IAM returned; inputs come from `prior`, or after an import from the
    /// policy itself.
    fn flatten(&self, client: &Client, remote: &Remote, prior: &Value) -> Value {
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
        let remote_trust = role.assume_role_policy_document().map(decode_document);
        let imported = self
            .principal
            .inputs()
            .iter()
            .all(|a| prior.get(a).is_null());
        if imported {
            if let Some(inputs) = remote
                .policy
                .as_deref()
                .and_then(|p| recover_inputs(self.principal, p))
            {
                flatten_inputs(&inputs, &mut state);
            }
            if self.principal.configurable_trust()
                && let Some(trust) = remote_trust.as_deref().and_then(Trust::from_json)
            {
                state.set("trusted_principal_arns", trust.principal_arns);
                state.set("trusted_services", trust.services);
            }
        }
        let partition = client.aws.partition();
        let expected_trust = expand_trust(self.principal, &state, partition).map(|t| t.to_json());
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
        let expected_policy = account_of_arn(role.arn()).and_then(|account| {
            let inputs = expand_inputs(self.principal, &state).ok().flatten()?;
            Some(inputs.policy(&scope(client, account)).to_json())
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
        state.set(
            "tags",
            tags::split_remote_tags(&remote.tags, prior.get("tags"), &client.default_tags),
        );
        state.set("tags_all", Value::from(remote.tags.clone()));
        if self.principal.has_instance_profile() {
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
    async fn documents(
        &self,
        client: &Client,
        values: &Value,
    ) -> Result<(String, String), Diagnostic> {
        let trust = match values.get("assume_role_policy_json").as_str() {
            Some(doc) => doc.to_string(),
            None => expand_trust(self.principal, values, client.aws.partition())
                .map(|t| t.to_json())
                .ok_or_else(|| unknown_at_apply("trusted principals"))?,
        };
        let policy = match values.get("policy_json").as_str() {
            Some(doc) => doc.to_string(),
            None => {
                let inputs = expand_inputs(self.principal, values)?
                    .ok_or_else(|| unknown_at_apply("policy inputs"))?;
                let account = caller_account_id(client).await?;
                inputs.policy(&scope(client, &account)).to_json()
            }
        };
        Ok((trust, policy))
    }

    /// Creates the instance profile named like the role if missing, and puts the role in it.
    async fn ensure_instance_profile(
        &self,
        client: &Client,
        name: &str,
        tags_all: &tags::Tags,
    ) -> Result<(), Diagnostic> {
        let iam = client.aws.iam();
        let existing = match iam
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
            .await
        {
            Ok(out) => out.instance_profile,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_no_such_entity_exception()) =>
            {
                None
            }
            Err(e) => {
                return Err(aws_error(
                    &format!("reading IAM Instance Profile ({name})"),
                    &e,
                ));
            }
        };
        let holds_role = match &existing {
            Some(profile) => {
                if let Some(other) = profile.roles().iter().find(|r| r.role_name() != name) {
                    return Err(Diagnostic::error(
                        format!("IAM Instance Profile ({name}) already holds role {}", other.role_name()),
                        "An instance profile holds one role. mdw names the Airbyte role's instance profile like the role: \
                         remove the other role from it, or choose another role name.",
                    )
                    .at_attribute("name"));
                }
                !profile.roles().is_empty()
            }
            None => {
                iam.create_instance_profile()
                    .instance_profile_name(name)
                    .set_tags(iam_tags(tags_all)?)
                    .send()
                    .await
                    .map_err(|e| {
                        aws_error(&format!("creating IAM Instance Profile ({name})"), &e)
                    })?;
                false
            }
        };
        if !holds_role {
            iam.add_role_to_instance_profile()
                .instance_profile_name(name)
                .role_name(name)
                .send()
                .await
                .map_err(|e| {
                    aws_error(
                        &format!("adding IAM Role ({name}) to its instance profile"),
                        &e,
                    )
                })?;
        }
        Ok(())
    }
}

fn unknown_at_apply(what: &str) -> Diagnostic {
    Diagnostic::error(
        format!("The role's {what} are still unknown at apply"),
        "This is a bug in the mdw provider; please report it with the plan that showed it.",
    )
}

// ---- create / read / update / delete / import -----------------------------------------------

#[async_trait]
impl Resource<Client> for IamRole {
    fn type_name(&self) -> &'static str {
        self.principal.type_name()
    }

    fn schema(&self) -> Schema {
        schema(self.principal)
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        validate_config(self.principal, config)
    }

    async fn plan(&self, client: &Client, change: &mut PlanChange<'_>) -> Result<(), Diagnostics> {
        tags::plan_tags_all(&client.default_tags, change);
        let keep_equivalent = |prior: &Value, attribute: &str, doc: Option<String>| match doc {
            None => Value::unknown(),
            Some(doc) => match prior.get(attribute).as_str() {
                Some(known) if iam_policy::equivalent(known, &doc) => Value::from(known),
                _ => Value::from(doc),
            },
        };
        let trust = expand_trust(self.principal, &change.planned, client.aws.partition())
            .map(|t| t.to_json());
        let trust = keep_equivalent(change.prior, "assume_role_policy_json", trust);
        change.planned.set("assume_role_policy_json", trust);

        let policy = match expand_inputs(self.principal, &change.planned)? {
            None => None,
            Some(inputs) => {
                // An existing role's ARN names the account; only a new role costs an STS call.
                let account = match change.prior.get("arn").as_str().and_then(account_of_arn) {
                    Some(account) => account.to_string(),
                    None => caller_account_id(client).await?,
                };
                let policy = inputs.policy(&scope(client, &account));
                let size = policy.size();
                if size > ROLE_INLINE_POLICY_LIMIT {
                    return Err(Diagnostic::error(
                        format!("The policy computed for this {} is too large for IAM", self.principal.type_name()),
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
        if self.principal.has_instance_profile()
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
        let (trust, policy) = self.documents(client, planned).await?;
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
            .set_tags(iam_tags(&tags_all)?)
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
                        self.principal.type_name()
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
            if self.principal.has_instance_profile() {
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
        if self.principal.has_instance_profile() {
            self.ensure_instance_profile(client, &name, &tags_all)
                .await
                .map_err(|d| ApplyError::from(d).with_partial_state(partial(true)))?;
        }
        match self.read(client, planned).await {
            Ok(Some(state)) => Ok(state),
            Ok(None) => Err(ApplyError::from(Diagnostic::error(
                format!("IAM Role ({name}) vanished right after it was created"),
                "Another process may have deleted it; run terraform apply again.",
            ))),
            Err(d) => Err(ApplyError::from(d).with_partial_state(partial(true))),
        }
    }

    async fn read(&self, client: &Client, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let name = state.get("name").as_str().unwrap_or_default();
        let Some(role) = find_role(client, name).await? else {
            return Ok(None);
        };
        let remote = Remote {
            policy: find_role_policy(client, name).await?,
            tags: find_role_tags(client, name).await?,
            instance_profile_arn: if self.principal.has_instance_profile() {
                find_instance_profile_arn(client, name).await?
            } else {
                None
            },
            role,
        };
        Ok(Some(self.flatten(client, &remote, state)))
    }

    async fn update(
        &self,
        client: &Client,
        prior: &Value,
        planned: &Value,
    ) -> Result<Value, ApplyError> {
        let name = planned.get("name").as_str().unwrap_or_default();
        let iam = client.aws.iam();
        let (trust, policy) = self.documents(client, planned).await?;
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
        let tags_all = planned.get("tags_all").string_map();
        let (removed, changed) = tags::diff(&prior.get("tags_all").string_map(), &tags_all);
        if !removed.is_empty() {
            iam.untag_role()
                .role_name(name)
                .set_tag_keys(Some(removed.clone()))
                .send()
                .await
                .map_err(|e| aws_error(&format!("removing tags of IAM Role ({name})"), &e))?;
        }
        if !changed.is_empty() {
            iam.tag_role()
                .role_name(name)
                .set_tags(iam_tags(&changed)?)
                .send()
                .await
                .map_err(|e| aws_error(&format!("tagging IAM Role ({name})"), &e))?;
        }
        if self.principal.has_instance_profile() {
            if prior.get("instance_profile_arn").is_null() {
                self.ensure_instance_profile(client, name, &tags_all)
                    .await?;
            } else {
                if !removed.is_empty() {
                    iam.untag_instance_profile()
                        .instance_profile_name(name)
                        .set_tag_keys(Some(removed))
                        .send()
                        .await
                        .map_err(|e| {
                            aws_error(
                                &format!("removing tags of IAM Instance Profile ({name})"),
                                &e,
                            )
                        })?;
                }
                if !changed.is_empty() {
                    iam.tag_instance_profile()
                        .instance_profile_name(name)
                        .set_tags(iam_tags(&changed)?)
                        .send()
                        .await
                        .map_err(|e| {
                            aws_error(&format!("tagging IAM Instance Profile ({name})"), &e)
                        })?;
                }
            }
        }
        match self.read(client, planned).await? {
            Some(state) => Ok(state),
            None => Err(Diagnostic::error(
                format!("IAM Role ({name}) was deleted during the update"),
                "Another process deleted it; run terraform apply again to recreate it.",
            )
            .into()),
        }
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
                NO_SUCH_ENTITY,
                &format!("removing IAM Role ({name}) from instance profile {profile_name}"),
            )?;
        }
        if self.principal.has_instance_profile() {
            let result = iam
                .delete_instance_profile()
                .instance_profile_name(name)
                .send()
                .await;
            removed(
                result,
                NO_SUCH_ENTITY,
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
                NO_SUCH_ENTITY,
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
                NO_SUCH_ENTITY,
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
        if let Err(message) = validate_role_name(&Value::from(id)) {
            return Err(Diagnostic::error(
                format!("Invalid import id {id:?}"),
                format!(
                    "{message} The import id of {} is the role name.",
                    self.principal.type_name()
                ),
            )
            .into());
        }
        Ok(Value::object([("name", Value::from(id))]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_url_decoded() {
        assert_eq!(
            decode_document("%7B%22Version%22%3A%20%222012-10-17%22%7D"),
            r#"{"Version": "2012-10-17"}"#
        );
        assert_eq!(decode_document(r#"{"a":"100%"}"#), r#"{"a":"100%"}"#);
        assert_eq!(decode_document("%7Bbad%zz%7D"), "{bad%zz}");
    }

    #[test]
    fn principals_must_be_full_arns() {
        assert!(validate_principal_arn(&Value::from("arn:aws:iam::123456789012:role/ci")).is_ok());
        assert!(validate_principal_arn(&Value::from("arn:aws:iam::123456789012:root")).is_ok());
        let err = validate_principal_arn(&Value::from("123456789012")).unwrap_err();
        assert!(err.contains("arn:aws:iam::123456789012:root"), "{err}");
        assert!(validate_principal_arn(&Value::from("*")).is_err());
        assert!(validate_principal_arn(&Value::from("arn:aws:iam::123456789012:role/*")).is_err());
        assert!(validate_service_principal(&Value::from("codebuild.amazonaws.com")).is_ok());
        assert!(validate_service_principal(&Value::from("codebuild")).is_err());
    }

    #[test]
    fn kms_keys_must_be_key_arns() {
        let key = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert!(validate_kms_key_arn(&Value::from(key)).is_ok());
        for bad in [
            "alias/mdw",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-west-2:123456789012:alias/mdw",
            "arn:aws:kms:us-west-2:123456789012:key/*",
        ] {
            let err = validate_kms_key_arn(&Value::from(bad)).unwrap_err();
            assert!(err.contains("key/<key id>"), "{bad}: {err}");
        }
    }

    #[test]
    fn other_inputs_are_checked() {
        assert!(validate_role_name(&Value::from("mdw-dbt-runner")).is_ok());
        assert!(validate_role_name(&Value::from("x".repeat(65).as_str())).is_err());
        assert!(validate_role_name(&Value::from("has space")).is_err());
        assert!(validate_state_key(&Value::from("mdw/terraform.tfstate")).is_ok());
        assert!(validate_state_key(&Value::from("/mdw/terraform.tfstate")).is_err());
        assert!(validate_state_key(&Value::from("mdw/*")).is_err());
        assert!(validate_table_name(&Value::from("mdw-terraform-locks")).is_ok());
        assert!(validate_table_name(&Value::from("x")).is_err());
        assert!(validate_role_name_prefix(&Value::from("mdw-")).is_ok());
        assert!(validate_role_name_prefix(&Value::from("mdw-*")).is_err());
        let err = each(glue_database::validate_name)(&Value::from(vec![
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
        assert!(validate_config(Principal::DbtRunner, &runner_config(&[])).is_empty());
        let untrusted = runner_config(&[("trusted_principal_arns", empty_list())]);
        let diags = validate_config(Principal::DbtRunner, &untrusted);
        assert_eq!(diags.0.len(), 1, "{diags}");
        assert_eq!(
            diags.0[0].path,
            Some(tfplugin::AttributePath::root("trusted_principal_arns"))
        );
        // Unknown until apply (a reference): not judged yet.
        let unknown = runner_config(&[("trusted_principal_arns", Value::unknown())]);
        assert!(validate_config(Principal::DbtRunner, &unknown).is_empty());
        let twice = runner_config(&[(
            "databases",
            Value::from(vec!["a".to_string(), "a".to_string()]),
        )]);
        let diags = validate_config(Principal::DbtRunner, &twice);
        assert_eq!(
            diags.0[0].path,
            Some(tfplugin::AttributePath::root("databases")),
            "{diags}"
        );
        let none = runner_config(&[("databases", empty_list())]);
        assert_eq!(validate_config(Principal::DbtRunner, &none).0.len(), 1);
        // EC2 trusts the Airbyte role; nothing to configure.
        let airbyte = Value::object([
            ("name", Value::from("x")),
            ("raw_location", Value::from("s3://raw-bucket/")),
        ]);
        assert!(validate_config(Principal::AirbyteEc2, &airbyte).is_empty());
    }

    #[test]
    fn inputs_are_unknown_until_every_one_is_known() {
        let known = runner_config(&[]);
        let Ok(Some(Inputs::DbtRunner(runner))) = expand_inputs(Principal::DbtRunner, &known)
        else {
            panic!("known inputs expand");
        };
        assert_eq!(runner.workgroup, "mdw");
        assert_eq!(runner.results_location.prefix, "results/");
        let later = runner_config(&[("databases", Value::List(vec![Value::unknown()]))]);
        assert_eq!(expand_inputs(Principal::DbtRunner, &later), Ok(None));
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
            ("kms_key_arns", empty_list()),
        ]);
        let Ok(Some(inputs)) = expand_inputs(Principal::DbtRunner, &config) else {
            panic!("known inputs expand");
        };
        let json = inputs.policy(&scope).to_json();
        let recovered =
            recover_inputs(Principal::DbtRunner, &json).expect("our own policy reads back");
        assert_eq!(recovered, inputs);
        let mut state = Value::object([("name", Value::from("mdw-dbt"))]);
        flatten_inputs(&recovered, &mut state);
        for attribute in Principal::DbtRunner.inputs() {
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
