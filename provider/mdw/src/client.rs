//! What every resource gets: AWS clients, the provider-wide settings, the engine that builds
//! models, and facts about the caller asked once per provider process.

use tfplugin::Diagnostic;
use tokio::sync::OnceCell;

use crate::aws::{AwsClients, aws_error};
use crate::claims::RelationClaims;
use crate::engines::Engines;
use crate::tags::Tags;

pub(crate) struct Client {
    pub(crate) aws: AwsClients,
    pub(crate) default_tags: Tags,
    /// Builds the models; opened on first use.
    pub(crate) engines: Engines,
    /// The relations the resources planned so far build.
    pub(crate) claims: RelationClaims,
    account_id: OnceCell<String>,
}

impl Client {
    pub(crate) fn new(aws: AwsClients, default_tags: Tags, engines: Engines) -> Self {
        Client {
            aws,
            default_tags,
            engines,
            claims: RelationClaims::default(),
            account_id: OnceCell::new(),
        }
    }

    /// The AWS account the provider's credentials belong to. Asked once (sts:GetCallerIdentity
    /// needs no permission, so this works for any identity); one process serves one provider
    /// configuration.
    pub(crate) async fn account_id(&self) -> Result<String, Diagnostic> {
        const DOING: &str = "reading the AWS account id (sts:GetCallerIdentity)";
        self.account_id
            .get_or_try_init(|| async {
                let out = self
                    .aws
                    .sts()
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| aws_error(DOING, &e))?;
                out.account.filter(|a| !a.is_empty()).ok_or_else(|| {
                    Diagnostic::error(
                        DOING,
                        "STS returned no account id; check the sts endpoint in the provider block.",
                    )
                })
            })
            .await
            .cloned()
    }

    /// The ARN partition of the configured region.
    pub(crate) fn partition(&self) -> &'static str {
        self.aws.partition()
    }

    pub(crate) fn region(&self) -> &str {
        &self.aws.region
    }
}
