//! go-plugin AutoMTLS: a fresh self-signed server certificate, and a client
//! verifier that accepts exactly the certificate Terraform passed in
//! `PLUGIN_CLIENT_CERT`.
//!
//! Guarantees:
//! - TLS 1.2 or 1.3 only, ALPN `h2` (grpc-go ≥ 1.67 refuses a server without
//!   it), the aws-lc-rs crypto provider everywhere (it verifies Terraform's
//!   ECDSA P-521 signatures, which ring cannot). The process-wide default
//!   provider is never read or installed.
//! - A client is accepted only if its leaf certificate is byte-for-byte one
//!   of the given certificates, is inside its validity period, and proves
//!   possession of the key in the handshake.
//!
//! Why not rustls' `WebPkiClientVerifier`: Terraform's certificate is a
//! self-signed CA certificate used as its own leaf, which webpki refuses as
//! `CaUsedAsEndEntity`.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// How long generated plugin-channel certificates are valid (as go-plugin: 262980 h ≈ 30 years).
const SERVER_CERT_VALIDITY: time::Duration = time::Duration::hours(262_980);
/// How far back the generated certificate's validity starts (clock skew).
const SERVER_CERT_BACKDATE: time::Duration = time::Duration::seconds(30);

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// `PLUGIN_CLIENT_CERT` holds no `CERTIFICATE` PEM block.
    #[error("PLUGIN_CLIENT_CERT holds no PEM certificate")]
    NoClientCertificate,
    /// `PLUGIN_CLIENT_CERT` is not valid PEM.
    #[error("PLUGIN_CLIENT_CERT is not valid PEM: {0}")]
    ClientCertificatePem(#[from] rustls::pki_types::pem::Error),
    /// A certificate in `PLUGIN_CLIENT_CERT` is not parsable X.509.
    #[error("PLUGIN_CLIENT_CERT holds an unparsable certificate: {0}")]
    ClientCertificateX509(String),
    /// Generating the server key or certificate failed.
    #[error("cannot generate the server certificate: {0}")]
    GenerateCertificate(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("cannot configure TLS: {0}")]
    Config(#[from] rustls::Error),
}

/// The crypto provider used for every TLS operation here.
pub(crate) fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The server's certificate and private key.
#[derive(Debug)]
pub(crate) struct ServerIdentity {
    /// The self-signed leaf, DER (announced in the handshake line).
    pub(crate) cert_der: CertificateDer<'static>,
    /// Its private key, PKCS#8 DER.
    key_der: PrivatePkcs8KeyDer<'static>,
}

impl ServerIdentity {
    /// Generates a fresh key and self-signed certificate the way go-plugin's
    /// `generateCert` does: CN and SAN `localhost`, CA:true, key usages
    /// digitalSignature + keyEncipherment + keyAgreement + keyCertSign, EKU
    /// serverAuth + clientAuth, valid from 30 s ago for ~30 years, random
    /// serial. The key is ECDSA P-256 (go-plugin uses P-521; Go accepts both).
    pub(crate) fn generate() -> Result<Self, TlsError> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let params = go_plugin_cert_params("berth")?;
        let cert = params.self_signed(&key)?;
        Ok(Self {
            cert_der: cert.der().clone(),
            key_der: PrivatePkcs8KeyDer::from(key.serialize_der()),
        })
    }
}

/// The certificate template go-plugin's `generateCert` uses, for both
/// sides of the plugin channel: CN and SAN `localhost`, O `organization`,
/// CA:true, key usages digitalSignature + keyEncipherment + keyAgreement +
/// keyCertSign, EKU serverAuth + clientAuth, valid from 30 s ago for
/// 262980 hours, random positive serial.
pub(crate) fn go_plugin_cert_params(
    organization: &str,
) -> Result<rcgen::CertificateParams, TlsError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
        KeyUsagePurpose, SerialNumber,
    };
    let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params
        .distinguished_name
        .push(DnType::OrganizationName, organization);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyAgreement,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - SERVER_CERT_BACKDATE;
    params.not_after = now + SERVER_CERT_VALIDITY;
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()?));
    Ok(params)
}

