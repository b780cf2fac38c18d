//! `mdw_terraform_operator_role`: the role `terraform apply` runs as — the state backend, the
//! warehouse's buckets, workgroups, databases and roles, and the models' data.

use tfplugin::validators::each;
use tfplugin::{Diagnostic, Maybe, Value};

use crate::aws::names;
use crate::aws::s3_location::{S3Url, validate_s3_url, validate_s3_url_list};
use crate::iam::policy::actions::*;
use crate::iam::policy::grants::*;
use crate::iam::policy::read::arn_name;
use crate::iam::policy::{ParsedPolicy, Policy, Scope, Statement};
use crate::iam::principal::{self, KMS_KEY_ARNS, Principal, empty_list, validate_kms_key_arns};

tfplugin::model! {
    /// The input attributes of `mdw_terraform_operator_role`.
    pub(crate) struct TerraformOperatorConfig {
        /// The S3 bucket holding Terraform state, e.g. `mdw-terraform-remote-state`.
        #[tf(required, validate = names::bucket_name)]
        pub(crate) state_bucket: Maybe<String>,
        /// The state object's key, as in the backend block, e.g. `mdw/terraform.tfstate`.
        #[tf(required, validate = validate_state_key)]
        pub(crate) state_key: Maybe<String>,
        /// The DynamoDB lock table of the backend (`dynamodb_table`), if it uses one.
        #[tf(validate = names::dynamodb_table_name)]
        pub(crate) lock_table: Maybe<String>,
        /// Buckets the operator manages (`mdw_lake_bucket`), including emptying them on destroy.
        #[tf(default = empty_list(), validate = each(names::bucket_name))]
        pub(crate) lake_buckets: Maybe<Vec<String>>,
        /// Athena workgroups the operator manages and runs model queries in.
        #[tf(default = empty_list(), validate = each(names::athena_workgroup_name))]
        pub(crate) workgroups: Maybe<Vec<String>>,
        /// Glue databases the operator manages, with their tables (models).
        #[tf(default = empty_list(), validate = each(names::glue_database_name))]
        pub(crate) databases: Maybe<Vec<String>>,
        /// Query-result location the operator's model queries write to.
        #[tf(validate = validate_s3_url)]
        pub(crate) results_location: Maybe<String>,
        /// Where model tables' data lives.
        #[tf(validate = validate_s3_url)]
        pub(crate) warehouse_location: Maybe<String>,
        /// Read-only locations of source data.
        #[tf(default = empty_list(), validate = validate_s3_url_list)]
        pub(crate) source_locations: Maybe<Vec<String>>,
        /// Glue databases the operator only reads (sources).
        #[tf(default = empty_list(), validate = each(names::glue_database_name))]
        pub(crate) source_databases: Maybe<Vec<String>>,
        /// Lets the operator manage IAM roles and instance profiles whose names start with this,
        /// e.g. `mdw-`. Unset: no IAM permissions.
        #[tf(validate = names::iam_role_name_prefix)]
        pub(crate) iam_role_name_prefix: Maybe<String>,
        #[tf(default = empty_list(), describe = KMS_KEY_ARNS, validate = validate_kms_key_arns)]
        pub(crate) kms_key_arns: Maybe<Vec<String>>,
    }
}

/// The inputs of the operator's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TerraformOperatorInputs {
    pub(crate) state_bucket: String,
    pub(crate) state_key: String,
    pub(crate) lock_table: Option<String>,
    pub(crate) lake_buckets: Vec<String>,
    pub(crate) workgroups: Vec<String>,
    pub(crate) databases: Vec<String>,
    pub(crate) results_location: Option<S3Url>,
    pub(crate) warehouse_location: Option<S3Url>,
    pub(crate) source_locations: Vec<S3Url>,
    pub(crate) source_databases: Vec<String>,
    pub(crate) iam_role_name_prefix: Option<String>,
    pub(crate) kms_key_arns: Vec<String>,
}

/// The identity `terraform apply` runs as: the state backend, the warehouse's resources, and
/// the models' data (models are built during apply).
pub(crate) struct TerraformOperator;

