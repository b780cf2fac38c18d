//! Listing the warehouse's directories, which iceberg-rust's FileIO cannot do: local disk
//! through the file system, S3 through the SDK.

use mdw_engine_aws::s3;

/// How the engine lists what is under a location of its warehouse.
#[derive(Debug, Clone)]
pub(crate) enum Listing {
    Local,
    S3(aws_sdk_s3::Client),
}

impl Listing {
    /// Names of the directories directly under `url` (none when it does not exist).
    pub(crate) async fn child_dirs(&self, url: &str) -> Result<Vec<String>, String> {
        match self {
            Listing::S3(client) => s3::child_dirs(client, url).await,
            Listing::Local => {
                let Some(path) = url.strip_prefix("file://") else {
                    return Err(format!("{url} is not a file:// location"));
                };
                let entries = match std::fs::read_dir(path) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => return Err(format!("{path}: {e}")),
                };
                let mut names = Vec::new();
                for entry in entries {
                    let entry = entry.map_err(|e| format!("{path}: {e}"))?;
                    if entry.file_type().is_ok_and(|t| t.is_dir())
                        && let Some(name) = entry.file_name().to_str()
                    {
                        names.push(name.to_string());
                    }
                }
                Ok(names)
            }
        }
    }
}
