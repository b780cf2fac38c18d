//! The least-privilege policies of the warehouse's three principals, computed from what the
//! configuration references (workgroup name, locations, database names, tables of those
//! databases), never written by hand. Pure: no AWS calls, so every statement is unit-tested.
//!
//! Each input shows up in a statement of its own `Sid`, which lets [`recover_inputs`] read the
//! inputs back from a policy this module wrote (`terraform import` has nothing else to go on).

use std::collections::BTreeMap;

use crate::resources::s3_url::S3Url;

/// IAM's limit on the inline policies of one role, counted without whitespace.
pub const ROLE_INLINE_POLICY_LIMIT: usize = 10_240;

const POLICY_LANGUAGE_VERSION: &str = "2012-10-17";

// ---- actions --------------------------------------------------------------------------------

/// Running queries in a workgroup and reading their results.
const ATHENA_QUERY: &[&str] = &[
    "athena:BatchGetQueryExecution",
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:GetQueryRuntimeStatistics",
    "athena:GetWorkGroup",
    "athena:ListQueryExecutions",
    "athena:StartQueryExecution",
    "athena:StopQueryExecution",
];

/// What `mdw_athena_workgroup` calls.
const ATHENA_WORKGROUP_MANAGEMENT: &[&str] = &[
    "athena:CreateWorkGroup",
    "athena:DeleteWorkGroup",
    "athena:GetWorkGroup",
    "athena:ListNamedQueries",
    "athena:ListTagsForResource",
    "athena:TagResource",
    "athena:UntagResource",
    "athena:UpdateWorkGroup",
];

/// Reading databases, tables and partitions (what a `select` needs from the catalog).
const GLUE_READ: &[&str] = &[
    "glue:BatchGetPartition",
    "glue:GetDatabase",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:GetTable",
    "glue:GetTableVersion",
    "glue:GetTableVersions",
    "glue:GetTables",
];

/// Creating, replacing and dropping tables and their partitions (CTAS, Iceberg commits, drops).
const GLUE_WRITE_TABLES: &[&str] = &[
    "glue:BatchCreatePartition",
    "glue:BatchDeletePartition",
    "glue:BatchDeleteTable",
    "glue:BatchDeleteTableVersion",
    "glue:BatchUpdatePartition",
    "glue:CreatePartition",
    "glue:CreateTable",
    "glue:DeletePartition",
    "glue:DeleteTable",
    "glue:DeleteTableVersion",
    "glue:UpdatePartition",
    "glue:UpdateTable",
];

/// What `mdw_glue_database` calls.
const GLUE_DATABASE_MANAGEMENT: &[&str] = &[
    "glue:CreateDatabase",
    "glue:DeleteDatabase",
    "glue:GetDatabase",
    "glue:GetTags",
    "glue:TagResource",
    "glue:UntagResource",
    "glue:UpdateDatabase",
];

/// Objects under a prefix: read, write, overwrite, delete, multipart uploads.
const S3_READ_WRITE_OBJECTS: &[&str] = &[
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
];

/// What `mdw_lake_bucket` calls on its bucket (DeleteBucketTagging is s3:PutBucketTagging,
/// HeadBucket is s3:ListBucket, ListObjectVersions is s3:ListBucketVersions).
const S3_BUCKET_MANAGEMENT: &[&str] = &[
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:GetBucketLogging",
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketTagging",
    "s3:GetBucketVersioning",
    "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:PutBucketLogging",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketPolicy",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketTagging",
    "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
];

/// What the mdw IAM role resources call.
const IAM_ROLE_MANAGEMENT: &[&str] = &[
    "iam:AddRoleToInstanceProfile",
    "iam:CreateInstanceProfile",
    "iam:CreateRole",
    "iam:DeleteInstanceProfile",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:GetInstanceProfile",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
    "iam:PutRolePolicy",
    "iam:RemoveRoleFromInstanceProfile",
    "iam:TagInstanceProfile",
    "iam:TagRole",
    "iam:UntagInstanceProfile",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
];

/// SSE-KMS objects and CSE-KMS query results: S3 and Athena encrypt and decrypt as the caller.
const KMS_ENCRYPT_DECRYPT: &[&str] = &[
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
];

/// Terraform's S3 backend (docs of the `s3` backend: state object and `.tflock` lock file).
const TERRAFORM_LOCK_TABLE: &[&str] = &[
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
];

// ---- statement ids: each input has its own, so it can be read back --------------------------

const SID_ATHENA_WORKGROUP: &str = "AthenaWorkgroup";
const SID_ATHENA_DATA_CATALOG: &str = "AthenaDataCatalog";
const SID_GLUE_LIST_DATABASES: &str = "GlueListDatabases";
const SID_GLUE_DEFAULT_DATABASE: &str = "GlueDefaultDatabase";
const SID_GLUE_READ_WRITE: &str = "GlueReadWrite";
const SID_GLUE_READ_SOURCES: &str = "GlueReadSources";
const SID_GLUE_RAW_DATABASE: &str = "GlueRawDatabase";
const SID_QUERY_RESULTS: &str = "QueryResultsReadWrite";
const SID_WAREHOUSE: &str = "WarehouseReadWrite";
const SID_SOURCES: &str = "SourcesRead";
const SID_RAW: &str = "RawReadWrite";
const SID_RAW_BUCKET: &str = "RawBucket";
const SID_BUCKET_LOCATION: &str = "BucketLocation";
const SID_KMS: &str = "KmsEncryptDecrypt";
const SID_STATE_LIST: &str = "TerraformStateList";
const SID_STATE: &str = "TerraformState";
const SID_STATE_LOCKFILE: &str = "TerraformStateLockfile";
const SID_LOCK_TABLE: &str = "TerraformLockTable";
const SID_MANAGE_BUCKETS: &str = "ManageLakeBuckets";
const SID_EMPTY_BUCKETS: &str = "EmptyLakeBuckets";
const SID_MANAGE_WORKGROUPS: &str = "ManageWorkgroups";
const SID_MANAGE_DATABASES: &str = "ManageDatabases";
const SID_MANAGE_ROLES: &str = "ManageRoles";

// ---- ARNs -----------------------------------------------------------------------------------

/// Where ARNs point: the provider's partition and region, the caller's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub partition: String,
    pub region: String,
    pub account_id: String,
}

