//! `mdwc compile --group-by folder` on the retail example project, applied on the embedded
//! engine with the real terraform CLI: the grouped module builds the same tables as one
//! resource per model, and switching from one to the other and back destroys nothing — every
//! table stays, adopted by the resources that now hold it.

use std::collections::BTreeSet;
use std::path::Path;

use mdw_acceptance::{Workspace, copy_tree, embedded_provider, mdwc_compile};
use serde_json::Value;

const RETAIL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/retail");

const ROOT: &str = concat!(
    embedded_provider!(),
    r#"
module "models" {
  source = "./models"
}
"#
);

fn compile(workspace: &Workspace, extra: &[&str]) -> String {
    mdwc_compile(
        &workspace.dir().join("retail"),
        &workspace.dir().join("models"),
        extra,
    )
}

/// `database.name` of every model in the state, with the resource type holding it.
fn models_in_state(state: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut tables = BTreeSet::new();
    let mut types = BTreeSet::new();
    let mut modules = vec![state["values"]["root_module"].clone()];
    while let Some(module) = modules.pop() {
        for resource in module["resources"].as_array().into_iter().flatten() {
            let values = &resource["values"];
            let relation = |m: &Value| {
                format!(
                    "{}.{}",
                    m["database"].as_str().unwrap_or(""),
                    m["name"].as_str().unwrap_or("")
                )
            };
            match resource["type"].as_str() {
                Some("mdw_iceberg_model") => {
                    tables.insert(relation(values));
                }
                Some("mdw_model_group") => {
                    // Each model is the JSON of its definition.
                    for text in values["models"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter_map(|(_, m)| m.as_str())
                    {
                        let model: Value = serde_json::from_str(text).unwrap_or_default();
                        tables.insert(relation(&model));
                    }
                }
                _ => continue,
            }
            types.insert(resource["type"].as_str().unwrap_or("").to_string());
        }
        modules.extend(
            module["child_modules"]
                .as_array()
                .into_iter()
                .flatten()
                .cloned(),
        );
    }
    (tables, types)
}

/// Every relation in the embedded warehouse's catalog (tables and views), as `database.name`.
fn catalog_relations(workspace: &Workspace) -> BTreeSet<String> {
    let db = workspace.dir().join(".mdw/warehouse/catalog.db");
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); \
             [print(r[0]) for r in c.execute(\"select table_namespace||'.'||table_name from iceberg_tables \
             union select view_namespace||'.'||view_name from mdw_views\")]",
        ])
        .arg(&db)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn assert_built(workspace: &Workspace, tables: &BTreeSet<String>) {
    let catalog = catalog_relations(workspace);
    let missing: Vec<&String> = tables.iter().filter(|t| !catalog.contains(*t)).collect();
    assert!(
        missing.is_empty(),
        "not in the catalog: {missing:?} (catalog: {catalog:?})"
    );
}

#[test]
fn switching_to_groups_and_back_keeps_every_table() {
    let workspace = Workspace::new();
    copy_tree(
        Path::new(RETAIL),
        &workspace.dir().join("retail"),
        &["target"],
    );
    workspace.write_config(ROOT);

    compile(&workspace, &["--group-by", "none"]);
    workspace.init();
    workspace.apply();
    let (per_model, types) = models_in_state(&workspace.show_json());
    assert_eq!(types, BTreeSet::from(["mdw_iceberg_model".to_string()]));
    assert!(per_model.len() >= 10, "{per_model:?}");
    assert_built(&workspace, &per_model);

    // Into groups: one per folder; the models' resources are forgotten, not destroyed.
    compile(&workspace, &["--group-by", "folder"]);
    workspace.init();
    let grouped = workspace.apply();
    assert!(grouped.stdout.contains(" 0 destroyed"), "{grouped}");
    let (tables, types) = models_in_state(&workspace.show_json());
    assert_eq!(types, BTreeSet::from(["mdw_model_group".to_string()]));
    assert_eq!(tables, per_model);
    assert_built(&workspace, &tables);
    workspace.assert_plan_empty(&[]);

    // And back: the groups are forgotten (mdwc remembers them from the grouped module).
    compile(&workspace, &["--group-by", "none"]);
    let back = workspace.apply();
    assert!(back.stdout.contains(" 0 destroyed"), "{back}");
    let (tables, types) = models_in_state(&workspace.show_json());
    assert_eq!(types, BTreeSet::from(["mdw_iceberg_model".to_string()]));
    assert_eq!(tables, per_model);
    assert_built(&workspace, &tables);
    workspace.assert_plan_empty(&[]);
}
