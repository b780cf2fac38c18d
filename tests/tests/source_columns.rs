//! `mdwc compile --catalog glue`: a model that stars a source (`dbt_utils.star`) is compiled
//! against the columns Glue has (read through the standard AWS chain, here moto's Glue), and
//! the source's `data "mdw_source"` checks at plan that the table still has them — a column
//! added after the compile fails the plan instead of building SQL for another table.
//!
//! The source is a Hive table on the Athena engine: it has no snapshot, and its `snapshot_id`
//! (which models list in `upstream`) is `unversioned`, not null — a null failed every plan of
//! a model reading a non-Iceberg source.

use std::path::Path;

use mdw_acceptance::{
    Moto, Workspace, athena_profile, athena_provider_block, copy_tree, mdwc_binary,
    write_project_file,
};

const DBT_UTILS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../compiler/tests/packages/dbt_utils"
);

fn project(dir: &Path) {
    write_project_file(
        dir,
        "dbt_project.yml",
        "name: src\nversion: '1.0'\nprofile: src\nmodels:\n  src:\n    +materialized: table\n",
    );
    write_project_file(dir, "profiles.yml", &athena_profile("src"));
    write_project_file(
        dir,
        "packages.yml",
        "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.3\n",
    );
    write_project_file(
        dir,
        "models/sources.yml",
        "sources:\n  - name: raw\n    tables:\n      - name: orders\n",
    );
    write_project_file(
        dir,
        "models/stg_orders.sql",
        "select {{ dbt_utils.star(source('raw', 'orders'), except=['pdate']) }}\nfrom {{ source('raw', 'orders') }}\n",
    );
    copy_tree(
        Path::new(DBT_UTILS),
        &dir.join("dbt_packages/dbt_utils"),
        &[],
    );
}

fn column(name: &str, ty: &str) -> aws_sdk_glue::types::Column {
    aws_sdk_glue::types::Column::builder()
        .name(name)
        .r#type(ty)
        .build()
        .unwrap()
}

/// raw.orders as a loader leaves it: a Hive table partitioned by `pdate`.
fn orders_table(columns: &[(&str, &str)]) -> aws_sdk_glue::types::TableInput {
    let descriptor = aws_sdk_glue::types::StorageDescriptor::builder()
        .set_columns(Some(columns.iter().map(|(n, t)| column(n, t)).collect()))
        .location("s3://lake/raw/orders/")
        .build();
    aws_sdk_glue::types::TableInput::builder()
        .name("orders")
        .table_type("EXTERNAL_TABLE")
        .storage_descriptor(descriptor)
        .partition_keys(column("pdate", "string"))
        .build()
        .unwrap()
}

fn mdwc_compile_with_glue(project: &Path, out: &Path, moto: &Moto) -> std::process::Output {
    std::process::Command::new(mdwc_binary())
        .args(["compile", "--catalog", "glue", "--project-dir"])
        .arg(project)
        .arg("--profiles-dir")
        .arg(project)
        .arg("--out")
        .arg(out)
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("mdwc runs")
}

fn root(moto: &Moto) -> String {
    athena_provider_block(
        &moto.endpoint(),
        "primary",
        r#"data_location = "s3://lake/warehouse", output_location = "s3://lake/results/""#,
    ) + "\nmodule \"models\" {\n  source = \"./models\"\n}\n"
}

#[test]
fn a_starred_source_is_compiled_from_glue_and_checked_at_plan() {
    let moto = Moto::start();
    let aws = moto.aws();
    let glue = aws.glue();
    let database = aws_sdk_glue::types::DatabaseInput::builder()
        .name("raw")
        .build()
        .unwrap();
    aws.block_on(glue.create_database().database_input(database).send())
        .expect("creating raw");
    let loaded = [
        ("id", "bigint"),
        ("status", "string"),
        ("amount", "decimal(10,2)"),
    ];
    aws.block_on(
        glue.create_table()
            .database_name("raw")
            .table_input(orders_table(&loaded))
            .send(),
    )
    .expect("creating raw.orders");

    let workspace = Workspace::new();
    let dbt = workspace.dir().join("dbt");
    project(&dbt);

    // Without the catalog, the star is an error that says how to get the columns.
    let offline = std::process::Command::new(mdwc_binary())
        .args(["compile", "--project-dir"])
        .arg(&dbt)
        .arg("--profiles-dir")
        .arg(&dbt)
        .output()
        .expect("mdwc runs");
    let said = String::from_utf8_lossy(&offline.stderr);
    assert!(!offline.status.success());
    assert!(said.contains("--catalog glue"), "{said}");

    let compiled = mdwc_compile_with_glue(&dbt, &workspace.dir().join("models"), &moto);
    assert!(
        compiled.status.success(),
        "{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let sql =
        std::fs::read_to_string(dbt.join("target/compiled/src/models/stg_orders.sql")).unwrap();
    let select_list = sql.split("from").next().unwrap_or_default();
    let starred: Vec<&str> = select_list.split('"').skip(1).step_by(2).collect();
    assert_eq!(starred, ["id", "status", "amount"], "{sql}");

    // The columns compiled against are checked at plan: as loaded, the plan goes through.
    workspace.write_config(&root(&moto));
    workspace.init();
    let (code, diagnostics) = workspace.plan_diagnostics();
    assert_eq!(code, 0, "{diagnostics:?}");

    // A column added by the loader: the models' SQL is stale, and the plan says so.
    let mut grown = loaded.to_vec();
    grown.insert(2, ("channel", "string"));
    aws.block_on(
        glue.update_table()
            .database_name("raw")
            .table_input(orders_table(&grown))
            .send(),
    )
    .expect("updating raw.orders");
    let (code, diagnostics) = workspace.plan_diagnostics();
    assert_eq!(code, 1);
    let text = format!("{diagnostics:?}");
    assert!(
        text.contains("is not what the models were compiled against")
            && text.contains("the table has (id, status, channel, amount, pdate)")
            && text.contains("mdwc compile --catalog glue"),
        "{text}"
    );
}
