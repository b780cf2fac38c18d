//! Acceptance tests for the IAM role resources: `mdw_dbt_runner_role`, `mdw_airbyte_ec2_role`
//! and `mdw_terraform_operator_role`. moto does not evaluate IAM policies, so these tests check
//! the documents IAM holds (trust policy, inline policy, instance profile); the exact grants of
//! each policy are pinned by the unit tests of `iam_policy` in the provider.

use aws_sdk_iam::error::DisplayErrorContext;
use mdw_acceptance::{
    ACCOUNT_ID, AcceptanceSteps, Aws, Moto, REGION, Workspace, hcl_string, moto_provider_block,
    unique_name,
};
use serde_json::{Value, json};

const POLICY_NAME: &str = "mdw-least-privilege";
const CI_ROLE: &str = "arn:aws:iam::123456789012:role/ci";

#[test]
fn dbt_runner_role_acceptance_steps() {
    let moto = Moto::start();
    let aws = moto.aws();
    let name = unique_name("dbt");
    let created = dbt_runner_config(&moto, &name, &["mdw"]);
    // Adding a database must rewrite the policy in place.
    let updated = dbt_runner_config(&moto, &name, &["mdw", "marts"])
        .replace("  tags = {", "  max_session_duration = 7200\n  tags = {");
    let workspace = Workspace::new();

    AcceptanceSteps::new(
        &workspace,
        &aws,
        "mdw_dbt_runner_role.test",
        &name,
        &created,
    )
    .exists(|aws| role_exists(aws, &name))
    .delete_out_of_band(|aws| delete_role(aws, &name))
    .check_attributes(|state| {
        assert_eq!(state["name"], name.as_str());
        assert_eq!(state["arn"], role_arn(&name).as_str());
        assert_eq!(
            state["max_session_duration"],
            Value::Null,
            "unset: IAM's default"
        );
        assert_eq!(max_session_duration(&aws, &name), 3600);
        assert_eq!(state["trusted_principal_arns"], json!([CI_ROLE]));
        assert_eq!(state["trusted_services"], json!([]));
        assert_eq!(state["databases"], json!(["mdw"]));
        assert_eq!(state["tags"], json!({ "team": "data" }));
        assert_eq!(state["tags_all"], state["tags"]);

        let trust = trust_policy(&aws, &name);
        assert_eq!(trust_document(state), trust, "state shows what IAM holds");
        assert_eq!(trust["Statement"][0]["Principal"]["AWS"], json!([CI_ROLE]));
        assert_eq!(trust["Statement"][0]["Action"], json!(["sts:AssumeRole"]));

        let policy = inline_policy(&aws, &name).expect("the inline policy exists");
        assert_eq!(policy_document(state), policy, "state shows what IAM holds");
        assert_eq!(
            resources(&policy, "AthenaWorkgroup"),
            vec![format!(
                "arn:aws:athena:{REGION}:{ACCOUNT_ID}:workgroup/mdw"
            )]
        );
        assert_eq!(
            resources(&policy, "QueryResultsReadWrite"),
            vec!["arn:aws:s3:::mdw-acc-work-zone/results/*".to_string()]
        );
        assert_eq!(
            resources(&policy, "WarehouseReadWrite"),
            vec!["arn:aws:s3:::mdw-acc-warehouse/*".to_string()]
        );
        assert_eq!(
            resources(&policy, "GlueReadWrite"),
            vec![
                glue_arn("catalog"),
                glue_arn("database/mdw"),
                glue_arn("table/mdw/*")
            ]
        );
        assert_eq!(role_tags(&aws, &name), vec![("team".into(), "data".into())]);
    })
    .update_in_place(&updated, |aws, state| {
        assert_eq!(state["databases"], json!(["mdw", "marts"]));
        assert_eq!(max_session_duration(aws, &name), 7200);
        let policy = inline_policy(aws, &name).expect("the inline policy exists");
        assert_eq!(policy_document(state), policy);
        assert_eq!(
            resources(&policy, "GlueReadWrite"),
            vec![
                glue_arn("catalog"),
                glue_arn("database/mdw"),
                glue_arn("database/marts"),
                glue_arn("table/mdw/*"),
                glue_arn("table/marts/*"),
            ]
        );
    })
    .run();
}

