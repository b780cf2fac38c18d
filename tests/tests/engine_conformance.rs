//! One conformance suite every engine must pass, through the `Engine` trait: the embedded
//! engine on local disk, the embedded engine on Glue + S3 (moto), and the Athena engine (moto
//! behind the proxy that applies Athena's catalog effects; moto runs no SQL, so on Athena the
//! cases check what the catalog says, not query results).
//!
//! Each case is a function over a `Subject`; `conformance!` runs every case on every engine.

use std::future::Future;
use std::sync::Arc;

use mdw_acceptance::{AthenaProxy, Aws, Moto};
use mdw_engine::{
    DropRelation, Engine, EngineError, IncrementalBuild, Ownership, RelationKind, TableBuild,
    ViewDefinition,
};
use mdw_engine_athena::{AthenaEngine, AthenaSettings};
use mdw_engine_embedded::{CatalogConfig, EmbeddedEngine, GlueSettings, StaticCredentials};
use tempfile::TempDir;

const DATABASE: &str = "conform";
const WORKGROUP: &str = "mdw";
const BUCKET: &str = "lake";

/// An engine under test with what keeps it alive.
struct Subject {
    engine: Arc<dyn Engine>,
    /// False on Athena through moto: no query returns data.
    runs_sql: bool,
    _moto: Option<Moto>,
    _proxy: Option<AthenaProxy>,
    _dir: Option<TempDir>,
    runtime: tokio::runtime::Runtime,
}