impl Scope {
    fn athena(&self, resource: &str) -> String {
        format!(
            "arn:{}:athena:{}:{}:{resource}",
            self.partition, self.region, self.account_id
        )
    }
    fn athena_workgroup(&self, name: &str) -> String {
        self.athena(&format!("workgroup/{name}"))
    }
    fn glue(&self, resource: &str) -> String {
        format!(
            "arn:{}:glue:{}:{}:{resource}",
            self.partition, self.region, self.account_id
        )
    }
    fn glue_catalog(&self) -> String {
        self.glue("catalog")
    }
    fn glue_database(&self, name: &str) -> String {
        self.glue(&format!("database/{name}"))
    }
    fn glue_tables(&self, database: &str) -> String {
        self.glue(&format!("table/{database}/*"))
    }
    fn glue_functions(&self, database: &str) -> String {
        self.glue(&format!("userDefinedFunction/{database}/*"))
    }
    fn s3_bucket(&self, bucket: &str) -> String {
        format!("arn:{}:s3:::{bucket}", self.partition)
    }
    fn s3_object(&self, bucket: &str, key: &str) -> String {
        format!("arn:{}:s3:::{bucket}/{key}", self.partition)
    }
    fn dynamodb_table(&self, name: &str) -> String {
        format!(
            "arn:{}:dynamodb:{}:{}:table/{name}",
            self.partition, self.region, self.account_id
        )
    }
    fn iam(&self, resource: &str) -> String {
        format!("arn:{}:iam::{}:{resource}", self.partition, self.account_id)
    }
}

/// The last segment of an ARN after `marker` (`…:database/` → the database name).
fn arn_name<'a>(arn: &'a str, marker: &str) -> Option<&'a str> {
    let (_, name) = arn.split_once(marker)?;
    (!name.is_empty() && !name.contains(['/', '*'])).then_some(name)
}

// ---- documents ------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub operator: &'static str,
    pub key: &'static str,
    pub values: Vec<String>,
}

/// One `Allow` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: String,
    pub actions: Vec<&'static str>,
    pub resources: Vec<String>,
    pub condition: Option<Condition>,
}

impl Statement {
    fn new(sid: &str, actions: &[&'static str], resources: Vec<String>) -> Statement {
        let mut actions = actions.to_vec();
        actions.sort_unstable();
        actions.dedup();
        Statement {
            sid: sid.to_string(),
            actions,
            resources: dedup_keep_order(resources),
            condition: None,
        }
    }

    fn with_actions(sid: &str, groups: &[&[&'static str]], resources: Vec<String>) -> Statement {
        let actions: Vec<&'static str> = groups.iter().flat_map(|g| g.iter().copied()).collect();
        Statement::new(sid, &actions, resources)
    }

    fn to_json(&self) -> Json {
        let mut fields = vec![
            ("Sid", Json::from(self.sid.as_str())),
            ("Effect", Json::from("Allow")),
            ("Action", Json::strings(self.actions.iter().copied())),
            (
                "Resource",
                Json::strings(self.resources.iter().map(String::as_str)),
            ),
        ];
        if let Some(c) = &self.condition {
            fields.push((
                "Condition",
                Json::Object(vec![(
                    c.operator,
                    Json::Object(vec![(
                        c.key,
                        Json::strings(c.values.iter().map(String::as_str)),
                    )]),
                )]),
            ));
        }
        Json::Object(fields)
    }
}

/// An identity policy: a list of `Allow` statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

impl Policy {
    /// Pretty JSON, statements in a fixed order, so the plan shows a readable, stable document.
    pub fn to_json(&self) -> String {
        document(self.statements.iter().map(Statement::to_json).collect()).pretty()
    }

    /// The size IAM counts against [`ROLE_INLINE_POLICY_LIMIT`] (whitespace is not counted).
    pub fn size(&self) -> usize {
        document(self.statements.iter().map(Statement::to_json).collect())
            .compact()
            .len()
    }

    #[cfg(test)]
    pub fn statement(&self, sid: &str) -> Option<&Statement> {
        self.statements.iter().find(|s| s.sid == sid)
    }
}

/// Who may assume a role (`sts:AssumeRole`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trust {
    pub principal_arns: Vec<String>,
    pub services: Vec<String>,
}

impl Trust {
    pub fn to_json(&self) -> String {
        let mut principal = Vec::new();
        if !self.principal_arns.is_empty() {
            principal.push((
                "AWS",
                Json::strings(self.principal_arns.iter().map(String::as_str)),
            ));
        }
        if !self.services.is_empty() {
            principal.push((
                "Service",
                Json::strings(self.services.iter().map(String::as_str)),
            ));
        }
        document(vec![Json::Object(vec![
            ("Sid", Json::from("AssumeRole")),
            ("Effect", Json::from("Allow")),
            ("Principal", Json::Object(principal)),
            ("Action", Json::strings(["sts:AssumeRole"])),
        ])])
        .pretty()
    }

    /// The principals of a trust policy, in document order.
    pub fn from_json(json: &str) -> Option<Trust> {
        let doc: serde_json::Value = serde_json::from_str(json).ok()?;
        let mut trust = Trust::default();
        for statement in statements_of(&doc) {
            let principal = &statement["Principal"];
            trust
                .principal_arns
                .extend(string_or_list(&principal["AWS"]));
            trust.services.extend(string_or_list(&principal["Service"]));
        }
        Some(trust)
    }
}

fn document(statements: Vec<Json>) -> Json {
    Json::Object(vec![
        ("Version", Json::from(POLICY_LANGUAGE_VERSION)),
        ("Statement", Json::Array(statements)),
    ])
}

fn dedup_keep_order(items: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(item.clone()))
        .collect()
}

// ---- the three principals -------------------------------------------------------------------

/// dbt (or any SQL client) running models: queries in one workgroup, tables of its databases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbtRunner {
    pub workgroup: String,
    pub results_location: S3Url,
    pub warehouse_location: S3Url,
    pub source_locations: Vec<S3Url>,
    pub databases: Vec<String>,
    pub source_databases: Vec<String>,
    pub kms_key_arns: Vec<String>,
}

/// Airbyte on EC2 writing raw data (and, if asked, registering it in one Glue database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AirbyteEc2 {
    pub raw_location: S3Url,
    pub raw_database: Option<String>,
    pub kms_key_arns: Vec<String>,
}

