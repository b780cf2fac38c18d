//! Acceptance tests for `mdw_athena_workgroup`.
//!
//! moto does not implement UpdateWorkGroup (HTTP 500), so no step here changes the workgroup's
//! configuration, description or state in place: which ConfigurationUpdates an update sends is
//! covered by the unit tests of `expand_configuration_updates` in the provider. The in-place
//! update step below changes only what needs no UpdateWorkGroup (tags, `force_destroy`).

use std::collections::HashMap;

use aws_sdk_athena::error::DisplayErrorContext;
use aws_sdk_athena::types::{EncryptionOption, WorkGroup, WorkGroupConfiguration};
use mdw_acceptance::{
    ACCOUNT_ID, AcceptanceSteps, Aws, Moto, REGION, Workspace, hcl_string, moto_provider_block,
    unique_name,
};
use serde_json::json;

const ADDRESS: &str = "mdw_athena_workgroup.test";
const RESULTS: &str = "s3://mdw-acceptance-work-zone/results/";
const KMS_KEY: &str = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

#[test]
fn athena_workgroup_acceptance_steps() {
    let moto = Moto::start();
    let aws = moto.aws();
    let name = unique_name("accwg");
    // The issue's fixed interface: a name and a result location make a complete workgroup.
    let created = config(&moto, &name, "tags = { team = \"data\" }");
    let updated = config(
        &moto,
        &name,
        "tags = { team = \"analytics\", owner = \"mdw\" }\n  force_destroy = true",
    );
    let workspace = Workspace::new();

    AcceptanceSteps::new(&workspace, &aws, ADDRESS, &name, &created)
        .exists(|aws| find_workgroup(aws, &name).is_some())
        .delete_out_of_band(|aws| {
            aws.block_on(aws.athena().delete_work_group().work_group(&name).send())
                .unwrap_or_else(|e| panic!("DeleteWorkGroup {name}: {}", DisplayErrorContext(e)));
        })
        .check_attributes(|state| {
            assert_eq!(state["name"], name.as_str());
            assert_eq!(state["description"], serde_json::Value::Null);
            assert_eq!(state["state"], "ENABLED");
            assert_eq!(state["result_location"], RESULTS);
            assert_eq!(state["result_encryption"], "SSE_S3");
            assert_eq!(state["kms_key_arn"], serde_json::Value::Null);
            assert_eq!(state["enforce_workgroup_configuration"], true);
            assert_eq!(
                state["bytes_scanned_cutoff_per_query"],
                serde_json::Value::Null
            );
            assert_eq!(state["engine_version"], "Athena engine version 3");
            assert_eq!(state["publish_cloudwatch_metrics_enabled"], true);
            assert_eq!(state["force_destroy"], false);
            assert_eq!(state["tags"], json!({ "team": "data" }));
            assert_eq!(state["tags_all"], state["tags"]);
            assert_eq!(
                state["arn"],
                format!("arn:aws:athena:{REGION}:{ACCOUNT_ID}:workgroup/{name}")
            );

            // What Athena holds, asked behind the provider's back.
            let wg = find_workgroup(&aws, &name).expect("the workgroup exists");
            let config = configuration(&wg);
            assert_eq!(config.enforce_work_group_configuration(), Some(true));
            let result = config
                .result_configuration()
                .expect("a result configuration");
            assert_eq!(result.output_location(), Some(RESULTS));
            let encryption = result
                .encryption_configuration()
                .expect("results are encrypted");
            assert_eq!(encryption.encryption_option(), &EncryptionOption::SseS3);
            assert_eq!(encryption.kms_key(), None);
            assert_eq!(config.publish_cloud_watch_metrics_enabled(), Some(true));
            assert_eq!(config.bytes_scanned_cutoff_per_query(), None);
            assert_eq!(
                config
                    .engine_version()
                    .and_then(|v| v.selected_engine_version()),
                Some("Athena engine version 3")
            );
            assert_eq!(
                workgroup_tags(&aws, &name),
                HashMap::from([("team".to_string(), "data".to_string())])
            );
        })
        // Not stored in Athena: import takes the default.
        .not_importable(&["force_destroy"])
        .update_in_place(&updated, |aws, state| {
            assert_eq!(
                state["tags"],
                json!({ "team": "analytics", "owner": "mdw" })
            );
            assert_eq!(state["force_destroy"], true);
            assert_eq!(
                workgroup_tags(aws, &name),
                HashMap::from([
                    ("team".to_string(), "analytics".to_string()),
                    ("owner".to_string(), "mdw".to_string()),
                ])
            );
        })
        .run();
}