/// The state object's key as the backend block names it; a policy resource, so no wildcards.
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

impl Principal for TerraformOperator {
    type Inputs = TerraformOperatorInputs;
    type Config = TerraformOperatorConfig;

    const TYPE_NAME: &'static str = "mdw_terraform_operator_role";
    const DESCRIPTION: &'static str = "The role `terraform apply` runs as: the state backend (bucket key, lock file, lock table), \
         the warehouse's buckets, workgroups, databases and roles, and the models' data.";

    fn expand(c: &TerraformOperatorConfig) -> Result<TerraformOperatorInputs, Diagnostic> {
        type C = TerraformOperatorConfig;
        Ok(TerraformOperatorInputs {
            state_bucket: principal::string(&c.state_bucket).unwrap_or_default(),
            state_key: principal::string(&c.state_key).unwrap_or_default(),
            lock_table: principal::string(&c.lock_table),
            lake_buckets: principal::list(&c.lake_buckets),
            workgroups: principal::list(&c.workgroups),
            databases: principal::list(&c.databases),
            results_location: principal::location(&c.results_location, C::results_location)?,
            warehouse_location: principal::location(&c.warehouse_location, C::warehouse_location)?,
            source_locations: principal::locations(&c.source_locations, C::source_locations)?,
            source_databases: principal::list(&c.source_databases),
            iam_role_name_prefix: principal::string(&c.iam_role_name_prefix),
            kms_key_arns: principal::list(&c.kms_key_arns),
        })
    }

    fn flatten(i: &TerraformOperatorInputs) -> TerraformOperatorConfig {
        TerraformOperatorConfig {
            state_bucket: Maybe::Known(i.state_bucket.clone()),
            state_key: Maybe::Known(i.state_key.clone()),
            lock_table: Maybe::from_option(i.lock_table.clone()),
            lake_buckets: Maybe::Known(i.lake_buckets.clone()),
            workgroups: Maybe::Known(i.workgroups.clone()),
            databases: Maybe::Known(i.databases.clone()),
            results_location: principal::opt_url(&i.results_location),
            warehouse_location: principal::opt_url(&i.warehouse_location),
            source_locations: principal::urls(&i.source_locations),
            source_databases: Maybe::Known(i.source_databases.clone()),
            iam_role_name_prefix: Maybe::from_option(i.iam_role_name_prefix.clone()),
            kms_key_arns: Maybe::Known(i.kms_key_arns.clone()),
        }
    }