/// The identity `terraform apply` runs as: the state backend, the warehouse's resources, and
/// the models' data (models are built during apply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerraformOperator {
    pub state_bucket: String,
    pub state_key: String,
    pub lock_table: Option<String>,
    pub lake_buckets: Vec<String>,
    pub workgroups: Vec<String>,
    pub databases: Vec<String>,
    pub results_location: Option<S3Url>,
    pub warehouse_location: Option<S3Url>,
    pub source_locations: Vec<S3Url>,
    pub source_databases: Vec<String>,
    pub iam_role_name_prefix: Option<String>,
    pub kms_key_arns: Vec<String>,
}

impl DbtRunner {
    pub fn policy(&self, scope: &Scope) -> Policy {
        let mut statements = vec![
            Statement::new(
                SID_ATHENA_WORKGROUP,
                ATHENA_QUERY,
                vec![scope.athena_workgroup(&self.workgroup)],
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
                &self.databases,
            ),
        ];
        if !self.source_databases.is_empty() {
            statements.push(glue_tables(
                scope,
                SID_GLUE_READ_SOURCES,
                &[GLUE_READ],
                &self.source_databases,
            ));
        }
        statements.extend(data_statements(
            scope,
            Some(&self.results_location),
            Some(&self.warehouse_location),
            &self.source_locations,
            &[],
        ));
        statements.extend(kms(&self.kms_key_arns));
        Policy { statements }
    }

