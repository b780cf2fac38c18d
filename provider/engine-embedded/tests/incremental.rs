//! Incremental runs of the embedded engine against a real warehouse: append, merge, schema
//! changes and predicates.

mod common;

use common::*;
use mdw_engine::{EngineError, IncrementalBuild, IncrementalStrategy, OnSchemaChange};
use tempfile::TempDir;

fn incremental(sql: &str, strategy: IncrementalStrategy) -> IncrementalBuild {
    IncrementalBuild {
        table: table("events", sql),
        strategy,
        ..IncrementalBuild::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_append_adds_rows_in_place() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;

    let first = engine
        .incremental(&incremental(
            "select 1 as id, 'a' as val",
            IncrementalStrategy::Append,
        ))
        .await
        .unwrap();
    assert_eq!(first.row_count, 1);
    let second = engine
        .incremental(&incremental(
            "select * from (values (2, 'b'), (3, 'c')) as v(id, val)",
            IncrementalStrategy::Append,
        ))
        .await
        .unwrap();
    assert_eq!(second.location, first.location, "append keeps the table");
    assert_ne!(second.snapshot_id, first.snapshot_id);
    assert_eq!(second.rows_written, 2);
    assert_eq!(second.row_count, 3);
    let new_files = files_under(&local(&first.location).join("data").join(&second.build_id));
    assert!(
        !new_files.is_empty(),
        "appended files live in the build's own directory"
    );
    let result = rows(&engine, "select id, val from mdw.events order by id").await;
    assert_eq!(
        pairs(&result, "id", "val"),
        [
            ("1".into(), "a".into()),
            ("2".into(), "b".into()),
            ("3".into(), "c".into())
        ]
    );

    // A failing append changes nothing and leaves no files.
    let before = files_under(&local(&first.location)).len();
    let failed = engine
        .incremental(&incremental(
            "select cast('x' as integer) as id, 'z' as val",
            IncrementalStrategy::Append,
        ))
        .await;
    assert!(failed.is_err());
    assert_eq!(files_under(&local(&first.location)).len(), before);
    let described = engine.describe("mdw", "events").await.unwrap().unwrap();
    assert_eq!(described.snapshot_id, second.snapshot_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_on_an_existing_table_use_the_incremental_query() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    // What dbt's `{% if is_incremental() %} where id > (select max(id) from {{ this }}) {% endif %}`
    // renders to: only rows newer than the table's. The first run cannot use it (the table
    // does not exist yet), later runs must, or every run appends everything again.
    let source = |ids: &str| {
        format!("select id, 'v' || cast(id as varchar) as val from unnest([{ids}]) as t(id)")
    };
    let build = |ids: &str| IncrementalBuild {
        incremental_sql: Some(format!(
            "select * from ({}) where id > (select max(id) from \"awsdatacatalog\".\"mdw\".\"events\")",
            source(ids)
        )),
        ..incremental(&source(ids), IncrementalStrategy::Append)
    };
    let first = engine.incremental(&build("1, 2")).await.unwrap();
    assert_eq!(first.row_count, 2);
    let second = engine.incremental(&build("1, 2, 3")).await.unwrap();
    assert_eq!((second.rows_written, second.row_count), (1, 3));
    let ids = rows(&engine, "select id, val from mdw.events order by id").await;
    assert_eq!(
        pairs(&ids, "id", "val"),
        [("1", "v1"), ("2", "v2"), ("3", "v3")].map(|(a, b)| (a.to_string(), b.to_string()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_merge_updates_matching_keys_and_inserts_the_rest() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    let sql =
        "select * from (values (1, 'a', 'x'), (2, 'b', 'x'), (3, 'c', 'x')) as v(id, val, note)";
    let mut build = incremental(sql, IncrementalStrategy::Merge);
    build.unique_key = vec!["id".into()];
    let first = engine.incremental(&build).await.unwrap();

    build.table.sql =
        "select * from (values (2, 'B', 'y'), (4, 'd', 'y')) as v(id, val, note)".into();
    build.merge_exclude_columns = vec!["note".into()];
    let merged = engine.incremental(&build).await.unwrap();
    assert_ne!(merged.location, first.location, "copy-on-write rebuild");
    assert!(!local(&first.location).exists());
    assert_eq!(merged.row_count, 4);
    let result = rows(&engine, "select id, val, note from mdw.events order by id").await;
    assert_eq!(
        pairs(&result, "id", "val"),
        [
            ("1".into(), "a".into()),
            ("2".into(), "B".into()),
            ("3".into(), "c".into()),
            ("4".into(), "d".into())
        ]
    );
    // Excluded column keeps the old value on a match, takes the new one on insert.
    assert_eq!(
        pairs(&result, "id", "note"),
        [
            ("1".into(), "x".into()),
            ("2".into(), "x".into()),
            ("3".into(), "x".into()),
            ("4".into(), "y".into())
        ]
    );

    build.unique_key.clear();
    let missing_key = engine.incremental(&build).await.unwrap_err();
    assert!(
        matches!(missing_key, EngineError::InvalidInput(_)),
        "{missing_key}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_schema_change_fail_and_append_new_columns() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    let mut build = incremental("select 1 as id, 'a' as val", IncrementalStrategy::Append);
    engine.incremental(&build).await.unwrap();

    build.table.sql = "select 2 as id, 'b' as val, 10 as score".into();
    build.on_schema_change = OnSchemaChange::Fail;
    match engine.incremental(&build).await.unwrap_err() {
        EngineError::SchemaChanged { added, removed, .. } => {
            assert_eq!(added, ["score"]);
            assert!(removed.is_empty());
        }
        other => panic!("expected SchemaChanged, got {other:?}"),
    }
    assert_eq!(rows(&engine, "select * from mdw.events").await.len(), 1);

    build.on_schema_change = OnSchemaChange::AppendNewColumns;
    let out = engine.incremental(&build).await.unwrap();
    let names: Vec<&str> = out.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "val", "score"]);
    let result = rows(&engine, "select id, score from mdw.events order by id").await;
    assert_eq!(
        pairs(&result, "id", "score"),
        [("1".into(), "NULL".into()), ("2".into(), "10".into())]
    );

    // ignore: the new column is dropped, the table keeps its columns.
    build.table.sql = "select 3 as id, 'c' as val, 30 as score, true as flag".into();
    build.on_schema_change = OnSchemaChange::Ignore;
    let ignored = engine.incremental(&build).await.unwrap();
    assert_eq!(ignored.columns.len(), 3);
    assert_eq!(ignored.row_count, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_all_columns_and_merge_predicates() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    let mut build = incremental(
        "select * from (values (1, 'a', 1), (2, 'b', 1)) as v(id, val, version)",
        IncrementalStrategy::Merge,
    );
    build.unique_key = vec!["id".into()];
    engine.incremental(&build).await.unwrap();

    // Only rows whose new version is higher replace the old ones (dbt-athena's aliases).
    build.table.sql =
        "select * from (values (1, 'A', 2), (2, 'B', 0), (3, 'c', 1)) as v(id, val, version)"
            .into();
    build.incremental_predicates = vec!["src.version > target.version".into()];
    engine.incremental(&build).await.unwrap();
    let result = rows(&engine, "select id, val from mdw.events order by id, val").await;
    assert_eq!(
        pairs(&result, "id", "val"),
        [
            ("1".into(), "A".into()),
            ("2".into(), "B".into()),
            ("2".into(), "b".into()),
            ("3".into(), "c".into())
        ],
        "id 2 did not match the predicate, so it is inserted as a new row (MERGE semantics)"
    );

    // sync_all_columns: `version` goes, `label` comes, `id` changes type.
    build.incremental_predicates.clear();
    build.on_schema_change = OnSchemaChange::SyncAllColumns;
    build.table.sql = "select cast(4 as integer) as id, 'd' as val, 'new' as label".into();
    let synced = engine.incremental(&build).await.unwrap();
    let types: Vec<(&str, &str)> = synced
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.data_type.as_str()))
        .collect();
    assert_eq!(
        types,
        [("id", "integer"), ("val", "varchar"), ("label", "varchar")]
    );
    assert_eq!(synced.row_count, 5);
}
