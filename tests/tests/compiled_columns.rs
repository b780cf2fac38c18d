//! The columns mdwc works out without a warehouse (`adapter.get_columns_in_relation`, so
//! `dbt_utils.star`) against the tables the embedded engine really builds: a dbt project with
//! the real dbt_utils package, compiled by mdwc and applied by terraform. If mdwc named a
//! column the table does not have, the build fails; if it left one out or got the order
//! wrong, the columns below differ. A seed's column types, which mdwc answers from its file,
//! are checked against the types the engine loads it with.

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
    // Every type a seed column is inferred as, two given ones, and values the engines could
    // read differently (they stay text).
    write_project_file(
        dir,
        "seeds/typed.csv",
        "id,amount,flag,day,at,label,small,price,plus,zoned\n\
         1,2.5,true,2024-01-31,2024-01-31 10:00:00,a,1,1.50,+5,2024-01-31 10:00:00Z\n\
         2, 3 ,FALSE, 2024-02-01 ,2024-02-01,b,2,2,6,2024-01-31 10:00:00Z\n",
    );
    write_project_file(
        dir,
        "seeds/typed.yml",
        "seeds:\n  - name: typed\n    config:\n      column_types: {small: smallint, price: 'decimal(10,2)'}\n",
    );
    // A model whose column types its SQL fixes: casts, and columns read from the seed.
    write_project_file(
        dir,
        "models/typed_model.sql",
        "select cast(id as integer) as i, try_cast(amount as decimal(10,2)) as d, \
         cast(day as timestamp) as t, label, s.at from {{ ref('typed') }} s\n",
    );
    for of in ["typed", "typed_model"] {
        write_project_file(
            dir,
            &format!("models/{of}_dtypes.sql"),
            &format!(
                "{{%- set columns = adapter.get_columns_in_relation(ref('{of}')) -%}}\n\
                 select {{% for c in columns %}}'{{{{ c.dtype }}}}' as {{{{ c.name }}}}{{{{ ', ' if not loop.last }}}}{{% endfor %}}\n"
            ),
        );
    }
    copy_tree(
        Path::new(DBT_UTILS),
        &dir.join("dbt_packages/dbt_utils"),
        &[],
    );
}

/// Each built relation's columns (name, Athena type), by table name, from the state.
fn built_columns(state: &Value) -> Vec<(String, Vec<(String, String)>)> {
    let mut found = Vec::new();
    let mut stack = vec![&state["values"]["root_module"]];
    while let Some(module) = stack.pop() {
        for resource in module["resources"].as_array().into_iter().flatten() {
            let values = &resource["values"];
            if let Some(columns) = values["columns"].as_array() {
                let names = columns
                    .iter()
                    .filter_map(|c| {
                        let name = c["name"].as_str()?.to_string();
                        Some((name, c["type"].as_str().unwrap_or_default().to_string()))
                    })
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
    let built = built_columns(&workspace.show_json());
    let columns: Vec<(String, Vec<String>)> = built
        .iter()
        .filter(|(table, _)| !table.starts_with("typed"))
        .map(|(table, columns)| {
            (
                table.clone(),
                columns.iter().map(|(n, _)| n.clone()).collect(),
            )
        })
        .collect();
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

/// mdwc's answer for the column types (`dtype`, Glue's names) of a seed and of a model whose
/// SQL fixes them is the type of the column the engine builds.
#[test]
fn column_types_are_the_ones_the_engine_builds() {
    let workspace = Workspace::new();
    let dbt = workspace.dir().join("dbt");
    project(&dbt);
    mdwc_compile(&dbt, &workspace.dir().join("models"), &[]);
    workspace.write_config(ROOT);
    workspace.init();
    workspace.apply();
    let built = built_columns(&workspace.show_json());

    let seed: &[(&str, &str)] = &[
        ("amount", "double"),
        ("small", "int"),
        ("price", "decimal(10,2)"),
        ("plus", "string"),
        ("zoned", "string"),
    ];
    let model: &[(&str, &str)] = &[
        ("i", "int"),
        ("d", "decimal(10,2)"),
        ("t", "timestamp"),
        ("label", "string"),
        ("at", "timestamp"),
    ];
    for (table, expected) in [("typed", seed), ("typed_model", model)] {
        let compiled = std::fs::read_to_string(
            dbt.join(format!("target/compiled/cols/models/{table}_dtypes.sql")),
        )
        .unwrap();
        // `'bigint' as id, 'string' as label, …`
        let answered: Vec<(String, String)> = compiled
            .trim()
            .trim_start_matches("select ")
            .split(", ")
            .filter_map(|item| {
                let (dtype, name) = item.split_once(" as ")?;
                Some((
                    name.trim().to_string(),
                    dtype.trim_matches('\'').to_string(),
                ))
            })
            .collect();
        let (_, columns) = built
            .iter()
            .find(|(name, _)| name == table)
            .expect("the table's columns in the state");
        let loaded: Vec<(String, String)> = columns
            .iter()
            .map(|(name, athena_type)| {
                let glue = athena_type
                    .parse::<mdw_engine::SqlType>()
                    .ok()
                    .and_then(mdw_engine::SqlType::glue_name)
                    .unwrap_or_else(|| format!("no Glue name for {athena_type}"));
                (name.clone(), glue)
            })
            .collect();
        assert_eq!(answered, loaded, "{table}");
        for (column, glue) in expected {
            assert!(
                loaded.iter().any(|(n, t)| n == column && t == glue),
                "{table}.{column} is not {glue}: {loaded:?}"
            );
        }
    }
}