#[test]
fn airbyte_ec2_role_acceptance_steps() {
    let moto = Moto::start();
    let aws = moto.aws();
    let name = unique_name("airbyte");
    let created = airbyte_config(&moto, &name, "");
    // Asking for Glue updates on the raw database adds them in place.
    let updated = airbyte_config(&moto, &name, "raw_database = \"raw\"");
    let workspace = Workspace::new();

    AcceptanceSteps::new(
        &workspace,
        &aws,
        "mdw_airbyte_ec2_role.test",
        &name,
        &created,
    )
    .exists(|aws| role_exists(aws, &name))
    .delete_out_of_band(|aws| delete_role(aws, &name))
    .check_attributes(|state| {
        assert_eq!(state["arn"], role_arn(&name).as_str());
        let profile_arn = format!("arn:aws:iam::{ACCOUNT_ID}:instance-profile/{name}");
        assert_eq!(state["instance_profile_arn"], profile_arn.as_str());
        assert_eq!(state["instance_profile_name"], name.as_str());
        assert_eq!(
            instance_profile_roles(&aws, &name),
            Some(vec![name.clone()])
        );

        let trust = trust_policy(&aws, &name);
        assert_eq!(trust_document(state), trust);
        assert_eq!(
            trust["Statement"][0]["Principal"],
            json!({ "Service": ["ec2.amazonaws.com"] }),
            "only EC2 may assume it"
        );
        let policy = inline_policy(&aws, &name).expect("the inline policy exists");
        assert_eq!(policy_document(state), policy);
        assert_eq!(
            resources(&policy, "RawReadWrite"),
            vec!["arn:aws:s3:::mdw-acc-raw/airbyte/*".to_string()]
        );
        assert!(
            resources(&policy, "GlueRawDatabase").is_empty(),
            "not asked for"
        );
    })
    .update_in_place(&updated, |aws, state| {
        assert_eq!(state["raw_database"], "raw");
        let policy = inline_policy(aws, &name).expect("the inline policy exists");
        assert_eq!(policy_document(state), policy);
        assert_eq!(
            resources(&policy, "GlueRawDatabase"),
            vec![
                glue_arn("catalog"),
                glue_arn("database/raw"),
                glue_arn("table/raw/*")
            ]
        );
    })
    .run();
    // destroy removed the instance profile too, not only the role (checked by `exists`).
    assert_eq!(instance_profile_roles(&aws, &name), None);
}

#[test]
fn terraform_operator_role_acceptance_steps() {
    let moto = Moto::start();
    let aws = moto.aws();
    let name = unique_name("operator");
    let created = operator_config(&moto, &name, "");
    let updated = operator_config(&moto, &name, "lock_table = \"mdw-terraform-locks\"");
    let workspace = Workspace::new();

    AcceptanceSteps::new(
        &workspace,
        &aws,
        "mdw_terraform_operator_role.test",
        &name,
        &created,
    )
    .exists(|aws| role_exists(aws, &name))
    .delete_out_of_band(|aws| delete_role(aws, &name))
    .check_attributes(|state| {
        let trust = trust_policy(&aws, &name);
        assert_eq!(trust_document(state), trust);
        assert_eq!(
            trust["Statement"][0]["Principal"],
            json!({ "AWS": [CI_ROLE], "Service": ["codebuild.amazonaws.com"] })
        );
        let policy = inline_policy(&aws, &name).expect("the inline policy exists");
        assert_eq!(policy_document(state), policy);
        assert_eq!(
            resources(&policy, "TerraformState"),
            vec![
                "arn:aws:s3:::mdw-acc-state/mdw/terraform.tfstate".to_string(),
                "arn:aws:s3:::mdw-acc-state/mdw/terraform.tfstate.tflock".to_string(),
            ]
        );
        assert_eq!(
            resources(&policy, "ManageWorkgroups"),
            vec![format!(
                "arn:aws:athena:{REGION}:{ACCOUNT_ID}:workgroup/mdw"
            )]
        );
        assert_eq!(
            resources(&policy, "ManageRoles"),
            vec![
                format!("arn:aws:iam::{ACCOUNT_ID}:role/mdw-*"),
                format!("arn:aws:iam::{ACCOUNT_ID}:instance-profile/mdw-*"),
            ]
        );
        assert!(resources(&policy, "TerraformLockTable").is_empty());
    })
    .update_in_place(&updated, |aws, state| {
        let policy = inline_policy(aws, &name).expect("the inline policy exists");
        assert_eq!(policy_document(state), policy);
        assert_eq!(
            resources(&policy, "TerraformLockTable"),
            vec![format!(
                "arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/mdw-terraform-locks"
            )]
        );
    })
    .run();
}