impl Subject {
    fn run<F: Future>(&self, work: F) -> F::Output {
        self.runtime.block_on(work)
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn create_bucket(aws: &Aws) {
    aws.block_on(
        aws.s3()
            .create_bucket()
            .bucket(BUCKET)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
                    .build(),
            )
            .send(),
    )
    .expect("creating the lake bucket");
}

fn embedded_local() -> Subject {
    let dir = TempDir::new().unwrap();
    let runtime = runtime();
    let engine = runtime
        .block_on(EmbeddedEngine::open(
            &dir.path().join("w"),
            "awsdatacatalog",
        ))
        .expect("opening the local warehouse");
    Subject {
        engine: Arc::new(engine),
        runs_sql: true,
        _moto: None,
        _proxy: None,
        _dir: Some(dir),
        runtime,
    }
}

fn embedded_glue() -> Subject {
    let moto = Moto::start();
    let aws = moto.aws();
    create_bucket(&aws);
    let runtime = runtime();
    let settings = GlueSettings {
        warehouse: format!("s3://{BUCKET}/warehouse"),
        region: mdw_acceptance::REGION.to_string(),
        glue_endpoint: Some(moto.endpoint()),
        s3_endpoint: Some(moto.endpoint()),
        credentials: Some(StaticCredentials {
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
            session_token: None,
        }),
        glue: aws.glue(),
        s3: aws.s3(),
    };
    let engine = runtime
        .block_on(EmbeddedEngine::open_with(
            CatalogConfig::Glue(settings),
            "awsdatacatalog",
        ))
        .expect("opening the embedded engine on Glue");
    Subject {
        engine: Arc::new(engine),
        runs_sql: true,
        _moto: Some(moto),
        _proxy: None,
        _dir: None,
        runtime,
    }
}

fn athena() -> Subject {
    let moto = Moto::start();
    let proxy = AthenaProxy::start(&moto);
    let aws = Aws::new(&proxy.endpoint());
    aws.block_on(
        aws.athena()
            .create_work_group()
            .name(WORKGROUP)
            .configuration(
                aws_sdk_athena::types::WorkGroupConfiguration::builder()
                    .result_configuration(
                        aws_sdk_athena::types::ResultConfiguration::builder()
                            .output_location("s3://results/athena/")
                            .build(),
                    )
                    .build(),
            )
            .send(),
    )
    .expect("creating the workgroup");
    create_bucket(&aws);
    let runtime = runtime();
    let (_stop, stop) = tokio::sync::watch::channel(false);
    let settings = AthenaSettings {
        workgroup: WORKGROUP.into(),
        catalog: "awsdatacatalog".into(),
        output_location: None,
        data_location: Some(format!("s3://{BUCKET}/warehouse")),
    };
    let engine = runtime
        .block_on(AthenaEngine::open(
            aws.athena(),
            aws.glue(),
            aws.s3(),
            settings,
            stop,
        ))
        .expect("opening the Athena engine");
    // Athena builds into an existing schema (the provider's mdw_glue_database makes it).
    runtime
        .block_on(engine.ensure_database(DATABASE))
        .expect("creating the database");
    Subject {
        engine: Arc::new(engine),
        runs_sql: false,
        _moto: Some(moto),
        _proxy: Some(proxy),
        _dir: None,
        runtime,
    }
}

fn table(name: &str, sql: &str, owner: &str) -> TableBuild {
    TableBuild {
        database: DATABASE.into(),
        name: name.into(),
        sql: sql.into(),
        ownership: Ownership::exclusive(owner),
        ..TableBuild::default()
    }
}

fn view(name: &str, sql: &str, owner: &str) -> ViewDefinition {
    ViewDefinition {
        database: DATABASE.into(),
        name: name.into(),
        sql: sql.into(),
        ownership: Ownership::exclusive(owner),
        ..ViewDefinition::default()
    }
}

fn drop_of(name: &str, owner: &str) -> DropRelation {
    DropRelation {
        database: DATABASE.into(),
        name: name.into(),
        purge: true,
        ownership: Ownership::exclusive(owner),
        ..DropRelation::default()
    }
}

fn is_not_owned(result: Result<impl std::fmt::Debug, EngineError>) -> bool {
    matches!(result, Err(EngineError::NotOwned { .. }))
}

// ---- cases --------------------------------------------------------------------------------

fn builds_and_rebuilds_in_place(s: &Subject) {
    let e = &s.engine;
    let first = s
        .run(e.build_table(&table("t", "select 1 as id", "a")))
        .unwrap();
    let described = s.run(e.describe(DATABASE, "t")).unwrap().unwrap();
    assert_eq!(described.kind, RelationKind::Table);
    assert_eq!(described.owner.as_deref(), Some("a"));
    assert_eq!(described.location.as_deref(), Some(first.location.as_str()));
    let second = s
        .run(e.build_table(&table("t", "select 2 as id", "a")))
        .unwrap();
    assert_ne!(second.location, first.location);
    let described = s.run(e.describe(DATABASE, "t")).unwrap().unwrap();
    assert_eq!(
        described.location.as_deref(),
        Some(second.location.as_str())
    );
    if s.runs_sql {
        let rows = s.run(e.query("select id from conform.t", 10)).unwrap().rows;
        assert_eq!(rows[0]["id"].as_deref(), Some("2"));
    }
}

fn refuses_a_foreign_owner(s: &Subject) {
    let e = &s.engine;
    let built = s
        .run(e.build_table(&table("t", "select 1 as id", "a")))
        .unwrap();
    assert!(is_not_owned(s.run(e.build_table(&table(
        "t",
        "select 2 as id",
        "b"
    )))));
    assert!(is_not_owned(s.run(e.create_view(&view(
        "t",
        "select 3 as id",
        "b"
    )))));
    assert!(is_not_owned(s.run(e.drop_relation(&drop_of("t", "b")))));
    let mut untracked = table("t", "select 4 as id", "x");
    untracked.ownership = Ownership::default();
    assert!(is_not_owned(s.run(e.build_table(&untracked))));
    let described = s.run(e.describe(DATABASE, "t")).unwrap().unwrap();
    assert_eq!(described.owner.as_deref(), Some("a"));
    assert_eq!(described.location.as_deref(), Some(built.location.as_str()));
}

fn changes_materialization_without_a_gap(s: &Subject) {
    let e = &s.engine;
    s.run(e.build_table(&table("m", "select 1 as id", "a")))
        .unwrap();
    s.run(e.create_view(&view("m", "select 2 as id", "a")))
        .unwrap();
    let described = s.run(e.describe(DATABASE, "m")).unwrap().unwrap();
    assert_eq!(described.kind, RelationKind::View);
    assert_eq!(described.owner.as_deref(), Some("a"));
    s.run(e.build_table(&table("m", "select 3 as id", "a")))
        .unwrap();
    let described = s.run(e.describe(DATABASE, "m")).unwrap().unwrap();
    assert_eq!(described.kind, RelationKind::Table);
    assert_eq!(described.owner.as_deref(), Some("a"));
    s.run(e.create_view(&view("m", "select 4 as id", "a")))
        .unwrap();
    assert!(is_not_owned(s.run(e.create_view(&view(
        "m",
        "select 5 as id",
        "b"
    )))));
    if s.runs_sql {
        let rows = s.run(e.query("select id from conform.m", 10)).unwrap().rows;
        assert_eq!(rows[0]["id"].as_deref(), Some("4"));
    }
}

fn drops_only_its_own(s: &Subject) {
    let e = &s.engine;
    s.run(e.build_table(&table("d", "select 1 as id", "a")))
        .unwrap();
    s.run(e.create_view(&view("dv", "select 1 as id", "a")))
        .unwrap();
    assert!(s.run(e.drop_relation(&drop_of("d", "a"))).unwrap());
    assert!(s.run(e.drop_relation(&drop_of("dv", "a"))).unwrap());
    assert!(s.run(e.describe(DATABASE, "d")).unwrap().is_none());
    assert!(s.run(e.describe(DATABASE, "dv")).unwrap().is_none());
    assert!(!s.run(e.drop_relation(&drop_of("d", "a"))).unwrap());
}

fn applies_an_incremental_run_once(s: &Subject) {
    let e = &s.engine;
    let run = |key: &str| IncrementalBuild {
        table: table("inc", "select 1 as id", "a"),
        run_key: Some(key.into()),
        ..IncrementalBuild::default()
    };
    assert!(!s.run(e.incremental(&run("k1"))).unwrap().replayed);
    assert!(s.run(e.incremental(&run("k1"))).unwrap().replayed);
    assert!(!s.run(e.incremental(&run("k2"))).unwrap().replayed);
    assert!(s.run(e.incremental(&run("k2"))).unwrap().replayed);
    if s.runs_sql {
        let rows = s
            .run(e.query("select count(*) as n from conform.inc", 1))
            .unwrap()
            .rows;
        assert_eq!(rows[0]["n"].as_deref(), Some("2"));
    }
}

fn refuses_bad_input_before_running_anything(s: &Subject) {
    let e = &s.engine;
    let mut reserved = table("bad", "select 1 as id", "a");
    reserved.table_properties = [("mdw.owner".to_string(), "b".to_string())].into();
    for bad in [
        reserved,
        table("bad", "drop table conform.t", "a"),
        table("bad", "select 1; select 2", "a"),
        table("bad", "-- nothing", "a"),
    ] {
        let err = s.run(e.build_table(&bad)).unwrap_err();
        assert!(matches!(err, EngineError::InvalidInput(_)), "{err}");
    }
    assert!(s.run(e.describe(DATABASE, "bad")).unwrap().is_none());
}

/// One listing gives each relation's version, as its build and `describe` report it; a
/// rebuild, a changed view and a drop each show in the next listing.
fn lists_relation_versions(s: &Subject) {
    let e = &s.engine;
    let listed = |s: &Subject| {
        s.run(e.relation_versions(DATABASE))
            .unwrap()
            .expect("every engine lists versions")
    };
    let built = s
        .run(e.build_table(&table("v_t", "select 1 as id", "a")))
        .unwrap();
    let mut definition = view("v_v", "select 1 as id", "a");
    let created = s.run(e.create_view(&definition)).unwrap();
    let versions = listed(s);
    let table_version = s.run(e.describe(DATABASE, "v_t")).unwrap().unwrap().version;
    let view_version = s.run(e.describe(DATABASE, "v_v")).unwrap().unwrap().version;
    assert!(table_version.is_some() && view_version.is_some());
    assert_eq!(versions.get("v_t"), table_version.as_ref());
    assert_eq!(versions.get("v_v"), view_version.as_ref());
    // What a build reports, when it reports it, is what the listing says.
    assert_eq!(built.version, table_version);
    if created.version.is_some() {
        assert_eq!(created.version, view_version);
    }

    s.run(e.build_table(&table("v_t", "select 2 as id", "a")))
        .unwrap();
    definition.description = Some("changed".into());
    s.run(e.create_view(&definition)).unwrap();
    let changed = listed(s);
    assert_ne!(changed.get("v_t"), versions.get("v_t"));
    assert_ne!(changed.get("v_v"), versions.get("v_v"));
    s.run(e.drop_relation(&drop_of("v_t", "a"))).unwrap();
    assert!(!listed(s).contains_key("v_t"));
}

/// Rows (Athena's structs) are stored, read by field, and expanded by UNNEST one column per
/// field; a row whose fields have no name cannot be stored. Athena runs the SQL as written
/// (moto runs none), so the case is the embedded engine's on both catalogs.
fn stores_rows_and_unnests_them(s: &Subject) {
    if !s.runs_sql {
        return;
    }
    let e = &s.engine;
    let item = "row(sku varchar, qty integer)";
    let sql = format!(
        "select 1 as id, cast(row('x', 1) as row(city varchar, zip integer)) as address, \
         array[cast(row('a', 2) as {item}), cast(row('b', 3) as {item})] as items"
    );
    s.run(e.build_table(&table("orders", &sql, "a"))).unwrap();
    let rows = s
        .run(e.query(
            "select o.id, o.address.city, t.sku, t.qty, t.n from conform.orders o \
             cross join unnest(o.items) with ordinality as t(sku, qty, n) order by t.n",
            10,
        ))
        .unwrap()
        .rows;
    let got: Vec<Vec<Option<&str>>> = rows
        .iter()
        .map(|r| {
            ["id", "city", "sku", "qty", "n"]
                .iter()
                .map(|c| r[*c].as_deref())
                .collect()
        })
        .collect();
    assert_eq!(
        got,
        vec![
            vec![Some("1"), Some("x"), Some("a"), Some("2"), Some("1")],
            vec![Some("1"), Some("x"), Some("b"), Some("3"), Some("2")],
        ]
    );
    let unnamed = s.run(e.build_table(&table("anon", "select row(1, 'a') as r", "a")));
    let message = format!("{unnamed:?}");
    assert!(
        matches!(unnamed, Err(EngineError::InvalidInput(_))) && message.contains("unnamed fields"),
        "{message}"
    );
    assert!(s.run(e.describe(DATABASE, "anon")).unwrap().is_none());
}

/// dbt hooks run as one statement each: Athena's Iceberg maintenance on every engine (the
/// embedded one checks the table and has nothing else to do); other statements are checked at
/// plan by the engine that cannot run them, and go to Athena as written.
fn runs_hooks(s: &Subject) {
    let e = &s.engine;
    s.run(e.build_table(&table("hooked", "select 1 as id", "a")))
        .unwrap();
    let catalog = e.catalog_name().to_string();
    for hook in [
        format!("OPTIMIZE \"{catalog}\".\"conform\".\"hooked\" REWRITE DATA USING BIN_PACK"),
        "VACUUM conform.hooked;".to_string(),
    ] {
        e.check_statement(&hook).unwrap();
        s.run(e.run_statement(&hook)).unwrap();
    }
    let insert = "insert into conform.hooked select 2";
    if s.runs_sql {
        assert!(matches!(
            e.check_statement(insert),
            Err(EngineError::Unsupported(_))
        ));
        let missing = s.run(e.run_statement("VACUUM conform.missing"));
        assert!(
            format!("{missing:?}").contains("does not exist"),
            "{missing:?}"
        );
        // OPTIMIZE's predicate reads the table's columns, as on Athena.
        s.run(e.run_statement("OPTIMIZE conform.hooked REWRITE DATA USING BIN_PACK WHERE id = 1"))
            .unwrap();
        let unknown = s.run(
            e.run_statement("OPTIMIZE conform.hooked REWRITE DATA USING BIN_PACK WHERE nosuch = 1"),
        );
        assert!(unknown.is_err(), "{unknown:?}");
    } else {
        e.check_statement(insert).unwrap();
        s.run(e.run_statement(insert)).unwrap();
    }
}

/// A dbt snapshot (check strategy, hard deletes invalidated) through
/// `mdw_engine::snapshot::run`: the first run stamps every row, a later one closes the changed
/// and deleted rows' versions and adds the new ones, in one table build. Moto runs no SQL, so
/// the case is the embedded engine's on both catalogs.
fn snapshots_keep_history(s: &Subject) {
    use mdw_engine::snapshot::{
        CheckCols, HardDeletes, Snapshot, SnapshotColumns, SnapshotStrategy,
    };
    if !s.runs_sql {
        return;
    }
    let e = &s.engine;
    let snapshot = Snapshot {
        unique_key: vec!["id".into()],
        strategy: SnapshotStrategy::Check {
            check_cols: CheckCols::Listed(vec!["status".into()]),
            updated_at: None,
        },
        hard_deletes: HardDeletes::Invalidate,
        valid_to_current: None,
        columns: SnapshotColumns::default(),
    };
    let orders = |rows: &str| table("snap_orders", rows, "a");
    let run = || {
        s.run(mdw_engine::snapshot::run(
            e.as_ref(),
            &snapshot,
            table("snap", "select id, status from conform.snap_orders", "a"),
        ))
        .unwrap()
    };
    s.run(e.build_table(&orders(
        "select * from (values (1, 'new'), (2, 'new')) as t(id, status)",
    )))
    .unwrap();
    run();
    s.run(e.build_table(&orders("select 1 as id, 'shipped' as status")))
        .unwrap();
    run();
    // The same rows again: nothing changes.
    run();
    let rows = s
        .run(e.query(
            "select cast(id as varchar) || ':' || status || ':' || \
             case when dbt_valid_to is null then 'open' else 'closed' end as line \
             from conform.snap order by id, dbt_valid_from",
            10,
        ))
        .unwrap()
        .rows;
    let lines: Vec<&str> = rows.iter().filter_map(|r| r["line"].as_deref()).collect();
    assert_eq!(lines, ["1:new:closed", "1:shipped:open", "2:new:closed"]);
}

/// A merge where one existing row matches two new rows fails and writes nothing, as Athena's
/// MERGE does; two existing rows matching one new row are both updated. Moto runs no SQL, so
/// the case is the embedded engine's on both catalogs.
fn merge_refuses_a_row_matched_twice(s: &Subject) {
    if !s.runs_sql {
        return;
    }
    let e = &s.engine;
    let merge = |sql: &str| IncrementalBuild {
        table: table("merged", sql, "a"),
        strategy: mdw_engine::IncrementalStrategy::Merge,
        unique_key: vec!["id".into()],
        ..IncrementalBuild::default()
    };
    s.run(e.incremental(&merge(
        "select * from (values (1, 'a'), (1, 'b')) as t(id, v)",
    )))
    .unwrap();
    s.run(e.incremental(&merge("select 1 as id, 'c' as v")))
        .unwrap();
    let twice = s.run(e.incremental(&merge(
        "select * from (values (1, 'd'), (1, 'e')) as t(id, v)",
    )));
    let message = format!("{twice:?}");
    assert!(message.contains("more than one new row"), "{message}");
    let rows = s
        .run(e.query("select v from conform.merged order by v", 10))
        .unwrap()
        .rows;
    let values: Vec<&str> = rows.iter().filter_map(|r| r["v"].as_deref()).collect();
    assert_eq!(values, ["c", "c"]);
}

/// A microbatch model's first build over a view: its first batch creates the table and the
/// next ones read it as `this` (as dbt's batches do); a failed batch drops the partly built
/// table. A later run merges its window.
fn microbatch_first_builds_fail_whole(s: &Subject) {
    use mdw_engine::microbatch::{self, BatchSize, Microbatch};
    if !s.runs_sql {
        return;
    }
    let e = &s.engine;
    let at = |text: &str| microbatch::parse_timestamp(text).unwrap();
    s.run(e.build_table(&table(
        "mb_events",
        "select * from (values (1, 'x', timestamp '2024-09-15 08:00:00'), (2, 'y', timestamp '2024-09-16 08:00:00')) as t(id, v, ts)",
        "a",
    )))
    .unwrap();
    s.run(e.create_view(&view("mb", "select 0 as id", "a")))
        .unwrap();
    let read = "select id, v, '__mdw_batch_id__' as batch from (select * from conform.mb_events \
                where cast(ts as timestamp) >= timestamp '__mdw_batch_start__' \
                and cast(ts as timestamp) < timestamp '__mdw_batch_end__') e";
    // `is_incremental()`: only rows `this` does not hold yet.
    let incremental = format!(
        "{read} where not exists (select 1 from conform.mb m where m.id = e.id and m.v = e.v)"
    );
    let build = |sql: &str| IncrementalBuild {
        table: table("mb", sql, "a"),
        incremental_sql: Some(incremental.clone()),
        unique_key: vec!["id".into()],
        ..IncrementalBuild::default()
    };
    let settings = Microbatch {
        batch_size: BatchSize::Day,
        begin: at("2024-09-15"),
        lookback: 0,
        event_time_start: None,
        event_time_end: Some(at("2024-09-17")),
    };
    let now = at("2030-01-01");
    // The second batch divides by zero: the table the first one built goes.
    let failing = IncrementalBuild {
        incremental_sql: Some(incremental.replace(
            "select id, v,",
            "select id, v || cast(1 / (case when '__mdw_batch_id__' = '20240916' then 0 else 1 end) as varchar) as v,",
        )),
        ..build(read)
    };
    let failed = s.run(microbatch::run(e.as_ref(), &settings, &failing, now));
    let failure = failed.expect_err("the division fails");
    assert_eq!(
        failure.batch.map(|b| b.to_string()).as_deref(),
        Some("2024-09-16")
    );
    assert!(
        failure.to_string().contains("nothing was kept"),
        "{failure}"
    );
    assert!(s.run(e.describe(DATABASE, "mb")).unwrap().is_none());

    let done = s
        .run(microbatch::run(e.as_ref(), &settings, &build(read), now))
        .unwrap();
    assert_eq!(done.batches.len(), 2);
    s.run(e.build_table(&table(
        "mb_events",
        "select * from (values (1, 'x2', timestamp '2024-09-15 08:00:00'), (2, 'y2', timestamp '2024-09-16 08:00:00')) as t(id, v, ts)",
        "a",
    )))
    .unwrap();
    // The table exists: lookback 0 runs the 16th alone.
    s.run(microbatch::run(e.as_ref(), &settings, &build(read), now))
        .unwrap();
    let rows = s
        .run(e.query(
            "select cast(id as varchar) || ':' || v || ':' || batch as line from conform.mb order by id",
            10,
        ))
        .unwrap()
        .rows;
    let lines: Vec<&str> = rows.iter().filter_map(|r| r["line"].as_deref()).collect();
    assert_eq!(lines, ["1:x:20240915", "2:y2:20240916"]);
}

/// Every case on one engine, as a module of tests named after the engine.
macro_rules! cases {
    ($engine:ident; [$($case:ident),*]) => {
        mod $engine {
            $(
                #[test]
                fn $case() {
                    super::$case(&super::$engine());
                }
            )*
        }
    };
}

/// Every case on every engine.
macro_rules! conformance {
    ($cases:tt; $($engine:ident),*) => {
        $( cases!($engine; $cases); )*
    };
}

conformance!(
    [
        builds_and_rebuilds_in_place,
        refuses_a_foreign_owner,
        changes_materialization_without_a_gap,
        drops_only_its_own,
        applies_an_incremental_run_once,
        refuses_bad_input_before_running_anything,
        lists_relation_versions,
        stores_rows_and_unnests_them,
        runs_hooks,
        snapshots_keep_history,
        merge_refuses_a_row_matched_twice,
        microbatch_first_builds_fail_whole
    ];
    embedded_local, embedded_glue, athena
);
