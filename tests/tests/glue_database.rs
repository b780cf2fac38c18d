//! Acceptance tests for `mdw_glue_database` (contract: docs/model-resources.md).

use std::collections::HashMap;

use aws_sdk_glue::error::DisplayErrorContext;
use aws_sdk_glue::types::DatabaseInput;
use mdw_acceptance::{
    ACCOUNT_ID, AcceptanceSteps, Aws, Moto, REGION, Workspace, hcl_string, moto_provider_block,
    unique_name,
};
use serde_json::json;

const ADDRESS: &str = "mdw_glue_database.test";

#[test]
fn glue_database_acceptance_steps() {
    let moto = Moto::start();
    let aws = moto.aws();
    let name = unique_name("accdb");
    let original_tags = [("team", "data"), ("env", "test")];
    let updated_tags = [("team", "analytics"), ("owner", "mdw")];
    let created = config(&moto, &name, "acceptance database", &original_tags);
    let updated = config(&moto, &name, "updated description", &updated_tags);
    let workspace = Workspace::new();

    AcceptanceSteps::new(&workspace, &aws, ADDRESS, &name, &created)
        .exists(|aws| database_exists(aws, &name))
        .delete_out_of_band(|aws| {
            aws.block_on(aws.glue().delete_database().name(&name).send())
                .unwrap_or_else(|e| panic!("DeleteDatabase {name}: {}", DisplayErrorContext(e)));
        })
        .check_attributes(|state| {
            assert_eq!(state["name"], name.as_str());
            assert_eq!(state["description"], "acceptance database");
            assert_eq!(state["location_uri"], location_uri(&name).as_str());
            assert_eq!(state["parameters"], json!({ "owner": "mdw-acceptance" }));
            assert_eq!(state["tags"], json!({ "team": "data", "env": "test" }));
            assert_eq!(
                state["tags_all"], state["tags"],
                "no default_tags in the provider"
            );
            assert_eq!(state["force_destroy"], false, "defaults to false");
            assert_eq!(state["arn"], arn(&name).as_str());
            assert_eq!(state["catalog_id"], ACCOUNT_ID);
            assert_eq!(glue_tags(&aws, &name), string_map(&original_tags));
        })
        // Not stored in Glue: import takes the default.
        .not_importable(&["force_destroy"])
        .update_in_place(&updated, |aws, state| {
            assert_eq!(state["description"], "updated description");
            assert_eq!(
                state["tags"],
                json!({ "team": "analytics", "owner": "mdw" })
            );
            assert_eq!(state["tags_all"], state["tags"]);
            let database = aws
                .block_on(aws.glue().get_database().name(&name).send())
                .unwrap_or_else(|e| panic!("GetDatabase {name}: {}", DisplayErrorContext(e)))
                .database
                .expect("GetDatabase returns the database");
            assert_eq!(database.description.as_deref(), Some("updated description"));
            assert_eq!(glue_tags(aws, &name), string_map(&updated_tags));
        })
        .run();
}

#[test]
fn creating_an_existing_database_asks_for_import() {
    let moto = Moto::start();
    let aws = moto.aws();
    let name = unique_name("taken");
    let input = DatabaseInput::builder()
        .name(&name)
        .description("created out of band")
        .build()
        .expect("a database input with a name");
    aws.block_on(aws.glue().create_database().database_input(input).send())
        .unwrap_or_else(|e| panic!("CreateDatabase {name}: {}", DisplayErrorContext(e)));

    let workspace = Workspace::new();
    workspace.write_config(&config(&moto, &name, "mine now?", &[]));
    workspace.init();
    let apply = workspace.try_apply();
    assert_ne!(
        apply.code, 0,
        "apply must not adopt an existing database: {apply}"
    );
    assert!(
        apply.combined().contains("terraform import"),
        "the error should tell the user to `terraform import` it: {apply}"
    );
    let database = aws
        .block_on(aws.glue().get_database().name(&name).send())
        .unwrap_or_else(|e| panic!("GetDatabase {name}: {}", DisplayErrorContext(e)))
        .database
        .expect("GetDatabase returns the database");
    assert_eq!(
        database.description.as_deref(),
        Some("created out of band"),
        "left untouched"
    );
}

#[test]
fn invalid_name_fails_at_plan_on_the_name_attribute() {
    let moto = Moto::start();
    let aws = moto.aws();
    let workspace = Workspace::new();
    workspace.write_config(&config(&moto, "Bad-Name", "never created", &[]));
    workspace.init();
    let (code, diagnostics) = workspace.plan_diagnostics();
    assert_eq!(code, 1, "plan must fail: {diagnostics:#?}");
    // The diagnostic carries the attribute path, so terraform shows the `name = ...` line.
    let points_at_name = diagnostics.iter().any(|d| {
        d["severity"] == "error"
            && d["snippet"]["code"]
                .as_str()
                .is_some_and(|code| code.trim_start().starts_with("name"))
    });
    assert!(
        points_at_name,
        "expected an error on the `name` attribute: {diagnostics:#?}"
    );
    // moto accepts any name: only the provider's validation stands between us and AWS.
    assert!(
        !database_exists(&aws, "Bad-Name"),
        "plan must not create anything"
    );
}

fn config(moto: &Moto, name: &str, description: &str, tags: &[(&str, &str)]) -> String {
    let tags: String = tags
        .iter()
        .map(|(key, value)| format!("    {key} = {}\n", hcl_string(value)))
        .collect();
    format!(
        r#"{provider}
resource "mdw_glue_database" "test" {{
  name         = {name}
  description  = {description}
  location_uri = {location_uri}
  parameters = {{
    owner = "mdw-acceptance"
  }}
  tags = {{
{tags}  }}
}}
"#,
        provider = moto_provider_block(moto),
        name = hcl_string(name),
        description = hcl_string(description),
        location_uri = hcl_string(&location_uri(name)),
    )
}

fn location_uri(name: &str) -> String {
    format!("s3://mdw-acceptance-warehouse/{name}/")
}

fn arn(name: &str) -> String {
    format!("arn:aws:glue:{REGION}:{ACCOUNT_ID}:database/{name}")
}

/// Asks Glue itself; any error other than "not found" fails the test.
fn database_exists(aws: &Aws, name: &str) -> bool {
    match aws.block_on(aws.glue().get_database().name(name).send()) {
        Ok(_) => true,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_entity_not_found_exception()) =>
        {
            false
        }
        Err(e) => panic!("GetDatabase {name}: {}", DisplayErrorContext(e)),
    }
}

fn glue_tags(aws: &Aws, name: &str) -> HashMap<String, String> {
    aws.block_on(aws.glue().get_tags().resource_arn(arn(name)).send())
        .unwrap_or_else(|e| panic!("GetTags {name}: {}", DisplayErrorContext(e)))
        .tags
        .unwrap_or_default()
}

fn string_map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}
