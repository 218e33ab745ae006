//! A real, throwaway Kubernetes control plane: etcd, kube-apiserver (RBAC on),
//! kube-controller-manager (garbage collection, Deployments, service accounts),
//! kube-scheduler and kwok (simulated nodes whose Pods turn Running and Ready).
//! Everything listens on 127.0.0.1 on free ports, lives in one folder, and is
//! stopped (in reverse order) when the [`ControlPlane`] is dropped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::kube_binaries::KubeBinaries;
use crate::pki::{CertAndKey, Pki};
use crate::process::{ManagedProcess, free_port, port_open};

/// Name of the one simulated node every control plane gets.
pub const NODE_NAME: &str = "kwok-node-0";
const SERVICE_ACCOUNT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

pub struct ControlPlane {
    /// Kubeconfig of a cluster admin (group system:masters).
    pub kubeconfig: PathBuf,
    pub server: String,
    binaries: KubeBinaries,
    /// In start order; stopped in reverse.
    processes: Vec<ManagedProcess>,
}

impl ControlPlane {
    /// Starts every component in `dir` (which must exist and be private) and
    /// returns once the apiserver is ready, the default service account exists
    /// and the simulated node is Ready.
    pub fn start(binaries: &KubeBinaries, dir: &Path) -> Result<Self> {
        let started = Instant::now();
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs)?;
        let pki = Pki::generate()?;
        let write = |name: &str, contents: &str| -> Result<PathBuf> {
            let path = dir.join(name);
            std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
            Ok(path)
        };
        let ca_crt = write("ca.crt", &pki.ca.cert_pem)?;
        let ca_key = write("ca.key", &pki.ca.key_pem)?;
        let apiserver_crt = write("apiserver.crt", &pki.apiserver.cert_pem)?;
        let apiserver_key = write("apiserver.key", &pki.apiserver.key_pem)?;
        let sa_key = write("service-account.key", &pki.service_account_key_pem)?;
        let sa_pub = write("service-account.pub", &pki.service_account_pub_pem)?;

        let apiserver_port = free_port()?;
        let server = format!("https://127.0.0.1:{apiserver_port}");
        let kubeconfig = |name: &str, user: &str, groups: &[&str]| -> Result<PathBuf> {
            let client = pki.client(user, groups)?;
            write(
                &format!("{name}.kubeconfig"),
                &kubeconfig_yaml(&server, &pki.ca.cert_pem, user, &client),
            )
        };
        let admin = kubeconfig("admin", "shopfleet-admin", &["system:masters"])?;
        let controller_manager = kubeconfig("controller-manager", "system:kube-controller-manager", &[])?;
        let scheduler = kubeconfig("scheduler", "system:kube-scheduler", &[])?;

        let mut plane = Self {
            kubeconfig: admin.clone(),
            server: server.clone(),
            binaries: binaries.clone(),
            processes: Vec::new(),
        };

        let etcd_port = free_port()?;
        let etcd_peer = format!("http://127.0.0.1:{}", free_port()?);
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let mut etcd = Command::new(binaries.path("etcd"));
        etcd.arg("--name=shopfleet")
            .arg(format!("--data-dir={}", dir.join("etcd").display()))
            .arg(format!("--listen-client-urls={etcd_url}"))
            .arg(format!("--advertise-client-urls={etcd_url}"))
            .arg(format!("--listen-peer-urls={etcd_peer}"))
            .arg(format!("--initial-advertise-peer-urls={etcd_peer}"))
            .arg(format!("--initial-cluster=shopfleet={etcd_peer}"))
            // Throwaway data: durability only costs time here.
            .arg("--unsafe-no-fsync=true")
            .arg("--log-level=warn");
        plane.start_component("etcd", etcd, &logs, Duration::from_secs(30), || {
            port_open(etcd_port)
        })?;

