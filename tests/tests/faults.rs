//! The fault-injection suite: the provider killed at every catalog write of the embedded
//! engine (`MDW_FAULT_POINT`: the process aborts there, as a killed process would), then:
//! the data is readable, the next apply converges, the plan after it is empty, nothing is left
//! behind, and no row is there twice. Plus two roots on one warehouse and two models whose
//! names fold to the same table, and a swap whose answer is lost after it committed. (The
//! Athena engine's kill points are in `athena_engine.rs`.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mdw_acceptance::Workspace;
use mdw_engine::Engine;
use mdw_engine_embedded::EmbeddedEngine;

/// A root on a warehouse outside its own directory (so a second root can share it).
fn config(warehouse: &Path, resources: &str) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    mdw = {{ source = "mdw/mdw" }}
  }}
}}

provider "mdw" {{
  engine   = "embedded"
  embedded = {{ warehouse = "{}" }}
}}

resource "mdw_lineage" "this" {{}}
{resources}"#,
        warehouse.display()
    )
}

fn table(name: &str, materialized: &str, sql: &str) -> String {
    format!(
        r#"
resource "mdw_iceberg_model" "{name}" {{
  database     = "mdw"
  name         = "{name}"
  materialized = "{materialized}"
  sql          = "{sql}"
  lineage      = mdw_lineage.this.id
}}
"#
    )
}

fn events(id: u32) -> String {
    format!(
        r#"
resource "mdw_iceberg_model" "events" {{
  database             = "mdw"
  name                 = "events"
  materialized         = "incremental"
  incremental_strategy = "append"
  sql                  = "select {id} as id"
  lineage              = mdw_lineage.this.id
}}
"#
    )
}

fn seed() -> String {
    r#"
resource "mdw_seed" "people" {
  database       = "mdw"
  name           = "people"
  path           = "people.csv"
  content_sha256 = filesha256("people.csv")
  lineage        = mdw_lineage.this.id
}
"#
    .to_string()
}

/// The rows of `sql` on the warehouse, read by a fresh engine (as another reader would).
fn query(warehouse: &Path, sql: &str) -> Vec<BTreeMap<String, Option<String>>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let engine = EmbeddedEngine::open(warehouse, "awsdatacatalog")
            .await
            .expect("opening the warehouse");
        engine
            .query(sql, 1000)
            .await
            .unwrap_or_else(|e| panic!("{sql} must be readable: {e}"))
            .rows
    })
}

/// Rows of `select * from mdw.<name>` as `id` values, sorted.
fn ids(warehouse: &Path, name: &str) -> Vec<String> {
    query(warehouse, &format!("select id from mdw.{name} order by id"))
        .iter()
        .map(|r| r["id"].clone().unwrap_or_default())
        .collect()
}

/// Directories under `dir`, recursively, relative to it.
fn dirs_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.push(
                    path.strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
                stack.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Build directories of each table (`mdw/<name>/<build id>`): after a converged apply, exactly
/// one per live table and none of a dropped one.
fn build_dirs(warehouse: &Path) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for dir in dirs_under(&warehouse.join("mdw")) {
        let parts: Vec<&str> = dir.split('/').collect();
        if parts.len() == 2 {
            *counts.entry(parts[0].to_string()).or_insert(0) += 1;
        }
    }
    counts
}

/// Append directories of the incremental table (`<build>/data/<append id>`).
fn append_dirs(warehouse: &Path) -> usize {
    dirs_under(&warehouse.join("mdw").join("events"))
        .iter()
        .filter(|d| d.split('/').count() == 3 && d.split('/').nth(1) == Some("data"))
        .count()
}

struct Root {
    workspace: Workspace,
    warehouse: PathBuf,
}

impl Root {
    fn new() -> Root {
        let workspace = Workspace::new();
        let warehouse = workspace.dir().join("warehouse");
        Root {
            workspace,
            warehouse,
        }
    }

    fn write(&self, resources: &str) {
        self.workspace
            .write_config(&config(&self.warehouse, resources));
    }