#[test]
fn out_of_band_changes_show_as_updates() {
    let moto = Moto::start();
    let aws = moto.aws();
    let name = unique_name("drift");
    let workspace = Workspace::new();
    workspace.write_config(&airbyte_config(&moto, &name, ""));
    workspace.init();
    workspace.apply();
    let address = "mdw_airbyte_ec2_role.test";
    let computed = inline_policy(&aws, &name).expect("the inline policy exists");

    // Someone widens the inline policy by hand.
    let widened = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    aws.block_on(
        aws.iam()
            .put_role_policy()
            .role_name(&name)
            .policy_name(POLICY_NAME)
            .policy_document(widened)
            .send(),
    )
    .unwrap_or_else(|e| panic!("PutRolePolicy: {}", DisplayErrorContext(e)));
    assert_eq!(workspace.planned_actions(address), vec!["update"]);
    workspace.apply();
    assert_eq!(
        inline_policy(&aws, &name),
        Some(computed.clone()),
        "restored"
    );
    workspace.assert_plan_empty(&[]);

    // … or deletes it.
    aws.block_on(
        aws.iam()
            .delete_role_policy()
            .role_name(&name)
            .policy_name(POLICY_NAME)
            .send(),
    )
    .unwrap_or_else(|e| panic!("DeleteRolePolicy: {}", DisplayErrorContext(e)));
    assert_eq!(workspace.planned_actions(address), vec!["update"]);
    workspace.apply();
    assert_eq!(inline_policy(&aws, &name), Some(computed), "put back");

    // … or lets another account assume the role.
    let foreign_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}"#;
    aws.block_on(
        aws.iam()
            .update_assume_role_policy()
            .role_name(&name)
            .policy_document(foreign_trust)
            .send(),
    )
    .unwrap_or_else(|e| panic!("UpdateAssumeRolePolicy: {}", DisplayErrorContext(e)));
    assert_eq!(workspace.planned_actions(address), vec!["update"]);
    workspace.apply();
    assert_eq!(
        trust_policy(&aws, &name)["Statement"][0]["Principal"],
        json!({ "Service": ["ec2.amazonaws.com"] })
    );

    // … or takes the role out of its instance profile.
    aws.block_on(
        aws.iam()
            .remove_role_from_instance_profile()
            .instance_profile_name(&name)
            .role_name(&name)
            .send(),
    )
    .unwrap_or_else(|e| panic!("RemoveRoleFromInstanceProfile: {}", DisplayErrorContext(e)));
    assert_eq!(workspace.planned_actions(address), vec!["update"]);
    workspace.apply();
    assert_eq!(
        instance_profile_roles(&aws, &name),
        Some(vec![name.clone()])
    );
    workspace.assert_plan_empty(&[]);
    workspace.destroy();
}

