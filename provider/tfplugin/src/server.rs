//! The plugin process: go-plugin's handshake, AutoMTLS, the gRPC server and its lifecycle.

use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;
use tonic::{Request, Response, Status};

use crate::proto::plugin as controller_pb;
use crate::proto::tfplugin6 as pb;
use crate::resource::Provider;
use crate::service::ProviderService;
use crate::tls::{self, ServerIdentity};

/// go-plugin's handshake cookie for Terraform providers: present only when Terraform starts us.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
const PROTOCOL_VERSION: u32 = 6;
/// terraform-plugin-go's limit; large plans exceed tonic's default of 4 MiB.
const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// How a provider binary presents itself in help texts and debug output.
pub struct ServeOptions {
    /// The registry address, e.g. `registry.terraform.io/hashicorp/aws`.
    pub address: &'static str,
    pub version: &'static str,
}

/// The handshake line go-plugin reads from stdout:
/// `1|6|tcp|127.0.0.1:PORT|grpc|CERT`, CERT the server certificate as DER in unpadded standard
/// base64 (padding makes Terraform fail with "illegal base64 data"); empty without TLS.
pub fn handshake_line(network: &str, address: &str, server_cert_der: Option<&[u8]>) -> String {
    let cert = server_cert_der
        .map(|der| base64::engine::general_purpose::STANDARD_NO_PAD.encode(der))
        .unwrap_or_default();
    format!("1|{PROTOCOL_VERSION}|{network}|{address}|grpc|{cert}")
}

/// Runs the provider as Terraform's plugin, or in debug mode with `--debug`. Returns the process
/// exit code; never panics on a bad environment.
pub fn serve<P: Provider>(provider: P, options: ServeOptions) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "-v") {
        println!("{} {}", options.address, options.version);
        return ExitCode::SUCCESS;
    }
    let debug = args.iter().any(|a| a == "--debug");
    if !debug && std::env::var(MAGIC_COOKIE_KEY).as_deref() != Ok(MAGIC_COOKIE_VALUE) {
        eprintln!(
            "This binary is a plugin for Terraform ({address} {version}); Terraform starts it, people do not.\n\
             To use it, install it (`make install`) and run `terraform init` in a configuration that requires\n\
             source = \"{source}\". To debug it, run it with --debug and set TF_REATTACH_PROVIDERS as it prints.",
            address = options.address,
            version = options.version,
            source = options
                .address
                .split_once('/')
                .map_or(options.address, |(_, source)| source),
        );
        return ExitCode::from(1);
    }
    if !debug
        && let Ok(versions) = std::env::var("PLUGIN_PROTOCOL_VERSIONS")
        && !versions
            .split(',')
            .any(|v| v.trim() == PROTOCOL_VERSION.to_string())
    {
        eprintln!(
            "This provider speaks plugin protocol {PROTOCOL_VERSION}, which Terraform ≥ 1.0 and OpenTofu support; \
             this client offers only {versions}. Upgrade Terraform."
        );
        return ExitCode::from(1);
    }
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async move {
        if debug {
            serve_debug(provider, &options).await
        } else {
            serve_plugin(provider).await
        }
    });
    // Background tasks (a connection Terraform did not close) must not keep us alive.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("terraform-provider: {e}");
            ExitCode::from(1)
        }
    }
}

/// Logs go to stderr, where Terraform picks them up for TF_LOG / TF_LOG_PROVIDER.
fn init_logging() {
    let level = std::env::var("TF_LOG_PROVIDER")
        .or_else(|_| std::env::var("TF_LOG"))
        .unwrap_or_default();
    let max = match level.to_ascii_uppercase().as_str() {
        "TRACE" | "JSON" => tracing::Level::TRACE,
        "DEBUG" => tracing::Level::DEBUG,
        "INFO" => tracing::Level::INFO,
        "WARN" => tracing::Level::WARN,
        "ERROR" => tracing::Level::ERROR,
        _ => return,
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_max_level(max)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
}

/// A terminal Ctrl-C reaches plugins directly; Terraform decides what to do and calls
/// StopProvider, so the signal itself is ignored.
fn ignore_interrupts() -> io::Result<()> {
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    tokio::spawn(async move { while sigint.recv().await.is_some() {} });
    Ok(())
}

async fn bind_loopback() -> io::Result<TcpListener> {
    let range = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u16>().ok());
    if let (Some(min), Some(max)) = (range("PLUGIN_MIN_PORT"), range("PLUGIN_MAX_PORT")) {
        for port in min..=max {
            if let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
                return Ok(listener);
            }
        }
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("no free port between {min} and {max}"),
        ));
    }
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await
}

async fn serve_plugin<P: Provider>(provider: P) -> Result<(), Box<dyn std::error::Error>> {
    ignore_interrupts()?;
    let listener = bind_loopback().await?;
    let addr: SocketAddr = listener.local_addr()?;
    let tls_disabled = std::env::var_os("TF_DISABLE_PLUGIN_TLS").is_some();
    let tls = match std::env::var("PLUGIN_CLIENT_CERT") {
        Ok(pem) if !tls_disabled => {
            let identity = ServerIdentity::generate()?;
            let config = tls::server_config(&identity, &pem)?;
            Some((identity, TlsAcceptor::from(Arc::new(config))))
        }
        _ => {
            if !tls_disabled {
                tracing::warn!("PLUGIN_CLIENT_CERT is not set: serving without TLS");
            }
            None
        }
    };
    let line = handshake_line(
        "tcp",
        &addr.to_string(),
        tls.as_ref().map(|(id, _)| id.cert_der.as_ref()),
    );
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()?;
    drop(stdout);
    tracing::debug!(%addr, tls = tls.is_some(), "provider listening");

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    stop_when_orphaned(shutdown_tx.clone());
    let incoming = accept_tcp(listener, tls.map(|(_, acceptor)| acceptor));
    run_grpc(provider, incoming, shutdown_tx, shutdown_rx, true).await
}

