//! The fault-injecting loopback proxy in front of moto (`tests/fixtures/athena_proxy.py`): the
//! Athena engine's tests point the provider at it to throttle, fail or hang queries, and to get
//! the Glue effects Athena's DDL would have (moto runs no SQL).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::child::{die_with_parent, find_on_path};
use crate::moto::Moto;

pub struct AthenaProxy {
    child: Child,
    port: u16,
}

/// The Python that runs moto has boto3, which the proxy uses to write Glue entries.
fn python() -> PathBuf {
    let moto = find_on_path(
        "moto_server",
        "Install it with `pip install 'moto[server]'`.",
    );
    let beside = moto.with_file_name("python3");
    if beside.is_file() {
        beside
    } else {
        PathBuf::from("python3")
    }
}

impl AthenaProxy {
    pub fn start(moto: &Moto) -> AthenaProxy {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/athena_proxy.py");
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("finding a free loopback port")
            .port();
        let mut command = Command::new(python());
        command
            .arg(&script)
            .args(["--moto", &moto.endpoint(), "--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        die_with_parent(&mut command);
        let mut child = command.spawn().expect("starting the athena proxy");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("reading the proxy's ready line");
        assert_eq!(line.trim(), "ready", "the athena proxy did not start");
        AthenaProxy { child, port }
    }

    /// The endpoint to give the provider for every service.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Replaces the given rules: `throttle_starts` (n), `fail` / `hang` (lists of
    /// `{"contains": "…", "times": n, "message": "…", "category": n, "retryable": bool}`),
    /// `columns` (table → [[name, type]]), `probe_columns` ([[name, type]]).
    pub fn set_rules(&self, rules: Value) {
        self.request("POST", "/_mdw_proxy/rules", &rules.to_string());
    }

    /// What the proxy did: `{"event": "throttled" | "fail" | "hang" | "stopped", …}`.
    pub fn events(&self) -> Vec<Value> {
        let body = self.request("GET", "/_mdw_proxy/events", "");
        serde_json::from_str::<Vec<Value>>(&body).expect("the proxy's event list")
    }

    fn request(&self, method: &str, path: &str, body: &str) -> String {
        let mut stream =
            TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).expect("connecting to the proxy");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("writing to the proxy");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .expect("reading the proxy's answer");
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        assert!(
            head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
            "proxy: {head}"
        );
        body.to_string()
    }
}

impl Drop for AthenaProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