        let mut apiserver = Command::new(binaries.path("kube-apiserver"));
        apiserver
            .arg(format!("--etcd-servers={etcd_url}"))
            .arg("--bind-address=127.0.0.1")
            .arg("--advertise-address=127.0.0.1")
            .arg(format!("--secure-port={apiserver_port}"))
            .arg(format!("--cert-dir={}", dir.display()))
            .arg(format!("--tls-cert-file={}", apiserver_crt.display()))
            .arg(format!("--tls-private-key-file={}", apiserver_key.display()))
            .arg(format!("--client-ca-file={}", ca_crt.display()))
            .arg(format!("--service-account-issuer={SERVICE_ACCOUNT_ISSUER}"))
            .arg(format!("--service-account-key-file={}", sa_pub.display()))
            .arg(format!("--service-account-signing-key-file={}", sa_key.display()))
            .arg("--service-cluster-ip-range=10.96.0.0/16")
            .arg("--authorization-mode=Node,RBAC")
            // As in clusters that enforce it (OpenShift's): an owner
            // reference that blocks its owner's deletion needs the right to
            // update the owner's finalizers, which the chart's RBAC must grant.
            .arg("--enable-admission-plugins=OwnerReferencesPermissionEnforcement")
            .arg("--allow-privileged=true")
            // The `kubernetes` Service cannot point at a loopback address.
            .arg("--endpoint-reconciler-type=none")
            .arg("--profiling=false");
        let admin_for_probe = admin.clone();
        let kubectl = binaries.path("kubectl");
        plane.start_component(
            "kube-apiserver",
            apiserver,
            &logs,
            Duration::from_secs(90),
            || kubectl_ok(&kubectl, &admin_for_probe, &["get", "--raw", "/readyz"]),
        )?;

        let mut cm = Command::new(binaries.path("kube-controller-manager"));
        cm.args(component_kubeconfig_args(&controller_manager))
            .arg(format!("--secure-port={}", free_port()?))
            .arg(format!("--service-account-private-key-file={}", sa_key.display()))
            .arg(format!("--root-ca-file={}", ca_crt.display()))
            .arg(format!("--cluster-signing-cert-file={}", ca_crt.display()))
            .arg(format!("--cluster-signing-key-file={}", ca_key.display()))
            // Each controller acts with its own service account, as in kubeadm
            // clusters, so RBAC is exercised the way it is in production.
            .arg("--use-service-account-credentials=true")
            .arg("--service-cluster-ip-range=10.96.0.0/16");
        plane.start_component("kube-controller-manager", cm, &logs, Duration::ZERO, || true)?;

        let mut scheduler_cmd = Command::new(binaries.path("kube-scheduler"));
        scheduler_cmd
            .args(component_kubeconfig_args(&scheduler))
            .arg(format!("--secure-port={}", free_port()?));
        plane.start_component("kube-scheduler", scheduler_cmd, &logs, Duration::ZERO, || true)?;

        let mut kwok = Command::new(binaries.path("kwok"));
        kwok.arg(format!("--kubeconfig={}", admin.display()))
            .arg(format!("--config={}", binaries.kwok_config().display()))
            .arg("--node-lease-duration-seconds=40")
            .arg("--manage-all-nodes=false")
            .arg("--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake")
            .arg("--node-ip=10.244.0.1")
            .arg("--cidr=10.244.0.0/16")
            .arg(format!("--server-address=127.0.0.1:{}", free_port()?));
        plane.start_component("kwok", kwok, &logs, Duration::ZERO, || true)?;