    pub fn recover(policy: &ParsedPolicy) -> Option<DbtRunner> {
        Some(DbtRunner {
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
}

impl AirbyteEc2 {
    pub fn policy(&self, scope: &Scope) -> Policy {
        let raw = &self.raw_location;
        let mut statements = vec![
            Statement::new(
                SID_RAW,
                S3_READ_WRITE_OBJECTS,
                vec![raw.objects_arn(&scope.partition)],
            ),
            // Airbyte's S3 destination checks the bucket's region and cleans up stale uploads.
            Statement::new(
                SID_RAW_BUCKET,
                &["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
                vec![raw.bucket_arn(&scope.partition)],
            ),
        ];
        statements.extend(list_buckets(scope, &[raw], &[]));
        if let Some(database) = &self.raw_database {
            statements.push(glue_tables(
                scope,
                SID_GLUE_RAW_DATABASE,
                &[GLUE_READ, GLUE_WRITE_TABLES],
                std::slice::from_ref(database),
            ));
        }
        statements.extend(kms(&self.kms_key_arns));
        Policy { statements }
    }

    pub fn recover(policy: &ParsedPolicy) -> Option<AirbyteEc2> {
        Some(AirbyteEc2 {
            raw_location: policy.locations(SID_RAW).into_iter().next()?,
            raw_database: policy
                .names(SID_GLUE_RAW_DATABASE, ":database/")
                .into_iter()
                .next(),
            kms_key_arns: policy.resources(SID_KMS),
        })
    }
}

impl TerraformOperator {
    pub fn policy(&self, scope: &Scope) -> Policy {
        let state_key = |suffix: &str| {
            scope.s3_object(&self.state_bucket, &format!("{}{suffix}", self.state_key))
        };
        // As the `s3` backend documents: list the bucket, read and write the state, and create
        // and delete the `.tflock` lock file (use_lockfile).
        let mut statements = vec![
            Statement::new(
                SID_STATE_LIST,
                &["s3:ListBucket"],
                vec![scope.s3_bucket(&self.state_bucket)],
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
        if let Some(table) = &self.lock_table {
            statements.push(Statement::new(
                SID_LOCK_TABLE,
                TERRAFORM_LOCK_TABLE,
                vec![scope.dynamodb_table(table)],
            ));
        }
        if !self.lake_buckets.is_empty() {
            statements.push(Statement::new(
                SID_MANAGE_BUCKETS,
                S3_BUCKET_MANAGEMENT,
                self.lake_buckets
                    .iter()
                    .map(|b| scope.s3_bucket(b))
                    .collect(),
            ));
            // force_destroy empties a bucket, versions included, before deleting it.
            statements.push(Statement::new(
                SID_EMPTY_BUCKETS,
                &["s3:DeleteObject", "s3:DeleteObjectVersion"],
                self.lake_buckets
                    .iter()
                    .map(|b| scope.s3_object(b, "*"))
                    .collect(),
            ));
        }
        if !self.workgroups.is_empty() {
            statements.push(Statement::with_actions(
                SID_MANAGE_WORKGROUPS,
                &[ATHENA_WORKGROUP_MANAGEMENT, ATHENA_QUERY],
                self.workgroups
                    .iter()
                    .map(|w| scope.athena_workgroup(w))
                    .collect(),
            ));
            statements.push(default_database(scope));
        }
        if !self.databases.is_empty() {
            let mut resources = vec![scope.glue_catalog()];
            resources.extend(self.databases.iter().map(|d| scope.glue_database(d)));
            resources.extend(self.databases.iter().map(|d| scope.glue_tables(d)));
            // DeleteDatabase also deletes the database's functions.
            resources.extend(self.databases.iter().map(|d| scope.glue_functions(d)));
            statements.push(Statement::with_actions(
                SID_MANAGE_DATABASES,
                &[GLUE_DATABASE_MANAGEMENT, GLUE_READ, GLUE_WRITE_TABLES],
                resources,
            ));
        }
        if !self.source_databases.is_empty() {
            statements.push(glue_tables(
                scope,
                SID_GLUE_READ_SOURCES,
                &[GLUE_READ],
                &self.source_databases,
            ));
        }
        statements.extend(data_statements(
            scope,
            self.results_location.as_ref(),
            self.warehouse_location.as_ref(),
            &self.source_locations,
            &self.lake_buckets,
        ));
        if let Some(prefix) = &self.iam_role_name_prefix {
            statements.push(Statement::new(
                SID_MANAGE_ROLES,
                IAM_ROLE_MANAGEMENT,
                vec![
                    scope.iam(&format!("role/{prefix}*")),
                    scope.iam(&format!("instance-profile/{prefix}*")),
                ],
            ));
        }
        statements.extend(kms(&self.kms_key_arns));
        Policy { statements }
    }

    pub fn recover(policy: &ParsedPolicy) -> Option<TerraformOperator> {
        let state = policy.resources(SID_STATE).into_iter().next()?;
        let (_, object) = state.split_once(":s3:::")?;
        let (state_bucket, state_key) = object.split_once('/')?;
        Some(TerraformOperator {
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

/// Athena resolves the `default` database of the catalog for every query, whichever
/// databases the query names.
fn default_database(scope: &Scope) -> Statement {
    Statement::new(
        SID_GLUE_DEFAULT_DATABASE,
        &["glue:GetDatabase"],
        vec![scope.glue_catalog(), scope.glue_database("default")],
    )
}

/// Glue actions on databases and their tables: the catalog, each database, each one's tables.
fn glue_tables(
    scope: &Scope,
    sid: &str,
    actions: &[&[&'static str]],
    databases: &[String],
) -> Statement {
    let mut resources = vec![scope.glue_catalog()];
    resources.extend(databases.iter().map(|d| scope.glue_database(d)));
    resources.extend(databases.iter().map(|d| scope.glue_tables(d)));
    Statement::with_actions(sid, actions, resources)
}

/// Objects of the result and warehouse prefixes (read/write) and of the sources (read), plus
/// what Athena needs of their buckets. Buckets in `managed_buckets` are listable already.
fn data_statements(
    scope: &Scope,
    results: Option<&S3Url>,
    warehouse: Option<&S3Url>,
    sources: &[S3Url],
    managed_buckets: &[String],
) -> Vec<Statement> {
    let partition = scope.partition.as_str();
    let mut statements = Vec::new();
    if let Some(results) = results {
        statements.push(Statement::new(
            SID_QUERY_RESULTS,
            S3_READ_WRITE_OBJECTS,
            vec![results.objects_arn(partition)],
        ));
    }
    if let Some(warehouse) = warehouse {
        statements.push(Statement::new(
            SID_WAREHOUSE,
            S3_READ_WRITE_OBJECTS,
            vec![warehouse.objects_arn(partition)],
        ));
    }
    if !sources.is_empty() {
        statements.push(Statement::new(
            SID_SOURCES,
            &["s3:GetObject"],
            sources.iter().map(|s| s.objects_arn(partition)).collect(),
        ));
    }
    let locations: Vec<&S3Url> = results
        .into_iter()
        .chain(warehouse)
        .chain(sources)
        .collect();
    if locations.is_empty() {
        return statements;
    }
    // Athena asks for the region of every bucket it reads or writes.
    statements.push(Statement::new(
        SID_BUCKET_LOCATION,
        &["s3:GetBucketLocation"],
        locations.iter().map(|l| l.bucket_arn(partition)).collect(),
    ));
    statements.extend(list_buckets(scope, &locations, managed_buckets));
    statements
}

/// One `s3:ListBucket` statement per bucket, limited to the prefixes of its locations (unless
/// one of them is the whole bucket), so no other key names are visible.
fn list_buckets(scope: &Scope, locations: &[&S3Url], skip: &[String]) -> Vec<Statement> {
    let mut prefixes: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for location in locations {
        prefixes
            .entry(&location.bucket)
            .or_default()
            .push(&location.prefix);
    }
    let mut used_sids = std::collections::BTreeSet::new();
    prefixes
        .into_iter()
        .filter(|(bucket, _)| !skip.iter().any(|s| s == bucket))
        .map(|(bucket, prefixes)| {
            let mut sid = format!("List{}", camel_case(bucket));
            let base = sid.clone();
            let mut n = 2;
            while !used_sids.insert(sid.clone()) {
                sid = format!("{base}{n}");
                n += 1;
            }
            let mut statement =
                Statement::new(&sid, &["s3:ListBucket"], vec![scope.s3_bucket(bucket)]);
            if !prefixes.contains(&"") {
                let mut values: Vec<String> = prefixes
                    .iter()
                    .flat_map(|p| [p.trim_end_matches('/').to_string(), format!("{p}*")])
                    .collect();
                values = dedup_keep_order(values);
                statement.condition = Some(Condition {
                    operator: "StringLike",
                    key: "s3:prefix",
                    values,
                });
            }
            statement
        })
        .collect()
}

fn kms(keys: &[String]) -> Option<Statement> {
    (!keys.is_empty()).then(|| Statement::new(SID_KMS, KMS_ENCRYPT_DECRYPT, keys.to_vec()))
}

/// `mdw-work-zone` → `MdwWorkZone` (statement ids are alphanumeric).
fn camel_case(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

// ---- reading documents back -----------------------------------------------------------------

/// A policy document as IAM returned it: resources per statement id, in document order.
pub struct ParsedPolicy {
    statements: Vec<(String, Vec<String>)>,
}

impl ParsedPolicy {
    pub fn parse(json: &str) -> Option<ParsedPolicy> {
        let doc: serde_json::Value = serde_json::from_str(json).ok()?;
        let statements = statements_of(&doc)
            .map(|s| {
                (
                    s["Sid"].as_str().unwrap_or_default().to_string(),
                    string_or_list(&s["Resource"]),
                )
            })
            .collect();
        Some(ParsedPolicy { statements })
    }

    fn resources(&self, sid: &str) -> Vec<String> {
        self.statements
            .iter()
            .filter(|(s, _)| s == sid)
            .flat_map(|(_, resources)| resources.iter().cloned())
            .collect()
    }

    fn names(&self, sid: &str, marker: &str) -> Vec<String> {
        self.resources(sid)
            .iter()
            .filter_map(|arn| arn_name(arn, marker).map(str::to_string))
            .collect()
    }

    fn locations(&self, sid: &str) -> Vec<S3Url> {
        self.resources(sid)
            .iter()
            .filter_map(|arn| S3Url::from_objects_arn(arn))
            .collect()
    }
}

/// Reads the inputs of `T` back from a policy this module wrote; `None` when it is not one.
pub fn recover_inputs<T>(json: &str, recover: impl Fn(&ParsedPolicy) -> Option<T>) -> Option<T> {
    ParsedPolicy::parse(json).and_then(|p| recover(&p))
}

fn statements_of(doc: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    match &doc["Statement"] {
        serde_json::Value::Array(items) => items.iter().collect::<Vec<_>>(),
        serde_json::Value::Object(_) => vec![&doc["Statement"]],
        _ => Vec::new(),
    }
    .into_iter()
}

fn string_or_list(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// True when two policy documents grant the same: IAM may return a document reformatted, with
/// one-element lists as strings, lists reordered, or an account id as its root ARN.
pub fn equivalent(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => normalize_document(&a) == normalize_document(&b),
        _ => a == b,
    }
}

fn normalize_document(doc: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    let mut statements: Vec<J> = statements_of(doc).map(normalize_statement).collect();
    statements.sort_by_key(|s| s.to_string());
    serde_json::json!({ "Version": doc["Version"], "Statement": statements })
}

fn normalize_statement(statement: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    let Some(fields) = statement.as_object() else {
        return statement.clone();
    };
    let mut out = serde_json::Map::new();
    for (key, value) in fields {
        let normalized = match key.as_str() {
            "Action" | "NotAction" | "Resource" | "NotResource" => sorted_strings(value, |s| s),
            "Principal" | "NotPrincipal" => match value {
                J::Object(kinds) => J::Object(
                    kinds
                        .iter()
                        .map(|(kind, v)| (kind.clone(), sorted_strings(v, account_of_root_arn)))
                        .collect(),
                ),
                other => other.clone(),
            },
            "Condition" => match value {
                J::Object(operators) => J::Object(
                    operators
                        .iter()
                        .map(|(op, keys)| {
                            let keys = keys
                                .as_object()
                                .map(|k| {
                                    k.iter()
                                        .map(|(k, v)| (k.clone(), sorted_strings(v, |s| s)))
                                        .collect()
                                })
                                .unwrap_or_default();
                            (op.clone(), J::Object(keys))
                        })
                        .collect(),
                ),
                other => other.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), normalized);
    }
    J::Object(out)
}

fn sorted_strings(value: &serde_json::Value, map: impl Fn(String) -> String) -> serde_json::Value {
    let items: Vec<String> = match value {
        serde_json::Value::Array(items) => items.iter().map(json_scalar).collect(),
        other => vec![json_scalar(other)],
    };
    let mut items: Vec<String> = items.into_iter().map(map).collect();
    items.sort();
    items.dedup();
    serde_json::Value::from(items)
}

fn json_scalar(value: &serde_json::Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string)
}

/// `arn:aws:iam::123456789012:root` → `123456789012`: IAM stores an account either way.
fn account_of_root_arn(principal: String) -> String {
    let account = principal
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once(":iam::"))
        .and_then(|(_, rest)| rest.strip_suffix(":root"));
    match account {
        Some(id) if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) => id.to_string(),
        _ => principal,
    }
}

// ---- a small JSON writer: fixed key order, two-space indent ---------------------------------

enum Json {
    String(String),
    Array(Vec<Json>),
    Object(Vec<(&'static str, Json)>),
}

impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::String(s.to_string())
    }
}

impl Json {
    fn strings<'a>(items: impl IntoIterator<Item = &'a str>) -> Json {
        Json::Array(items.into_iter().map(Json::from).collect())
    }

    fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, Some(0));
        out
    }

    fn compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, None);
        out
    }

    fn write(&self, out: &mut String, indent: Option<usize>) {
        let newline = |out: &mut String, level: usize| {
            if indent.is_some() {
                out.push('\n');
                out.push_str(&"  ".repeat(level));
            }
        };
        let level = indent.unwrap_or(0);
        let inner = indent.map(|i| i + 1);
        match self {
            Json::String(s) => out.push_str(&serde_json::Value::from(s.as_str()).to_string()),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, level + 1);
                    item.write(out, inner);
                }
                if !items.is_empty() {
                    newline(out, level);
                }
                out.push(']');
            }
            Json::Object(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, level + 1);
                    out.push_str(&serde_json::Value::from(*key).to_string());
                    out.push(':');
                    if indent.is_some() {
                        out.push(' ');
                    }
                    value.write(out, inner);
                }
                if !fields.is_empty() {
                    newline(out, level);
                }
                out.push('}');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope {
            partition: "aws".into(),
            region: "us-west-2".into(),
            account_id: "123456789012".into(),
        }
    }

    fn url(s: &str) -> S3Url {
        S3Url::parse(s).unwrap()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// (sid, actions, resources, s3:prefix condition values)
    type Expected<'a> = (&'a str, &'a [&'a str], &'a [&'a str], Option<&'a [&'a str]>);

    fn assert_statements(policy: &Policy, expected: &[Expected]) {
        let actual: Vec<(String, Vec<&str>, Vec<String>, Option<Vec<String>>)> = policy
            .statements
            .iter()
            .map(|s| {
                (
                    s.sid.clone(),
                    s.actions.clone(),
                    s.resources.clone(),
                    s.condition.as_ref().map(|c| {
                        assert_eq!((c.operator, c.key), ("StringLike", "s3:prefix"));
                        c.values.clone()
                    }),
                )
            })
            .collect();
        let expected: Vec<(String, Vec<&str>, Vec<String>, Option<Vec<String>>)> = expected
            .iter()
            .map(|(sid, actions, resources, prefixes)| {
                (
                    sid.to_string(),
                    actions.to_vec(),
                    strings(resources),
                    prefixes.map(strings),
                )
            })
            .collect();
        for (a, e) in actual.iter().zip(&expected) {
            assert_eq!(a, e, "statement {}", e.0);
        }
        assert_eq!(actual.len(), expected.len(), "{actual:#?}");
    }

    fn runner() -> DbtRunner {
        DbtRunner {
            workgroup: "mdw".into(),
            results_location: url("s3://mdw-work-zone/results/"),
            warehouse_location: url("s3://mdw-warehouse/"),
            source_locations: vec![url("s3://mdw-work-zone/raw/airbyte/")],
            databases: strings(&["mdw", "iceberg"]),
            source_databases: strings(&["raw"]),
            kms_key_arns: strings(&["arn:aws:kms:us-west-2:123456789012:key/k1"]),
        }
    }

    const GLUE_READ_WRITE: &[&str] = &[
        "glue:BatchCreatePartition",
        "glue:BatchDeletePartition",
        "glue:BatchDeleteTable",
        "glue:BatchDeleteTableVersion",
        "glue:BatchGetPartition",
        "glue:BatchUpdatePartition",
        "glue:CreatePartition",
        "glue:CreateTable",
        "glue:DeletePartition",
        "glue:DeleteTable",
        "glue:DeleteTableVersion",
        "glue:GetDatabase",
        "glue:GetPartition",
        "glue:GetPartitions",
        "glue:GetTable",
        "glue:GetTableVersion",
        "glue:GetTableVersions",
        "glue:GetTables",
        "glue:UpdatePartition",
        "glue:UpdateTable",
    ];

    #[test]
    fn dbt_runner_gets_one_workgroup_its_databases_and_exactly_its_prefixes() {
        assert_statements(
            &runner().policy(&scope()),
            &[
                (
                    "AthenaWorkgroup",
                    ATHENA_QUERY,
                    &["arn:aws:athena:us-west-2:123456789012:workgroup/mdw"],
                    None,
                ),
                (
                    "AthenaDataCatalog",
                    &["athena:GetDataCatalog"],
                    &["arn:aws:athena:us-west-2:123456789012:datacatalog/AwsDataCatalog"],
                    None,
                ),
                (
                    "GlueListDatabases",
                    &["glue:GetDatabases"],
                    &[
                        "arn:aws:glue:us-west-2:123456789012:catalog",
                        "arn:aws:glue:us-west-2:123456789012:database/*",
                    ],
                    None,
                ),
                (
                    "GlueDefaultDatabase",
                    &["glue:GetDatabase"],
                    &[
                        "arn:aws:glue:us-west-2:123456789012:catalog",
                        "arn:aws:glue:us-west-2:123456789012:database/default",
                    ],
                    None,
                ),
                (
                    "GlueReadWrite",
                    GLUE_READ_WRITE,
                    &[
                        "arn:aws:glue:us-west-2:123456789012:catalog",
                        "arn:aws:glue:us-west-2:123456789012:database/mdw",
                        "arn:aws:glue:us-west-2:123456789012:database/iceberg",
                        "arn:aws:glue:us-west-2:123456789012:table/mdw/*",
                        "arn:aws:glue:us-west-2:123456789012:table/iceberg/*",
                    ],
                    None,
                ),
                (
                    "GlueReadSources",
                    GLUE_READ,
                    &[
                        "arn:aws:glue:us-west-2:123456789012:catalog",
                        "arn:aws:glue:us-west-2:123456789012:database/raw",
                        "arn:aws:glue:us-west-2:123456789012:table/raw/*",
                    ],
                    None,
                ),
                (
                    "QueryResultsReadWrite",
                    S3_READ_WRITE_OBJECTS,
                    &["arn:aws:s3:::mdw-work-zone/results/*"],
                    None,
                ),
                (
                    "WarehouseReadWrite",
                    S3_READ_WRITE_OBJECTS,
                    &["arn:aws:s3:::mdw-warehouse/*"],
                    None,
                ),
                (
                    "SourcesRead",
                    &["s3:GetObject"],
                    &["arn:aws:s3:::mdw-work-zone/raw/airbyte/*"],
                    None,
                ),
                (
                    "BucketLocation",
                    &["s3:GetBucketLocation"],
                    &["arn:aws:s3:::mdw-work-zone", "arn:aws:s3:::mdw-warehouse"],
                    None,
                ),
                // The warehouse is a whole bucket: no prefix condition there.
                (
                    "ListMdwWarehouse",
                    &["s3:ListBucket"],
                    &["arn:aws:s3:::mdw-warehouse"],
                    None,
                ),
                (
                    "ListMdwWorkZone",
                    &["s3:ListBucket"],
                    &["arn:aws:s3:::mdw-work-zone"],
                    Some(&["results", "results/*", "raw/airbyte", "raw/airbyte/*"]),
                ),
                (
                    "KmsEncryptDecrypt",
                    KMS_ENCRYPT_DECRYPT,
                    &["arn:aws:kms:us-west-2:123456789012:key/k1"],
                    None,
                ),
            ],
        );
    }

    #[test]
    fn optional_inputs_leave_their_statements_out() {
        let minimal = DbtRunner {
            source_locations: vec![],
            source_databases: vec![],
            kms_key_arns: vec![],
            ..runner()
        };
        let sids: Vec<String> = minimal
            .policy(&scope())
            .statements
            .into_iter()
            .map(|s| s.sid)
            .collect();
        assert_eq!(
            sids,
            strings(&[
                "AthenaWorkgroup",
                "AthenaDataCatalog",
                "GlueListDatabases",
                "GlueDefaultDatabase",
                "GlueReadWrite",
                "QueryResultsReadWrite",
                "WarehouseReadWrite",
                "BucketLocation",
                "ListMdwWarehouse",
                "ListMdwWorkZone",
            ])
        );
    }

    #[test]
    fn airbyte_writes_the_raw_prefix_and_updates_its_database_if_asked() {
        let airbyte = AirbyteEc2 {
            raw_location: url("s3://mdw-raw/airbyte/"),
            raw_database: Some("raw".into()),
            kms_key_arns: vec![],
        };
        assert_statements(
            &airbyte.policy(&scope()),
            &[
                (
                    "RawReadWrite",
                    S3_READ_WRITE_OBJECTS,
                    &["arn:aws:s3:::mdw-raw/airbyte/*"],
                    None,
                ),
                (
                    "RawBucket",
                    &["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
                    &["arn:aws:s3:::mdw-raw"],
                    None,
                ),
                (
                    "ListMdwRaw",
                    &["s3:ListBucket"],
                    &["arn:aws:s3:::mdw-raw"],
                    Some(&["airbyte", "airbyte/*"]),
                ),
                (
                    "GlueRawDatabase",
                    GLUE_READ_WRITE,
                    &[
                        "arn:aws:glue:us-west-2:123456789012:catalog",
                        "arn:aws:glue:us-west-2:123456789012:database/raw",
                        "arn:aws:glue:us-west-2:123456789012:table/raw/*",
                    ],
                    None,
                ),
            ],
        );
        let without_glue = AirbyteEc2 {
            raw_database: None,
            ..airbyte
        };
        assert!(
            without_glue
                .policy(&scope())
                .statement("GlueRawDatabase")
                .is_none()
        );
    }

    fn operator() -> TerraformOperator {
        TerraformOperator {
            state_bucket: "mdw-terraform-remote-state".into(),
            state_key: "mdw/terraform.tfstate".into(),
            lock_table: Some("mdw-terraform-locks".into()),
            lake_buckets: strings(&["mdw-work-zone", "mdw-warehouse"]),
            workgroups: strings(&["mdw"]),
            databases: strings(&["mdw"]),
            results_location: Some(url("s3://mdw-work-zone/results/")),
            warehouse_location: Some(url("s3://mdw-warehouse/")),
            source_locations: vec![url("s3://mdw-raw/airbyte/")],
            source_databases: strings(&["raw"]),
            iam_role_name_prefix: Some("mdw-".into()),
            kms_key_arns: vec![],
        }
    }

    #[test]
    fn terraform_operator_gets_the_backend_and_manages_the_warehouse() {
        let mut manage_workgroups: Vec<&str> = ATHENA_WORKGROUP_MANAGEMENT
            .iter()
            .chain(ATHENA_QUERY)
            .copied()
            .collect();
        manage_workgroups.sort_unstable();
        manage_workgroups.dedup();
        let mut manage_databases: Vec<&str> = GLUE_DATABASE_MANAGEMENT
            .iter()
            .chain(GLUE_READ)
            .chain(GLUE_WRITE_TABLES)
            .copied()
            .collect();
        manage_databases.sort_unstable();
        manage_databases.dedup();
        assert_statements(
            &operator().policy(&scope()),
            &[
                (
                    "TerraformStateList",
                    &["s3:ListBucket"],
                    &["arn:aws:s3:::mdw-terraform-remote-state"],
                    None,
                ),
                (
                    "TerraformState",
                    &["s3:GetObject", "s3:PutObject"],
                    &[
                        "arn:aws:s3:::mdw-terraform-remote-state/mdw/terraform.tfstate",
                        "arn:aws:s3:::mdw-terraform-remote-state/mdw/terraform.tfstate.tflock",
                    ],
                    None,
                ),
                (
                    "TerraformStateLockfile",
                    &["s3:DeleteObject"],
                    &["arn:aws:s3:::mdw-terraform-remote-state/mdw/terraform.tfstate.tflock"],
                    None,
                ),
                (
                    "TerraformLockTable",
                    TERRAFORM_LOCK_TABLE,
                    &["arn:aws:dynamodb:us-west-2:123456789012:table/mdw-terraform-locks"],
                    None,
                ),
                (
                    "ManageLakeBuckets",
                    S3_BUCKET_MANAGEMENT,
                    &["arn:aws:s3:::mdw-work-zone", "arn:aws:s3:::mdw-warehouse"],
                    None,
                ),
                (
                    "EmptyLakeBuckets",
                    &["s3:DeleteObject", "s3:DeleteObjectVersion"],
                    &[
                        "arn:aws:s3:::mdw-work-zone/*",
                        "arn:aws:s3:::mdw-warehouse/*",
                    ],
                    None,
                ),
                (
                    "ManageWorkgroups",
                    &manage_workgroups,
                    &["arn:aws:athena:us-west-2:123456789012:workgroup/mdw"],
                    None,
                ),
                (
                    "GlueDefaultDatabase",
                    &["glue:GetDatabase"],
                    &[
                        "arn:aws:glue:us-west-2:123456789012:catalog",
                        "arn:aws:glue:us-west-2:123456789012:database/default",
                    ],
                    None,
                ),
                (
                    "ManageDatabases",
                    &manage_databases,
                    &[
                        "arn:aws:glue:us-west-2:123456789012:catalog",
                        "arn:aws:glue:us-west-2:123456789012:database/mdw",
                        "arn:aws:glue:us-west-2:123456789012:table/mdw/*",
                        "arn:aws:glue:us-west-2:123456789012:userDefinedFunction/mdw/*",
                    ],
                    None,
                ),
                (
                    "GlueReadSources",
                    GLUE_READ,
                    &[
                        "arn:aws:glue:us-west-2:123456789012:catalog",
                        "arn:aws:glue:us-west-2:123456789012:database/raw",
                        "arn:aws:glue:us-west-2:123456789012:table/raw/*",
                    ],
                    None,
                ),
                (
                    "QueryResultsReadWrite",
                    S3_READ_WRITE_OBJECTS,
                    &["arn:aws:s3:::mdw-work-zone/results/*"],
                    None,
                ),
                (
                    "WarehouseReadWrite",
                    S3_READ_WRITE_OBJECTS,
                    &["arn:aws:s3:::mdw-warehouse/*"],
                    None,
                ),
                (
                    "SourcesRead",
                    &["s3:GetObject"],
                    &["arn:aws:s3:::mdw-raw/airbyte/*"],
                    None,
                ),
                (
                    "BucketLocation",
                    &["s3:GetBucketLocation"],
                    &[
                        "arn:aws:s3:::mdw-work-zone",
                        "arn:aws:s3:::mdw-warehouse",
                        "arn:aws:s3:::mdw-raw",
                    ],
                    None,
                ),
                // The lake buckets are listable through ManageLakeBuckets already.
                (
                    "ListMdwRaw",
                    &["s3:ListBucket"],
                    &["arn:aws:s3:::mdw-raw"],
                    Some(&["airbyte", "airbyte/*"]),
                ),
                (
                    "ManageRoles",
                    IAM_ROLE_MANAGEMENT,
                    &[
                        "arn:aws:iam::123456789012:role/mdw-*",
                        "arn:aws:iam::123456789012:instance-profile/mdw-*",
                    ],
                    None,
                ),
            ],
        );
    }

    #[test]
    fn a_bare_operator_only_touches_the_state_backend() {
        let bare = TerraformOperator {
            state_bucket: "state-bucket".into(),
            state_key: "terraform.tfstate".into(),
            lock_table: None,
            lake_buckets: vec![],
            workgroups: vec![],
            databases: vec![],
            results_location: None,
            warehouse_location: None,
            source_locations: vec![],
            source_databases: vec![],
            iam_role_name_prefix: None,
            kms_key_arns: vec![],
        };
        let sids: Vec<String> = bare
            .policy(&scope())
            .statements
            .into_iter()
            .map(|s| s.sid)
            .collect();
        assert_eq!(
            sids,
            strings(&[
                "TerraformStateList",
                "TerraformState",
                "TerraformStateLockfile"
            ])
        );
    }

    #[test]
    fn no_statement_grants_every_resource() {
        let policies = [
            runner().policy(&scope()),
            operator().policy(&scope()),
            AirbyteEc2 {
                raw_location: url("s3://mdw-raw/"),
                raw_database: Some("raw".into()),
                kms_key_arns: vec![],
            }
            .policy(&scope()),
        ];
        for policy in &policies {
            for statement in &policy.statements {
                for resource in &statement.resources {
                    assert!(
                        resource.starts_with("arn:aws:"),
                        "{}: {resource}",
                        statement.sid
                    );
                    let service_and_region = resource.splitn(6, ':').nth(5).unwrap_or_default();
                    assert!(
                        !service_and_region.is_empty() && service_and_region != "*",
                        "{resource}"
                    );
                }
                assert!(
                    statement.actions.iter().all(|a| !a.contains('*')),
                    "{}",
                    statement.sid
                );
            }
        }
    }

    #[test]
    fn arns_follow_the_partition() {
        let china = Scope {
            partition: "aws-cn".into(),
            region: "cn-north-1".into(),
            account_id: "123456789012".into(),
        };
        let policy = runner().policy(&china);
        assert_eq!(
            policy.statement("AthenaWorkgroup").unwrap().resources,
            strings(&["arn:aws-cn:athena:cn-north-1:123456789012:workgroup/mdw"])
        );
        assert_eq!(
            policy.statement("WarehouseReadWrite").unwrap().resources,
            strings(&["arn:aws-cn:s3:::mdw-warehouse/*"])
        );
    }

    #[test]
    fn inputs_read_back_from_the_policy() {
        let json = runner().policy(&scope()).to_json();
        assert_eq!(recover_inputs(&json, DbtRunner::recover), Some(runner()));
        let json = operator().policy(&scope()).to_json();
        assert_eq!(
            recover_inputs(&json, TerraformOperator::recover),
            Some(operator())
        );
        let airbyte = AirbyteEc2 {
            raw_location: url("s3://mdw-raw/airbyte/"),
            raw_database: None,
            kms_key_arns: strings(&["arn:aws:kms:us-west-2:123456789012:key/k"]),
        };
        let json = airbyte.policy(&scope()).to_json();
        assert_eq!(recover_inputs(&json, AirbyteEc2::recover), Some(airbyte));
        // Someone else's policy is not ours to read.
        let foreign = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        assert_eq!(recover_inputs(foreign, DbtRunner::recover), None);
        assert_eq!(recover_inputs("not json", DbtRunner::recover), None);
    }

    #[test]
    fn json_is_valid_pretty_and_starts_with_the_version() {
        let json = runner().policy(&scope()).to_json();
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["Version"], "2012-10-17");
        assert_eq!(parsed["Statement"][0]["Sid"], "AthenaWorkgroup");
        assert_eq!(parsed["Statement"][0]["Effect"], "Allow");
        assert!(
            json.starts_with(
                "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Sid\""
            ),
            "{json}"
        );
        let condition = &parsed["Statement"][11]["Condition"]["StringLike"]["s3:prefix"];
        assert_eq!(condition[0], "results");
        let policy = runner().policy(&scope());
        assert_eq!(
            policy.size(),
            json.split_whitespace().collect::<String>().len()
        );
    }

    #[test]
    fn trust_policy_names_the_principals() {
        let trust = Trust {
            principal_arns: strings(&["arn:aws:iam::123456789012:role/ci"]),
            services: strings(&["codebuild.amazonaws.com"]),
        };
        let json = trust.to_json();
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        let statement = &parsed["Statement"][0];
        assert_eq!(statement["Action"], serde_json::json!(["sts:AssumeRole"]));
        assert_eq!(
            statement["Principal"]["AWS"],
            serde_json::json!(["arn:aws:iam::123456789012:role/ci"])
        );
        assert_eq!(
            statement["Principal"]["Service"],
            serde_json::json!(["codebuild.amazonaws.com"])
        );
        assert_eq!(Trust::from_json(&json), Some(trust));
        let ec2 = Trust {
            principal_arns: vec![],
            services: strings(&["ec2.amazonaws.com"]),
        };
        let parsed: serde_json::Value = serde_json::from_str(&ec2.to_json()).unwrap();
        assert!(parsed["Statement"][0]["Principal"].get("AWS").is_none());
    }

    #[test]
    fn equivalence_ignores_formatting_but_not_grants() {
        let ours = Trust {
            principal_arns: strings(&[
                "arn:aws:iam::123456789012:root",
                "arn:aws:iam::123456789012:role/b",
            ]),
            services: vec![],
        }
        .to_json();
        // How IAM may hand it back: compact, strings for one-element lists, reordered, an account
        // as its id.
        let theirs = r#"{"Statement":[{"Action":"sts:AssumeRole","Principal":{"AWS":["arn:aws:iam::123456789012:role/b","123456789012"]},"Effect":"Allow","Sid":"AssumeRole"}],"Version":"2012-10-17"}"#;
        assert!(equivalent(&ours, theirs));
        let widened = theirs.replace("role/b", "role/c");
        assert!(!equivalent(&ours, &widened));
        let policy = runner().policy(&scope()).to_json();
        let mut reordered: serde_json::Value = serde_json::from_str(&policy).unwrap();
        reordered["Statement"].as_array_mut().unwrap().reverse();
        assert!(equivalent(&policy, &reordered.to_string()));
        let mut edited = reordered.clone();
        edited["Statement"][0]["Resource"] = serde_json::json!("*");
        assert!(!equivalent(&policy, &edited.to_string()));
    }

    #[test]
    fn too_many_databases_exceed_the_inline_policy_limit() {
        let huge = DbtRunner {
            databases: (0..300).map(|i| format!("database_number_{i}")).collect(),
            ..runner()
        };
        assert!(huge.policy(&scope()).size() > ROLE_INLINE_POLICY_LIMIT);
        assert!(runner().policy(&scope()).size() < ROLE_INLINE_POLICY_LIMIT);
    }

    #[test]
    fn statement_ids_stay_unique_and_alphanumeric() {
        let a = url("s3://mdw-work/a/");
        let b = url("s3://mdw.work/b/");
        let sids: Vec<String> = list_buckets(&scope(), &[&a, &b], &[])
            .into_iter()
            .map(|s| s.sid)
            .collect();
        assert_eq!(sids, strings(&["ListMdwWork", "ListMdwWork2"]));
        assert_eq!(camel_case("mdw-work-zone"), "MdwWorkZone");
    }
}
