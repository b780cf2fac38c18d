//! One Athena statement from start to finish: start (idempotent by client request token),
//! poll with a backing-off interval, cancel on stop, and failures that say what Athena said.

use std::time::Duration;

use aws_sdk_athena::Client;
use aws_sdk_athena::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_athena::types::{
    QueryExecutionContext, QueryExecutionState, ResultConfiguration, ResultSet,
};
use tokio::sync::watch;

/// The first wait after starting a query, and the longest: a rename or drop should not wait a
/// whole second for its answer, so polling starts fast and backs off to the interval dbt-athena
/// always uses; long queries then cost one status call a second.
const FIRST_POLL: Duration = Duration::from_millis(50);
const MAX_POLL: Duration = Duration::from_secs(1);
const POLL_GROWTH: f64 = 1.6;

/// Attempts to start a query while Athena throttles (on top of the SDK's own retries).
const START_ATTEMPTS: u32 = 6;

/// Where and how statements run.
#[derive(Debug, Clone)]
pub(crate) struct QuerySettings {
    pub workgroup: String,
    pub catalog: String,
    /// Sent only when the workgroup does not enforce its own result location.
    pub output_location: Option<String>,
}

/// Why a statement did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum QueryFailure {
    /// Athena ran it and it failed.
    Failed {
        query_id: String,
        message: String,
        /// Athena's ErrorCategory: 1 system, 2 user, 3 other.
        category: Option<i32>,
        error_type: Option<i32>,
        /// Athena says the same query may succeed if run again.
        retryable: bool,
    },
    /// Cancelled (by us on stop, or by someone in the console).
    Cancelled { query_id: Option<String> },
    /// The API call itself failed (credentials, endpoint, validation, throttling that outlasted
    /// every retry).
    Api { doing: String, message: String },
}

impl QueryFailure {
    /// Iceberg's optimistic commit lost a race, or the commit failed part-way: re-running at a
    /// fresh location is safe because nothing was committed.
    pub(crate) fn is_commit_conflict(&self) -> bool {
        matches!(self, QueryFailure::Failed { message, .. }
            if message.contains("ICEBERG_COMMIT_ERROR")
                || message.contains("ICEBERG_CONCURRENT_MODIFICATION"))
    }

    pub(crate) fn is_retryable(&self) -> bool {
        matches!(
            self,
            QueryFailure::Failed {
                retryable: true,
                ..
            }
        ) || self.is_commit_conflict()
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            QueryFailure::Failed {
                query_id,
                message,
                category,
                error_type,
                ..
            } => {
                let category = match category {
                    Some(1) => " (category: SYSTEM",
                    Some(2) => " (category: USER",
                    Some(_) => " (category: OTHER",
                    None => " (",
                };
                let sep = if category == " (" { "" } else { ", " };
                let error_type = error_type
                    .map(|t| format!("{sep}error type {t}"))
                    .unwrap_or_default();
                let close = if category == " (" && error_type.is_empty() {
                    String::new()
                } else {
                    ")".to_string()
                };
                let details = if close.is_empty() {
                    String::new()
                } else {
                    format!("{category}{error_type}{close}")
                };
                format!("{message}{details}; query id {query_id}")
            }
            QueryFailure::Cancelled { query_id } => match query_id {
                Some(id) => format!("cancelled; query id {id}"),
                None => "cancelled before it started".to_string(),
            },
            QueryFailure::Api { doing, message } => format!("{doing}: {message}"),
        }
    }
}

/// A finished statement.
#[derive(Debug, Clone)]
pub(crate) struct Finished {
    pub query_id: String,
}

pub(crate) struct QueryRunner {
    client: Client,
    settings: QuerySettings,
    stop: watch::Receiver<bool>,
}

impl QueryRunner {
    pub(crate) fn new(
        client: Client,
        settings: QuerySettings,
        stop: watch::Receiver<bool>,
    ) -> Self {
        QueryRunner {
            client,
            settings,
            stop,
        }
    }

