//! The bed's TLS material, made fresh for every bed: one CA (openssl), and per server a PKCS12
//! keystore holding a key and a certificate signed by that CA for `IP:127.0.0.1` and
//! `DNS:localhost`, so clients verify the broker's name as they would in production. The CA is
//! kept as PEM (the datasource's `kafkaTlsCaCert` is PEM text) and as a PKCS12 truststore made
//! with keytool, for Kafka's Java tools.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::process::run_tool;

/// The password of every keystore and truststore of the bed (they live and die with it).
pub const STORE_PASSWORD: &str = "bed-store-secret";

pub struct Tls {
    dir: PathBuf,
    ca_pem: String,
}

impl Tls {
    /// Makes the CA under `dir` (created if missing).
    pub fn create(dir: &Path) -> Tls {
        fs::create_dir_all(dir).expect("the TLS directory");
        run_tool(
            "openssl: the bed's CA",
            Command::new("openssl")
                .args(["req", "-x509", "-newkey", "ec"])
                .args(["-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
                .args(["-keyout", "ca.key", "-out", "ca.pem", "-days", "7"])
                .args(["-subj", "/CN=Pipeline Health test bed CA"])
                .args(["-addext", "basicConstraints=critical,CA:TRUE"])
                .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
                .current_dir(dir),
        );
        run_tool(
            "keytool: the bed's truststore",
            Command::new("keytool")
                .args(["-importcert", "-noprompt", "-alias", "bed-ca"])
                .args(["-file", "ca.pem", "-keystore", "truststore.p12"])
                .args(["-storetype", "PKCS12", "-storepass", STORE_PASSWORD])
                .current_dir(dir),
        );
        let ca_pem = fs::read_to_string(dir.join("ca.pem")).expect("the CA's PEM");
        Tls {
            dir: dir.to_path_buf(),
            ca_pem,
        }
    }

    /// The CA certificate, PEM text.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn ca_pem_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// PKCS12 truststore with the CA, password [`STORE_PASSWORD`].
    pub fn truststore_path(&self) -> PathBuf {
        self.dir.join("truststore.p12")
    }

    /// A PKCS12 keystore `<name>.p12` (password [`STORE_PASSWORD`]) with a fresh key and a
    /// certificate for 127.0.0.1 and localhost signed by the CA, the CA in its chain.
    pub fn server_keystore(&self, name: &str) -> PathBuf {
        let (key, csr, cert, ext, p12) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
            format!("{name}.p12"),
        );
        fs::write(
            self.dir.join(&ext),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n\
             basicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\n",
        )
        .expect("the certificate's extensions");
        run_tool(
            "openssl: a server key and request",
            Command::new("openssl")
                .args(["req", "-new", "-newkey", "ec"])
                .args(["-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
                .args(["-keyout", &key, "-out", &csr])
                .args(["-subj", &format!("/CN=localhost/OU={name}")])
                .current_dir(&self.dir),
        );
        run_tool(
            "openssl: the CA signs a server certificate",
            Command::new("openssl")
                .args([
                    "x509", "-req", "-in", &csr, "-CA", "ca.pem", "-CAkey", "ca.key",
                ])
                .args([
                    "-CAcreateserial",
                    "-days",
                    "7",
                    "-extfile",
                    &ext,
                    "-out",
                    &cert,
                ])
                .current_dir(&self.dir),
        );
        run_tool(
            "openssl: a server keystore",
            Command::new("openssl")
                .args(["pkcs12", "-export", "-in", &cert, "-inkey", &key])
                .args(["-certfile", "ca.pem", "-name", name, "-out", &p12])
                .args(["-passout", &format!("pass:{STORE_PASSWORD}")])
                .current_dir(&self.dir),
        );
        self.dir.join(p12)
    }
}