    /// Applies with `point` armed: the provider must die there.
    fn killed_at(&self, point: &str) {
        self.workspace.arm_fault(Some(point));
        let killed = self.workspace.try_apply();
        self.workspace.arm_fault(None);
        assert_ne!(killed.code, 0, "the apply must fail at {point}: {killed}");
        let text = killed.combined();
        assert!(
            text.contains("plugin") || text.contains("crash") || text.contains("EOF"),
            "the provider must have died at {point}: {text}"
        );
    }

    /// The next apply converges and the plan after it is empty.
    fn converges(&self) {
        self.workspace.apply();
        self.workspace.assert_plan_empty(&[]);
    }
}

#[test]
fn a_swap_whose_answer_is_lost_keeps_the_table_it_committed() {
    // The catalog write commits but its answer never arrives (a remote catalog's timeout): the
    // build fails, and the location it wrote — now the table's — must not be removed as a
    // failed build's leftovers.
    let root = Root::new();
    root.write(&table("t", "table", "select 1 as id"));
    root.workspace.init();
    root.converges();
    root.write(&table("t", "table", "select 2 as id"));
    root.workspace.arm_fault(Some("build.swap_answer_lost"));
    let failed = root.workspace.try_apply();
    root.workspace.arm_fault(None);
    assert_ne!(failed.code, 0, "{failed}");
    assert!(failed.combined().contains("was kept"), "{failed}");
    assert_eq!(ids(&root.warehouse, "t"), ["2"]);
    root.converges();
    assert_eq!(ids(&root.warehouse, "t"), ["2"]);
    assert_eq!(build_dirs(&root.warehouse)["t"], 1);

    // The same for an append: its rows are in the table, they stay readable, and the retry
    // (the same run) does not add them twice.
    root.write(&format!(
        "{}{}",
        table("t", "table", "select 2 as id"),
        events(1)
    ));
    root.converges();
    root.write(&format!(
        "{}{}",
        table("t", "table", "select 2 as id"),
        events(2)
    ));
    root.workspace.arm_fault(Some("append.swap_answer_lost"));
    let failed = root.workspace.try_apply();
    root.workspace.arm_fault(None);
    assert_ne!(failed.code, 0, "{failed}");
    assert_eq!(ids(&root.warehouse, "events"), ["1", "2"]);
    root.converges();
    assert_eq!(ids(&root.warehouse, "events"), ["1", "2"]);
}

