//! What the tests that run dbt-core share: finding dbt and moto, a moto server on a free
//! loopback port, copying projects, and comparing SQL.

#![allow(dead_code)] // each test binary uses part of it

use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL: &str = "install them with the pinned versions (see the script for why they are pinned):\n  export PATH=\"$(scripts/test-tools.sh):$PATH\"   # from the repository root";

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

pub(crate) fn find_dbt() -> PathBuf {
    if let Some(path) = std::env::var_os("MDW_DBT") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "MDW_DBT={} is not a file; {INSTALL}",
            path.display()
        );
        return path;
    }
    on_path("dbt").unwrap_or_else(|| {
        panic!("dbt-core is not installed (no MDW_DBT, no dbt on PATH); {INSTALL}")
    })
}

pub(crate) fn find_moto(dbt: &Path) -> PathBuf {
    on_path("moto_server")
        .or_else(|| {
            dbt.parent()
                .map(|bin| bin.join("moto_server"))
                .filter(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("moto_server is not installed (not on PATH, not beside dbt); {INSTALL}")
        })
}

/// A moto server on a free loopback port, stopped when dropped.
pub(crate) struct Moto {
    child: Child,
    pub port: u16,
}

impl Moto {
    pub(crate) fn start(program: &Path) -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .expect("a free loopback port");
        let child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", program.display()));
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn copy_project(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create temp project");
    for entry in std::fs::read_dir(from).expect("read project").flatten() {
        let name = entry.file_name();
        if name == "target" || name == "logs" {
            continue;
        }
        let target = to.join(&name);
        if entry.path().is_dir() {
            copy_project(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy project file");
        }
    }
}

pub(crate) fn files_under(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(root) {
                out.insert(relative.to_path_buf());
            }
        }
    }
    out
}

/// SQL tokens with whitespace ignored; parentheses and commas stand alone so `( 'a'` and `('a'`
/// compare equal.
pub(crate) fn tokens(sql: &str) -> Vec<String> {
    sql.replace('(', " ( ")
        .replace(')', " ) ")
        .replace(',', " , ")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

pub(crate) fn run(mut command: Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("cannot run {what}: {err}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A `dbt compile` command for `project`, talking to moto on `moto_port`.
pub(crate) fn dbt_compile(
    dbt: &Path,
    project: &Path,
    profiles_dir: &Path,
    moto_port: u16,
) -> Command {
    let mut command = dbt_command(dbt, "compile", project, profiles_dir, moto_port);
    // dbt types a unit test's fixture rows by the input tables' columns, read from the
    // catalog, which holds no tables here; mdwc leaves that to the provider at apply and
    // writes no compiled unit tests either.
    command.args(["--exclude", "resource_type:unit_test"]);
    command
}

/// `dbt <subcommand>` on `project` against moto.
pub(crate) fn dbt_command(
    dbt: &Path,
    subcommand: &str,
    project: &Path,
    profiles_dir: &Path,
    moto_port: u16,
) -> Command {
    let mut command = Command::new(dbt);
    command
        .arg(subcommand)
        .arg("--project-dir")
        .arg(project)
        .arg("--profiles-dir")
        .arg(profiles_dir)
        .current_dir(project)
        .env_remove("DBT_PROFILES_DIR")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{moto_port}"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-west-2")
        .env("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        .env("DBT_USE_COLORS", "false");
    command
}

/// Creates S3 bucket `name` on moto (again is harmless): dbt-athena lists a table's location
/// before it builds one.
pub(crate) fn create_bucket(moto_port: u16, name: &str) {
    use std::io::{Read, Write};
    let body = "<CreateBucketConfiguration><LocationConstraint>us-west-2</LocationConstraint></CreateBucketConfiguration>";
    let request = format!(
        "PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1:{moto_port}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-west-2/s3/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(("127.0.0.1", moto_port)).expect("connect to moto");
    stream.write_all(request.as_bytes()).expect("send to moto");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
}

/// Creates Athena workgroup `name` on moto: dbt-athena runs queries (`run_query`, statements
/// in macros) while compiling, and moto refuses them for a workgroup it does not know.
pub(crate) fn create_workgroup(moto_port: u16, name: &str) {
    let body = format!(
        "{{\"Name\":\"{name}\",\"Configuration\":{{\"ResultConfiguration\":{{\"OutputLocation\":\"s3://mdw-work-zone/results/\"}}}}}}"
    );
    let response = aws_json_call(moto_port, "athena", "AmazonAthena.CreateWorkGroup", &body);
    assert!(
        response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200"),
        "moto did not create workgroup {name}: {response}"
    );
}

/// One JSON-protocol call to moto; the raw HTTP response.
fn aws_json_call(moto_port: u16, service: &str, target: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{moto_port}\r\nX-Amz-Target: {target}\r\nContent-Type: application/x-amz-json-1.1\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-west-2/{service}/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(("127.0.0.1", moto_port)).expect("connect to moto");
    stream.write_all(request.as_bytes()).expect("send to moto");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

/// Registers a Glue table (database created as needed) with these columns, an Iceberg table
/// as mdw builds it, so that dbt-athena's `adapter.get_columns_in_relation` finds them as it
/// would after a build. Where mdwc does not know a type (a model's) it refuses to answer it,
/// and `string` stands in.
pub(crate) fn register_glue_table(
    moto_port: u16,
    schema: &str,
    table: &str,
    columns: &[mdwc::compile::KnownColumn],
) {
    let database = serde_json::json!({ "DatabaseInput": { "Name": schema } });
    let _ = aws_json_call(
        moto_port,
        "glue",
        "AWSGlue.CreateDatabase",
        &database.to_string(),
    );
    let columns: Vec<serde_json::Value> = columns
        .iter()
        .map(|c| {
            let ty = c.glue_type().unwrap_or_else(|| "string".to_string());
            serde_json::json!({ "Name": c.name, "Type": ty })
        })
        .collect();
    let table_input = serde_json::json!({
        "DatabaseName": schema,
        "TableInput": {
            "Name": table,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": { "table_type": "ICEBERG" },
            "StorageDescriptor": { "Columns": columns, "Location": format!("s3://mdw-warehouse/{schema}/{table}/") },
        },
    });
    let response = aws_json_call(
        moto_port,
        "glue",
        "AWSGlue.CreateTable",
        &table_input.to_string(),
    );
    assert!(
        response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200"),
        "moto did not create Glue table {schema}.{table}: {response}"
    );
}

/// A table a loader made, as a differential case registers it in moto's Glue (case.yml
/// `source_tables`): `columns` as `[name, type]` (a third item `dropped` marks an Iceberg
/// column Glue keeps as not current), `partition_keys` likewise.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct GlueSource {
    pub schema: String,
    pub table: String,
    pub columns: Vec<Vec<String>>,
    #[serde(default)]
    pub partition_keys: Vec<Vec<String>>,
    #[serde(default)]
    pub iceberg: bool,
}

pub(crate) fn register_glue_source(moto_port: u16, source: &GlueSource) {
    let database = serde_json::json!({ "DatabaseInput": { "Name": source.schema } });
    let _ = aws_json_call(
        moto_port,
        "glue",
        "AWSGlue.CreateDatabase",
        &database.to_string(),
    );
    let column = |c: &Vec<String>| {
        let mut json = serde_json::json!({ "Name": c[0], "Type": c[1] });
        if c.get(2).map(String::as_str) == Some("dropped") {
            json["Parameters"] = serde_json::json!({ "iceberg.field.current": "false" });
        }
        json
    };
    let mut table_input = serde_json::json!({
        "Name": source.table,
        "TableType": "EXTERNAL_TABLE",
        "StorageDescriptor": {
            "Columns": source.columns.iter().map(column).collect::<Vec<_>>(),
            "Location": format!("s3://mdw-warehouse/{}/{}/", source.schema, source.table),
        },
        "PartitionKeys": source.partition_keys.iter().map(column).collect::<Vec<_>>(),
    });
    if source.iceberg {
        table_input["Parameters"] = serde_json::json!({ "table_type": "ICEBERG" });
    }
    let body = serde_json::json!({ "DatabaseName": source.schema, "TableInput": table_input });
    let response = aws_json_call(moto_port, "glue", "AWSGlue.CreateTable", &body.to_string());
    assert!(
        response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200"),
        "moto did not create Glue table {}.{}: {response}",
        source.schema,
        source.table
    );
}
