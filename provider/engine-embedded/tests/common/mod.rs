//! What the embedded engine's test files share: a warehouse in a temporary directory, the
//! shop seeds, build requests and row helpers.

// Each test file uses some of these helpers; the rest are dead code in that file's crate.
#![allow(dead_code)]

pub(crate) use std::collections::BTreeMap;
pub(crate) use std::path::{Path, PathBuf};

pub(crate) use mdw_engine::{DropRelation, Engine, PartitionField, SeedLoad, SqlType, TableBuild};
pub(crate) use mdw_engine_embedded::EmbeddedEngine;

pub(crate) type Row = BTreeMap<String, Option<String>>;

pub(crate) fn sql_type(name: &str) -> SqlType {
    name.parse().expect("a valid type")
}

pub(crate) fn partitions(specs: &[&str]) -> Vec<PartitionField> {
    specs
        .iter()
        .map(|s| s.parse().expect("a valid partition spec"))
        .collect()
}

/// Drops with purge (or not), for relations no owner marked.
pub(crate) fn dropping(database: &str, name: &str, purge: bool) -> DropRelation {
    DropRelation {
        database: database.into(),
        name: name.into(),
        purge,
        ..DropRelation::default()
    }
}

pub(crate) async fn open(dir: &Path) -> EmbeddedEngine {
    EmbeddedEngine::open(&dir.join("warehouse"), "awsdatacatalog")
        .await
        .expect("open the warehouse")
}

pub(crate) fn write_file(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write test file");
    path
}

/// Local path of a `file://` location.
pub(crate) fn local(location: &str) -> PathBuf {
    PathBuf::from(
        location
            .strip_prefix("file://")
            .expect("a file:// location"),
    )
}

pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
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

pub(crate) fn subdirs(dir: &Path) -> Vec<String> {
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

pub(crate) async fn rows(engine: &EmbeddedEngine, sql: &str) -> Vec<Row> {
    engine.query(sql, 1000).await.expect("query").rows
}

pub(crate) fn value<'a>(row: &'a Row, column: &str) -> Option<&'a str> {
    row.get(column).and_then(|v| v.as_deref())
}

/// `(col1, col2)` pairs of every row, for compact assertions.
pub(crate) fn pairs(rows: &[Row], a: &str, b: &str) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| {
            (
                value(r, a).unwrap_or("NULL").to_string(),
                value(r, b).unwrap_or("NULL").to_string(),
            )
        })
        .collect()
}

pub(crate) const CUSTOMERS: &str = "id,name,region\n1,Alice,west\n2,Bob,east\n3,Carol,west\n";
pub(crate) const ORDERS: &str = "order_id,customer_id,amount,ordered_at\n\
    10,1,12.50,2024-01-01 10:00:00\n\
    11,1,7.50,2024-01-02 11:00:00\n\
    12,2,20.00,2024-01-02 12:00:00\n\
    13,3,5.25,2024-01-03 09:30:00\n";

pub(crate) async fn seed_shop(engine: &EmbeddedEngine, dir: &Path) {
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

pub(crate) fn table(name: &str, sql: &str) -> TableBuild {
    TableBuild {
        database: "mdw".into(),
        name: name.into(),
        sql: sql.into(),
        ..TableBuild::default()
    }
}

pub(crate) const TOTALS_SQL: &str = r#"
    select c.name, count(*) as order_count, sum(o.amount) as total
    from "awsdatacatalog"."mdw"."orders" o
    join mdw.customers c on c.id = o.customer_id
    group by c.name
    order by c.name"#;