#[test]
fn a_build_killed_at_each_catalog_write_converges_without_leftovers() {
    let root = Root::new();
    root.workspace.write_file("people.csv", "id,name\n1,a\n");
    let base = |t_sql: &str, materialized: &str, events_id: u32| {
        format!(
            "{}{}{}",
            table("t", materialized, t_sql),
            events(events_id),
            seed()
        )
    };
    root.write(&base("select 1 as id", "table", 1));
    root.workspace.init();
    root.converges();
    assert_eq!(ids(&root.warehouse, "t"), ["1"]);
    assert_eq!(ids(&root.warehouse, "events"), ["1"]);

    // Rebuild killed before the swap: the old table is what readers see; the next apply
    // builds, and the killed build's directory is gone.
    root.write(&base("select 2 as id", "table", 1));
    root.killed_at("build.before_swap");
    assert_eq!(ids(&root.warehouse, "t"), ["1"]);
    root.converges();
    assert_eq!(ids(&root.warehouse, "t"), ["2"]);
    assert_eq!(build_dirs(&root.warehouse)["t"], 1);

    // Killed after the swap, before the old table's files were deleted.
    root.write(&base("select 3 as id", "table", 1));
    root.killed_at("build.after_swap");
    assert_eq!(ids(&root.warehouse, "t"), ["3"]);
    root.converges();
    assert_eq!(ids(&root.warehouse, "t"), ["3"]);
    assert_eq!(build_dirs(&root.warehouse)["t"], 1);

    // An append killed before its commit: nothing added; the retry appends once.
    root.write(&base("select 3 as id", "table", 2));
    root.killed_at("append.before_swap");
    assert_eq!(ids(&root.warehouse, "events"), ["1"]);
    root.converges();
    assert_eq!(ids(&root.warehouse, "events"), ["1", "2"]);

    // An append killed after its commit, before Terraform heard: the retry must not append
    // the same rows again.
    root.write(&base("select 3 as id", "table", 3));
    root.killed_at("append.after_swap");
    assert_eq!(ids(&root.warehouse, "events"), ["1", "2", "3"]);
    root.converges();
    assert_eq!(ids(&root.warehouse, "events"), ["1", "2", "3"]);
    assert_eq!(
        append_dirs(&root.warehouse),
        2,
        "{:?}",
        dirs_under(&root.warehouse)
    );

    // Table → view killed after the swap: the view is there; the table's files go next time.
    root.write(&base("select 4 as id", "view", 3));
    root.killed_at("view.after_swap");
    assert_eq!(ids(&root.warehouse, "t"), ["4"]);
    root.converges();
    assert_eq!(ids(&root.warehouse, "t"), ["4"]);
    assert!(!build_dirs(&root.warehouse).contains_key("t"));

    // A seed reload killed before and after its swap.
    root.workspace
        .write_file("people.csv", "id,name\n1,a\n2,b\n");
    root.killed_at("build.before_swap");
    assert_eq!(ids(&root.warehouse, "people"), ["1"]);
    root.converges();
    assert_eq!(ids(&root.warehouse, "people"), ["1", "2"]);
    root.workspace
        .write_file("people.csv", "id,name\n1,a\n2,b\n3,c\n");
    root.killed_at("build.after_swap");
    root.converges();
    assert_eq!(ids(&root.warehouse, "people"), ["1", "2", "3"]);
    assert_eq!(build_dirs(&root.warehouse)["people"], 1);

    // Destroy (of the seed's table) killed after the catalog forgot the table: the retry
    // deletes its files.
    root.write(&format!(
        "{}{}",
        table("t", "view", "select 4 as id"),
        events(3)
    ));
    root.killed_at("drop.after_catalog");
    assert!(build_dirs(&root.warehouse).contains_key("people"));
    root.converges();
    assert!(!build_dirs(&root.warehouse).contains_key("people"));
    root.workspace.destroy();
    assert!(
        build_dirs(&root.warehouse).is_empty(),
        "{:?}",
        dirs_under(&root.warehouse)
    );
}

fn merged(sql: &str) -> String {
    format!(
        r#"
resource "mdw_iceberg_model" "m" {{
  database             = "mdw"
  name                 = "m"
  materialized         = "incremental"
  incremental_strategy = "merge"
  unique_key           = ["id"]
  sql                  = "{sql}"
  lineage              = mdw_lineage.this.id
}}
"#
    )
}

/// `id=v` pairs of `mdw.m`, sorted.
fn pairs(warehouse: &Path) -> Vec<String> {
    query(warehouse, "select id, v from mdw.m order by id")
        .iter()
        .map(|r| {
            let get = |c: &str| r[c].clone().unwrap_or_default();
            format!("{}={}", get("id"), get("v"))
        })
        .collect()
}

#[test]
fn a_merge_killed_around_its_swap_is_applied_once() {
    let root = Root::new();
    root.write(&merged("select 1 as id, 1 as v"));
    root.workspace.init();
    root.converges();
    assert_eq!(pairs(&root.warehouse), ["1=1"]);

    // Killed before the swap: the table is as it was; the retry merges.
    root.write(&merged(
        "select 1 as id, 2 as v union all select 2 as id, 2 as v",
    ));
    root.killed_at("build.before_swap");
    assert_eq!(pairs(&root.warehouse), ["1=1"]);
    root.converges();
    assert_eq!(pairs(&root.warehouse), ["1=2", "2=2"]);

    // Killed after the swap, before Terraform heard: the retry finds its run committed.
    root.write(&merged(
        "select 2 as id, 3 as v union all select 3 as id, 3 as v",
    ));
    root.killed_at("build.after_swap");
    assert_eq!(pairs(&root.warehouse), ["1=2", "2=3", "3=3"]);
    root.converges();
    assert_eq!(pairs(&root.warehouse), ["1=2", "2=3", "3=3"]);
    assert_eq!(
        build_dirs(&root.warehouse)["m"],
        1,
        "{:?}",
        dirs_under(&root.warehouse)
    );
}

