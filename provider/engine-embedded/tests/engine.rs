//! The embedded engine against a real warehouse in a temporary directory: DataFusion runs the
//! SQL, iceberg-rust writes Parquet + metadata to disk, the catalog is a SQLite file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mdw_engine::{
    DropRelation, Engine, EngineError, IncrementalBuild, IncrementalStrategy, OnSchemaChange,
    PartitionField, RelationKind, SeedLoad, SqlType, TableBuild, ViewDefinition,
};
use mdw_engine_embedded::EmbeddedEngine;
use tempfile::TempDir;

type Row = BTreeMap<String, Option<String>>;

fn sql_type(name: &str) -> SqlType {
    name.parse().expect("a valid type")
}

fn partitions(specs: &[&str]) -> Vec<PartitionField> {
    specs
        .iter()
        .map(|s| s.parse().expect("a valid partition spec"))
        .collect()
}

/// Drops with purge (or not), for relations no owner marked.
fn dropping(database: &str, name: &str, purge: bool) -> DropRelation {
    DropRelation {
        database: database.into(),
        name: name.into(),
        purge,
        ..DropRelation::default()
    }
}

async fn open(dir: &Path) -> EmbeddedEngine {
    EmbeddedEngine::open(&dir.join("warehouse"), "awsdatacatalog")
        .await
        .expect("open the warehouse")
}

fn write_file(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write test file");
    path
}

/// Local path of a `file://` location.
fn local(location: &str) -> PathBuf {
    PathBuf::from(
        location
            .strip_prefix("file://")
            .expect("a file:// location"),
    )
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn subdirs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

async fn rows(engine: &EmbeddedEngine, sql: &str) -> Vec<Row> {
    engine.query(sql, 1000).await.expect("query").rows
}

fn value<'a>(row: &'a Row, column: &str) -> Option<&'a str> {
    row.get(column).and_then(|v| v.as_deref())
}

/// `(col1, col2)` pairs of every row, for compact assertions.
fn pairs(rows: &[Row], a: &str, b: &str) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| {
            (
                value(r, a).unwrap_or("NULL").to_string(),
                value(r, b).unwrap_or("NULL").to_string(),
            )
        })
        .collect()
}

const CUSTOMERS: &str = "id,name,region\n1,Alice,west\n2,Bob,east\n3,Carol,west\n";
const ORDERS: &str = "order_id,customer_id,amount,ordered_at\n\
    10,1,12.50,2024-01-01 10:00:00\n\
    11,1,7.50,2024-01-02 11:00:00\n\
    12,2,20.00,2024-01-02 12:00:00\n\
    13,3,5.25,2024-01-03 09:30:00\n";

async fn seed_shop(engine: &EmbeddedEngine, dir: &Path) {
    engine
        .load_csv(&SeedLoad {
            database: "mdw".into(),
            name: "customers".into(),
            path: write_file(dir, "customers.csv", CUSTOMERS),
            ..SeedLoad::default()
        })
        .await
        .expect("seed customers");
    engine
        .load_csv(&SeedLoad {
            database: "mdw".into(),
            name: "orders".into(),
            path: write_file(dir, "orders.csv", ORDERS),
            column_types: BTreeMap::from([
                ("amount".into(), sql_type("decimal(10,2)")),
                ("ordered_at".into(), sql_type("timestamp")),
            ]),
            ..SeedLoad::default()
        })
        .await
        .expect("seed orders");
}

fn table(name: &str, sql: &str) -> TableBuild {
    TableBuild {
        database: "mdw".into(),
        name: name.into(),
        sql: sql.into(),
        ..TableBuild::default()
    }
}

const TOTALS_SQL: &str = r#"
    select c.name, count(*) as order_count, sum(o.amount) as total
    from "awsdatacatalog"."mdw"."orders" o
    join mdw.customers c on c.id = o.customer_id
    group by c.name
    order by c.name"#;

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