/// Terraform stops its plugins with the controller's Shutdown, or kills them; a terraform that
/// dies without doing either (SIGKILL, SIGQUIT) would leave this process serving nobody, with
/// the embedded warehouse open. Reparented means orphaned: stop as on Shutdown.
fn stop_when_orphaned(shutdown: watch::Sender<bool>) {
    let parent = std::os::unix::process::parent_id();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if std::os::unix::process::parent_id() != parent {
                tracing::warn!("terraform (pid {parent}) is gone: stopping");
                let _ = shutdown.send(true);
                return;
            }
        }
    });
}

/// Debug mode: plaintext on a unix socket, attached with TF_REATTACH_PROVIDERS; runs until
/// Ctrl-C (Terraform does not own this process, so its Shutdown is ignored).
async fn serve_debug<P: Provider>(
    provider: P,
    options: &ServeOptions,
) -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!(
        "{}-provider-debug-{}",
        provider.type_name(),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir)?;
    let socket = dir.join("plugin.sock");
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)?;
    let reattach = serde_json::json!({
        options.address: {
            "Protocol": "grpc",
            "ProtocolVersion": PROTOCOL_VERSION,
            "Pid": std::process::id(),
            // Protocol 6 requires Test = true (false makes Terraform 1.11 panic).
            "Test": true,
            "Addr": { "Network": "unix", "String": socket.display().to_string() },
        }
    });
    println!(
        "Provider {} {} running in debug mode. In another terminal, run Terraform with:\n\n\
         \texport TF_REATTACH_PROVIDERS='{reattach}'\n\nPress Ctrl-C to stop.",
        options.address, options.version
    );
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let ctrl_c_tx = shutdown_tx.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = ctrl_c_tx.send(true);
    });
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            if tx
                .send(Ok::<_, io::Error>(Conn::Unix(stream)))
                .await
                .is_err()
            {
                break;
            }
        }
    });
    let result = run_grpc(
        provider,
        ReceiverStream::new(rx),
        shutdown_tx,
        shutdown_rx,
        false,
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Accepts TCP connections and completes TLS handshakes off the accept loop, so one stalled
/// client does not block the next.
fn accept_tcp(listener: TcpListener, tls: Option<TlsAcceptor>) -> ReceiverStream<io::Result<Conn>> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let tx = tx.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let conn = match tls {
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(tls_stream) => Conn::Tls(Box::new(tls_stream)),
                        Err(e) => {
                            tracing::warn!(%peer, "refused a TLS connection: {e}");
                            return;
                        }
                    },
                    None => Conn::Tcp(stream),
                };
                let _ = tx.send(Ok(conn)).await;
            });
        }
    });
    ReceiverStream::new(rx)
}

async fn run_grpc<P: Provider>(
    provider: P,
    incoming: ReceiverStream<io::Result<Conn>>,
    shutdown_tx: watch::Sender<bool>,
    mut shutdown_rx: watch::Receiver<bool>,
    honour_shutdown: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let provider_service = pb::provider_server::ProviderServer::new(ProviderService::new(provider))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let controller = controller_pb::grpc_controller_server::GrpcControllerServer::new(Controller {
        shutdown: shutdown_tx,
        honour_shutdown,
    });
    let mut deadline_rx = shutdown_rx.clone();
    let shutdown = async move {
        let _ = shutdown_rx.wait_for(|stop| *stop).await;
    };
    let server = tonic::transport::Server::builder()
        .add_service(provider_service)
        .add_service(controller)
        .serve_with_incoming_shutdown(incoming, shutdown);
    // A graceful stop waits for clients to hang up; like go-plugin, do not wait for long.
    let grace = async move {
        let _ = deadline_rx.wait_for(|stop| *stop).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    tokio::select! {
        served = server => served?,
        () = grace => tracing::debug!("clients still connected at shutdown; closing them"),
    }
    Ok(())
}

/// go-plugin's controller. Without Shutdown, Terraform waits 2 s and then kills each provider.
struct Controller {
    shutdown: watch::Sender<bool>,
    honour_shutdown: bool,
}

#[tonic::async_trait]
impl controller_pb::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(
        &self,
        _: Request<controller_pb::Empty>,
    ) -> Result<Response<controller_pb::Empty>, Status> {
        if self.honour_shutdown {
            tracing::debug!("shutdown requested");
            let _ = self.shutdown.send(true);
        }
        Ok(Response::new(controller_pb::Empty {}))
    }
}

/// A client connection: TLS over TCP (Terraform), or plaintext (TLS disabled, debug mode).
enum Conn {
    Tls(Box<TlsStream<TcpStream>>),
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Conn::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Conn::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Conn::Tcp(s) => Pin::new(s).poll_flush(cx),
            Conn::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Conn::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_certificate_is_unpadded_standard_base64() {
        // 1 byte of DER encodes to 2 base64 characters, which padding would extend with "==".
        let line = handshake_line("tcp", "127.0.0.1:1234", Some(&[0xfb]));
        assert_eq!(line, "1|6|tcp|127.0.0.1:1234|grpc|+w");
        let identity = ServerIdentity::generate().unwrap();
        let line = handshake_line("tcp", "127.0.0.1:1", Some(identity.cert_der.as_ref()));
        let cert = line.rsplit('|').next().unwrap();
        assert!(!cert.ends_with('='));
        let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(cert)
            .unwrap();
        assert_eq!(decoded, identity.cert_der.as_ref());
        assert_eq!(
            handshake_line("tcp", "127.0.0.1:1", None),
            "1|6|tcp|127.0.0.1:1|grpc|"
        );
    }
}
