//! Data safety of the embedded engine: owner markers, materialization changes in one catalog
//! write, exactly-once incremental runs, and removal of what interrupted builds left behind.
//! (The kill points themselves are exercised with a real provider and Terraform in the
//! acceptance suite's fault tests.)

use std::collections::BTreeMap;

use mdw_engine::{
    DropRelation, Engine, EngineError, IncrementalBuild, Ownership, RelationKind, TableBuild,
    ViewDefinition,
};
use mdw_engine_embedded::EmbeddedEngine;
use tempfile::TempDir;

mod common;

use common::{local, open, subdirs};

fn owned(owner: &str) -> Ownership {
    Ownership::exclusive(owner)
}

fn table(name: &str, sql: &str, owner: &str) -> TableBuild {
    TableBuild {
        database: "mdw".into(),
        name: name.into(),
        sql: sql.into(),
        ownership: owned(owner),
        ..TableBuild::default()
    }
}

fn view(name: &str, sql: &str, owner: &str) -> ViewDefinition {
    ViewDefinition {
        database: "mdw".into(),
        name: name.into(),
        sql: sql.into(),
        ownership: owned(owner),
        ..ViewDefinition::default()
    }
}

async fn count(engine: &EmbeddedEngine, relation: &str) -> String {
    let result = engine
        .query(&format!("select count(*) as n from {relation}"), 1)
        .await
        .expect("count rows");
    result.rows[0]["n"].clone().expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_owned_by_another_resource_is_neither_replaced_nor_dropped() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    let first = engine
        .build_table(&table("t", "select 1 as x", "root-a"))
        .await
        .unwrap();
    let described = engine.describe("mdw", "t").await.unwrap().unwrap();
    assert_eq!(described.owner.as_deref(), Some("root-a"));
    assert!(
        described.table_properties.is_empty(),
        "{:?}",
        described.table_properties
    );

    // Another root, and a caller that tracks no owner, are both refused.
    for ownership in [owned("root-b"), Ownership::default()] {
        let mut other = table("t", "select 2 as x", "unused");
        other.ownership = ownership;
        let err = engine.build_table(&other).await.unwrap_err();
        assert!(matches!(err, EngineError::NotOwned { .. }), "{err}");
        assert!(err.to_string().contains("terraform import"), "{err}");
    }
    let err = engine
        .create_view(&view("t", "select 3 as x", "root-b"))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotOwned { .. }), "{err}");
    let err = engine
        .drop_relation(&DropRelation {
            database: "mdw".into(),
            name: "t".into(),
            purge: true,
            ownership: owned("root-b"),
            ..DropRelation::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotOwned { .. }), "{err}");

    // Untouched: same data, same location.
    let after = engine.describe("mdw", "t").await.unwrap().unwrap();
    assert_eq!(after.location.as_deref(), Some(first.location.as_str()));
    let result = engine.query("select x from mdw.t", 10).await.unwrap();
    assert_eq!(result.rows[0]["x"].as_deref(), Some("1"));

    // A resource upgrading from unmarked state may adopt it only when told to.
    let mut adopt = table("legacy", "select 1 as x", "unused");
    adopt.ownership = Ownership::default();
    engine.build_table(&adopt).await.unwrap();
    let mut take = table("legacy", "select 2 as x", "root-a");
    take.ownership.accept_unmarked = true;
    engine.build_table(&take).await.unwrap();
    let legacy = engine.describe("mdw", "legacy").await.unwrap().unwrap();
    assert_eq!(legacy.owner.as_deref(), Some("root-a"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mdw_properties_cannot_be_set_by_a_model() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    let mut build = table("t", "select 1 as x", "a");
    build.table_properties = BTreeMap::from([("mdw.owner".into(), "someone".into())]);
    let err = engine.build_table(&build).await.unwrap_err();
    assert!(matches!(err, EngineError::InvalidInput(_)), "{err}");
    assert!(engine.describe("mdw", "t").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn materialization_changes_swap_in_one_write_and_a_failure_keeps_the_old_relation() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    let built = engine
        .build_table(&table("m", "select 1 as x", "a"))
        .await
        .unwrap();

    // A view whose SQL fails leaves the table as it was.
    let err = engine
        .create_view(&view("m", "select nope from mdw.missing", "a"))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Sql { .. }), "{err}");
    let still = engine.describe("mdw", "m").await.unwrap().unwrap();
    assert_eq!(still.kind, RelationKind::Table);
    assert!(local(&built.location).exists());

    // Table → view: the view replaces it, the table's files go.
    engine
        .create_view(&view("m", "select 2 as x", "a"))
        .await
        .unwrap();
    let now = engine.describe("mdw", "m").await.unwrap().unwrap();
    assert_eq!(now.kind, RelationKind::View);
    assert_eq!(now.owner.as_deref(), Some("a"));
    assert!(!local(&built.location).exists());

    // Another owner cannot take the view over; a table build of the owner can.
    let err = engine
        .build_table(&table("m", "select 3 as x", "b"))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotOwned { .. }), "{err}");
    let rebuilt = engine
        .build_table(&table("m", "select 4 as x", "a"))
        .await
        .unwrap();
    let back = engine.describe("mdw", "m").await.unwrap().unwrap();
    assert_eq!(back.kind, RelationKind::Table);
    assert_eq!(back.location.as_deref(), Some(rebuilt.location.as_str()));
    let result = engine.query("select x from mdw.m", 10).await.unwrap();
    assert_eq!(result.rows[0]["x"].as_deref(), Some("4"));
}

