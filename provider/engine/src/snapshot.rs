//! dbt snapshots (type-2 slowly changing dimensions) as mdw runs them on any engine.
//!
//! The SQL follows dbt-core's snapshot macros (`build_snapshot_table`,
//! `snapshot_staging_table`, the timestamp and check strategies, `hard_deletes`) with
//! dbt-athena's hash (`to_hex(md5(to_utf8(…)))`) and time (`cast(now() as timestamp(6))` on
//! Iceberg). dbt then MERGEs the staging rows into the table; mdw instead builds the merged
//! table as one query and swaps it in like any table build, so a failed or interrupted run
//! leaves the old table whole and a retried run finds nothing left to do. The merge is dbt-core's
//! `default__snapshot_merge_sql`, which honours `dbt_valid_to_current` and
//! `snapshot_meta_column_names`; dbt-athena 1.11's Iceberg merge ignores both (it closes only
//! rows whose `dbt_valid_to` is null and names the columns `dbt_scd_id`/`dbt_valid_to`).
//!
//! A snapshot row matched by two staging rows fails the run before anything is written, as
//! Trino's MERGE fails ("One MERGE target table row matched more than one source row"): a
//! `unique_key` that is not unique in the snapshot's query, or a changed row that kept its
//! `updated_at` (stricter than Trino there: it would close the version and insert nothing).

use serde::{Deserialize, Serialize};

use crate::{BuildOutcome, ColumnInfo, Engine, EngineError, RelationKind, TableBuild};

/// dbt-athena's `snapshot_get_time()` for an Iceberg table.
pub const SNAPSHOT_TIME: &str = "cast(now() as timestamp(6))";

/// How a snapshot decides that a row changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotStrategy {
    /// A row changed when its `updated_at` is newer than the snapshot's current version.
    Timestamp { updated_at: String },
    /// A row changed when one of the checked columns differs; `updated_at` (default: the run's
    /// time) stamps the new version.
    Check {
        check_cols: CheckCols,
        updated_at: Option<String>,
    },
}

/// dbt's `check_cols`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckCols {
    /// `'all'`: every column of the query.
    All,
    /// Column expressions, as written.
    Listed(Vec<String>),
}

/// What a snapshot does with rows that left its query (dbt `hard_deletes`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HardDeletes {
    /// Keep their current version open.
    #[default]
    Ignore,
    /// Close their current version at the run's time.
    Invalidate,
    /// Close it and add a version flagged deleted (`dbt_is_deleted = 'True'`).
    NewRecord,
}

/// The names of the snapshot's own columns (dbt `snapshot_meta_column_names`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotColumns {
    pub scd_id: String,
    pub updated_at: String,
    pub valid_from: String,
    pub valid_to: String,
    pub is_deleted: String,
}

impl Default for SnapshotColumns {
    fn default() -> Self {
        Self {
            scd_id: "dbt_scd_id".into(),
            updated_at: "dbt_updated_at".into(),
            valid_from: "dbt_valid_from".into(),
            valid_to: "dbt_valid_to".into(),
            is_deleted: "dbt_is_deleted".into(),
        }
    }
}

/// A snapshot's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Expressions that identify a row (dbt `unique_key`, a string or a list).
    pub unique_key: Vec<String>,
    pub strategy: SnapshotStrategy,
    pub hard_deletes: HardDeletes,
    /// The `dbt_valid_to` of current versions, a SQL expression (dbt `dbt_valid_to_current`);
    /// `None`: NULL.
    pub valid_to_current: Option<String>,
    pub columns: SnapshotColumns,
}

/// The queries of one run on an existing snapshot table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRun {
    /// Counts the snapshot rows more than one staging row matches; the run must stop when it
    /// is not 0.
    pub duplicates_sql: String,
    /// The snapshot table after the run: every old row (current versions closed where the
    /// query changed or lost them) and the new versions.
    pub table_sql: String,
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// dbt-athena's `snapshot_hash_arguments`.
fn hash(args: &[&str]) -> String {
    let parts: Vec<String> = args
        .iter()
        .map(|a| format!("coalesce(cast({a} as varchar), '')"))
        .collect();
    format!("to_hex(md5(to_utf8({})))", parts.join(" || '|' || "))
}

