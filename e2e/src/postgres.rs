//! A throwaway PostgreSQL server: `initdb` into a fresh folder, then `postgres`
//! on a free loopback port with a random superuser password. PostgreSQL refuses
//! to run as root, so as root it runs as the `postgres` system user.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::sys::signal::Signal;
use nix::unistd::{Uid, User};

use crate::debian;
use crate::process::{ManagedProcess, free_port};

pub struct Postgres {
    /// Superuser connection URL (the operator's admin connection).
    pub url: String,
    pub port: u16,
    process: Option<ManagedProcess>,
    server: Server,
}

impl Postgres {
    /// Initialises and starts a server in `dir` (created here).
    pub fn start(dir: &Path) -> Result<Self> {
        Self::start_serving(dir, None)
    }

    /// [`Postgres::start`], serving TLS with `certificate` and refusing
    /// connections without it.
    pub fn start_with_tls(dir: &Path, certificate: &crate::pki::CertAndKey) -> Result<Self> {
        Self::start_serving(dir, Some(certificate))
    }

    fn start_serving(dir: &Path, tls: Option<&crate::pki::CertAndKey>) -> Result<Self> {
        let started = Instant::now();
        let bin = server_bin_dir()?;
        let run_as = if Uid::effective().is_root() {
            Some(User::from_name("postgres")?.context(
                "running as root, and PostgreSQL refuses to: a `postgres` system user is needed \
                 (Debian's postgresql package creates it)",
            )?)
        } else {
            None
        };
        std::fs::create_dir_all(dir)?;
        // The server user must reach its folder; the folder holds nothing secret
        // but the data itself, which initdb creates with mode 0700.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
        let password = crate::random_token(24);
        let pwfile = dir.join("superuser-password");
        std::fs::write(&pwfile, &password)?;
        if let Some(user) = &run_as {
            std::os::unix::fs::chown(dir, Some(user.uid.as_raw()), Some(user.gid.as_raw()))?;
            std::os::unix::fs::chown(&pwfile, Some(user.uid.as_raw()), Some(user.gid.as_raw()))?;
        }
        let as_server_user = |program: PathBuf| {
            let mut command = Command::new(program);
            command.current_dir(dir);
            if let Some(user) = &run_as {
                command.uid(user.uid.as_raw()).gid(user.gid.as_raw());
            }
            command
        };

        let data = dir.join("data");
        let out = as_server_user(bin.join("initdb"))
            .arg(format!("--pgdata={}", data.display()))
            .args([
                "--username=postgres",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .output()
            .context("running initdb")?;
        std::fs::remove_file(&pwfile)?;
        if !out.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }

        if let Some(certificate) = tls {
            // The key must be the server user's and no one else's.
            for (file, pem) in [
                ("server.crt", &certificate.cert_pem),
                ("server.key", &certificate.key_pem),
            ] {
                let path = dir.join(file);
                std::fs::write(&path, pem)?;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
                if let Some(user) = &run_as {
                    std::os::unix::fs::chown(&path, Some(user.uid.as_raw()), Some(user.gid.as_raw()))?;
                }
            }
            // TCP connections must use TLS: `host` rules become `hostssl`.
            let hba = data.join("pg_hba.conf");
            let rules = std::fs::read_to_string(&hba)?;
            let tls_only: String = rules
                .lines()
                .map(|line| match line.strip_prefix("host ") {
                    Some(rest) => format!("hostssl {rest}\n"),
                    None => format!("{line}\n"),
                })
                .collect();
            std::fs::write(&hba, tls_only)?;
        }
        let port = free_port()?;
        let server = Server {
            bin,
            dir: dir.to_owned(),
            run_as: run_as.map(|user| (user.uid.as_raw(), user.gid.as_raw())),
            port,
            tls: tls.is_some(),
        };
        let process = server.launch()?;
        eprintln!(
            "==> PostgreSQL ready on 127.0.0.1:{port} in {:.1?}",
            started.elapsed()
        );
        Ok(Self {
            url: format!("postgres://postgres:{password}@127.0.0.1:{port}/postgres"),
            port,
            process: Some(process),
            server,
        })
    }

    /// Fails if the server has exited (or was stopped).
    pub fn check_running(&mut self) -> Result<()> {
        match &mut self.process {
            Some(process) => process.check_running(),
            None => bail!("PostgreSQL was stopped"),
        }
    }

    /// Shuts the server down (fast shutdown), keeping its data, as an outage
    /// would. [`Postgres::restart`] brings it back on the same port.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.stop();
        }
    }

    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        self.process = Some(self.server.launch()?);
        Ok(())
    }
}

