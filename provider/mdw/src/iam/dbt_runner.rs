//! `mdw_dbt_runner_role`: the role dbt (or any SQL client) runs models as — queries in one
//! workgroup, the tables of its databases, read/write on exactly its prefixes.

use tfplugin::validators::each;
use tfplugin::{Diagnostic, Diagnostics, Maybe};

use crate::aws::names;
use crate::aws::s3_location::{S3Url, validate_s3_url, validate_s3_url_list};
use crate::iam::policy::actions::*;
use crate::iam::policy::grants::*;
use crate::iam::policy::{ParsedPolicy, Policy, Scope, Statement};
use crate::iam::principal::{self, KMS_KEY_ARNS, Principal, empty_list, validate_kms_key_arns};

tfplugin::model! {
    /// The input attributes of `mdw_dbt_runner_role`.
    pub(crate) struct DbtRunnerConfig {
        /// The Athena workgroup queries run in, e.g. `mdw_athena_workgroup.main.name`.
        #[tf(required, validate = names::athena_workgroup_name)]
        pub(crate) workgroup: Maybe<String>,
        /// The workgroup's result location, e.g. `mdw_athena_workgroup.main.result_location`.
        #[tf(required, validate = validate_s3_url)]
        pub(crate) results_location: Maybe<String>,
        /// Where the tables' data lives, e.g. `s3://mdw-warehouse/`.
        #[tf(required, validate = validate_s3_url)]
        pub(crate) warehouse_location: Maybe<String>,
        /// Read-only locations of source data, e.g. `["s3://mdw-raw/airbyte/"]`.
        #[tf(default = empty_list(), validate = validate_s3_url_list)]
        pub(crate) source_locations: Maybe<Vec<String>>,
        /// Glue databases whose tables dbt creates, replaces and drops.
        #[tf(required, validate = each(names::glue_database_name))]
        pub(crate) databases: Maybe<Vec<String>>,
        /// Glue databases dbt only reads (sources).
        #[tf(default = empty_list(), validate = each(names::glue_database_name))]
        pub(crate) source_databases: Maybe<Vec<String>>,
        #[tf(default = empty_list(), describe = KMS_KEY_ARNS, validate = validate_kms_key_arns)]
        pub(crate) kms_key_arns: Maybe<Vec<String>>,
    }
}

/// The inputs of the dbt runner's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DbtRunnerInputs {
    pub(crate) workgroup: String,
    pub(crate) results_location: S3Url,
    pub(crate) warehouse_location: S3Url,
    pub(crate) source_locations: Vec<S3Url>,
    pub(crate) databases: Vec<String>,
    pub(crate) source_databases: Vec<String>,
    pub(crate) kms_key_arns: Vec<String>,
}

/// dbt (or any SQL client) running models: queries in one workgroup, tables of its databases.
pub(crate) struct DbtRunner;

impl Principal for DbtRunner {
    type Inputs = DbtRunnerInputs;
    type Config = DbtRunnerConfig;

    const TYPE_NAME: &'static str = "mdw_dbt_runner_role";
    const DESCRIPTION: &'static str = "The role dbt (or any SQL client) runs models as: queries in one Athena workgroup, the \
         tables of the named Glue databases, read/write on exactly the query-result and warehouse \
         prefixes, read on the source prefixes. The policy is computed from these inputs.";

    fn expand(c: &DbtRunnerConfig) -> Result<DbtRunnerInputs, Diagnostic> {
        Ok(DbtRunnerInputs {
            workgroup: principal::string(&c.workgroup).unwrap_or_default(),
            results_location: principal::required_location(
                &c.results_location,
                DbtRunnerConfig::results_location,
            )?,
            warehouse_location: principal::required_location(
                &c.warehouse_location,
                DbtRunnerConfig::warehouse_location,
            )?,
            source_locations: principal::locations(
                &c.source_locations,
                DbtRunnerConfig::source_locations,
            )?,
            databases: principal::list(&c.databases),
            source_databases: principal::list(&c.source_databases),
            kms_key_arns: principal::list(&c.kms_key_arns),
        })
    }

    fn flatten(i: &DbtRunnerInputs) -> DbtRunnerConfig {
        DbtRunnerConfig {
            workgroup: Maybe::Known(i.workgroup.clone()),
            results_location: principal::url(&i.results_location),
            warehouse_location: principal::url(&i.warehouse_location),
            source_locations: principal::urls(&i.source_locations),
            databases: Maybe::Known(i.databases.clone()),
            source_databases: Maybe::Known(i.source_databases.clone()),
            kms_key_arns: Maybe::Known(i.kms_key_arns.clone()),
        }
    }

    fn policy(inputs: &Self::Inputs, scope: &Scope) -> Policy {
        let mut statements = vec![
            Statement::new(
                SID_ATHENA_WORKGROUP,
                ATHENA_QUERY,
                vec![scope.athena_workgroup(&inputs.workgroup)],
            ),
            // Clients (dbt-athena, JDBC/ODBC drivers) look the catalog up to learn its type.
            Statement::new(
                SID_ATHENA_DATA_CATALOG,
                &["athena:GetDataCatalog"],
                vec![scope.athena("datacatalog/AwsDataCatalog")],
            ),
            // Glue authorises GetDatabases (dbt's schema listing) against every database in the
            // catalog; it returns names and descriptions only, no tables or data.
            Statement::new(
                SID_GLUE_LIST_DATABASES,
                &["glue:GetDatabases"],
                vec![scope.glue_catalog(), scope.glue_database("*")],
            ),
            default_database(scope),
            glue_tables(
                scope,
                SID_GLUE_READ_WRITE,
                &[GLUE_READ, GLUE_WRITE_TABLES],
                &inputs.databases,
            ),
        ];
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
            Some(&inputs.results_location),
            Some(&inputs.warehouse_location),
            &inputs.source_locations,
            &[],
        ));
        statements.extend(kms(&inputs.kms_key_arns));
        Policy { statements }
    }

    fn recover(policy: &ParsedPolicy) -> Option<Self::Inputs> {
        Some(DbtRunnerInputs {
            workgroup: policy
                .names(SID_ATHENA_WORKGROUP, ":workgroup/")
                .into_iter()
                .next()?,
            results_location: policy.locations(SID_QUERY_RESULTS).into_iter().next()?,
            warehouse_location: policy.locations(SID_WAREHOUSE).into_iter().next()?,
            source_locations: policy.locations(SID_SOURCES),
            databases: policy.names(SID_GLUE_READ_WRITE, ":database/"),
            source_databases: policy.names(SID_GLUE_READ_SOURCES, ":database/"),
            kms_key_arns: policy.resources(SID_KMS),
        })
    }

    /// The dbt runner needs a database to build in.
    fn validate(config: &DbtRunnerConfig) -> Diagnostics {
        let mut diags = Diagnostics::new();
        if config.databases.known().is_some_and(Vec::is_empty) {
            diags.push(
                Diagnostic::error(
                    "databases is empty",
                    "List the Glue databases dbt builds models in, e.g. databases = [mdw_glue_database.mdw.name].",
                )
                .at_attribute(DbtRunnerConfig::databases),
            );
        }
        diags
    }
}
