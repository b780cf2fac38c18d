//! `mdw_airbyte_ec2_role`: the role and instance profile of an EC2 instance running Airbyte —
//! write to the raw prefix, and register tables in one Glue database if asked.

use tfplugin::{Diagnostic, Maybe};

use crate::aws::names;
use crate::aws::s3_location::{S3Url, validate_s3_url};
use crate::iam::policy::Trust;
use crate::iam::policy::actions::*;
use crate::iam::policy::grants::*;
use crate::iam::policy::{ParsedPolicy, Policy, Scope, Statement};
use crate::iam::principal::{self, KMS_KEY_ARNS, Principal, empty_list, validate_kms_key_arns};

tfplugin::model! {
    /// The input attributes of `mdw_airbyte_ec2_role`.
    pub(crate) struct AirbyteEc2Config {
        /// Where Airbyte writes, e.g. `s3://mdw-raw/airbyte/`.
        #[tf(required, validate = validate_s3_url)]
        pub(crate) raw_location: Maybe<String>,
        /// A Glue database Airbyte creates and updates tables in (S3 Glue destination).
        #[tf(validate = names::glue_database_name)]
        pub(crate) raw_database: Maybe<String>,
        #[tf(default = empty_list(), describe = KMS_KEY_ARNS, validate = validate_kms_key_arns)]
        pub(crate) kms_key_arns: Maybe<Vec<String>>,
    }
}

/// The inputs of the Airbyte role's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AirbyteEc2Inputs {
    pub(crate) raw_location: S3Url,
    pub(crate) raw_database: Option<String>,
    pub(crate) kms_key_arns: Vec<String>,
}

/// Airbyte on EC2 writing raw data (and, if asked, registering it in one Glue database).
pub(crate) struct AirbyteEc2;

/// EC2's service principal; China's partition names it differently.
fn ec2_service(partition: &str) -> &'static str {
    if partition == "aws-cn" {
        "ec2.amazonaws.com.cn"
    } else {
        "ec2.amazonaws.com"
    }
}

impl Principal for AirbyteEc2 {
    type Inputs = AirbyteEc2Inputs;
    type Config = AirbyteEc2Config;

    const TYPE_NAME: &'static str = "mdw_airbyte_ec2_role";
    const DESCRIPTION: &'static str = "The role (and instance profile) of an EC2 instance running Airbyte: write to the raw \
         prefix, and register tables in one Glue database if asked. Trusted by EC2 only.";
    const INSTANCE_PROFILE: bool = true;

    /// EC2 assumes the Airbyte role; nothing to configure.
    fn fixed_trust(partition: &str) -> Option<Trust> {
        Some(Trust {
            principal_arns: Vec::new(),
            services: vec![ec2_service(partition).to_string()],
        })
    }

    fn expand(c: &AirbyteEc2Config) -> Result<AirbyteEc2Inputs, Diagnostic> {
        Ok(AirbyteEc2Inputs {
            raw_location: principal::required_location(
                &c.raw_location,
                AirbyteEc2Config::raw_location,
            )?,
            raw_database: principal::string(&c.raw_database),
            kms_key_arns: principal::list(&c.kms_key_arns),
        })
    }

    fn flatten(i: &AirbyteEc2Inputs) -> AirbyteEc2Config {
        AirbyteEc2Config {
            raw_location: principal::url(&i.raw_location),
            raw_database: Maybe::from_option(i.raw_database.clone()),
            kms_key_arns: Maybe::Known(i.kms_key_arns.clone()),
        }
    }

    fn policy(inputs: &Self::Inputs, scope: &Scope) -> Policy {
        let raw = &inputs.raw_location;
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
        if let Some(database) = &inputs.raw_database {
            statements.push(glue_tables(
                scope,
                SID_GLUE_RAW_DATABASE,
                &[GLUE_READ, GLUE_WRITE_TABLES],
                std::slice::from_ref(database),
            ));
        }
        statements.extend(kms(&inputs.kms_key_arns));
        Policy { statements }
    }

    fn recover(policy: &ParsedPolicy) -> Option<Self::Inputs> {
        Some(AirbyteEc2Inputs {
            raw_location: policy.locations(SID_RAW).into_iter().next()?,
            raw_database: policy
                .names(SID_GLUE_RAW_DATABASE, ":database/")
                .into_iter()
                .next(),
            kms_key_arns: policy.resources(SID_KMS),
        })
    }
}