        plane.kubectl_apply(NODE_MANIFEST)?;
        plane.wait_until(
            "the controller-manager created the default service account",
            |plane| {
                plane
                    .kubectl(&["get", "serviceaccount", "default", "--namespace=default"])
                    .is_ok()
            },
        )?;
        plane.wait_until("kwok marked the simulated node Ready", |plane| {
            plane
                .kubectl(&[
                    "get",
                    "node",
                    NODE_NAME,
                    "-o",
                    "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
                ])
                .is_ok_and(|status| status == "True")
        })?;
        eprintln!(
            "==> Kubernetes {} control plane ready at {server} in {:.1?}",
            binaries.version,
            started.elapsed()
        );
        Ok(plane)
    }

    fn start_component(
        &mut self,
        name: &str,
        command: Command,
        logs: &Path,
        timeout: Duration,
        ready: impl FnMut() -> bool,
    ) -> Result<()> {
        let mut process = ManagedProcess::spawn(name, command, &logs.join(format!("{name}.log")))?;
        if !timeout.is_zero() {
            process.wait_ready(timeout, ready)?;
        }
        self.processes.push(process);
        Ok(())
    }

    /// Polls `done` until it holds, failing early if a component exits.
    fn wait_until(&mut self, what: &str, done: impl Fn(&Self) -> bool) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            self.check_running()?;
            if done(self) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "timed out waiting until {what}; component logs are in {}",
                    self.log_dir().display()
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    pub fn log_dir(&self) -> PathBuf {
        self.kubeconfig
            .parent()
            .expect("kubeconfig sits in the plane's folder")
            .join("logs")
    }

    /// Fails if any component has exited.
    pub fn check_running(&mut self) -> Result<()> {
        self.processes
            .iter_mut()
            .try_for_each(ManagedProcess::check_running)
    }

    /// Runs kubectl as cluster admin and returns its stdout.
    pub fn kubectl(&self, args: &[&str]) -> Result<String> {
        kubectl(&self.binaries.path("kubectl"), &self.kubeconfig, args, None)
    }

    fn kubectl_apply(&self, manifest: &str) -> Result<()> {
        kubectl_apply(&self.binaries.path("kubectl"), &self.kubeconfig, manifest)
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        while let Some(mut process) = self.processes.pop() {
            process.stop();
        }
    }
}

/// The simulated node; kwok manages nodes with this annotation.
const NODE_MANIFEST: &str = r#"
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: kwok-node-0
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
"#;

fn component_kubeconfig_args(kubeconfig: &Path) -> Vec<String> {
    let k = kubeconfig.display();
    vec![
        format!("--kubeconfig={k}"),
        format!("--authentication-kubeconfig={k}"),
        format!("--authorization-kubeconfig={k}"),
        "--bind-address=127.0.0.1".to_owned(),
        "--leader-elect=false".to_owned(),
    ]
}

/// `kubectl apply --server-side` of a manifest given as text.
pub fn kubectl_apply(kubectl_path: &Path, kubeconfig: &Path, manifest: &str) -> Result<()> {
    let args = [
        "apply",
        "--server-side",
        "--field-manager=shopfleet-local",
        "-f",
        "-",
    ];
    kubectl(kubectl_path, kubeconfig, &args, Some(manifest)).map(drop)
}

fn kubectl_ok(kubectl_path: &Path, kubeconfig: &Path, args: &[&str]) -> bool {
    kubectl(kubectl_path, kubeconfig, args, None).is_ok()
}

/// Runs kubectl with the given kubeconfig, feeding `stdin` if given.
pub fn kubectl(kubectl_path: &Path, kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Result<String> {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(kubectl_path)
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {}", kubectl_path.display()))?;
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(input.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "kubectl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A kubeconfig with the client certificate and CA embedded.
fn kubeconfig_yaml(server: &str, ca_pem: &str, user: &str, client: &CertAndKey) -> String {
    let b64 = |pem: &str| BASE64.encode(pem);
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: shopfleet-local
  cluster:
    server: {server}
    certificate-authority-data: {ca}
users:
- name: {user}
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
contexts:
- name: shopfleet-local
  context:
    cluster: shopfleet-local
    user: {user}
current-context: shopfleet-local
",
        ca = b64(ca_pem),
        cert = b64(&client.cert_pem),
        key = b64(&client.key_pem),
    )
}