#[test]
fn every_setting_reaches_athena_as_configured() {
    let moto = Moto::start();
    let aws = moto.aws();
    let name = unique_name("settings");
    let workspace = Workspace::new();
    workspace.write_config(&config(
        &moto,
        &name,
        &format!(
            r#"description                        = "ad-hoc analysts"
  result_encryption                  = "CSE_KMS"
  kms_key_arn                        = {key}
  enforce_workgroup_configuration    = false
  bytes_scanned_cutoff_per_query     = 10737418240
  engine_version                     = "AUTO"
  publish_cloudwatch_metrics_enabled = false"#,
            key = hcl_string(KMS_KEY)
        ),
    ));
    workspace.init();
    workspace.apply();
    let wg = find_workgroup(&aws, &name).expect("the workgroup exists");
    assert_eq!(wg.description(), Some("ad-hoc analysts"));
    let config = configuration(&wg);
    let encryption = config
        .result_configuration()
        .and_then(|r| r.encryption_configuration())
        .expect("results are encrypted");
    assert_eq!(encryption.encryption_option(), &EncryptionOption::CseKms);
    assert_eq!(encryption.kms_key(), Some(KMS_KEY));
    assert_eq!(config.enforce_work_group_configuration(), Some(false));
    assert_eq!(
        config.bytes_scanned_cutoff_per_query(),
        Some(10_737_418_240)
    );
    assert_eq!(
        config
            .engine_version()
            .and_then(|v| v.selected_engine_version()),
        Some("AUTO")
    );
    assert_eq!(config.publish_cloud_watch_metrics_enabled(), Some(false));
    workspace.assert_plan_empty(&[]);
    workspace.destroy();
    assert!(find_workgroup(&aws, &name).is_none());
}

