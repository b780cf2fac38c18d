//! The actions each grant is made of, and the statement ids the grants are written under: each
//! input of a principal has a statement of its own, so it can be read back from the policy.

/// Running queries in a workgroup and reading their results.
pub(crate) const ATHENA_QUERY: &[&str] = &[
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
pub(crate) const ATHENA_WORKGROUP_MANAGEMENT: &[&str] = &[
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
pub(crate) const GLUE_READ: &[&str] = &[
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
pub(crate) const GLUE_WRITE_TABLES: &[&str] = &[
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
pub(crate) const GLUE_DATABASE_MANAGEMENT: &[&str] = &[
    "glue:CreateDatabase",
    "glue:DeleteDatabase",
    "glue:GetDatabase",
    "glue:GetTags",
    "glue:TagResource",
    "glue:UntagResource",
    "glue:UpdateDatabase",
];

/// Objects under a prefix: read, write, overwrite, delete, multipart uploads.
pub(crate) const S3_READ_WRITE_OBJECTS: &[&str] = &[
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
];

/// What `mdw_lake_bucket` calls on its bucket (DeleteBucketTagging is s3:PutBucketTagging,
/// HeadBucket is s3:ListBucket, ListObjectVersions is s3:ListBucketVersions).
pub(crate) const S3_BUCKET_MANAGEMENT: &[&str] = &[
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
pub(crate) const IAM_ROLE_MANAGEMENT: &[&str] = &[
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
pub(crate) const KMS_ENCRYPT_DECRYPT: &[&str] = &[
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
];

/// Terraform's S3 backend (docs of the `s3` backend: state object and `.tflock` lock file).
pub(crate) const TERRAFORM_LOCK_TABLE: &[&str] = &[
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
];

// ---- statement ids: each input has its own, so it can be read back --------------------------

pub(crate) const SID_ATHENA_WORKGROUP: &str = "AthenaWorkgroup";
pub(crate) const SID_ATHENA_DATA_CATALOG: &str = "AthenaDataCatalog";
pub(crate) const SID_GLUE_LIST_DATABASES: &str = "GlueListDatabases";
pub(crate) const SID_GLUE_DEFAULT_DATABASE: &str = "GlueDefaultDatabase";
pub(crate) const SID_GLUE_READ_WRITE: &str = "GlueReadWrite";
pub(crate) const SID_GLUE_READ_SOURCES: &str = "GlueReadSources";
pub(crate) const SID_GLUE_RAW_DATABASE: &str = "GlueRawDatabase";
pub(crate) const SID_QUERY_RESULTS: &str = "QueryResultsReadWrite";
pub(crate) const SID_WAREHOUSE: &str = "WarehouseReadWrite";
pub(crate) const SID_SOURCES: &str = "SourcesRead";
pub(crate) const SID_RAW: &str = "RawReadWrite";
pub(crate) const SID_RAW_BUCKET: &str = "RawBucket";
pub(crate) const SID_BUCKET_LOCATION: &str = "BucketLocation";
pub(crate) const SID_KMS: &str = "KmsEncryptDecrypt";
pub(crate) const SID_STATE_LIST: &str = "TerraformStateList";
pub(crate) const SID_STATE: &str = "TerraformState";
pub(crate) const SID_STATE_LOCKFILE: &str = "TerraformStateLockfile";
pub(crate) const SID_LOCK_TABLE: &str = "TerraformLockTable";
pub(crate) const SID_MANAGE_BUCKETS: &str = "ManageLakeBuckets";
pub(crate) const SID_EMPTY_BUCKETS: &str = "EmptyLakeBuckets";
pub(crate) const SID_MANAGE_WORKGROUPS: &str = "ManageWorkgroups";
pub(crate) const SID_MANAGE_DATABASES: &str = "ManageDatabases";
pub(crate) const SID_MANAGE_ROLES: &str = "ManageRoles";