fn append(sql: &str, run_key: &str) -> IncrementalBuild {
    IncrementalBuild {
        table: table("events", sql, "a"),
        run_key: Some(run_key.into()),
        ..IncrementalBuild::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_run_is_applied_once_per_run_key() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    let sql = "select * from (values (1), (2)) as v(id)";
    let first = engine.incremental(&append(sql, "run-1")).await.unwrap();
    assert!(!first.replayed);
    assert_eq!(count(&engine, "mdw.events").await, "2");

    // The first run retried (its commit happened, Terraform never heard): nothing added.
    let retried = engine.incremental(&append(sql, "run-1")).await.unwrap();
    assert!(retried.replayed);
    assert_eq!(count(&engine, "mdw.events").await, "2");

    // The next run appends, and its retry does not.
    let second = engine.incremental(&append(sql, "run-2")).await.unwrap();
    assert!(!second.replayed);
    assert_eq!(second.rows_written, 2);
    assert_eq!(count(&engine, "mdw.events").await, "4");
    let again = engine.incremental(&append(sql, "run-2")).await.unwrap();
    assert!(again.replayed);
    assert_eq!(count(&engine, "mdw.events").await, "4");

    // A merge (copy-on-write) records its key as well.
    let mut merge = append(sql, "run-3");
    merge.strategy = mdw_engine::IncrementalStrategy::Merge;
    merge.unique_key = vec!["id".into()];
    engine.incremental(&merge).await.unwrap();
    let merged = count(&engine, "mdw.events").await;
    assert!(engine.incremental(&merge).await.unwrap().replayed);
    assert_eq!(count(&engine, "mdw.events").await, merged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builds_remove_what_interrupted_builds_left_and_keep_newer_ones() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    let first = engine
        .build_table(&table("t", "select 1 as x", "a"))
        .await
        .unwrap();
    let table_root = local(&first.location).parent().unwrap().to_path_buf();
    // What a build killed before its swap leaves: a directory nothing references. One from
    // before this build started (an old v4 id) and one "from the future" (a build that may
    // still commit).
    let orphan = table_root.join(uuid_v4());
    std::fs::create_dir_all(orphan.join("data")).unwrap();
    std::fs::write(orphan.join("data/part.parquet"), b"x").unwrap();
    let next = engine
        .build_table(&table("t", "select 2 as x", "a"))
        .await
        .unwrap();
    // A v7 id from after every build here (year 2527): a build started later than the one
    // sweeping.
    let newer = table_root.join("0fffffff-ffff-7000-8000-000000000000");
    std::fs::create_dir_all(&newer).unwrap();
    let kept = subdirs(&table_root);
    assert!(!orphan.exists(), "{kept:?}");
    assert!(!local(&first.location).exists(), "{kept:?}");
    assert!(local(&next.location).exists());

    let last = engine
        .build_table(&table("t", "select 3 as x", "a"))
        .await
        .unwrap();
    let remaining = subdirs(&table_root);
    assert!(
        newer.exists(),
        "a newer build's directory must stay: {remaining:?}"
    );
    assert_eq!(remaining.len(), 2, "{remaining:?}");
    assert!(local(&last.location).exists());

    // An append that died before its commit leaves data/<id>/: the next append removes it.
    let sql = "select 1 as id";
    engine.incremental(&append(sql, "r1")).await.unwrap();
    let events = engine.describe("mdw", "events").await.unwrap().unwrap();
    let data = local(events.location.as_deref().unwrap()).join("data");
    let failed_append = data.join(uuid_v4());
    std::fs::create_dir_all(&failed_append).unwrap();
    std::fs::write(failed_append.join("part.parquet"), b"x").unwrap();
    let before: Vec<String> = subdirs(&data);
    engine.incremental(&append(sql, "r2")).await.unwrap();
    engine.incremental(&append(sql, "r3")).await.unwrap();
    assert!(
        !failed_append.exists(),
        "{before:?} -> {:?}",
        subdirs(&data)
    );
    assert_eq!(count(&engine, "mdw.events").await, "3");
}

fn uuid_v4() -> String {
    // A v4 id as builds before UUIDv7 wrote them (age unknown: counts as old).
    "0f8fad5b-d9cb-469f-a165-70867728950e".to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_interrupted_after_the_catalog_write_is_finished_when_the_engine_opens() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    let built = engine
        .build_table(&table("gone", "select 1 as x", "a"))
        .await
        .unwrap();
    let kept = engine
        .build_table(&table("kept", "select 1 as x", "a"))
        .await
        .unwrap();
    // What a drop killed after the catalog write leaves: the journal entry and the files.
    let warehouse = dir.path().join("warehouse");
    let journal = |location: &str, name: &str| {
        let entry = warehouse
            .join(".mdw-trash")
            .join(format!("entry-of-{name}"));
        std::fs::create_dir_all(&entry).unwrap();
        std::fs::write(entry.join("entry"), format!("mdw\n{name}\n{location}\n")).unwrap();
        entry
    };
    let gone_entry = journal(&built.location, "gone");
    engine
        .drop_relation(&DropRelation {
            database: "mdw".into(),
            name: "gone".into(),
            purge: false,
            ownership: owned("a"),
            ..DropRelation::default()
        })
        .await
        .unwrap();
    assert!(local(&built.location).exists());
    // An entry for a table the catalog still names there (its drop never got that far).
    let kept_entry = journal(&kept.location, "kept");
    drop(engine);

    let reopened = open(dir.path()).await;
    assert!(!local(&built.location).exists());
    assert!(!gone_entry.exists());
    assert!(local(&kept.location).exists());
    assert!(kept_entry.exists());
    assert_eq!(count(&reopened, "mdw.kept").await, "1");
    let drop = DropRelation {
        database: "mdw".into(),
        name: "kept".into(),
        purge: true,
        ownership: owned("a"),
        ..DropRelation::default()
    };
    assert!(reopened.drop_relation(&drop).await.unwrap());
    assert!(!local(&kept.location).exists());
}