/// 16 random bytes with the top bit clear, so the DER INTEGER stays positive.
fn random_serial() -> Result<[u8; 16], TlsError> {
    let mut serial = [0u8; 16];
    crypto_provider()
        .secure_random
        .fill(&mut serial)
        .map_err(|_| TlsError::Config(rustls::Error::FailedToGetRandomBytes))?;
    serial[0] &= 0x7f;
    serial[0] |= 0x01; // never a leading zero byte either
    Ok(serial)
}

/// One certificate we accept from the client.
#[derive(Debug)]
struct AcceptedCert {
    der: CertificateDer<'static>,
    not_before: i64,
    not_after: i64,
}

/// Accepts exactly the client certificate(s) Terraform gave us.
#[derive(Debug)]
pub(crate) struct ExactClientCertVerifier {
    accepted: Vec<AcceptedCert>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ExactClientCertVerifier {
    /// Builds the verifier from the PEM in `PLUGIN_CLIENT_CERT` (one or more
    /// `CERTIFICATE` blocks; other block types are ignored).
    pub(crate) fn from_pem(pem: &str) -> Result<Self, TlsError> {
        let mut accepted = Vec::new();
        for der in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let der = der?;
            let (_, parsed) = x509_parser::parse_x509_certificate(&der)
                .map_err(|e| TlsError::ClientCertificateX509(e.to_string()))?;
            let validity = parsed.validity();
            let not_before = validity.not_before.timestamp();
            let not_after = validity.not_after.timestamp();
            accepted.push(AcceptedCert {
                der: der.into_owned(),
                not_before,
                not_after,
            });
        }
        if accepted.is_empty() {
            return Err(TlsError::NoClientCertificate);
        }
        Ok(Self {
            accepted,
            algorithms: crypto_provider().signature_verification_algorithms,
        })
    }
}

impl ClientCertVerifier for ExactClientCertVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    // No CA hints: Go's client then sends its certificate unconditionally.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let Some(cert) = self
            .accepted
            .iter()
            .find(|c| c.der.as_ref() == end_entity.as_ref())
        else {
            return Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ));
        };
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        if now < cert.not_before {
            return Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidYet,
            ));
        }
        if now > cert.not_after {
            return Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Expired,
            ));
        }
        Ok(ClientCertVerified::assertion())
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

