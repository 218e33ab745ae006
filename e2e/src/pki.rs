//! Certificates and keys of a throwaway control plane: one CA, the apiserver's
//! serving certificate, a client certificate per component, and the key that
//! signs service-account tokens. All ECDSA P-256, generated fresh per start.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::Result;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// A certificate and its private key, both PEM.
pub struct CertAndKey {
    pub cert_pem: String,
    pub key_pem: String,
}

pub struct Pki {
    pub ca: CertAndKey,
    pub apiserver: CertAndKey,
    /// PKCS#8 private key the apiserver signs service-account tokens with.
    pub service_account_key_pem: String,
    /// Its public half, which verifies them.
    pub service_account_pub_pem: String,
    ca_issuer: Issuer<'static, KeyPair>,
}

/// The in-cluster address of the `kubernetes` Service: first IP of the
/// service range the apiserver is started with.
pub const KUBERNETES_SERVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 1);

impl Pki {
    pub fn generate() -> Result<Self> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "shopfleet-local-ca");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let ca = CertAndKey {
            cert_pem: ca_cert.pem(),
            key_pem: ca_key.serialize_pem(),
        };
        let ca_issuer = Issuer::new(ca_params, ca_key);

        let apiserver = serving(
            &ca_issuer,
            "kube-apiserver",
            &[
                "localhost",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ],
            &[IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V4(KUBERNETES_SERVICE_IP)],
        )?;

        let service_account = KeyPair::generate()?;
        Ok(Self {
            ca,
            apiserver,
            service_account_key_pem: service_account.serialize_pem(),
            service_account_pub_pem: service_account.public_key_pem(),
            ca_issuer,
        })
    }

    /// A serving certificate for `localhost` and 127.0.0.1 (a PostgreSQL
    /// server's, say), signed by this CA.
    pub fn local_server(&self, name: &str) -> Result<CertAndKey> {
        serving(
            &self.ca_issuer,
            name,
            &["localhost"],
            &[IpAddr::V4(Ipv4Addr::LOCALHOST)],
        )
    }

    /// A client certificate for user `user` in the given groups (the apiserver
    /// reads the user from CN and groups from O).
    pub fn client(&self, user: &str, groups: &[&str]) -> Result<CertAndKey> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, user);
        for group in groups {
            params.distinguished_name.push(DnType::OrganizationName, *group);
        }
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        Ok(CertAndKey {
            cert_pem: params.signed_by(&key, &self.ca_issuer)?.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// A serving certificate for these names and addresses, signed by `issuer`.
fn serving(
    issuer: &Issuer<'static, KeyPair>,
    name: &str,
    dns: &[&str],
    ips: &[IpAddr],
) -> Result<CertAndKey> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(dns.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())?;
    params
        .subject_alt_names
        .extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    Ok(CertAndKey {
        cert_pem: params.signed_by(&key, issuer)?.pem(),
        key_pem: key.serialize_pem(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_are_pem_and_distinct() {
        let pki = Pki::generate().unwrap();
        let admin = pki.client("admin", &["system:masters"]).unwrap();
        for pem in [&pki.ca.cert_pem, &pki.apiserver.cert_pem, &admin.cert_pem] {
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        }
        assert!(
            pki.service_account_key_pem
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        assert!(
            pki.service_account_pub_pem
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
        assert_ne!(pki.apiserver.key_pem, admin.key_pem);
    }
}