/// How to run `postgres` on an initialised data folder.
struct Server {
    bin: PathBuf,
    dir: PathBuf,
    /// The unprivileged user and group to run as, when we are root.
    run_as: Option<(u32, u32)>,
    port: u16,
    /// Serve TLS with `server.crt` and `server.key` in `dir`.
    tls: bool,
}

impl Server {
    /// Starts `postgres` and waits until it accepts connections.
    fn launch(&self) -> Result<ManagedProcess> {
        let Self {
            bin,
            dir,
            run_as,
            port,
            tls,
        } = self;
        let mut server = Command::new(bin.join("postgres"));
        server.current_dir(dir);
        if let Some((uid, gid)) = run_as {
            server.uid(*uid).gid(*gid);
        }
        server
            .arg("-D")
            .arg(dir.join("data"))
            .arg("-p")
            .arg(port.to_string())
            .arg("-k")
            .arg(dir)
            .args(["-c", "listen_addresses=127.0.0.1"])
            // Throwaway data: durability only costs time here. (Crash tests kill
            // our processes, and stop this server only cleanly.)
            .args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ])
            // Each tenant gets its own database and pools: leave room for many.
            .args(["-c", "max_connections=500"]);
        if *tls {
            server.args(["-c", "ssl=on"]);
            server
                .arg("-c")
                .arg(format!("ssl_cert_file={}", dir.join("server.crt").display()));
            server
                .arg("-c")
                .arg(format!("ssl_key_file={}", dir.join("server.key").display()));
        }
        // Appends, so a restart keeps the earlier log.
        let mut process = ManagedProcess::spawn_appending("postgres", server, &dir.join("postgres.log"))?
            // SIGINT is PostgreSQL's "fast" shutdown; SIGTERM would wait for clients.
            .with_stop_signal(Signal::SIGINT);
        let pg_isready = bin.join("pg_isready");
        process.wait_ready(Duration::from_secs(30), || {
            Command::new(&pg_isready)
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                .status()
                .is_ok_and(|s| s.success())
        })?;
        Ok(process)
    }
}

/// The folder with `initdb`, `postgres` and `pg_isready`: from PATH, else the
/// newest `/usr/lib/postgresql/<major>/bin`. Installs Debian's `postgresql`
/// package when neither has them and we may (root with apt-get).
fn server_bin_dir() -> Result<PathBuf> {
    if let Some(dir) = find_server_bin_dir() {
        return Ok(dir);
    }
    if debian::may_install() {
        debian::install(&["postgresql"], "PostgreSQL server not found")?;
        if let Some(dir) = find_server_bin_dir() {
            return Ok(dir);
        }
    }
    bail!(
        "PostgreSQL 15 or newer is missing: no `initdb` on PATH or in /usr/lib/postgresql/*/bin. \
         Install it (Debian/Ubuntu: `apt-get install postgresql`), or point DATABASE_URL at a \
         server whose user may create databases and roles."
    )
}

fn find_server_bin_dir() -> Option<PathBuf> {
    let has_server = |dir: &Path| {
        ["initdb", "postgres", "pg_isready"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .filter_map(|dir| dir.join("initdb").canonicalize().ok())
        .filter_map(|initdb| initdb.parent().map(Path::to_owned))
        .find(|dir| has_server(dir));
    on_path.or_else(|| {
        let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let major = entry.file_name().to_str()?.parse().ok()?;
                Some((major, entry.path().join("bin")))
            })
            .filter(|(major, dir)| *major >= 15 && has_server(dir))
            .collect();
        majors.sort();
        majors.pop().map(|(_, dir)| dir)
    })
}
