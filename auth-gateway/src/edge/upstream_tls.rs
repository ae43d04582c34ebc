//! TLS to a service's upstreams, from its `[[services]]` entry (`tls`, `sni`, `ca_file`,
//! `client_cert`, `client_key`): the CA and client certificate are read and checked once, when
//! the route table is built, and every connection (requests and health checks) verifies the
//! upstream's certificate for the `sni` name. A certificate that does not verify fails the
//! request closed (502 with the envelope).

use std::path::Path;
use std::sync::Arc;

use auth_core::config::{Config, ServiceDefinition};
use pingora::lb::health_check::HttpHealthCheck;
use pingora::prelude::HttpPeer;
use pingora::protocols::tls::CaType;
use pingora::utils::tls::{CertKey, WrappedX509};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The TLS settings of every `[[services]]` entry that has `tls = true`, by slug; the first
/// file that does not load names its entry.
pub fn by_slug(config: &Config) -> anyhow::Result<super::routing::TlsBySlug> {
    let mut by_slug = super::routing::TlsBySlug::new();
    for (i, service) in config.services.iter().enumerate() {
        if let Some(tls) = UpstreamTls::load(service)
            .map_err(|err| anyhow::anyhow!("configuration key `services[{i}]`: {err}"))?
        {
            by_slug.insert(service.slug.clone(), tls);
        }
    }
    Ok(by_slug)
}

/// How one service's upstreams are reached over TLS.
#[derive(Clone)]
pub struct UpstreamTls {
    sni: String,
    ca: Option<Arc<CaType>>,
    client: Option<Arc<CertKey>>,
}

impl std::fmt::Debug for UpstreamTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamTls")
            .field("sni", &self.sni)
            .field("own_ca", &self.ca.is_some())
            .field("client_cert", &self.client.is_some())
            .finish()
    }
}

impl UpstreamTls {
    /// The TLS settings of `definition`, read from its files; None for plain HTTP.
    pub fn load(definition: &ServiceDefinition) -> Result<Option<UpstreamTls>, String> {
        if !definition.tls {
            return Ok(None);
        }
        let sni = definition
            .sni
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or("tls needs sni")?;
        let ca = match &definition.ca_file {
            Some(path) => {
                let certs = certificates(path)?;
                let wrapped: Vec<WrappedX509> = certs
                    .into_iter()
                    .map(|der| WrappedX509::new(der, pingora::utils::tls::parse_x509))
                    .collect();
                Some(Arc::<CaType>::from(wrapped.into_boxed_slice()))
            }
            None => None,
        };
        let client = match (&definition.client_cert, &definition.client_key) {
            (Some(cert), Some(key)) => {
                let chain = certificates(cert)?;
                let key_der = PrivateKeyDer::from_pem_file(key)
                    .map_err(|err| format!("client_key {}: {err}", key.display()))?;
                let key_bytes = key_der.secret_der().to_vec();
                Some(Arc::new(CertKey::new(chain, key_bytes)))
            }
            _ => None,
        };
        Ok(Some(UpstreamTls { sni, ca, client }))
    }

    /// A peer at `addr` speaking TLS with these settings.
    pub fn peer(&self, addr: pingora::protocols::l4::socket::SocketAddr) -> HttpPeer {
        let mut peer = HttpPeer::new(addr, true, self.sni.clone());
        self.apply(&mut peer);
        peer
    }

    fn apply(&self, peer: &mut HttpPeer) {
        peer.options.verify_cert = true;
        peer.options.verify_hostname = true;
        peer.options.ca = self.ca.clone();
        peer.client_cert_key = self.client.clone();
    }

    /// A health check that opens a TLS connection as requests do and sends `GET /`; any answer
    /// counts as healthy, a failed handshake does not.
    pub fn health_check(&self) -> HttpHealthCheck {
        let mut check = HttpHealthCheck::new(&self.sni, true);
        self.apply(&mut check.peer_template);
        check.validator = Some(Box::new(|_: &pingora::http::ResponseHeader| Ok(())));
        check.consecutive_failure = 1;
        check.consecutive_success = 1;
        check
    }
}

/// The certificates of a PEM file, each checked to parse (pingora would panic on one that
/// does not).
fn certificates(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|err| format!("{}: {err}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|err| format!("{}: {err}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in it", path.display()));
    }
    for cert in &certs {
        x509_parser::parse_x509_certificate(cert.as_ref())
            .map_err(|err| format!("{}: not a certificate: {err}", path.display()))?;
    }
    Ok(certs.into_iter().map(|c| c.to_vec()).collect())
}
