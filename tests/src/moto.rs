//! A moto server (local AWS) on a loopback port, one per test.

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::aws::Aws;
use crate::child::{die_with_parent, find_on_path};

const HOW_TO_INSTALL: &str = "Install it with `pip install 'moto[server]'` (moto 5.x) and make sure \
     the `moto_server` script is on PATH.";
/// Different ports per attempt: only a collision with another process makes a start fail.
const START_ATTEMPTS: usize = 5;
/// moto answers after about a second; a loaded 2-core machine may need much longer.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Ports this test process has handed to a moto server. Binding port 0 and releasing it can give
/// two parallel tests the same port; remembering them rules that out inside one test binary.
static PORTS_IN_USE: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A running `moto_server` on 127.0.0.1. Killed when dropped.
pub struct Moto {
    child: Child,
    port: u16,
    /// Holds moto's request log, shown when the server fails to start.
    _log_dir: TempDir,
}

impl Moto {
    /// Starts moto on a free loopback port and waits until it answers HTTP.
    ///
    /// Panics, with moto's log, when it does not start.
    pub fn start() -> Moto {
        let program = find_on_path("moto_server", HOW_TO_INSTALL);
        let log_dir = tempfile::Builder::new()
            .prefix("mdw-moto-")
            .tempdir()
            .expect("creating a temporary directory for moto's log");
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let port = reserve_port();
            let log_path = log_dir.path().join(format!("moto-{port}.log"));
            let mut child = spawn(&program, port, &log_path);
            let started = Instant::now();
            match wait_until_ready(&mut child, port) {
                Ok(()) => {
                    eprintln!(
                        "[mdw-acceptance] moto on port {port} ready after {:.1?}",
                        started.elapsed()
                    );
                    return Moto {
                        child,
                        port,
                        _log_dir: log_dir,
                    };
                }
                Err(reason) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    failures.push(format!("port {port}: {reason}\n{}", log_tail(&log_path)));
                }
            }
        }
        panic!(
            "moto_server did not start after {START_ATTEMPTS} attempts:\n{}",
            failures.join("\n")
        );
    }

    /// `http://127.0.0.1:PORT`, the endpoint for every AWS service.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// AWS SDK clients that talk to this server.
    pub fn aws(&self) -> Aws {
        Aws::new(&self.endpoint())
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(ports) = PORTS_IN_USE
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            ports.remove(&self.port);
        }
    }
}

/// A port that was free a moment ago and that no other moto of this process uses.
fn reserve_port() -> u16 {
    let mut ports = PORTS_IN_USE.lock().unwrap_or_else(|e| e.into_inner());
    let ports = ports.get_or_insert_with(HashSet::new);
    loop {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0");
        let port = listener
            .local_addr()
            .expect("local address of a bound socket")
            .port();
        if ports.insert(port) {
            return port;
        }
    }
}

fn spawn(program: &Path, port: u16, log_path: &Path) -> Child {
    let log = File::create(log_path).expect("creating moto's log file");
    let log_for_stderr = log.try_clone().expect("duplicating moto's log file handle");
    let mut command = Command::new(program);
    command
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_for_stderr);
    die_with_parent(&mut command);
    command
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}. {HOW_TO_INSTALL}", program.display()))
}

/// Polls until moto answers `GET /moto-api/`, the process exits, or the deadline passes.
fn wait_until_ready(child: &mut Child, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("moto_server exited with {status}"));
        }
        if answers_http(port) {
            // Someone answers: make sure it is our child and not another process that took the
            // port between our probe and moto's bind (then our moto is about to exit).
            return match listener_owned_by(child.id(), port) {
                Some(false) => Err("the port belongs to another process".to_owned()),
                Some(true) | None => Ok(()),
            };
        }
        if Instant::now() >= deadline {
            return Err(format!("no HTTP answer within {READY_TIMEOUT:?}"));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

fn answers_http(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut status_line = [0u8; 12];
    stream.read_exact(&mut status_line).is_ok() && status_line.starts_with(b"HTTP/1.")
}

/// Whether process `pid` holds the socket listening on 127.0.0.1:`port`; `None` when /proc
/// cannot tell (not Linux).
fn listener_owned_by(pid: u32, port: u16) -> Option<bool> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let local = format!("0100007F:{port:04X}");
    const LISTEN: &str = "0A";
    let inode = table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(1) == Some(&local.as_str()) && fields.get(3) == Some(&LISTEN))
            .then(|| fields.get(9).map(|inode| inode.to_string()))
            .flatten()
    })?;
    let socket = format!("socket:[{inode}]");
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|target| target.as_os_str() == socket.as_str())
    }))
}

fn log_tail(log_path: &Path) -> String {
    let log = std::fs::read_to_string(log_path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    let tail = &lines[lines.len().saturating_sub(30)..];
    format!(
        "--- moto log ({}) ---\n{}",
        log_path.display(),
        tail.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_ownership_is_read_from_proc() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0");
        let port = listener.local_addr().expect("bound address").port();
        // Some(_) only where /proc exists; elsewhere the check is skipped by design.
        if let Some(ours) = listener_owned_by(std::process::id(), port) {
            assert!(ours, "this process holds the listener on {port}");
            assert_ne!(
                listener_owned_by(1, port),
                Some(true),
                "pid 1 does not hold it"
            );
        }
    }
}