#[test]
fn a_second_root_cannot_take_over_a_table_of_the_first() {
    let first = Root::new();
    first.write(&table("shared", "table", "select 1 as id"));
    first.workspace.init();
    first.converges();

    // The same model in another root on the same warehouse.
    let second = Workspace::new();
    second.write_config(&config(
        &first.warehouse,
        &table("shared", "table", "select 2 as id"),
    ));
    second.init();
    let refused = second.try_apply();
    assert_ne!(refused.code, 0, "{refused}");
    let text = refused.combined().replace('\n', " ");
    assert!(
        text.contains("mdw.shared") && text.contains("terraform import"),
        "{text}"
    );
    assert_eq!(ids(&first.warehouse, "shared"), ["1"]);
    first.workspace.assert_plan_empty(&[]);
    // Its destroy leaves the first root's table alone.
    second.destroy();
    assert_eq!(ids(&first.warehouse, "shared"), ["1"]);

    // A table replaced behind the first root's back (dropped and rebuilt by someone else) is
    // drift: the plan shows it, and the apply refuses to overwrite what it does not own.
    let owner = first.workspace.state_resource("mdw_iceberg_model.shared")["owner_id"]
        .as_str()
        .expect("an owner id in state")
        .to_string();
    with_engine(&first.warehouse, |engine| async move {
        let drop = mdw_engine::DropRelation {
            database: "mdw".into(),
            name: "shared".into(),
            purge: true,
            ownership: mdw_engine::Ownership::exclusive(owner),
            ..Default::default()
        };
        engine.drop_relation(&drop).await.unwrap();
        let build = mdw_engine::TableBuild {
            database: "mdw".into(),
            name: "shared".into(),
            sql: "select 3 as id".into(),
            ownership: mdw_engine::Ownership::exclusive("someone else"),
            ..Default::default()
        };
        engine.build_table(&build).await.unwrap();
    });
    assert_eq!(
        first.workspace.planned_actions("mdw_iceberg_model.shared"),
        ["create"]
    );
    let refused = first.workspace.try_apply();
    assert_ne!(refused.code, 0, "{refused}");
    assert!(refused.combined().contains("someone else"), "{refused}");
    assert_eq!(ids(&first.warehouse, "shared"), ["3"]);
}

fn with_engine<F, Fut>(warehouse: &Path, work: F)
where
    F: FnOnce(EmbeddedEngine) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let engine = EmbeddedEngine::open(warehouse, "awsdatacatalog")
            .await
            .expect("opening the warehouse");
        work(engine).await;
    });
}

#[test]
fn two_models_whose_names_fold_to_one_table_are_refused() {
    // Glue folds names to lower case: `A` and `a` would be one table. A name not written as
    // Glue stores it is refused at validate, before anything runs.
    let root = Root::new();
    root.write(&format!(
        "{}{}",
        table("a", "table", "select 1 as id"),
        table("A", "table", "select 2 as id").replace("\"A\" {", "\"upper_a\" {")
    ));
    root.workspace.init();
    let refused = root.workspace.try_apply();
    assert_ne!(refused.code, 0, "{refused}");
    assert!(
        refused.combined().contains("not written as Glue stores it"),
        "{refused}"
    );
    assert!(!root.warehouse.join("mdw").exists());

    // A model and a seed of one root naming the same table: the plan refuses them, before
    // either builds (the owner markers would refuse the second at apply; two roots on one
    // warehouse meet only there: `a_second_root_cannot_take_over_a_table_of_the_first`).
    root.workspace.write_file("a.csv", "id\n9\n");
    root.write(&format!(
        "{}{}",
        table("a", "table", "select 1 as id"),
        r#"
resource "mdw_seed" "a" {
  database       = "mdw"
  name           = "a"
  path           = "a.csv"
  content_sha256 = filesha256("a.csv")
  lineage        = mdw_lineage.this.id
  depends_on     = [mdw_iceberg_model.a]
}
"#
    ));
    let refused = root.workspace.try_apply();
    assert_ne!(refused.code, 0, "{refused}");
    assert!(
        refused.combined().contains("Another resource builds mdw.a"),
        "{refused}"
    );
    assert!(!root.warehouse.join("mdw").exists());
}
