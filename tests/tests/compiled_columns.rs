//! The columns mdwc works out without a warehouse (`adapter.get_columns_in_relation`, so
//! `dbt_utils.star`) against the tables the embedded engine really builds: a dbt project with
//! the real dbt_utils package, compiled by mdwc and applied by terraform. If mdwc named a
//! column the table does not have, the build fails; if it left one out or got the order
//! wrong, the columns below differ.

use std::path::Path;

use mdw_acceptance::{
    Workspace, athena_profile, copy_tree, embedded_provider, mdwc_compile, write_project_file,
};
use serde_json::Value;

const DBT_UTILS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../compiler/tests/packages/dbt_utils"
);

const ROOT: &str = concat!(
    embedded_provider!(),
    r#"
module "models" {
  source = "./models"
}
"#
);

/// A project whose seed has upper-case headers (Glue's names are lower case), a model that
/// selects `*` of it, one that adds expressions Trino names `_colN`, and models that ask
/// dbt_utils for the columns of the others.
fn project(dir: &Path) {
    write_project_file(
        dir,
        "dbt_project.yml",
        "name: cols\nversion: '1.0'\nprofile: cols\nmodels:\n  cols:\n    +materialized: table\n",
    );
    write_project_file(dir, "profiles.yml", &athena_profile("cols"));
    write_project_file(
        dir,
        "packages.yml",
        "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.3\n",
    );
    write_project_file(
        dir,
        "seeds/people.csv",
        "ID,First_Name,last_name\n1,Ada,Lovelace\n2,Alan,Turing\n",
    );
    write_project_file(
        dir,
        "models/stg_people.sql",
        "select * from {{ ref('people') }}\n",
    );
    write_project_file(
        dir,
        "models/wide.sql",
        "with p as (select * from {{ ref('stg_people') }})\nselect p.*, upper(first_name), 1 as One from p\n",
    );
    write_project_file(
        dir,
        "models/star.sql",
        "select {{ dbt_utils.star(from=ref('wide'), except=['one', 'ID']) }}\nfrom {{ ref('wide') }}\n",
    );
    write_project_file(
        dir,
        "models/star_prefixed.sql",
        "select {{ dbt_utils.star(from=ref('star'), relation_alias='s', prefix='s_') }}\nfrom {{ ref('star') }} s\n",
    );
    copy_tree(
        Path::new(DBT_UTILS),
        &dir.join("dbt_packages/dbt_utils"),
        &[],
    );
}

/// Each built relation's column names, by table name, from the state.
fn built_columns(state: &Value) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    let mut stack = vec![&state["values"]["root_module"]];
    while let Some(module) = stack.pop() {
        for resource in module["resources"].as_array().into_iter().flatten() {
            let values = &resource["values"];
            if let Some(columns) = values["columns"].as_array() {
                let names = columns
                    .iter()
                    .filter_map(|c| c["name"].as_str().map(str::to_string))
                    .collect();
                found.push((
                    values["name"].as_str().unwrap_or_default().to_string(),
                    names,
                ));
            }
        }
        stack.extend(module["child_modules"].as_array().into_iter().flatten());
    }
    found.sort();
    found
}

#[test]
fn star_lists_the_columns_the_engine_builds() {
    let workspace = Workspace::new();
    let dbt = workspace.dir().join("dbt");
    project(&dbt);
    mdwc_compile(&dbt, &workspace.dir().join("models"), &[]);
    let star_sql =
        std::fs::read_to_string(dbt.join("target/compiled/cols/models/star.sql")).unwrap();
    assert!(
        star_sql.contains(r#""first_name","#) && star_sql.contains(r#""_col3""#),
        "{star_sql}"
    );

    workspace.write_config(ROOT);
    workspace.init();
    workspace.apply();
    let columns = built_columns(&workspace.show_json());
    let expected = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    assert_eq!(
        columns,
        vec![
            (
                "people".to_string(),
                expected(&["id", "first_name", "last_name"])
            ),
            (
                "star".to_string(),
                expected(&["first_name", "last_name", "_col3"])
            ),
            (
                "star_prefixed".to_string(),
                expected(&["s_first_name", "s_last_name", "s__col3"])
            ),
            (
                "stg_people".to_string(),
                expected(&["id", "first_name", "last_name"])
            ),
            (
                "wide".to_string(),
                expected(&["id", "first_name", "last_name", "_col3", "one"])
            ),
        ],
    );
}
