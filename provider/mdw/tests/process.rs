//! The provider binary as Terraform starts it: magic cookie, handshake line, AutoMTLS with the
//! pinned client certificate, gRPC over h2, Shutdown, SIGINT, debug mode, and a terraform that
//! dies without stopping it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use prost::Message;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tfplugin::proto::tfplugin6 as pb;

const BIN: &str = env!("CARGO_BIN_EXE_terraform-provider-mdw");
const COOKIE: (&str, &str) = (
    "TF_PLUGIN_MAGIC_COOKIE",
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
);

/// A client certificate shaped like Terraform's: ECDSA P-521, CA:TRUE, SAN localhost.
fn client_identity() -> (String, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

struct Plugin {
    child: Child,
    address: String,
    server_cert: Vec<u8>,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary as Terraform does and reads its handshake line.
fn start(client_cert_pem: &str) -> Plugin {
    let mut child = Command::new(BIN)
        .env(COOKIE.0, COOKIE.1)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_CLIENT_CERT", client_cert_pem)
        .env_remove("TF_DISABLE_PLUGIN_TLS")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the provider");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let fields: Vec<&str> = line.trim_end().split('|').collect();
    assert_eq!(fields.len(), 6, "handshake line {line:?}");
    assert_eq!(
        &fields[..3],
        ["1", "6", "tcp"],
        "core protocol 1, plugin protocol 6, tcp"
    );
    assert!(
        fields[3].starts_with("127.0.0.1:"),
        "listens on loopback only: {line}"
    );
    assert_eq!(fields[4], "grpc");
    assert!(
        !fields[5].ends_with('='),
        "certificate must be unpadded base64"
    );
    let server_cert = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(fields[5])
        .expect("standard base64 alphabet");
    Plugin {
        child,
        address: fields[3].to_string(),
        server_cert,
    }
}

#[derive(Debug)]
struct PinnedServer(Vec<u8>);

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        ee: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if ee.as_ref() == self.0.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "not the handshake certificate".into(),
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            m,
            c,
            d,
            &rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            m,
            c,
            d,
            &rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::aws_lc_rs::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

type GrpcClient = h2::client::SendRequest<Bytes>;

/// Connects like go-plugin: TLS with our client certificate, ALPN h2, then HTTP/2.
async fn connect(plugin: &Plugin, cert_pem: &str, key_pem: &str) -> Result<GrpcClient, String> {
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .dangerous()
    .with_custom_certificate_verifier(Arc::new(PinnedServer(plugin.server_cert.clone())))
    .with_client_auth_cert(
        vec![CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap()],
        PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(&plugin.address)
        .await
        .map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (client, connection) = h2::client::handshake(tls)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    Ok(client)
}

/// One unary gRPC call: a 5-byte frame header, the message, and the answer's message back.
async fn call<Req: Message, Resp: Message + Default>(
    client: &mut GrpcClient,
    path: &str,
    request: Req,
) -> Result<Resp, String> {
    let http_request = http::Request::builder()
        .method("POST")
        .uri(format!("https://localhost{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let mut frame = vec![0u8];
    let body = request.encode_to_vec();
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    let ready = client.clone().ready().await.map_err(|e| e.to_string())?;
    let mut ready = ready;
    let (response, mut stream) = ready
        .send_request(http_request, false)
        .map_err(|e| e.to_string())?;
    stream
        .send_data(Bytes::from(frame), true)
        .map_err(|e| e.to_string())?;
    let response = response.await.map_err(|e| e.to_string())?;
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        let _ = body.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    if bytes.len() < 5 {
        let trailers = body.trailers().await.map_err(|e| e.to_string())?;
        return Err(format!("no message; trailers {trailers:?}"));
    }
    Resp::decode(&bytes[5..]).map_err(|e| e.to_string())
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn run_by_hand_it_explains_itself_and_exits_nonzero() {
    let out = Command::new(BIN).env_remove(COOKIE.0).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Terraform starts it"), "{stderr}");
    assert!(
        stderr.contains("terraform init"),
        "says what to do: {stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "no handshake line without the cookie"
    );
}

#[test]
fn refuses_a_client_offering_only_old_protocols() {
    let out = Command::new(BIN)
        .env(COOKIE.0, COOKIE.1)
        .env("PLUGIN_PROTOCOL_VERSIONS", "4,5")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("protocol 6"));
}

#[tokio::test]
async fn serves_grpc_to_the_pinned_client_and_exits_on_shutdown() {
    let (cert, key) = client_identity();
    let mut plugin = start(&cert);
    let mut client = connect(&plugin, &cert, &key)
        .await
        .expect("pinned client connects");
    let schema: pb::get_provider_schema::Response = call(
        &mut client,
        "/tfplugin6.Provider/GetProviderSchema",
        pb::get_provider_schema::Request {},
    )
    .await
    .unwrap();
    assert!(schema.resource_schemas.contains_key("mdw_glue_database"));
    assert!(schema.server_capabilities.unwrap().plan_destroy);

    // A terminal Ctrl-C reaches the plugin too; Terraform handles it, the plugin must not die.
    unsafe { libc::kill(plugin.child.id() as i32, libc::SIGINT) };
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        plugin.child.try_wait().unwrap().is_none(),
        "SIGINT must be ignored"
    );

    let _: tfplugin::proto::plugin::Empty = call(
        &mut client,
        "/plugin.GRPCController/Shutdown",
        tfplugin::proto::plugin::Empty {},
    )
    .await
    .unwrap();
    let status =
        wait_exit(&mut plugin.child, Duration::from_secs(5)).expect("Shutdown exits the process");
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn a_foreign_client_certificate_is_refused() {
    let (cert, _) = client_identity();
    let (foreign_cert, foreign_key) = client_identity();
    let plugin = start(&cert);
    let result = async {
        let mut client = connect(&plugin, &foreign_cert, &foreign_key).await?;
        call::<_, pb::get_provider_schema::Response>(
            &mut client,
            "/tfplugin6.Provider/GetProviderSchema",
            pb::get_provider_schema::Request {},
        )
        .await
    }
    .await;
    assert!(
        result.is_err(),
        "a client with another certificate must get nothing"
    );
}

#[test]
fn debug_mode_prints_the_reattach_configuration() {
    let mut child = Command::new(BIN)
        .arg("--debug")
        .env_remove(COOKIE.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let line = stdout
        .lines()
        .map_while(Result::ok)
        .find(|l| l.contains("TF_REATTACH_PROVIDERS="))
        .expect("reattach line");
    let _ = child.kill();
    let _ = child.wait();
    let json = line.split_once('=').unwrap().1.trim().trim_matches('\'');
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    let entry = &value["registry.terraform.io/mdw/mdw"];
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Test"], true, "protocol 6 reattach needs Test = true");
    assert_eq!(entry["Addr"]["Network"], "unix");
    assert_eq!(entry["Pid"], child.id());
}

#[test]
fn an_orphaned_provider_stops() {
    // A shell starts the provider as terraform would and exits a moment later, as a terraform
    // killed without stopping its plugins: the provider is reparented and must not serve on.
    let (cert, _) = client_identity();
    let out = Command::new("sh")
        .args(["-c", "\"$0\" >/dev/null 2>&1 & echo $!; sleep 1", BIN])
        .env(COOKIE.0, COOKIE.1)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_CLIENT_CERT", &cert)
        .output()
        .unwrap();
    let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!pid.is_empty(), "{out:?}");
    let alive = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| !stat.contains(") Z "))
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let still = alive();
    if still {
        let _ = Command::new("kill").arg(&pid).status();
    }
    assert!(!still, "the orphaned provider {pid} still runs after 10 s");
}