#[test]
fn destroy_detaches_what_was_attached_out_of_band() {
    let moto = Moto::start();
    let aws = moto.aws();
    let name = unique_name("attached");
    let workspace = Workspace::new();
    workspace.write_config(&dbt_runner_config(&moto, &name, &["mdw"]));
    workspace.init();
    workspace.apply();
    // IAM refuses DeleteRole while any of these remain (DeleteConflict).
    let iam = aws.iam();
    aws.block_on(
        iam.put_role_policy()
            .role_name(&name)
            .policy_name("hand-written")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::x/*"}]}"#)
            .send(),
    )
    .unwrap_or_else(|e| panic!("PutRolePolicy: {}", DisplayErrorContext(e)));
    let managed = aws
        .block_on(
            iam.create_policy()
                .policy_name(format!("{name}-managed"))
                .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#)
                .send(),
        )
        .unwrap_or_else(|e| panic!("CreatePolicy: {}", DisplayErrorContext(e)));
    let managed_arn = managed.policy.and_then(|p| p.arn).expect("a policy ARN");
    aws.block_on(
        iam.attach_role_policy()
            .role_name(&name)
            .policy_arn(&managed_arn)
            .send(),
    )
    .unwrap_or_else(|e| panic!("AttachRolePolicy: {}", DisplayErrorContext(e)));
    aws.block_on(
        iam.create_instance_profile()
            .instance_profile_name(&name)
            .send(),
    )
    .unwrap_or_else(|e| panic!("CreateInstanceProfile: {}", DisplayErrorContext(e)));
    aws.block_on(
        iam.add_role_to_instance_profile()
            .instance_profile_name(&name)
            .role_name(&name)
            .send(),
    )
    .unwrap_or_else(|e| panic!("AddRoleToInstanceProfile: {}", DisplayErrorContext(e)));

    workspace.destroy();
    assert!(!role_exists(&aws, &name));
    // Someone else's instance profile is emptied, not deleted.
    assert_eq!(instance_profile_roles(&aws, &name), Some(vec![]));
}

#[test]
fn policy_is_computed_at_plan_time_from_references() {
    let moto = Moto::start();
    let aws = moto.aws();
    let name = unique_name("refs");
    let workgroup = unique_name("refswg");
    let database = unique_name("refsdb");
    let workspace = Workspace::new();
    workspace.write_config(&format!(
        r#"{provider}
resource "mdw_athena_workgroup" "main" {{
  name            = {workgroup}
  result_location = "s3://mdw-acc-work-zone/results/"
}}

resource "mdw_glue_database" "mdw" {{
  name = {database}
}}

resource "mdw_dbt_runner_role" "dbt" {{
  name                   = {name}
  trusted_principal_arns = [{ci}]
  workgroup              = mdw_athena_workgroup.main.name
  results_location       = mdw_athena_workgroup.main.result_location
  warehouse_location     = "s3://mdw-acc-warehouse/"
  databases              = [mdw_glue_database.mdw.name]
}}
"#,
        provider = moto_provider_block(&moto),
        workgroup = hcl_string(&workgroup),
        database = hcl_string(&database),
        name = hcl_string(&name),
        ci = hcl_string(CI_ROLE),
    ));
    workspace.init();
    let changes = workspace.plan_json();
    let role = changes
        .iter()
        .find(|c| c["address"] == "mdw_dbt_runner_role.dbt")
        .expect("the role is in the plan");
    let planned = role["change"]["after"]["policy_json"]
        .as_str()
        .unwrap_or_else(|| panic!("policy_json must be known at plan time: {role:#}"));
    let planned: Value = serde_json::from_str(planned).expect("policy_json is JSON");
    assert_eq!(
        resources(&planned, "AthenaWorkgroup"),
        vec![format!(
            "arn:aws:athena:{REGION}:{ACCOUNT_ID}:workgroup/{workgroup}"
        )]
    );
    assert!(
        resources(&planned, "GlueReadWrite").contains(&glue_arn(&format!("database/{database}")))
    );
    workspace.apply();
    assert_eq!(inline_policy(&aws, &name), Some(planned));
    workspace.assert_plan_empty(&[]);
    workspace.destroy();
}

#[test]
fn creating_an_existing_role_asks_for_import() {
    let moto = Moto::start();
    let aws = moto.aws();
    let name = unique_name("taken");
    aws.block_on(
        aws.iam()
            .create_role()
            .role_name(&name)
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
            .description("created out of band")
            .send(),
    )
    .unwrap_or_else(|e| panic!("CreateRole {name}: {}", DisplayErrorContext(e)));
    let workspace = Workspace::new();
    workspace.write_config(&dbt_runner_config(&moto, &name, &["mdw"]));
    workspace.init();
    let apply = workspace.try_apply();
    assert_ne!(
        apply.code, 0,
        "apply must not adopt an existing role: {apply}"
    );
    assert!(
        apply.combined().contains("terraform import"),
        "the error should tell the user to `terraform import` it: {apply}"
    );
    assert_eq!(inline_policy(&aws, &name), None, "left untouched");
}

#[test]
fn bad_inputs_fail_at_plan_on_their_attribute() {
    let moto = Moto::start();
    // (resource body, attribute the error must point at, text it must contain)
    let cases = [
        (
            r#"results_location = "mdw-work-zone/results/""#,
            "results_location",
            "is not an S3 location",
        ),
        (
            r#"trusted_principal_arns = ["123456789012"]"#,
            "trusted_principal_arns",
            "arn:aws:iam::123456789012:root",
        ),
        (
            r#"kms_key_arns = ["alias/mdw"]"#,
            "kms_key_arns",
            "not a KMS key ARN",
        ),
        (
            r#"databases = ["Bad-Name"]"#,
            "databases",
            "not a valid Glue database name",
        ),
    ];
    for (line, attribute, message) in cases {
        let workspace = Workspace::new();
        workspace.write_config(&format!(
            "{}\nresource \"mdw_dbt_runner_role\" \"test\" {{\n{}\n}}\n",
            moto_provider_block(&moto),
            dbt_runner_body("bad-inputs", &["mdw"], line)
        ));
        workspace.init();
        let (code, diagnostics) = workspace.plan_diagnostics();
        assert_eq!(code, 1, "{line}: plan must fail: {diagnostics:#?}");
        let errors: Vec<&Value> = diagnostics
            .iter()
            .filter(|d| d["severity"] == "error")
            .collect();
        assert_eq!(errors.len(), 1, "{line}: one clear error: {errors:#?}");
        assert!(
            errors[0]["detail"]
                .as_str()
                .is_some_and(|t| t.contains(message))
                && errors[0]["snippet"]["code"]
                    .as_str()
                    .is_some_and(|code| code.trim_start().starts_with(attribute)),
            "{line}: expected the error on `{attribute}` saying {message:?}: {errors:#?}"
        );
    }

    // Nobody may assume it, or a required input is missing: one error each, naming the fix.
    let nobody = format!(
        "{}\nresource \"mdw_dbt_runner_role\" \"test\" {{\n{}\n}}\n",
        moto_provider_block(&moto),
        dbt_runner_body("nobody", &["mdw"], "").replace(
            &format!("trusted_principal_arns = [{}]", hcl_string(CI_ROLE)),
            ""
        )
    );
    let missing = format!(
        "{}\nresource \"mdw_airbyte_ec2_role\" \"test\" {{\n  name = \"no-raw\"\n}}\n",
        moto_provider_block(&moto)
    );
    for (config, expected) in [
        (nobody, "needs a principal that may assume it"),
        (missing, "raw_location"),
    ] {
        let workspace = Workspace::new();
        workspace.write_config(&config);
        workspace.init();
        let (code, diagnostics) = workspace.plan_diagnostics();
        assert_eq!(code, 1, "plan must fail: {diagnostics:#?}");
        assert!(
            diagnostics.iter().any(|d| {
                let text = format!("{} {}", d["summary"], d["detail"]);
                d["severity"] == "error" && text.contains(expected)
            }),
            "expected an error mentioning {expected:?}: {diagnostics:#?}"
        );
    }
}

// ---- configurations -------------------------------------------------------------------------

fn dbt_runner_body(name: &str, databases: &[&str], extra: &str) -> String {
    let databases: Vec<String> = databases.iter().map(|d| hcl_string(d)).collect();
    let mut body = format!(
        r#"  name                   = {name}
  trusted_principal_arns = [{ci}]
  workgroup              = "mdw"
  results_location       = "s3://mdw-acc-work-zone/results/"
  warehouse_location     = "s3://mdw-acc-warehouse/"
  databases              = [{databases}]
  tags = {{
    team = "data"
  }}"#,
        name = hcl_string(name),
        ci = hcl_string(CI_ROLE),
        databases = databases.join(", "),
    );
    // A line of `extra` replaces the line setting the same attribute.
    for line in extra.lines() {
        let attribute = line.split('=').next().unwrap_or_default().trim();
        let replaced: Vec<String> = body
            .lines()
            .map(|l| {
                if l.trim_start().starts_with(&format!("{attribute} ")) {
                    format!("  {line}")
                } else {
                    l.to_string()
                }
            })
            .collect();
        body = replaced.join("\n");
        if !body.contains(line) {
            body.push_str(&format!("\n  {line}"));
        }
    }
    body
}

fn dbt_runner_config(moto: &Moto, name: &str, databases: &[&str]) -> String {
    format!(
        "{}\nresource \"mdw_dbt_runner_role\" \"test\" {{\n{}\n}}\n",
        moto_provider_block(moto),
        dbt_runner_body(name, databases, "")
    )
}

fn airbyte_config(moto: &Moto, name: &str, extra: &str) -> String {
    format!(
        r#"{provider}
resource "mdw_airbyte_ec2_role" "test" {{
  name         = {name}
  raw_location = "s3://mdw-acc-raw/airbyte/"
  {extra}
}}
"#,
        provider = moto_provider_block(moto),
        name = hcl_string(name),
    )
}

fn operator_config(moto: &Moto, name: &str, extra: &str) -> String {
    format!(
        r#"{provider}
resource "mdw_terraform_operator_role" "test" {{
  name                   = {name}
  trusted_principal_arns = [{ci}]
  trusted_services       = ["codebuild.amazonaws.com"]
  state_bucket           = "mdw-acc-state"
  state_key              = "mdw/terraform.tfstate"
  lake_buckets           = ["mdw-acc-work-zone", "mdw-acc-warehouse"]
  workgroups             = ["mdw"]
  databases              = ["mdw"]
  results_location       = "s3://mdw-acc-work-zone/results/"
  warehouse_location     = "s3://mdw-acc-warehouse/"
  iam_role_name_prefix   = "mdw-"
  {extra}
}}
"#,
        provider = moto_provider_block(moto),
        name = hcl_string(name),
        ci = hcl_string(CI_ROLE),
    )
}

// ---- asking IAM behind the provider's back --------------------------------------------------

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT_ID}:role/{name}")
}

fn glue_arn(resource: &str) -> String {
    format!("arn:aws:glue:{REGION}:{ACCOUNT_ID}:{resource}")
}

fn role_exists(aws: &Aws, name: &str) -> bool {
    match aws.block_on(aws.iam().get_role().role_name(name).send()) {
        Ok(_) => true,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            false
        }
        Err(e) => panic!("GetRole {name}: {}", DisplayErrorContext(e)),
    }
}

/// What an operator would do by hand: everything off the role, then the role.
fn delete_role(aws: &Aws, name: &str) {
    let iam = aws.iam();
    if instance_profile_roles(aws, name).is_some_and(|roles| !roles.is_empty()) {
        aws.block_on(
            iam.remove_role_from_instance_profile()
                .instance_profile_name(name)
                .role_name(name)
                .send(),
        )
        .unwrap_or_else(|e| panic!("RemoveRoleFromInstanceProfile: {}", DisplayErrorContext(e)));
        aws.block_on(
            iam.delete_instance_profile()
                .instance_profile_name(name)
                .send(),
        )
        .unwrap_or_else(|e| panic!("DeleteInstanceProfile: {}", DisplayErrorContext(e)));
    }
    aws.block_on(
        iam.delete_role_policy()
            .role_name(name)
            .policy_name(POLICY_NAME)
            .send(),
    )
    .unwrap_or_else(|e| panic!("DeleteRolePolicy {name}: {}", DisplayErrorContext(e)));
    aws.block_on(iam.delete_role().role_name(name).send())
        .unwrap_or_else(|e| panic!("DeleteRole {name}: {}", DisplayErrorContext(e)));
}

/// IAM hands documents back URL-encoded.
fn url_decode(encoded: &str) -> String {
    let bytes = encoded.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if let (b'%', Some(byte)) = (bytes[i], hex) {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("a UTF-8 document")
}

fn parse_document(document: &str) -> Value {
    let text = if document.starts_with('{') {
        document.to_string()
    } else {
        url_decode(document)
    };
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid policy JSON ({e}): {text}"))
}

fn trust_policy(aws: &Aws, name: &str) -> Value {
    let role = aws
        .block_on(aws.iam().get_role().role_name(name).send())
        .unwrap_or_else(|e| panic!("GetRole {name}: {}", DisplayErrorContext(e)))
        .role
        .expect("GetRole returns the role");
    parse_document(role.assume_role_policy_document().expect("a trust policy"))
}

fn inline_policy(aws: &Aws, name: &str) -> Option<Value> {
    match aws.block_on(
        aws.iam()
            .get_role_policy()
            .role_name(name)
            .policy_name(POLICY_NAME)
            .send(),
    ) {
        Ok(out) => Some(parse_document(out.policy_document())),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            None
        }
        Err(e) => panic!("GetRolePolicy {name}: {}", DisplayErrorContext(e)),
    }
}

/// The roles in the instance profile named `name`; `None` when there is no such profile.
fn instance_profile_roles(aws: &Aws, name: &str) -> Option<Vec<String>> {
    match aws.block_on(
        aws.iam()
            .get_instance_profile()
            .instance_profile_name(name)
            .send(),
    ) {
        Ok(out) => out.instance_profile.map(|p| {
            p.roles()
                .iter()
                .map(|r| r.role_name().to_string())
                .collect()
        }),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            None
        }
        Err(e) => panic!("GetInstanceProfile {name}: {}", DisplayErrorContext(e)),
    }
}

fn max_session_duration(aws: &Aws, name: &str) -> i32 {
    aws.block_on(aws.iam().get_role().role_name(name).send())
        .unwrap_or_else(|e| panic!("GetRole {name}: {}", DisplayErrorContext(e)))
        .role
        .and_then(|r| r.max_session_duration)
        .expect("GetRole returns the session duration")
}

fn role_tags(aws: &Aws, name: &str) -> Vec<(String, String)> {
    aws.block_on(aws.iam().list_role_tags().role_name(name).send())
        .unwrap_or_else(|e| panic!("ListRoleTags {name}: {}", DisplayErrorContext(e)))
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

fn policy_document(state: &Value) -> Value {
    parse_document(state["policy_json"].as_str().expect("policy_json is set"))
}

fn trust_document(state: &Value) -> Value {
    parse_document(
        state["assume_role_policy_json"]
            .as_str()
            .expect("assume_role_policy_json is set"),
    )
}

/// The resources of the statement with `sid`; empty when there is none.
fn resources(policy: &Value, sid: &str) -> Vec<String> {
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["Sid"] == sid)
        .flat_map(|s| match &s["Resource"] {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many
                .iter()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}
