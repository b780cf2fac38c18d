//! AutoMTLS as go-plugin does it: Terraform hands us its client certificate in
//! `PLUGIN_CLIENT_CERT`; we answer with a fresh self-signed server certificate in the handshake
//! line, and accept exactly that one client certificate.
//!
//! Terraform's client certificate is ECDSA P-521 and marked CA:TRUE, which the stock webpki
//! verifier rejects and `ring` cannot verify. So the verifier pins the DER bytes and checks the
//! handshake signature with aws-lc-rs, which knows P-521.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// The protocols we speak over TLS. grpc-go (Terraform ≥ 1.12) refuses a server without `h2`.
pub const ALPN_PROTOCOLS: &[&[u8]] = &[b"h2"];

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("PLUGIN_CLIENT_CERT holds no PEM certificate")]
    NoClientCertificate,
    #[error("generating the server certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("building the TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The server's certificate and key, made fresh for each process.
pub struct ServerIdentity {
    pub cert_der: CertificateDer<'static>,
    key_der: PrivatePkcs8KeyDer<'static>,
}

impl ServerIdentity {
    /// A self-signed P-256 certificate for `localhost`, which Terraform's client accepts.
    pub fn generate() -> Result<Self, TlsError> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()])?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "terraform-plugin");
        let cert = params.self_signed(&key)?;
        Ok(ServerIdentity {
            cert_der: cert.der().clone(),
            key_der: PrivatePkcs8KeyDer::from(key.serialize_der()),
        })
    }
}

fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The rustls configuration for the plugin server: our identity, only the pinned client
/// certificate accepted, ALPN `h2`.
pub fn server_config(
    identity: &ServerIdentity,
    client_cert_pem: &str,
) -> Result<rustls::ServerConfig, TlsError> {
    let pinned = CertificateDer::pem_slice_iter(client_cert_pem.as_bytes())
        .next()
        .and_then(Result::ok)
        .ok_or(TlsError::NoClientCertificate)?;
    let provider = crypto_provider();
    let verifier = Arc::new(PinnedClientCert {
        pinned: pinned.into_owned(),
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![identity.cert_der.clone()],
            PrivateKeyDer::Pkcs8(identity.key_der.clone_key()),
        )?;
    config.alpn_protocols = ALPN_PROTOCOLS.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

/// Accepts one client certificate, byte for byte, and checks the client proved it holds its key.
#[derive(Debug)]
struct PinnedClientCert {
    pinned: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.pinned.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