impl Snapshot {
    /// The strategy's `updated_at` expression.
    fn updated_at(&self) -> &str {
        match &self.strategy {
            SnapshotStrategy::Timestamp { updated_at } => updated_at,
            SnapshotStrategy::Check { updated_at, .. } => {
                updated_at.as_deref().unwrap_or(SNAPSHOT_TIME)
            }
        }
    }

    /// dbt's `scd_id`: the hash of the unique key and `updated_at`.
    fn scd_id(&self) -> String {
        let mut args: Vec<&str> = self.unique_key.iter().map(String::as_str).collect();
        args.push(self.updated_at());
        hash(&args)
    }

    /// dbt's `get_dbt_valid_to_current`.
    fn valid_to_expression(&self) -> String {
        let u = self.updated_at();
        format!(
            "coalesce(nullif({u}, {u}), {}) as {}",
            self.valid_to_current.as_deref().unwrap_or("null"),
            self.columns.valid_to
        )
    }

    /// Whether `valid_to` (qualified as given) marks a current version.
    fn is_current(&self, valid_to: &str) -> String {
        match &self.valid_to_current {
            Some(current) => format!("(({valid_to} = {current}) or {valid_to} is null)"),
            None => format!("{valid_to} is null"),
        }
    }

    fn key_fields(&self) -> String {
        self.unique_key
            .iter()
            .enumerate()
            .map(|(i, key)| format!("{key} as dbt_unique_key_{}", i + 1))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn key_join(&self, left: &str, right: &str) -> String {
        (1..=self.unique_key.len())
            .map(|i| format!("({left}.dbt_unique_key_{i} = {right}.dbt_unique_key_{i})"))
            .collect::<Vec<_>>()
            .join(" and ")
    }

    /// The first build: the query's rows, each its first version (dbt's
    /// `build_snapshot_table`).
    pub fn first_build_sql(&self, sql: &str) -> String {
        let c = &self.columns;
        let u = self.updated_at();
        let deleted = if self.hard_deletes == HardDeletes::NewRecord {
            format!(", 'False' as {}", c.is_deleted)
        } else {
            String::new()
        };
        format!(
            "select *,\n    {scd} as {scd_col},\n    {u} as {updated},\n    {u} as {from},\n    {to}{deleted}\nfrom (\n{sql}\n) sbq",
            scd = self.scd_id(),
            scd_col = c.scd_id,
            updated = c.updated_at,
            from = c.valid_from,
            to = self.valid_to_expression(),
        )
    }

    /// For the check strategy, the query whose output names are the checked columns (dbt reads
    /// them from the warehouse: `select <check_cols> from (<sql>) subq`, or the query itself
    /// for `'all'`); `None` for the timestamp strategy.
    pub fn check_columns_query(&self, sql: &str) -> Option<String> {
        match &self.strategy {
            SnapshotStrategy::Timestamp { .. } => None,
            SnapshotStrategy::Check {
                check_cols: CheckCols::All,
                ..
            } => Some(sql.to_string()),
            SnapshotStrategy::Check {
                check_cols: CheckCols::Listed(cols),
                ..
            } => Some(format!("select {} from (\n{sql}\n) subq", cols.join(", "))),
        }
    }

    /// dbt's `row_changed` of the strategy, comparing `snapshotted_data` with `source_data`.
    fn row_changed(&self, target: &[ColumnInfo], checked: &[String]) -> Result<String, String> {
        match &self.strategy {
            SnapshotStrategy::Timestamp { updated_at } => Ok(format!(
                "(snapshotted_data.{} < source_data.{updated_at})",
                self.columns.valid_from
            )),
            SnapshotStrategy::Check { .. } => {
                let existing: Vec<&str> = target.iter().map(|c| c.name.as_str()).collect();
                // dbt: a checked column the table lacks means every row changed.
                if checked.iter().any(|c| !existing.contains(&c.as_str())) {
                    return Ok("(TRUE)".into());
                }
                if checked.is_empty() {
                    return Err("check_cols selects no column: name at least one".into());
                }
                let tests: Vec<String> = checked
                    .iter()
                    .map(|col| {
                        let (s, n) = (
                            format!("snapshotted_data.{}", quote(col)),
                            format!("source_data.{}", quote(col)),
                        );
                        format!(
                            "{s} != {n} or (((({s} is null) and not ({n} is null)) or ((not {s} is null) and ({n} is null))))"
                        )
                    })
                    .collect();
                Ok(format!("({})", tests.join(" or ")))
            }
        }
    }

    /// A run on the existing snapshot table `target` (a rendered relation) with columns
    /// `target_columns`: `query_columns` are the names the snapshot's query returns and
    /// `checked` the output names of [`Snapshot::check_columns_query`] (empty for the
    /// timestamp strategy).
    pub fn run_sql(
        &self,
        sql: &str,
        target: &str,
        target_columns: &[ColumnInfo],
        query_columns: &[String],
        checked: &[String],
    ) -> Result<SnapshotRun, String> {
        let c = &self.columns;
        let lower = |s: &str| s.to_ascii_lowercase();
        let has =
            |cols: &[ColumnInfo], name: &str| cols.iter().any(|t| lower(&t.name) == lower(name));
        let missing: Vec<&str> = [&c.scd_id, &c.valid_from, &c.valid_to]
            .into_iter()
            .filter(|name| !has(target_columns, name))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "the table is not a snapshot: it has no column {} (dbt's snapshot target check)",
                missing.join(", ")
            ));
        }
        // dbt-athena 1.11 adds its staging key columns to the table when the key is a list
        // (dbt-adapters #940); they would be read twice here.
        if let Some(key) = target_columns
            .iter()
            .find(|c| lower(&c.name).starts_with("dbt_unique_key"))
        {
            return Err(format!(
                "the table has a column {} (dbt-athena adds its staging key columns to snapshots whose unique_key is a list, dbt-adapters #940); drop the dbt_unique_key columns from the table (ALTER TABLE … DROP COLUMN) before mdw runs the snapshot",
                key.name
            ));
        }
        let new_record = self.hard_deletes == HardDeletes::NewRecord;
        let deletes = self.hard_deletes != HardDeletes::Ignore;
        let row_changed = self.row_changed(target_columns, checked)?;
        let changed = if new_record {
            format!(
                "{row_changed} or snapshotted_data.{} = 'True'",
                c.is_deleted
            )
        } else {
            row_changed
        };
        let u = self.updated_at();
        let keys = self.key_fields();
        let t = SNAPSHOT_TIME;
        let mut ctes = vec![
            format!("snapshot_query as (\n{sql}\n)"),
            format!(
                "snapshotted_data as (\n    select *, {keys}\n    from {target}\n    where {}\n)",
                self.is_current(&c.valid_to)
            ),
            format!(
                "insertions_source_data as (\n    select *, {keys},\n        {u} as {},\n        {u} as {},\n        {},\n        {} as {}\n    from snapshot_query\n)",
                c.updated_at,
                c.valid_from,
                self.valid_to_expression(),
                self.scd_id(),
                c.scd_id
            ),
            format!(
                "updates_source_data as (\n    select *, {keys},\n        {u} as {},\n        {u} as {},\n        {u} as {}\n    from snapshot_query\n)",
                c.updated_at, c.valid_from, c.valid_to
            ),
        ];
        if deletes {
            ctes.push(format!(
                "deletes_source_data as (\n    select *, {keys}\n    from snapshot_query\n)"
            ));
        }
        let flag = |source: &str| {
            if new_record {
                format!(", {source}")
            } else {
                String::new()
            }
        };
        ctes.push(format!(
            "insertions as (\n    select 'insert' as dbt_change_type, source_data.*{}\n    from insertions_source_data as source_data\n    left outer join snapshotted_data on {}\n    where snapshotted_data.dbt_unique_key_1 is null\n       or (snapshotted_data.dbt_unique_key_1 is not null and ({changed}))\n)",
            flag(&format!("'False' as {}", c.is_deleted)),
            self.key_join("snapshotted_data", "source_data"),
        ));
        ctes.push(format!(
            "updates as (\n    select 'update' as dbt_change_type, source_data.*, snapshotted_data.{}{}\n    from updates_source_data as source_data\n    join snapshotted_data on {}\n    where ({changed})\n)",
            c.scd_id,
            flag(&format!("snapshotted_data.{}", c.is_deleted)),
            self.key_join("snapshotted_data", "source_data"),
        ));
        // A deleted row's latest version already flagged deleted is left alone.
        let not_flagged = format!(
            "not (snapshotted_data.{} = 'True' and {})",
            c.is_deleted,
            match &self.valid_to_current {
                Some(current) => format!("snapshotted_data.{} = {current}", c.valid_to),
                None => format!("snapshotted_data.{} is null", c.valid_to),
            }
        );
        if deletes {
            ctes.push(format!(
                "deletes as (\n    select 'delete' as dbt_change_type, source_data.*,\n        {t} as {},\n        {t} as {},\n        {t} as {},\n        snapshotted_data.{}{}\n    from snapshotted_data\n    left join deletes_source_data as source_data on {}\n    where source_data.dbt_unique_key_1 is null{}\n)",
                c.valid_from,
                c.updated_at,
                c.valid_to,
                c.scd_id,
                flag(&format!("snapshotted_data.{}", c.is_deleted)),
                self.key_join("snapshotted_data", "source_data"),
                if new_record {
                    format!("\n      and {not_flagged}")
                } else {
                    String::new()
                },
            ));
        }
        if new_record {
            let target_names: Vec<&str> = target_columns.iter().map(|c| c.name.as_str()).collect();
            let mut fields: Vec<String> = query_columns
                .iter()
                .map(|col| {
                    let side = if target_names.contains(&col.as_str()) {
                        "snapshotted_data"
                    } else {
                        "source_data"
                    };
                    format!("{side}.{}", quote(col))
                })
                .collect();
            fields.extend(
                (1..=self.unique_key.len())
                    .map(|i| format!("snapshotted_data.dbt_unique_key_{i} as dbt_unique_key_{i}")),
            );
            let new_scd_id = hash(&[&c.scd_id, t]);
            ctes.push(format!(
                "deletion_records as (\n    select 'insert' as dbt_change_type, {},\n        {t} as {},\n        {t} as {},\n        snapshotted_data.{} as {},\n        {new_scd_id} as {},\n        'True' as {}\n    from snapshotted_data\n    left join deletes_source_data as source_data on {}\n    where source_data.dbt_unique_key_1 is null\n      and {not_flagged}\n)",
                fields.join(", "),
                c.valid_from,
                c.updated_at,
                c.valid_to,
                c.valid_to,
                c.scd_id,
                c.is_deleted,
                self.key_join("snapshotted_data", "source_data"),
            ));
        }
        let mut parts = vec!["select * from insertions", "select * from updates"];
        if deletes {
            parts.push("select * from deletes");
        }
        if new_record {
            parts.push("select * from deletion_records");
        }
        ctes.push(format!(
            "dbt_snapshot_staging as (\n    {}\n)",
            parts.join("\n    union all\n    ")
        ));
        let with = format!("with {}", ctes.join(",\n\n"));

        // The staging rows' columns dbt inserts: the query's and the snapshot's own.
        let mut inserted: Vec<String> = query_columns.to_vec();
        inserted.extend([&c.updated_at, &c.valid_from, &c.valid_to, &c.scd_id].map(String::clone));
        if new_record {
            inserted.push(c.is_deleted.clone());
        }
        let added: Vec<&String> = inserted
            .iter()
            .filter(|name| !has(target_columns, name))
            .collect();
        let scd = quote(&c.scd_id);
        let source_scd = format!("dbt_internal_source.{scd}");
        let dest_scd = format!("dbt_internal_dest.{scd}");

        let mut old_rows: Vec<String> = target_columns
            .iter()
            .map(|col| {
                let q = quote(&col.name);
                if lower(&col.name) == lower(&c.valid_to) {
                    format!(
                        "case when {source_scd} is not null then dbt_internal_source.{q} else dbt_internal_dest.{q} end as {q}"
                    )
                } else {
                    format!("dbt_internal_dest.{q}")
                }
            })
            .collect();
        old_rows.extend(added.iter().map(|name| format!("null as {}", quote(name))));
        let mut new_rows: Vec<String> = target_columns
            .iter()
            .map(
                |col| match inserted.iter().find(|name| lower(name) == lower(&col.name)) {
                    Some(name) => format!("dbt_internal_source.{}", quote(name)),
                    None => format!("null as {}", quote(&col.name)),
                },
            )
            .collect();
        new_rows.extend(
            added
                .iter()
                .map(|name| format!("dbt_internal_source.{}", quote(name))),
        );
        let table_sql = format!(
            "{with}\n\nselect {old}\nfrom {target} as dbt_internal_dest\nleft join (\n    select {scd}, {valid_to} from dbt_snapshot_staging\n    where dbt_change_type in ('update', 'delete')\n) as dbt_internal_source\n    on {source_scd} = {dest_scd}\n    and {current}\nunion all\nselect {new}\nfrom dbt_snapshot_staging as dbt_internal_source\nwhere dbt_internal_source.dbt_change_type = 'insert'\n  and not exists (select 1 from {target} as dbt_internal_dest where {dest_scd} = {source_scd})",
            old = old_rows.join(", "),
            new = new_rows.join(", "),
            valid_to = quote(&c.valid_to),
            current = self.is_current(&format!("dbt_internal_dest.{}", quote(&c.valid_to))),
        );
        let duplicates_sql = format!(
            "{with}\n\nselect count(*) as duplicated, coalesce(sum(inserts), 0) as with_insert from (\n    select {source_scd}, count_if(dbt_internal_source.dbt_change_type = 'insert') as inserts\n    from dbt_snapshot_staging as dbt_internal_source\n    where exists (select 1 from {target} as dbt_internal_dest where {dest_scd} = {source_scd})\n    group by {source_scd}\n    having count(*) > 1\n) as dbt_duplicates"
        );
        Ok(SnapshotRun {
            duplicates_sql,
            table_sql,
        })
    }
}

