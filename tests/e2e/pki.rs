//! The test mesh's certificates: a CA made with `openssl` at each run, and
//! workload certificates with a SPIFFE ID as URI SAN, as Istio issues
//! them. `MeshCa::issue` makes one for any identity, for scenarios to come.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use crate::lab::{TempDir, program, run};

/// The mesh's identities: SPIFFE IDs, as Istio writes them in the URI SAN
/// of each workload's certificate. The gateway's is the one the apps of
/// scenario 8 trust (`identity=`).
pub const GATEWAY_ID: &str =
    "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";
/// The in-mesh client pod's identity (Istio's `sleep` sample).
pub const SLEEP_ID: &str = "spiffe://cluster.local/ns/default/sa/sleep";
/// The application's own identity: its sidecar's `By=` in XFCC.
pub const APP_ID: &str = "spiffe://cluster.local/ns/default/sa/httpbin";
/// The DNS name in the app sidecar's certificate (the SNI the gateway
/// sends; it checks the URI SAN, as Istio's gateway does).
pub const APP_DNS: &str = "httpbin.default.svc.cluster.local";

/// A certificate and its key, issued by the test mesh's CA.
pub struct Workload {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The SPIFFE ID in its URI SAN.
    pub spiffe_id: String,
    /// The SHA-256 of the certificate (DER), lowercase hex, as Envoy
    /// writes it as XFCC's `Hash=`.
    pub sha256: String,
}

/// A CA in the lab's directory, valid two days.
pub struct MeshCa {
    pub cert: PathBuf,
    key: PathBuf,
    dir: PathBuf,
    openssl: PathBuf,
    serial: std::cell::Cell<u32>,
}

/// EC P-256 keys, as Istio's workload certificates use.
const EC: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
];

impl MeshCa {
    /// Makes the CA (`/O=cluster.local/CN=mesh-ca`).
    pub fn new(dir: &TempDir) -> MeshCa {
        let openssl = program("openssl").expect("openssl");
        let ca = MeshCa {
            cert: dir.0.join("mesh-ca.crt"),
            key: dir.0.join("mesh-ca.key"),
            dir: dir.0.clone(),
            openssl,
            serial: std::cell::Cell::new(1),
        };
        // The whole configuration is ours, so the system's openssl.cnf
        // adds nothing.
        let cnf = dir.write(
            "mesh-ca.cnf",
            "[req]\ndistinguished_name = dn\n[dn]\n\
             [ca]\nbasicConstraints = critical, CA:true\nkeyUsage = critical, keyCertSign, cRLSign\n\
             subjectKeyIdentifier = hash\n",
        );
        run(Command::new(&ca.openssl)
            .args(["req", "-x509", "-config"])
            .arg(&cnf)
            .args(["-extensions", "ca"])
            .args(EC)
            .args(["-days", "2", "-subj", "/O=cluster.local/CN=mesh-ca"])
            .arg("-keyout")
            .arg(&ca.key)
            .arg("-out")
            .arg(&ca.cert));
        ca
    }

    /// Issues a workload certificate `<name>.crt` (key `<name>.key`) with
    /// `subject` (openssl's `/O=…/CN=…` form; its RFC 2253 form, which XFCC
    /// quotes, holds commas), the SPIFFE ID as URI SAN and the DNS names.
    pub fn issue(&self, name: &str, subject: &str, spiffe_id: &str, dns: &[&str]) -> Workload {
        let file = |ext: &str| self.dir.join(format!("{name}.{ext}"));
        let (cert, key, csr, ext) = (file("crt"), file("key"), file("csr"), file("ext"));
        let mut san = format!("URI:{spiffe_id}");
        for name in dns {
            let _ = write!(san, ", DNS:{name}");
        }
        std::fs::write(
            &ext,
            format!(
                "[req]\ndistinguished_name = dn\n[dn]\n[workload]\n\
                 basicConstraints = critical, CA:false\nkeyUsage = critical, digitalSignature\n\
                 extendedKeyUsage = serverAuth, clientAuth\nsubjectKeyIdentifier = hash\n\
                 authorityKeyIdentifier = keyid\nsubjectAltName = {san}\n"
            ),
        )
        .expect("an extension file");
        run(Command::new(&self.openssl)
            .args(["req", "-new", "-config"])
            .arg(&ext)
            .args(EC)
            .args(["-subj", subject, "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&csr));
        self.serial.set(self.serial.get() + 1);
        run(Command::new(&self.openssl)
            .args(["x509", "-req", "-in"])
            .arg(&csr)
            .arg("-CA")
            .arg(&self.cert)
            .arg("-CAkey")
            .arg(&self.key)
            .args(["-set_serial", &self.serial.get().to_string(), "-days", "2"])
            .arg("-extfile")
            .arg(&ext)
            .args(["-extensions", "workload", "-out"])
            .arg(&cert));
        let out = run(Command::new(&self.openssl)
            .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
            .arg(&cert));
        let (_, hex) = out
            .trim()
            .split_once('=')
            .expect("openssl prints NAME=FINGERPRINT");
        Workload {
            sha256: hex.replace(':', "").to_ascii_lowercase(),
            cert,
            key,
            spiffe_id: spiffe_id.to_owned(),
        }
    }
}

/// The test mesh's CA and the workload certificates of the lab.
pub struct MeshPki {
    pub ca: MeshCa,
    pub gateway: Workload,
    pub sleep: Workload,
    pub sidecar: Workload,
}

/// Makes the CA and the lab's three workload certificates.
pub fn mesh_pki(dir: &TempDir) -> MeshPki {
    let ca = MeshCa::new(dir);
    MeshPki {
        gateway: ca.issue(
            "gateway",
            "/O=cluster.local/OU=istio-system/CN=istio-ingressgateway",
            GATEWAY_ID,
            &[],
        ),
        sleep: ca.issue(
            "sleep",
            "/O=cluster.local/OU=default/CN=sleep",
            SLEEP_ID,
            &[],
        ),
        sidecar: ca.issue(
            "sidecar",
            "/O=cluster.local/OU=default/CN=httpbin",
            APP_ID,
            &[APP_DNS],
        ),
        ca,
    }
}