    /// Runs one statement to completion.
    pub(crate) async fn run(&self, sql: &str) -> Result<Finished, QueryFailure> {
        let query_id = self.start(sql).await?;
        self.wait(&query_id).await?;
        Ok(Finished { query_id })
    }

    /// Runs a query and returns up to `max_rows` rows (strings, NULL as `None`) and the column
    /// names and Athena types of its result.
    pub(crate) async fn fetch(
        &self,
        sql: &str,
        max_rows: usize,
    ) -> Result<(Vec<(String, String)>, Vec<Vec<Option<String>>>, bool), QueryFailure> {
        let Finished { query_id } = self.run(sql).await?;
        let mut columns = Vec::new();
        let mut rows = Vec::new();
        let mut next_token = None;
        let mut first_page = true;
        let mut truncated = false;
        loop {
            let page = self
                .client
                .get_query_results()
                .query_execution_id(&query_id)
                .set_next_token(next_token.take())
                .max_results(1000)
                .send()
                .await
                .map_err(|e| api_failure("reading the query's results", &e))?;
            let Some(set) = page.result_set() else { break };
            if first_page {
                columns = result_columns(set);
            }
            for (i, row) in set.rows().iter().enumerate() {
                let values: Vec<Option<String>> = row
                    .data()
                    .iter()
                    .map(|d| d.var_char_value().map(str::to_string))
                    .collect();
                // The first row of a SELECT's first page repeats the column names.
                if first_page && i == 0 && is_header(&values, &columns) {
                    continue;
                }
                if rows.len() == max_rows {
                    truncated = true;
                    break;
                }
                rows.push(values);
            }
            first_page = false;
            next_token = page.next_token().map(str::to_string);
            if truncated || next_token.is_none() {
                break;
            }
        }
        Ok((columns, rows, truncated))
    }