/// Runs `snapshot` on `engine`: builds the table from the query (`build.sql`) the first time,
/// else rebuilds it with this run's versions — after checking, as Athena's MERGE would fail,
/// that no snapshot row is matched twice and that no column changes type. Any failure leaves
/// the table as it was.
pub async fn run(
    engine: &dyn Engine,
    snapshot: &Snapshot,
    build: TableBuild,
) -> Result<BuildOutcome, EngineError> {
    let invalid = EngineError::InvalidInput;
    let relation = format!("{}.{}", build.database, build.name);
    let sql = match engine.describe(&build.database, &build.name).await? {
        None => snapshot.first_build_sql(&build.sql),
        Some(info) if info.kind != RelationKind::Table => {
            return Err(invalid(format!(
                "{relation} is a {}: a snapshot is a table (dbt refuses this too); drop the view or rename the snapshot",
                info.kind.as_str()
            )));
        }
        Some(info) => {
            let target = crate::relation_name(engine.catalog_name(), &build.database, &build.name);
            let names = |columns: Vec<ColumnInfo>| -> Vec<String> {
                columns.into_iter().map(|c| c.name).collect()
            };
            let query_columns = names(engine.describe_query(&build.sql).await?);
            let checked = match snapshot.check_columns_query(&build.sql) {
                Some(query) => names(engine.describe_query(&query).await?),
                None => Vec::new(),
            };
            let run = snapshot
                .run_sql(&build.sql, &target, &info.columns, &query_columns, &checked)
                .map_err(|e| invalid(format!("snapshot {relation}: {e}")))?;
            let counted = engine.query(&run.duplicates_sql, 1).await?;
            let duplicated = counted
                .rows
                .first()
                .and_then(|row| row.get("duplicated").cloned().flatten())
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| {
                    invalid(format!(
                        "snapshot {relation}: the check for rows matched twice returned {:?}, not a count",
                        counted.rows
                    ))
                })?;
            if duplicated != 0 {
                let with_insert = counted
                    .rows
                    .first()
                    .and_then(|row| row.get("with_insert").cloned().flatten())
                    .is_some_and(|n| n != "0");
                let cause = if with_insert {
                    "a changed row kept its updated_at, so its new version has the current one's dbt_scd_id (mdw refuses this; stamp changes with a new updated_at, or leave updated_at unset under the check strategy)"
                } else {
                    "the snapshot's unique_key is not unique in its query (make it return one row per unique_key; Athena's MERGE fails the same way: \"One MERGE target table row matched more than one source row\")"
                };
                return Err(invalid(format!(
                    "snapshot {relation}: {duplicated} snapshot row(s) match more than one row of this run: {cause}; nothing was written"
                )));
            }
            let new_columns = engine.describe_query(&run.table_sql).await?;
            for old in &info.columns {
                if let Some(new) = new_columns.iter().find(|c| c.name == old.name)
                    && new.data_type != old.data_type
                {
                    return Err(invalid(format!(
                        "snapshot {relation}: column {} is {} but this run gives {}: Athena's MERGE would not insert it as is; nothing was written. Cast the column in the snapshot's query to {}",
                        old.name, old.data_type, new.data_type, old.data_type
                    )));
                }
            }
            run.table_sql
        }
    };
    engine.build_table(&TableBuild { sql, ..build }).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            data_type: "varchar".into(),
            comment: None,
        }
    }

    fn timestamp() -> Snapshot {
        Snapshot {
            unique_key: vec!["id".into()],
            strategy: SnapshotStrategy::Timestamp {
                updated_at: "updated_at".into(),
            },
            hard_deletes: HardDeletes::Ignore,
            valid_to_current: None,
            columns: SnapshotColumns::default(),
        }
    }

    #[test]
    fn the_first_build_stamps_each_row_as_dbt_athena_does() {
        let sql = timestamp().first_build_sql("select id, updated_at from s");
        assert!(sql.contains(
            "to_hex(md5(to_utf8(coalesce(cast(id as varchar), '') || '|' || coalesce(cast(updated_at as varchar), '')))) as dbt_scd_id"
        ));
        assert!(sql.contains("coalesce(nullif(updated_at, updated_at), null) as dbt_valid_to"));
        assert!(sql.ends_with(") sbq"));
    }

    #[test]
    fn a_table_without_the_snapshot_columns_is_refused() {
        let error = timestamp()
            .run_sql("select 1", "t", &[column("id")], &["id".into()], &[])
            .unwrap_err();
        assert!(
            error.contains("dbt_scd_id, dbt_valid_from, dbt_valid_to"),
            "{error}"
        );
    }

    #[test]
    fn check_on_a_column_the_table_lacks_changes_every_row() {
        let snapshot = Snapshot {
            strategy: SnapshotStrategy::Check {
                check_cols: CheckCols::All,
                updated_at: None,
            },
            ..timestamp()
        };
        let target: Vec<ColumnInfo> = ["id", "dbt_scd_id", "dbt_valid_from", "dbt_valid_to"]
            .map(column)
            .to_vec();
        let run = snapshot
            .run_sql(
                "q",
                "t",
                &target,
                &["id".into(), "new".into()],
                &["id".into(), "new".into()],
            )
            .unwrap();
        assert!(run.table_sql.contains("(TRUE)"));
        // The new column is added at the end, null in the old rows.
        assert!(run.table_sql.contains("null as \"new\""));
    }
}
