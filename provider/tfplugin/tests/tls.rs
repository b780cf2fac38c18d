//! AutoMTLS against a real rustls client: the pinned client certificate (shaped like Terraform's:
//! ECDSA P-521, CA:TRUE, SAN localhost) is accepted with ALPN h2; any other is refused.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tfplugin::tls::{ServerIdentity, server_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A client certificate like the one Terraform makes for each run.
fn terraform_like_client_cert() -> (String, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// Trusts exactly the server certificate from the handshake line, as go-plugin does.
#[derive(Debug)]
struct PinnedServer(CertificateDer<'static>);

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.0.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "unexpected server certificate".into(),
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(m, c, d, &algs)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(m, c, d, &algs)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::aws_lc_rs::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Serves one TLS connection with the plugin's configuration; the client sends "ping" and the
/// server answers "pong" once the handshake succeeded.
async fn handshake(
    pinned_pem: &str,
    client: Option<(&str, &str)>,
) -> Result<Option<Vec<u8>>, String> {
    let identity = ServerIdentity::generate().unwrap();
    let server_cert = identity.cert_der.clone();
    let acceptor =
        tokio_rustls::TlsAcceptor::from(Arc::new(server_config(&identity, pinned_pem).unwrap()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = acceptor.accept(tcp).await.map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        tls.write_all(b"pong").await.map_err(|e| e.to_string())?;
        tls.flush().await.map_err(|e| e.to_string())?;
        Ok::<_, String>(())
    });

    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .dangerous()
    .with_custom_certificate_verifier(Arc::new(PinnedServer(server_cert)));
    let mut config = match client {
        Some((cert_pem, key_pem)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let result = async {
        let mut tls = connector
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .map_err(|e| e.to_string())?;
        tls.write_all(b"ping").await.map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec))
    }
    .await;
    let server_result = server.await.unwrap();
    match (result, server_result) {
        (Ok(alpn), Ok(())) => Ok(alpn),
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

#[tokio::test]
async fn pinned_p521_client_certificate_is_accepted_with_alpn_h2() {
    let (cert, key) = terraform_like_client_cert();
    let alpn = handshake(&cert, Some((&cert, &key)))
        .await
        .expect("handshake with the pinned certificate");
    assert_eq!(
        alpn.as_deref(),
        Some(&b"h2"[..]),
        "grpc-go (Terraform >= 1.12) requires ALPN h2"
    );
}

#[tokio::test]
async fn a_foreign_client_certificate_is_refused() {
    let (pinned, _) = terraform_like_client_cert();
    let (foreign_cert, foreign_key) = terraform_like_client_cert();
    let err = handshake(&pinned, Some((&foreign_cert, &foreign_key)))
        .await
        .expect_err("a foreign certificate must be refused");
    assert!(!err.is_empty());
}

#[tokio::test]
async fn a_client_without_certificate_is_refused() {
    let (pinned, _) = terraform_like_client_cert();
    assert!(handshake(&pinned, None).await.is_err());
}

#[test]
fn server_config_offers_only_h2() {
    let (cert, _) = terraform_like_client_cert();
    let identity = ServerIdentity::generate().unwrap();
    let config = server_config(&identity, &cert).unwrap();
    assert_eq!(config.alpn_protocols, vec![b"h2".to_vec()]);
    assert!(server_config(&identity, "not a pem").is_err());
}