/// The rustls server configuration for AutoMTLS: TLS ≥ 1.2, ALPN `h2`, our
/// certificate, and the client verifier.
pub(crate) fn server_config(
    identity: &ServerIdentity,
    verifier: Arc<dyn ClientCertVerifier>,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let mut config = rustls::ServerConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![identity.cert_der.clone()],
            PrivateKeyDer::Pkcs8(identity.key_der.clone_key()),
        )?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::client::{ClientIdentity, client_config};

    #[test]
    fn server_certificate_has_what_go_clients_check() {
        let identity = ServerIdentity::generate().unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&identity.cert_der).unwrap();

        let san = cert.subject_alternative_name().unwrap().unwrap();
        assert!(san.value.general_names.iter().any(|n| matches!(
            n,
            x509_parser::extensions::GeneralName::DNSName("localhost")
        )));
        assert!(cert.basic_constraints().unwrap().unwrap().value.ca);
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && eku.client_auth);
        let ku = cert.key_usage().unwrap().unwrap().value;
        assert!(ku.digital_signature() && ku.key_encipherment() && ku.key_cert_sign());

        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let not_before = cert.validity().not_before.timestamp();
        assert!(
            (now - 40..=now - 20).contains(&not_before),
            "{not_before} vs {now}"
        );
        assert!(cert.validity().not_after.timestamp() > now + 20 * 365 * 86_400);
        // Serial is positive and random (two certificates differ).
        let other = ServerIdentity::generate().unwrap();
        let (_, other) = x509_parser::parse_x509_certificate(&other.cert_der).unwrap();
        assert_ne!(cert.raw_serial(), other.raw_serial());
    }

    #[test]
    fn empty_or_garbage_pem_is_refused() {
        assert!(matches!(
            ExactClientCertVerifier::from_pem("no pem here"),
            Err(TlsError::NoClientCertificate)
        ));
        let bad = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            ExactClientCertVerifier::from_pem(bad),
            Err(TlsError::ClientCertificateX509(_))
        ));
    }

    #[test]
    fn validity_period_is_checked() {
        let client = ClientIdentity::generate().unwrap();
        let verifier = ExactClientCertVerifier::from_pem(client.cert_pem()).unwrap();
        let at = |secs: u64| UnixTime::since_unix_epoch(Duration::from_secs(secs));
        let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
        let der = CertificateDer::from(client.cert_der());
        assert!(verifier.verify_client_cert(&der, &[], at(now)).is_ok());
        assert!(matches!(
            verifier.verify_client_cert(&der, &[], at(now - 3600)),
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidYet
            ))
        ));
        assert!(matches!(
            // Just past the identity's validity (262980 hours, as go-plugin's).
            verifier.verify_client_cert(&der, &[], at(now + 262_981 * 3600)),
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Expired
            ))
        ));
    }

    /// Runs one TLS connection between a server trusting `trusted` and a
    /// client presenting `presented`; returns (server result, client result).
    async fn handshake(
        trusted: &ClientIdentity,
        presented: &ClientIdentity,
    ) -> (Result<Vec<u8>, String>, Result<Vec<u8>, String>) {
        let identity = ServerIdentity::generate().unwrap();
        let verifier = Arc::new(ExactClientCertVerifier::from_pem(trusted.cert_pem()).unwrap());
        let acceptor = tokio_rustls::TlsAcceptor::from(server_config(&identity, verifier).unwrap());
        let connector = tokio_rustls::TlsConnector::from(
            client_config(identity.cert_der.clone(), Some(presented)).unwrap(),
        );

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();

        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut tls = acceptor.accept(tcp).await.map_err(|e| e.to_string())?;
            assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
            let mut buf = [0u8; 4];
            tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
            tls.write_all(b"pong").await.map_err(|e| e.to_string())?;
            tls.shutdown().await.map_err(|e| e.to_string())?;
            Ok::<_, String>(buf.to_vec())
        });
        let client = async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let name = ServerName::try_from("localhost").unwrap();
            let mut tls = connector
                .connect(name, tcp)
                .await
                .map_err(|e| e.to_string())?;
            tls.write_all(b"ping").await.map_err(|e| e.to_string())?;
            let mut buf = Vec::new();
            tls.read_to_end(&mut buf).await.map_err(|e| e.to_string())?;
            Ok::<_, String>(buf)
        };
        let timeout = Duration::from_secs(5);
        let client = tokio::time::timeout(timeout, client).await.unwrap();
        let server = tokio::time::timeout(timeout, server)
            .await
            .unwrap()
            .unwrap();
        (server, client)
    }

    use rustls::pki_types::ServerName;

    #[tokio::test]
    async fn accepts_exactly_terraforms_p521_ca_certificate() {
        let client = ClientIdentity::generate().unwrap();
        let (server, client) = handshake(&client, &client).await;
        assert_eq!(server.unwrap(), b"ping");
        assert_eq!(client.unwrap(), b"pong");
    }

    #[tokio::test]
    async fn refuses_a_different_self_signed_certificate() {
        let trusted = ClientIdentity::generate().unwrap();
        let intruder = ClientIdentity::generate().unwrap();
        let (server, client) = handshake(&trusted, &intruder).await;
        let server_err = server.unwrap_err();
        assert!(
            server_err.contains("ApplicationVerificationFailure"),
            "{server_err}"
        );
        assert!(client.is_err(), "client must not get data: {client:?}");
    }
}