    fn policy(inputs: &Self::Inputs, scope: &Scope) -> Policy {
        let state_key = |suffix: &str| {
            scope.s3_object(
                &inputs.state_bucket,
                &format!("{}{suffix}", inputs.state_key),
            )
        };
        // As the `s3` backend documents: list the bucket, read and write the state, and create
        // and delete the `.tflock` lock file (use_lockfile).
        let mut statements = vec![
            Statement::new(
                SID_STATE_LIST,
                &["s3:ListBucket"],
                vec![scope.s3_bucket(&inputs.state_bucket)],
            ),
            Statement::new(
                SID_STATE,
                &["s3:GetObject", "s3:PutObject"],
                vec![state_key(""), state_key(".tflock")],
            ),
            Statement::new(
                SID_STATE_LOCKFILE,
                &["s3:DeleteObject"],
                vec![state_key(".tflock")],
            ),
        ];
        if let Some(table) = &inputs.lock_table {
            statements.push(Statement::new(
                SID_LOCK_TABLE,
                TERRAFORM_LOCK_TABLE,
                vec![scope.dynamodb_table(table)],
            ));
        }
        if !inputs.lake_buckets.is_empty() {
            statements.push(Statement::new(
                SID_MANAGE_BUCKETS,
                S3_BUCKET_MANAGEMENT,
                inputs
                    .lake_buckets
                    .iter()
                    .map(|b| scope.s3_bucket(b))
                    .collect(),
            ));
            // force_destroy empties a bucket, versions included, before deleting it.
            statements.push(Statement::new(
                SID_EMPTY_BUCKETS,
                &["s3:DeleteObject", "s3:DeleteObjectVersion"],
                inputs
                    .lake_buckets
                    .iter()
                    .map(|b| scope.s3_object(b, "*"))
                    .collect(),
            ));
        }
        if !inputs.workgroups.is_empty() {
            statements.push(Statement::with_actions(
                SID_MANAGE_WORKGROUPS,
                &[ATHENA_WORKGROUP_MANAGEMENT, ATHENA_QUERY],
                inputs
                    .workgroups
                    .iter()
                    .map(|w| scope.athena_workgroup(w))
                    .collect(),
            ));
            statements.push(default_database(scope));
        }
        if !inputs.databases.is_empty() {
            let mut resources = vec![scope.glue_catalog()];
            resources.extend(inputs.databases.iter().map(|d| scope.glue_database(d)));
            resources.extend(inputs.databases.iter().map(|d| scope.glue_tables(d)));
            // DeleteDatabase also deletes the database's functions.
            resources.extend(inputs.databases.iter().map(|d| scope.glue_functions(d)));
            statements.push(Statement::with_actions(
                SID_MANAGE_DATABASES,
                &[GLUE_DATABASE_MANAGEMENT, GLUE_READ, GLUE_WRITE_TABLES],
                resources,
            ));
        }
        if !inputs.source_databases.is_empty() {
            statements.push(glue_tables(
                scope,
                SID_GLUE_READ_SOURCES,
                &[GLUE_READ],
                &inputs.source_databases,
            ));
        }
        statements.extend(data_statements(
            scope,
            inputs.results_location.as_ref(),
            inputs.warehouse_location.as_ref(),
            &inputs.source_locations,
            &inputs.lake_buckets,
        ));
        if let Some(prefix) = &inputs.iam_role_name_prefix {
            statements.push(Statement::new(
                SID_MANAGE_ROLES,
                IAM_ROLE_MANAGEMENT,
                vec![
                    scope.iam(&format!("role/{prefix}*")),
                    scope.iam(&format!("instance-profile/{prefix}*")),
                ],
            ));
        }
        statements.extend(kms(&inputs.kms_key_arns));
        Policy { statements }
    }

    fn recover(policy: &ParsedPolicy) -> Option<Self::Inputs> {
        let state = policy.resources(SID_STATE).into_iter().next()?;
        let (_, object) = state.split_once(":s3:::")?;
        let (state_bucket, state_key) = object.split_once('/')?;
        Some(TerraformOperatorInputs {
            state_bucket: state_bucket.to_string(),
            state_key: state_key.to_string(),
            lock_table: policy.names(SID_LOCK_TABLE, ":table/").into_iter().next(),
            lake_buckets: policy
                .resources(SID_MANAGE_BUCKETS)
                .iter()
                .filter_map(|arn| arn_name(arn, ":s3:::").map(str::to_string))
                .collect(),
            workgroups: policy.names(SID_MANAGE_WORKGROUPS, ":workgroup/"),
            databases: policy.names(SID_MANAGE_DATABASES, ":database/"),
            results_location: policy.locations(SID_QUERY_RESULTS).into_iter().next(),
            warehouse_location: policy.locations(SID_WAREHOUSE).into_iter().next(),
            source_locations: policy.locations(SID_SOURCES),
            source_databases: policy.names(SID_GLUE_READ_SOURCES, ":database/"),
            iam_role_name_prefix: policy.resources(SID_MANAGE_ROLES).iter().find_map(|arn| {
                arn.split_once(":role/")?
                    .1
                    .strip_suffix('*')
                    .map(str::to_string)
            }),
            kms_key_arns: policy.resources(SID_KMS),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_keys_are_checked() {
        assert!(validate_state_key(&Value::from("mdw/terraform.tfstate")).is_ok());
        assert!(validate_state_key(&Value::from("/mdw/terraform.tfstate")).is_err());
        assert!(validate_state_key(&Value::from("mdw/*")).is_err());
    }
}
