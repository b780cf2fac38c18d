//! The warehouse's catalog, read while compiling only when asked (`mdwc compile --catalog
//! glue`): the columns of a relation the project does not build (a source, say) as
//! dbt-athena's `adapter.get_columns_in_relation` reads them from Glue — the table's current
//! columns (an Iceberg column Glue marks `iceberg.field.current = false` is dropped), then its
//! partition keys, each with Glue's type name.
//!
//! Credentials and region come from the standard AWS chain (the region of the profile's
//! `region_name` first), the endpoint from `AWS_ENDPOINT_URL(_GLUE)` as the SDK reads them.
//! Only Athena's default catalog (`awsdatacatalog`) is Glue's own: another data catalog (a
//! federated connector, another account's Glue) is not read.
//!
//! What was read is recorded: mdwc writes it into the source's `data "mdw_source"`, whose
//! plan fails when the table's columns are no longer those the models were compiled against.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use aws_sdk_glue::error::DisplayErrorContext;

/// Whether and where mdwc reads the warehouse's catalog.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CatalogChoice {
    /// Only the project's own relations are known (the default: no AWS access).
    #[default]
    None,
    /// Other relations are read from AWS Glue.
    Glue,
}

/// dbt-athena's `TableType` of a Glue table, as its `AthenaColumn` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TableType {
    Table,
    View,
    Iceberg,
}

impl TableType {
    /// `<TableType.ICEBERG: 'iceberg_table'>`, Python's repr of the enum member.
    pub(crate) fn repr(self) -> &'static str {
        match self {
            TableType::Table => "<TableType.TABLE: 'table'>",
            TableType::View => "<TableType.VIEW: 'view'>",
            TableType::Iceberg => "<TableType.ICEBERG: 'iceberg_table'>",
        }
    }
}

/// A relation's (schema, table), in lower case.
type TableKey = (String, String);

/// A column's name and Glue type.
pub(crate) type GlueColumn = (String, String);

/// What Glue answered for one table.
type Answer = Result<Option<GlueTable>, String>;

/// A Glue table's columns as dbt-athena reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GlueTable {
    /// Name and Glue type, columns then partition keys.
    pub(crate) columns: Vec<GlueColumn>,
    pub(crate) table_type: TableType,
}

pub(crate) struct GlueCatalog {
    runtime: tokio::runtime::Runtime,
    client: aws_sdk_glue::Client,
    /// (schema, table) → what Glue answered. Each table is read once, even by nodes rendered
    /// at the same time: every node must compile against the same columns, the ones the plan
    /// then checks.
    read: Mutex<HashMap<TableKey, Arc<OnceLock<Answer>>>>,
}

impl std::fmt::Debug for GlueCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlueCatalog").finish_non_exhaustive()
    }
}

impl GlueCatalog {
    /// A Glue client for the profile's region (`None`: the AWS chain's).
    pub(crate) fn connect(region: Option<String>) -> Result<GlueCatalog, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the AWS client: {e}"))?;
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(region) = region {
            loader = loader.region(aws_config::Region::new(region));
        }
        let config = runtime.block_on(loader.load());
        Ok(GlueCatalog {
            client: aws_sdk_glue::Client::new(&config),
            runtime,
            read: Mutex::new(HashMap::new()),
        })
    }

    /// The table `schema`.`table` of Glue's catalog; `None` when Glue has no such table.
    pub(crate) fn table(&self, schema: &str, table: &str) -> Answer {
        let key = (schema.to_lowercase(), table.to_lowercase());
        let cell = self
            .read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        cell.get_or_init(|| self.runtime.block_on(self.fetch(&key.0, &key.1)))
            .clone()
    }

    async fn fetch(&self, schema: &str, table: &str) -> Result<Option<GlueTable>, String> {
        let response = self
            .client
            .get_table()
            .database_name(schema)
            .name(table)
            .send()
            .await;
        let found = match response {
            Ok(response) => match response.table {
                Some(found) => found,
                None => return Ok(None),
            },
            Err(error) => {
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_entity_not_found_exception())
                {
                    return Ok(None);
                }
                return Err(format!(
                    "reading {schema}.{table} from Glue failed: {}",
                    DisplayErrorContext(&error)
                ));
            }
        };
        let parameters = found.parameters.clone().unwrap_or_default();
        let iceberg = parameters
            .get("table_type")
            .is_some_and(|t| t.eq_ignore_ascii_case("iceberg"));
        let table_type = match (iceberg, found.table_type.as_deref()) {
            (true, _) => TableType::Iceberg,
            (false, Some("VIRTUAL_VIEW" | "view")) => TableType::View,
            (
                false,
                Some("EXTERNAL_TABLE" | "EXTERNAL" | "GOVERNED" | "MANAGED_TABLE" | "table"),
            ) => TableType::Table,
            (false, other) => {
                return Err(format!(
                    "Glue table {schema}.{table} has table type {other:?}, which dbt-athena does not read"
                ));
            }
        };
        let current = |c: &aws_sdk_glue::types::Column| {
            c.parameters
                .as_ref()
                .and_then(|p| p.get("iceberg.field.current"))
                .is_none_or(|v| v != "false")
        };
        let columns = found
            .storage_descriptor
            .iter()
            .flat_map(|s| s.columns())
            .filter(|c| current(c))
            .chain(found.partition_keys())
            .map(|c| {
                (
                    c.name().to_string(),
                    c.r#type().unwrap_or_default().to_string(),
                )
            })
            .collect();
        Ok(Some(GlueTable {
            columns,
            table_type,
        }))
    }
}

/// The Glue tables the compile read, by (schema, table), for the plan-time check.
#[derive(Debug, Default)]
pub(crate) struct Reads(Mutex<BTreeMap<TableKey, Vec<GlueColumn>>>);

impl Reads {
    pub(crate) fn record(&self, schema: &str, table: &str, columns: &[GlueColumn]) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(
            (schema.to_lowercase(), table.to_lowercase()),
            columns.to_vec(),
        );
    }

    pub(crate) fn take(&self) -> BTreeMap<TableKey, Vec<GlueColumn>> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