#[test]
fn destroy_keeps_named_queries_unless_force_destroy() {
    let moto = Moto::start();
    let aws = moto.aws();
    let name = unique_name("queries");
    let workspace = Workspace::new();
    workspace.write_config(&config(&moto, &name, ""));
    workspace.init();
    workspace.apply();
    aws.block_on(
        aws.athena()
            .create_named_query()
            .name("daily revenue")
            .database("mdw")
            .query_string("select 1")
            .work_group(&name)
            .send(),
    )
    .unwrap_or_else(|e| panic!("CreateNamedQuery: {}", DisplayErrorContext(e)));

    let refused = workspace.run(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
    assert_ne!(refused.code, 0, "destroy must refuse: {refused}");
    let output = refused.combined();
    assert!(
        output.contains("still has named queries") && output.contains("force_destroy = true"),
        "the error should say what is inside and how to delete it anyway: {refused}"
    );
    assert!(find_workgroup(&aws, &name).is_some(), "left in place");

    // force_destroy is provider-side: switching it needs no UpdateWorkGroup.
    workspace.write_config(&config(&moto, &name, "force_destroy = true"));
    workspace.apply();
    workspace.destroy();
    assert!(find_workgroup(&aws, &name).is_none());
}

#[test]
fn creating_an_existing_workgroup_asks_for_import() {
    let moto = Moto::start();
    let aws = moto.aws();
    let name = unique_name("taken");
    aws.block_on(
        aws.athena()
            .create_work_group()
            .name(&name)
            .description("created out of band")
            .send(),
    )
    .unwrap_or_else(|e| panic!("CreateWorkGroup {name}: {}", DisplayErrorContext(e)));

    let workspace = Workspace::new();
    workspace.write_config(&config(&moto, &name, ""));
    workspace.init();
    let apply = workspace.try_apply();
    assert_ne!(
        apply.code, 0,
        "apply must not adopt an existing workgroup: {apply}"
    );
    assert!(
        apply.combined().contains("terraform import"),
        "the error should tell the user to `terraform import` it: {apply}"
    );
    let wg = find_workgroup(&aws, &name).expect("still there");
    assert_eq!(
        wg.description(),
        Some("created out of band"),
        "left untouched"
    );
}

#[test]
fn bad_inputs_fail_at_plan_on_their_attribute() {
    let moto = Moto::start();
    let cases = [
        (
            r#"result_location = "mdw-work-zone/results/""#,
            "result_location",
            "is not an S3 location",
        ),
        (
            "bytes_scanned_cutoff_per_query = 1000",
            "bytes_scanned_cutoff_per_query",
            "10 MB",
        ),
        (
            r#"engine_version = "v3""#,
            "engine_version",
            "Athena engine version 3",
        ),
    ];
    for (line, attribute, message) in cases {
        let workspace = Workspace::new();
        workspace.write_config(&format!(
            "{}\nresource \"mdw_athena_workgroup\" \"test\" {{\n  name = \"bad_inputs\"\n  {}\n}}\n",
            moto_provider_block(&moto),
            if attribute == "result_location" {
                line.to_string()
            } else {
                format!("result_location = {}\n  {line}", hcl_string(RESULTS))
            }
        ));
        workspace.init();
        let (code, diagnostics) = workspace.plan_diagnostics();
        assert_eq!(code, 1, "{line}: plan must fail: {diagnostics:#?}");
        let on_attribute = diagnostics.iter().any(|d| {
            d["severity"] == "error"
                && d["detail"].as_str().is_some_and(|t| t.contains(message))
                && d["snippet"]["code"]
                    .as_str()
                    .is_some_and(|code| code.trim_start().starts_with(attribute))
        });
        assert!(
            on_attribute,
            "{line}: expected one error on `{attribute}` saying {message:?}: {diagnostics:#?}"
        );
    }

    // A KMS option without a key: the error names kms_key_arn and the fix.
    let workspace = Workspace::new();
    workspace.write_config(&config(&moto, "no_key", r#"result_encryption = "SSE_KMS""#));
    workspace.init();
    let (code, diagnostics) = workspace.plan_diagnostics();
    assert_eq!(code, 1, "plan must fail: {diagnostics:#?}");
    assert!(
        diagnostics.iter().any(|d| d["summary"]
            .as_str()
            .is_some_and(|s| s.contains("needs a KMS key"))
            && d["detail"]
                .as_str()
                .is_some_and(|t| t.contains("kms_key_arn"))),
        "{diagnostics:#?}"
    );
}

fn config(moto: &Moto, name: &str, extra: &str) -> String {
    format!(
        r#"{provider}
resource "mdw_athena_workgroup" "test" {{
  name            = {name}
  result_location = {results}
  {extra}
}}
"#,
        provider = moto_provider_block(moto),
        name = hcl_string(name),
        results = hcl_string(RESULTS),
    )
}

/// Asks Athena itself; moto answers a missing workgroup with an empty body.
fn find_workgroup(aws: &Aws, name: &str) -> Option<WorkGroup> {
    match aws.block_on(aws.athena().get_work_group().work_group(name).send()) {
        Ok(out) => out.work_group,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_invalid_request_exception()) =>
        {
            None
        }
        Err(e) => panic!("GetWorkGroup {name}: {}", DisplayErrorContext(e)),
    }
}

fn configuration(wg: &WorkGroup) -> &WorkGroupConfiguration {
    wg.configuration()
        .expect("the workgroup has a configuration")
}

fn workgroup_tags(aws: &Aws, name: &str) -> HashMap<String, String> {
    let arn = format!("arn:aws:athena:{REGION}:{ACCOUNT_ID}:workgroup/{name}");
    match aws.block_on(
        aws.athena()
            .list_tags_for_resource()
            .resource_arn(arn)
            .send(),
    ) {
        Ok(out) => out
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect(),
        // moto answers so for an untagged workgroup.
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_invalid_request_exception()) =>
        {
            HashMap::new()
        }
        Err(e) => panic!("ListTagsForResource {name}: {}", DisplayErrorContext(e)),
    }
}