    async fn start(&self, sql: &str) -> Result<String, QueryFailure> {
        // One token for every attempt of this statement: a start whose response was lost is
        // not run twice.
        let token = mdw_engine::BuildId::new().simple();
        let mut attempt = 0;
        loop {
            if *self.stop.borrow() {
                return Err(QueryFailure::Cancelled { query_id: None });
            }
            let mut request = self
                .client
                .start_query_execution()
                .query_string(sql)
                .work_group(&self.settings.workgroup)
                .client_request_token(&token)
                .query_execution_context(
                    QueryExecutionContext::builder()
                        .catalog(&self.settings.catalog)
                        .build(),
                );
            if let Some(location) = &self.settings.output_location {
                request = request.result_configuration(
                    ResultConfiguration::builder()
                        .output_location(location)
                        .build(),
                );
            }
            match request.send().await {
                Ok(out) => {
                    let id = out.query_execution_id().unwrap_or_default().to_string();
                    tracing::debug!(query_id = %id, "athena query started");
                    return Ok(id);
                }
                Err(err) if is_throttling(err.code()) && attempt + 1 < START_ATTEMPTS => {
                    attempt += 1;
                    let wait = jittered_backoff(attempt);
                    tracing::debug!(?wait, attempt, "athena throttled the start; retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(err) => return Err(api_failure("starting the query", &err)),
            }
        }
    }

    async fn wait(&self, query_id: &str) -> Result<(), QueryFailure> {
        let mut interval = FIRST_POLL;
        let mut stop = self.stop.clone();
        loop {
            let out = self
                .client
                .get_query_execution()
                .query_execution_id(query_id)
                .send()
                .await
                .map_err(|e| api_failure("checking the query", &e))?;
            let execution = out.query_execution();
            let status = execution.and_then(|e| e.status());
            match status.and_then(|s| s.state()) {
                Some(QueryExecutionState::Succeeded) => return Ok(()),
                Some(QueryExecutionState::Failed) => {
                    let status = status.expect("state came from status");
                    let error = status.athena_error();
                    let message = error
                        .and_then(|e| e.error_message())
                        .or(status.state_change_reason())
                        .unwrap_or("Athena gave no reason")
                        .to_string();
                    return Err(QueryFailure::Failed {
                        query_id: query_id.to_string(),
                        message,
                        category: error.and_then(|e| e.error_category()),
                        error_type: error.and_then(|e| e.error_type()),
                        retryable: error.map(|e| e.retryable()).unwrap_or(false),
                    });
                }
                Some(QueryExecutionState::Cancelled) => {
                    return Err(QueryFailure::Cancelled {
                        query_id: Some(query_id.to_string()),
                    });
                }
                _ => {}
            }
            // (The watch guard must not live across the cancel call: it is not Send.)
            let stop_requested = tokio::select! {
                _ = tokio::time::sleep(interval) => false,
                _ = stop.wait_for(|stopped| *stopped) => true,
            };
            if stop_requested {
                self.cancel(query_id).await;
                return Err(QueryFailure::Cancelled {
                    query_id: Some(query_id.to_string()),
                });
            }
            interval = interval.mul_f64(POLL_GROWTH).min(MAX_POLL);
        }
    }

    /// Terraform asked us to stop: tell Athena, so the query stops costing money.
    async fn cancel(&self, query_id: &str) {
        tracing::info!(query_id, "stopping the athena query");
        if let Err(err) = self
            .client
            .stop_query_execution()
            .query_execution_id(query_id)
            .send()
            .await
        {
            tracing::warn!(query_id, error = %DisplayErrorContext(&err), "stopping the query failed");
        }
    }
}

fn result_columns(set: &ResultSet) -> Vec<(String, String)> {
    set.result_set_metadata()
        .map(|m| {
            m.column_info()
                .iter()
                .map(|c| {
                    let ty = match (c.r#type(), c.precision(), c.scale()) {
                        ("decimal", p, s) if p > 0 => format!("decimal({p},{s})"),
                        (ty, _, _) => ty.to_string(),
                    };
                    (c.name().to_ascii_lowercase(), ty)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn is_header(values: &[Option<String>], columns: &[(String, String)]) -> bool {
    values.len() == columns.len()
        && values
            .iter()
            .zip(columns)
            .all(|(v, (name, _))| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(name)))
}

fn is_throttling(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("TooManyRequestsException" | "ThrottlingException" | "Throttling")
    )
}

/// Exponential backoff with full jitter (AWS's recommendation): a random wait up to
/// 200 ms × 2ⁿ, at most 10 s, so throttled runs do not retry in lockstep.
pub(crate) fn jittered_backoff(attempt: u32) -> Duration {
    let cap = (200u64 << attempt.min(6)).min(10_000);
    let random = {
        use std::hash::{BuildHasher, RandomState};
        RandomState::new().hash_one((attempt, std::time::Instant::now()))
    };
    Duration::from_millis(cap / 2 + random % (cap / 2 + 1))
}

fn api_failure<E>(doing: &str, err: &aws_sdk_athena::error::SdkError<E>) -> QueryFailure
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    let message = match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        _ => DisplayErrorContext(err).to_string(),
    };
    QueryFailure::Api {
        doing: doing.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_jittered_within_bounds() {
        for attempt in 1..10 {
            let cap = (200u64 << attempt.min(6)).min(10_000);
            let wait = jittered_backoff(attempt).as_millis() as u64;
            assert!(wait >= cap / 2 && wait <= cap, "{attempt}: {wait}");
        }
    }

    #[test]
    fn failures_name_the_query_and_category() {
        let failure = QueryFailure::Failed {
            query_id: "q-1".into(),
            message: "ICEBERG_COMMIT_ERROR: conflict".into(),
            category: Some(2),
            error_type: Some(1000),
            retryable: false,
        };
        assert!(failure.is_commit_conflict());
        assert_eq!(
            failure.describe(),
            "ICEBERG_COMMIT_ERROR: conflict (category: USER, error type 1000); query id q-1"
        );
    }
}
