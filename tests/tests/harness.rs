//! The harness tests itself without our provider: moto answers the AWS SDK, and the real
//! terraform CLI runs in a `Workspace` with the built-in `terraform_data` resource.

use std::collections::HashMap;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use aws_sdk_glue::types::DatabaseInput;
use mdw_acceptance::{ACCOUNT_ID, Moto, REGION, Workspace, unique_name};

#[test]
fn moto_serves_glue_through_the_sdk_and_dies_on_drop() {
    let started = Instant::now();
    let moto = Moto::start();
    eprintln!("moto started in {:.1?}", started.elapsed());
    let aws = moto.aws();
    let glue = aws.glue();
    let name = unique_name("harness");
    let tags = HashMap::from([("team".to_owned(), "data".to_owned())]);

    let input = DatabaseInput::builder()
        .name(&name)
        .description("made by the harness")
        .build()
        .expect("a database input with a name");
    aws.block_on(
        glue.create_database()
            .database_input(input)
            .set_tags(Some(tags.clone()))
            .send(),
    )
    .expect("CreateDatabase");

    let database = aws
        .block_on(glue.get_database().name(&name).send())
        .expect("GetDatabase")
        .database
        .expect("GetDatabase returns the database");
    assert_eq!(database.name, name);
    assert_eq!(database.description.as_deref(), Some("made by the harness"));
    assert_eq!(database.catalog_id.as_deref(), Some(ACCOUNT_ID));

    // The provider's tag handling is checked through GetTags on the database ARN.
    let arn = format!("arn:aws:glue:{REGION}:{ACCOUNT_ID}:database/{name}");
    let read_tags = aws
        .block_on(glue.get_tags().resource_arn(&arn).send())
        .expect("GetTags")
        .tags
        .unwrap_or_default();
    assert_eq!(read_tags, tags);

    aws.block_on(glue.delete_database().name(&name).send())
        .expect("DeleteDatabase");
    let missing = aws
        .block_on(glue.get_database().name(&name).send())
        .expect_err("GetDatabase after delete");
    assert!(
        missing
            .as_service_error()
            .is_some_and(|e| e.is_entity_not_found_exception()),
        "expected EntityNotFoundException, got {missing:?}"
    );

    let port = moto.port();
    drop(moto);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "moto still listens on {port} after drop"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn terraform_runs_in_a_workspace() {
    let workspace = Workspace::without_provider();
    workspace.write_config(&data_config("first"));
    let started = Instant::now();
    workspace.init();
    eprintln!("terraform init took {:.1?}", started.elapsed());

    assert_eq!(
        workspace.planned_actions("terraform_data.probe"),
        ["create"]
    );
    workspace.apply();
    assert_eq!(
        workspace.state_resource("terraform_data.probe")["output"],
        "first"
    );
    workspace.assert_plan_empty(&[]);
    workspace.assert_plan_empty(&["-refresh-only"]);

    // Changing `input` updates in place; changing `triggers_replace` replaces.
    workspace.write_config(&data_config("second"));
    assert_eq!(
        workspace.planned_actions("terraform_data.probe"),
        ["update"]
    );
    assert_eq!(workspace.plan_exit_code(&[]).code, 2);
    workspace.apply();
    assert_eq!(
        workspace.state_resource("terraform_data.probe")["output"],
        "second"
    );

    // A second workspace gets the configuration but not the state.
    let copy = workspace.fresh_copy();
    copy.init();
    assert_eq!(copy.planned_actions("terraform_data.probe"), ["create"]);

    workspace.destroy();
    let state = workspace.show_json();
    let resources = &state["values"]["root_module"]["resources"];
    assert!(
        resources.as_array().is_none_or(Vec::is_empty),
        "state is empty after destroy: {state:#}"
    );
}

#[test]
fn failures_show_the_command_and_its_output() {
    let workspace = Workspace::without_provider();
    workspace.write_config("resource \"terraform_data\" \"broken\" {\n  input = \n}\n");
    let panic = std::panic::catch_unwind(|| workspace.init()).expect_err("init of broken HCL");
    let message = panic
        .downcast_ref::<String>()
        .expect("a formatted panic message");
    assert!(message.contains("`terraform init"), "{message}");
    assert!(message.contains("exited with code 1"), "{message}");
    assert!(message.contains("--- stderr ---"), "{message}");
    assert!(
        message.contains("main.tf"),
        "names the broken file: {message}"
    );

    let (code, diagnostics) = workspace.plan_diagnostics();
    assert_eq!(code, 1);
    assert!(
        diagnostics
            .iter()
            .any(|d| d["severity"] == "error" && d["range"]["filename"] == "main.tf"),
        "{diagnostics:#?}"
    );
}

fn data_config(input: &str) -> String {
    format!(
        "resource \"terraform_data\" \"probe\" {{\n  input            = \"{input}\"\n  \
         triggers_replace = [\"fixed\"]\n}}\n"
    )
}
