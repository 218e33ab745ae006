//! The local platform as one value: a control plane and a PostgreSQL server,
//! or the ones the user already has (`KUBECONFIG`, `DATABASE_URL`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use base64::Engine;

use crate::control_plane::ControlPlane;
use crate::kube_binaries::{self, KubeBinaries};
use crate::postgres::Postgres;

/// Where the operator and its configuration live.
pub const OPERATOR_NAMESPACE: &str = "shopfleet-system";

pub struct Platform {
    pub kubeconfig: PathBuf,
    pub database_url: String,
    pub binaries: KubeBinaries,
    // Dropped in this order: the servers stop before their folder is removed.
    control_plane: Option<ControlPlane>,
    postgres: Option<Postgres>,
    dir: tempfile::TempDir,
}

impl Platform {
    /// Starts what the environment does not already provide.
    pub fn start() -> Result<Self> {
        // kubectl comes from the same build, so it is needed even with a KUBECONFIG.
        let binaries = kube_binaries::ensure()?;
        let dir = tempfile::Builder::new()
            .prefix("shopfleet-")
            .tempdir()
            .context("creating the platform's temporary folder")?;

        let (kubeconfig, control_plane) = match std::env::var_os("KUBECONFIG") {
            Some(path) => {
                eprintln!(
                    "==> Using the cluster of your KUBECONFIG ({})",
                    path.to_string_lossy()
                );
                (PathBuf::from(path), None)
            }
            None => {
                let kube_dir = dir.path().join("kube");
                std::fs::create_dir(&kube_dir)?;
                let plane = ControlPlane::start(&binaries, &kube_dir)?;
                (plane.kubeconfig.clone(), Some(plane))
            }
        };
        let (database_url, postgres) = match std::env::var("DATABASE_URL") {
            Ok(url) => {
                eprintln!("==> Using the PostgreSQL server of your DATABASE_URL");
                (url, None)
            }
            Err(_) => {
                let server = Postgres::start(&dir.path().join("postgres"))?;
                (server.url.clone(), Some(server))
            }
        };
        let platform = Self {
            kubeconfig,
            database_url,
            binaries,
            control_plane,
            postgres,
            dir,
        };
        platform.install_postgres_admin_secret()?;
        Ok(platform)
    }

    /// Stops the servers and hands over their folder, which is deleted when
    /// the returned value is dropped: a benchmark deletes it once it has
    /// measured everything, since deleting many files slows down the next
    /// ones created (see bench operator-scale's `main`).
    pub fn stop_keeping_files(self) -> tempfile::TempDir {
        let Platform {
            control_plane,
            postgres,
            dir,
            ..
        } = self;
        drop(control_plane);
        drop(postgres);
        dir
    }

    /// Gives the operator this PostgreSQL server as its `default` one: the
    /// Secret its default `--postgres-server` flag names.
    fn install_postgres_admin_secret(&self) -> Result<()> {
        let manifest = format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {OPERATOR_NAMESPACE}\n---\n\
             apiVersion: v1\nkind: Secret\nmetadata:\n  name: postgres-admin\n  namespace: {OPERATOR_NAMESPACE}\n\
             stringData:\n  DATABASE_URL: '{}'\n",
            // YAML single quotes escape a quote by doubling it.
            self.database_url.replace('\'', "''")
        );
        self.kubectl_apply(&manifest)
    }

    /// `kubectl apply --server-side` of a manifest given as text.
    pub fn kubectl_apply(&self, manifest: &str) -> Result<()> {
        crate::control_plane::kubectl_apply(&self.binaries.path("kubectl"), &self.kubeconfig, manifest)
    }

    /// Applies the CRDs in `dir` and waits until the apiserver serves them.
    pub fn install_crds(&self, dir: &Path) -> Result<()> {
        for args in [
            vec!["apply", "--server-side", "--field-manager=shopfleet-local", "-f"],
            vec!["wait", "--for=condition=Established", "--timeout=60s", "-f"],
        ] {
            let out = self.kubectl().args(args).arg(dir).output()?;
            if !out.status.success() {
                anyhow::bail!(
                    "installing the CRDs failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        eprintln!("==> CRDs installed from {}", dir.display());
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The environment a process on this platform needs: `KUBECONFIG`,
    /// `DATABASE_URL`, and `PATH` with the built kubectl first.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        let mut path = vec![self.binaries.dir.clone()];
        path.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        vec![
            ("KUBECONFIG", self.kubeconfig.clone().into_os_string()),
            ("DATABASE_URL", self.database_url.clone().into()),
            (
                "PATH",
                std::env::join_paths(path).expect("PATH entries have no separator"),
            ),
        ]
    }

    /// A `kubectl` command against this platform's cluster.
    pub fn kubectl(&self) -> Command {
        let mut command = Command::new(self.binaries.path("kubectl"));
        command.env("KUBECONFIG", &self.kubeconfig);
        command
    }

    /// One value of a Secret, decoded.
    pub fn secret_value(&self, namespace: &str, name: &str, key: &str) -> Result<String> {
        let path = format!("{{.data.{}}}", key.replace('.', "\\."));
        let out = self
            .kubectl()
            .args(["get", "secret", name, "-n", namespace, "-o"])
            .arg(format!("jsonpath={path}"))
            .output()?;
        if !out.status.success() {
            anyhow::bail!(
                "reading Secret {namespace}/{name}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(out.stdout.trim_ascii())
            .with_context(|| format!("Secret {namespace}/{name} key {key} is not base64"))?;
        String::from_utf8(decoded)
            .with_context(|| format!("Secret {namespace}/{name} key {key} is not UTF-8"))
    }

    /// Fails if a server we started has exited.
    pub fn check_running(&mut self) -> Result<()> {
        if let Some(plane) = &mut self.control_plane {
            plane.check_running()?;
        }
        if let Some(postgres) = &mut self.postgres {
            postgres.check_running()?;
        }
        Ok(())
    }
}
