//! The embedded engine against a real warehouse in a temporary directory: DataFusion runs the
//! SQL, iceberg-rust writes Parquet + metadata to disk, the catalog is a SQLite file.

mod common;

use common::*;
use mdw_engine::{EngineError, RelationKind, ViewDefinition};
use tempfile::TempDir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builds_a_table_from_a_join_of_two_seeds_with_three_part_names() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    seed_shop(&engine, dir.path()).await;

    let built = engine
        .build_table(&table("customer_totals", TOTALS_SQL))
        .await
        .unwrap();
    assert_eq!(built.row_count, 3);
    assert_eq!(built.rows_written, 3);
    assert!(built.snapshot_id.is_some());
    let types: Vec<(&str, &str)> = built
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.data_type.as_str()))
        .collect();
    assert_eq!(
        types,
        [
            ("name", "varchar"),
            ("order_count", "bigint"),
            // Athena's type: sum(decimal(p, s)) is decimal(38, s).
            ("total", "decimal(38,2)")
        ]
    );
    assert!(
        built
            .location
            .ends_with(&format!("/mdw/customer_totals/{}", built.build_id))
    );

    let result = rows(
        &engine,
        r#"select name, total from "awsdatacatalog"."mdw"."customer_totals" order by name"#,
    )
    .await;
    assert_eq!(
        pairs(&result, "name", "total"),
        [
            ("Alice".into(), "20.00".into()),
            ("Bob".into(), "20.00".into()),
            ("Carol".into(), "5.25".into())
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_writes_a_new_location_and_purges_the_old_one() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    seed_shop(&engine, dir.path()).await;

    let first = engine
        .build_table(&table("t", "select id, name from mdw.customers"))
        .await
        .unwrap();
    let second = engine
        .build_table(&table(
            "t",
            "select id * 10 as id, upper(name) as name from mdw.customers where id < 3",
        ))
        .await
        .unwrap();
    assert_ne!(first.location, second.location);
    assert_ne!(first.build_id, second.build_id);
    assert!(second.warnings.is_empty(), "{:?}", second.warnings);
    assert!(
        !local(&first.location).exists(),
        "old location must be deleted"
    );
    assert_eq!(second.row_count, 2);
    let result = rows(&engine, "select id, name from mdw.t order by id").await;
    assert_eq!(
        pairs(&result, "id", "name"),
        [("10".into(), "ALICE".into()), ("20".into(), "BOB".into())]
    );
    // Only the current build's directory remains under the table.
    let table_dir = local(&second.location).parent().unwrap().to_path_buf();
    assert_eq!(subdirs(&table_dir), std::slice::from_ref(&second.build_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_build_leaves_the_previous_table_untouched() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    seed_shop(&engine, dir.path()).await;
    let good = engine
        .build_table(&table("t", "select id, name from mdw.customers"))
        .await
        .unwrap();
    let table_dir = local(&good.location).parent().unwrap().to_path_buf();

    // Fails while planning: DataFusion's message comes through.
    let planning = engine
        .build_table(&table("t", "select id, no_such_column from mdw.customers"))
        .await
        .unwrap_err();
    match &planning {
        EngineError::Sql { context, message } => {
            assert!(context.contains("mdw.t"), "{context}");
            assert!(message.contains("no_such_column"), "{message}");
        }
        other => panic!("expected a SQL error, got {other:?}"),
    }
    // Fails while writing (the cast fails on the data): the partial build is removed.
    let running = engine
        .build_table(&table(
            "t",
            "select cast(name as integer) as n from mdw.customers",
        ))
        .await
        .unwrap_err();
    assert!(matches!(running, EngineError::Sql { .. }), "{running:?}");
    assert!(running.to_string().contains("Alice"), "{running}");

    let after = engine.describe("mdw", "t").await.unwrap().unwrap();
    assert_eq!(after.location.as_deref(), Some(good.location.as_str()));
    assert_eq!(after.snapshot_id, good.snapshot_id);
    assert_eq!(rows(&engine, "select * from mdw.t").await.len(), 3);
    assert_eq!(subdirs(&table_dir), std::slice::from_ref(&good.build_id));
    // No staging relation was ever visible in the catalog.
    assert_eq!(
        subdirs(&dir.path().join("warehouse/mdw")),
        ["customers", "orders", "t"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_are_created_replaced_and_selectable() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    seed_shop(&engine, dir.path()).await;
    let mut view = ViewDefinition {
        database: "mdw".into(),
        name: "west_customers".into(),
        // Unqualified names resolve in the view's database.
        sql: "select id, name from customers where region = 'west'".into(),
        description: Some("customers in the west".into()),
        column_descriptions: BTreeMap::from([("name".into(), "display name".into())]),
        ..ViewDefinition::default()
    };
    let created = engine.create_view(&view).await.unwrap();
    assert_eq!(created.kind, RelationKind::View);
    assert_eq!(created.columns[1].comment.as_deref(), Some("display name"));
    let result = rows(
        &engine,
        r#"select name from "awsdatacatalog"."mdw"."west_customers" order by id"#,
    )
    .await;
    assert_eq!(result.len(), 2);

    view.sql = "select id, name from customers where region = 'east'".into();
    engine.create_view(&view).await.unwrap();
    let result = rows(&engine, "select name from mdw.west_customers").await;
    assert_eq!(value(&result[0], "name"), Some("Bob"));

    // A later model selects from the view.
    let built = engine
        .build_table(&table(
            "from_view",
            "select count(*) as n from mdw.west_customers",
        ))
        .await
        .unwrap();
    assert_eq!(built.row_count, 1);

    let described = engine
        .describe("mdw", "west_customers")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(described.kind, RelationKind::View);
    assert_eq!(described.columns.len(), 2);
    assert_eq!(
        described.description.as_deref(),
        Some("customers in the west")
    );

    // A view with a broken SQL is refused and the old definition stays.
    view.sql = "select nope from customers".into();
    assert!(engine.create_view(&view).await.is_err());
    assert_eq!(
        rows(&engine, "select * from mdw.west_customers")
            .await
            .len(),
        1
    );

    // A table built under a view's name replaces it.
    engine
        .build_table(&table("west_customers", "select 1 as x"))
        .await
        .unwrap();
    let replaced = engine
        .describe("mdw", "west_customers")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(replaced.kind, RelationKind::Table);
    assert!(
        engine
            .drop_relation(&dropping("mdw", "west_customers", true))
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_tables_are_written_per_partition() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    seed_shop(&engine, dir.path()).await;
    let mut build = table(
        "orders_by_day",
        "select o.order_id, c.region, o.ordered_at from mdw.orders o join mdw.customers c on c.id = o.customer_id",
    );
    build.partitioned_by = partitions(&["region", "day(ordered_at)"]);
    let built = engine.build_table(&build).await.unwrap();
    assert_eq!(built.row_count, 4);

    let described = engine
        .describe("mdw", "orders_by_day")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(described.partitioned_by, ["region", "day(ordered_at)"]);
    let data_files: Vec<String> = files_under(&local(&built.location).join("data"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    // west: 2024-01-01, 2024-01-02, 2024-01-03 (Alice twice on different days, Carol); east: one.
    assert_eq!(data_files.len(), 4, "{data_files:?}");
    assert!(
        data_files
            .iter()
            .any(|f| f.contains("region=west/ordered_at_day=2024-01-03")),
        "{data_files:?}"
    );
    assert!(
        data_files
            .iter()
            .any(|f| f.contains("region=east/ordered_at_day=2024-01-02")),
        "{data_files:?}"
    );
    let result = rows(
        &engine,
        "select count(*) as n from mdw.orders_by_day where region = 'west'",
    )
    .await;
    assert_eq!(value(&result[0], "n"), Some("3"));

    let mut bad = build.clone();
    bad.partitioned_by = partitions(&["bucket(missing, 4)"]);
    let error = engine.build_table(&bad).await.unwrap_err();
    assert!(error.to_string().contains("missing"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_reports_columns_and_drop_purges_files() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    assert!(engine.describe("mdw", "nothing").await.unwrap().is_none());

    let mut build = table(
        "documented",
        "select 1 as id, cast(2.5 as double) as score, current_date as d",
    );
    build.description = Some("a documented table".into());
    build.column_descriptions = BTreeMap::from([("id".into(), "the key".into())]);
    build.table_properties =
        BTreeMap::from([("write.parquet.compression-codec".into(), "zstd".into())]);
    let built = engine.build_table(&build).await.unwrap();
    let described = engine.describe("mdw", "documented").await.unwrap().unwrap();
    assert_eq!(described.kind, RelationKind::Table);
    assert_eq!(described.snapshot_id, built.snapshot_id);
    assert_eq!(described.location.as_deref(), Some(built.location.as_str()));
    assert_eq!(described.description.as_deref(), Some("a documented table"));
    assert_eq!(
        described
            .table_properties
            .get("write.parquet.compression-codec")
            .map(String::as_str),
        Some("zstd")
    );
    let columns: Vec<(&str, &str, Option<&str>)> = described
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.data_type.as_str(), c.comment.as_deref()))
        .collect();
    assert_eq!(
        columns,
        [
            // `1` is an integer literal in Athena.
            ("id", "integer", Some("the key")),
            ("score", "double", None),
            ("d", "date", None)
        ]
    );

    // Without purge: only the catalog entry goes.
    let kept = engine
        .build_table(&table("kept", "select 1 as x"))
        .await
        .unwrap();
    assert!(
        engine
            .drop_relation(&dropping("mdw", "kept", false))
            .await
            .unwrap()
    );
    assert!(engine.describe("mdw", "kept").await.unwrap().is_none());
    assert!(!files_under(&local(&kept.location)).is_empty());

    assert!(
        engine
            .drop_relation(&dropping("mdw", "documented", true))
            .await
            .unwrap()
    );
    assert!(
        engine
            .describe("mdw", "documented")
            .await
            .unwrap()
            .is_none()
    );
    assert!(!local(&built.location).exists());
    assert!(
        !engine
            .drop_relation(&dropping("mdw", "documented", true))
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_csv_infers_types_or_takes_given_ones() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    let csv = "id;Name;price;born;active;note\n1;Ann;1.5;2020-01-31;true;\n2;Ben;2.25;2021-02-01;false;hi\n";
    let path = write_file(dir.path(), "people.txt", csv);
    let inferred = engine
        .load_csv(&SeedLoad {
            database: "seeds".into(),
            name: "people".into(),
            path: path.clone(),
            delimiter: ';',
            ..SeedLoad::default()
        })
        .await
        .unwrap();
    let types: Vec<(&str, &str)> = inferred
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.data_type.as_str()))
        .collect();
    assert_eq!(
        types,
        [
            ("id", "bigint"),
            ("name", "varchar"),
            ("price", "double"),
            ("born", "date"),
            ("active", "boolean"),
            ("note", "varchar")
        ]
    );
    assert_eq!(inferred.row_count, 2);

    let given = engine
        .load_csv(&SeedLoad {
            database: "seeds".into(),
            name: "people".into(),
            path,
            delimiter: ';',
            column_types: BTreeMap::from([
                ("id".into(), sql_type("integer")),
                ("price".into(), sql_type("decimal(6,2)")),
                ("born".into(), sql_type("varchar(10)")),
            ]),
            ..SeedLoad::default()
        })
        .await
        .unwrap();
    let types: BTreeMap<&str, &str> = given
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.data_type.as_str()))
        .collect();
    assert_eq!(types["id"], "integer");
    assert_eq!(types["price"], "decimal(6,2)");
    assert_eq!(types["born"], "varchar");
    assert_ne!(given.location, inferred.location);
    let result = rows(
        &engine,
        "select id, price, note from seeds.people order by id",
    )
    .await;
    assert_eq!(
        pairs(&result, "price", "note"),
        [("1.50".into(), "NULL".into()), ("2.25".into(), "hi".into())]
    );

    let bad_type = engine
        .load_csv(&SeedLoad {
            database: "seeds".into(),
            name: "people".into(),
            path: write_file(dir.path(), "bad.csv", "id\nx\n"),
            column_types: BTreeMap::from([("id".into(), sql_type("bigint"))]),
            ..SeedLoad::default()
        })
        .await
        .unwrap_err();
    assert!(
        bad_type.to_string().contains("'x'") || bad_type.to_string().contains("x"),
        "{bad_type}"
    );
    assert_eq!(rows(&engine, "select * from seeds.people").await.len(), 2);
}

/// The values each type is inferred from load as those values: spaces around a number or a
/// date are dropped, a date in a timestamp column is its midnight, text keeps its spaces
/// (doubles print as Trino casts them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_csv_reads_what_it_infers() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    let csv = "n,x,ok,day,at,odd,text\n 7 ,1.,TRUE, 2024-02-29 ,2024-01-01,+5, a \n-8,.5,false,2024-03-01,2024-01-02T03:04:05.123456,NaN,\n";
    let path = write_file(dir.path(), "odd.csv", csv);
    let loaded = engine
        .load_csv(&SeedLoad {
            database: "seeds".into(),
            name: "odd".into(),
            path,
            ..SeedLoad::default()
        })
        .await
        .unwrap();
    let types: Vec<&str> = loaded
        .columns
        .iter()
        .map(|c| c.data_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "bigint",
            "double",
            "boolean",
            "date",
            "timestamp(6)",
            "varchar",
            "varchar"
        ]
    );
    let result = rows(
        &engine,
        "select cast(n as varchar) || '|' || cast(x as varchar) || '|' || cast(ok as varchar) || '|' || \
         cast(day as varchar) || '|' || cast(at as varchar) || '|' || odd || '|' || coalesce(text, 'NULL') as r \
         from seeds.odd order by n desc",
    )
    .await;
    let lines: Vec<&str> = result.iter().filter_map(|r| value(r, "r")).collect();
    assert_eq!(
        lines,
        [
            "7|1.0E0|true|2024-02-29|2024-01-01 00:00:00.000000|+5| a ",
            "-8|5.0E-1|false|2024-03-01|2024-01-02 03:04:05.123456|NaN|NULL"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_renders_values_and_refuses_non_queries() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    let result = engine
        .query(
            "select 1 as i, cast(2.50 as decimal(5,2)) as d, 'x' as s, null as n, true as b, \
             date '2024-01-31' as day, timestamp '2024-01-31 10:00:00' as ts",
            10,
        )
        .await
        .unwrap();
    assert_eq!(result.columns, ["i", "d", "s", "n", "b", "day", "ts"]);
    let row = &result.rows[0];
    assert_eq!(value(row, "i"), Some("1"));
    assert_eq!(value(row, "d"), Some("2.50"));
    assert_eq!(value(row, "s"), Some("x"));
    assert_eq!(row.get("n"), Some(&None));
    assert_eq!(value(row, "b"), Some("true"));
    assert_eq!(value(row, "day"), Some("2024-01-31"));
    assert_eq!(value(row, "ts"), Some("2024-01-31 10:00:00"));

    let limited = engine
        .query("select * from (values (1), (2), (3)) as v(x)", 2)
        .await
        .unwrap();
    assert_eq!(limited.rows.len(), 2);
    assert!(limited.truncated);

    for statement in [
        "create table mdw.x (a int)",
        "insert into mdw.x values (1)",
        "drop table mdw.x",
        "select 1; select 2",
    ] {
        let error = engine.query(statement, 10).await.unwrap_err();
        assert!(
            matches!(error, EngineError::InvalidInput(_)),
            "{statement}: {error:?}"
        );
    }
    let missing = engine
        .query("select * from mdw.nope", 10)
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("nope"), "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_open_sees_everything() {
    let dir = TempDir::new().unwrap();
    let (table_location, snapshot) = {
        let engine = open(dir.path()).await;
        seed_shop(&engine, dir.path()).await;
        let built = engine
            .build_table(&table("totals", TOTALS_SQL))
            .await
            .unwrap();
        engine
            .create_view(&ViewDefinition {
                database: "mdw".into(),
                name: "big_totals".into(),
                sql: "select * from mdw.totals where total > 10".into(),
                ..ViewDefinition::default()
            })
            .await
            .unwrap();
        (built.location, built.snapshot_id)
    };

    let started = std::time::Instant::now();
    let reopened = open(dir.path()).await;
    // Not an assertion (timing is for benchmarks): shown with --nocapture.
    eprintln!("reopening the warehouse took {:?}", started.elapsed());
    let described = reopened.describe("mdw", "totals").await.unwrap().unwrap();
    assert_eq!(described.location.as_deref(), Some(table_location.as_str()));
    assert_eq!(described.snapshot_id, snapshot);
    let view = reopened
        .describe("mdw", "big_totals")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.kind, RelationKind::View);
    let result = rows(
        &reopened,
        r#"select name from "awsdatacatalog"."mdw"."big_totals" order by name"#,
    )
    .await;
    assert_eq!(result.len(), 2);
    assert_eq!(rows(&reopened, "select * from mdw.orders").await.len(), 4);

    // Another catalog name in the same file is another catalog.
    let other = EmbeddedEngine::open(&dir.path().join("warehouse"), "other")
        .await
        .unwrap();
    assert!(other.describe("mdw", "totals").await.unwrap().is_none());
}

/// `relation_versions` lists each relation's version in one query: what a build or describe
/// reported, changed by every rebuild of a table and every change of a view, gone with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relation_versions_follow_builds_and_views() {
    let dir = TempDir::new().unwrap();
    let engine = open(dir.path()).await;
    seed_shop(&engine, dir.path()).await;
    let built = engine
        .build_table(&table("totals", "select count(*) as n from customers"))
        .await
        .unwrap();
    let mut view = ViewDefinition {
        database: "mdw".into(),
        name: "west".into(),
        sql: "select id from customers where region = 'west'".into(),
        ..ViewDefinition::default()
    };
    let created = engine.create_view(&view).await.unwrap();
    let versions = engine.relation_versions("mdw").await.unwrap().unwrap();
    assert_eq!(versions.get("totals"), built.version.as_ref());
    assert_eq!(versions.get("west"), created.version.as_ref());
    let described = engine.describe("mdw", "totals").await.unwrap().unwrap();
    assert_eq!(described.version, built.version);
    let described = engine.describe("mdw", "west").await.unwrap().unwrap();
    assert_eq!(described.version, created.version);

    let rebuilt = engine
        .build_table(&table("totals", "select count(*) as n from customers"))
        .await
        .unwrap();
    view.description = Some("customers in the west".into());
    let changed = engine.create_view(&view).await.unwrap();
    assert_ne!(rebuilt.version, built.version);
    assert_ne!(changed.version, created.version);
    let versions = engine.relation_versions("mdw").await.unwrap().unwrap();
    assert_eq!(versions.get("totals"), rebuilt.version.as_ref());
    assert_eq!(versions.get("west"), changed.version.as_ref());

    assert!(
        engine
            .drop_relation(&dropping("mdw", "totals", true))
            .await
            .unwrap()
    );
    let versions = engine.relation_versions("mdw").await.unwrap().unwrap();
    assert!(!versions.contains_key("totals"));
    assert!(
        engine
            .relation_versions("nowhere")
            .await
            .unwrap()
            .unwrap()
            .is_empty()
    );
}
