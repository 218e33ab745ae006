//! The images, without a container engine: the release binaries the
//! Dockerfiles copy (`images/`), built by the same script
//! (`images/cargo-build.sh`), started as the images start them: as uid and
//! gid 65532, with a working directory they cannot write, the environment of
//! the image and of the Pod only, and nothing of the build tree. Each must
//! answer `/healthz` within a second of being started.
//!
//! The build goes to `<target>/images`, a target folder of its own: its
//! flags (path remapping, stripping) differ from the workspace's release
//! builds, which would otherwise be rebuilt each time one or the other runs.
//! The first run builds both binaries (several minutes on 2 cores); later
//! runs rebuild only what changed.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use shopfleet_e2e::process::{ManagedProcess, free_port};
use shopfleet_operator::crd::DeletionPolicy;
use support::{client, delete_tenants, install_crds, namespace, ready_tenant, repo_root, shared_operator};

/// A line on the terminal even while the test harness captures the test's
/// output (it captures `eprintln!`, not writes to the stream): the build's
/// progress and the figures belong in `make test`'s output.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// The images' user and group (`USER 65532:65532`, distroless's `nonroot`).
const NONROOT: u32 = 65532;

/// What the images set besides the Pod's environment (distroless's config).
const IMAGE_ENV: [(&str, &str); 2] = [
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"),
];

/// The bound: a replica is serving its probes within a second.
const HEALTHZ_WITHIN: Duration = Duration::from_secs(1);

/// Starts measured per binary; the figure reported is their median.
const STARTS: usize = 5;

/// One start measured at a time: the two tests' starts would otherwise
/// share the 2 cores and time each other.
static MEASURING: Mutex<()> = Mutex::new(());

#[tokio::test]
async fn the_operator_binary_answers_healthz_within_a_second_as_its_image_runs_it() {
    // The platform first: without one, fail before a long build.
    let client = client().await;
    let built = release_binaries();
    install_crds(&client).await;
    // A Lease and a shard of its own: it leads, but over no Tenant of the others.
    let home = namespace(&client, "images").await;
    let root = Sandbox::new();
    let binary = root.install(&built.operator);
    // The cluster's address and credentials, as a Secret volume would give them.
    let kubeconfig =
        std::env::var_os("KUBECONFIG").expect("KUBECONFIG is not set: run inside `shopfleet-local exec`");
    let kubeconfig = root.secret_file("kubeconfig", &std::fs::read(kubeconfig).unwrap());
    let env = vec![("KUBECONFIG".to_owned(), kubeconfig.display().to_string())];
    let selector = format!("{}={home}", support::SHARD_LABEL);
    let args = |port: u16| {
        [
            "run",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--lease-namespace",
            &home,
            "--lease-name",
            "operator",
            "--tenant-selector",
            &selector,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let times = root.measure_starts("shopfleet-operator", &binary, args, |_| env.clone(), |_| {});
    report("shopfleet-operator", &built.operator, &times);
}

#[tokio::test]
async fn the_api_binary_answers_healthz_within_a_second_as_its_image_runs_it() {
    let client = client().await;
    let built = release_binaries();
    // The environment and volumes of a real tenant's Deployment, as the
    // operator makes it: the database URL of the tenant's runtime role, its
    // signing keys, its plan's limits.
    shared_operator().await;
    let (tenant, _) = ready_tenant(&client, DeletionPolicy::Delete).await;
    let root = Sandbox::new();
    let binary = root.install(&built.api);
    let launch = shopfleet_e2e::tenant_api::ApiLaunch::from_deployment(
        || Command::new("kubectl"),
        &format!("tenant-{tenant}"),
        &format!("{tenant}-api"),
        &root.dir.join("pod"),
    )
    .unwrap_or_else(|e| panic!("reading how the operator runs the API: {e:#}"));
    root.as_secret_volumes(&launch.dir.join("volumes"));
    let metrics_port = std::cell::Cell::new(0);
    let env = |port: u16| {
        metrics_port.set(free_port().unwrap());
        let mut env = launch.env.clone();
        env.retain(|(name, _)| {
            name != shopfleet_contract::LISTEN && name != shopfleet_contract::METRICS_LISTEN
        });
        env.push((shopfleet_contract::LISTEN.to_owned(), format!("127.0.0.1:{port}")));
        env.push((
            shopfleet_contract::METRICS_LISTEN.to_owned(),
            format!("127.0.0.1:{}", metrics_port.get()),
        ));
        env
    };
    let mut checked = false;
    let times = root.measure_starts(
        "shopfleet-api",
        &binary,
        |_| Vec::new(),
        env,
        |port| {
            if std::mem::replace(&mut checked, true) {
                return;
            }
            // The web app is in the binary: nothing of web/dist is reachable from here.
            let app = shopfleet_e2e::http::request(port, "GET", "/app/", &[], None).unwrap();
            assert_eq!(app.status, 200, "GET /app/: {}", app.body);
            assert!(
                app.body.to_ascii_lowercase().contains("<!doctype html"),
                "GET /app/ is not the web app: {}",
                app.body
            );
            // And the Pod's environment is a working one: its database, as
            // the tenant's runtime role, at the schema this build expects.
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                match shopfleet_e2e::http::request(port, "GET", "/readyz", &[], None) {
                    Ok(response) if response.status == 200 => break,
                    outcome if Instant::now() > deadline => {
                        panic!("the API was not ready within 30 s: {outcome:?}")
                    }
                    _ => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        },
    );
    report("shopfleet-api", &built.api, &times);
    delete_tenants(&client, &[tenant]).await;
}

/// The two binaries, as `images/cargo-build.sh` builds them for the images.
struct Built {
    operator: PathBuf,
    api: PathBuf,
}

/// Builds the binaries once for this test binary (the other test waits).
fn release_binaries() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        // <target>/debug/deps/images-<hash>
        let exe = std::env::current_exe().unwrap();
        let target = exe.ancestors().nth(3).unwrap().join("images");
        say!(
            "==> Building the release binaries the images copy, into {} (several minutes the first time)",
            target.display()
        );
        for package in ["shopfleet-operator", "shopfleet-api"] {
            say!("==> sh images/cargo-build.sh {package}");
            let started = Instant::now();
            // Only what finds the toolchain, as in the builder image: the
            // variables cargo sets for a test (OUT_DIR, CARGO_PKG_*...) and
            // any CC or CFLAGS of ours would make another build, and
            // build scripts that watch them (ring's) rebuild at each change.
            let mut build = Command::new("sh");
            build
                .args(["images/cargo-build.sh", package])
                .current_dir(repo_root())
                .env_clear()
                .envs(
                    ["PATH", "HOME", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN"]
                        .into_iter()
                        .filter_map(|name| Some((name, std::env::var_os(name)?))),
                );
            let status = build
                .env("CARGO_TARGET_DIR", &target)
                .status()
                .expect("running sh images/cargo-build.sh");
            assert!(
                status.success(),
                "sh images/cargo-build.sh {package} failed ({status}): the images' build is broken \
                 (the API's also needs web/dist: `make web`)"
            );
            say!("==> {package} built in {:.0?}", started.elapsed());
        }
        let release = target.join("release");
        Built {
            operator: release.join("shopfleet-operator"),
            api: release.join("shopfleet-api"),
        }
    })
}

/// A folder standing in for the image's filesystem: the binary where the
/// image puts it (root's, mode 0755), a working directory uid 65532 cannot
/// write (the image's `/`, read-only besides), and the Pod's files.
struct Sandbox {
    dir: PathBuf,
    cwd: PathBuf,
    _temp: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_owned();
        // tempdir makes it 0700: the non-root user must get through it.
        set_mode(&dir, 0o755);
        let cwd = dir.join("cwd");
        std::fs::create_dir(&cwd).unwrap();
        set_mode(&cwd, 0o555);
        let sandbox = Self {
            dir,
            cwd,
            _temp: temp,
        };
        sandbox.assert_not_writable_by_nonroot();
        sandbox
    }

    /// The working directory is root's and 0555, and uid 65532 indeed
    /// cannot create a file in it.
    fn assert_not_writable_by_nonroot(&self) {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            nix::unistd::geteuid().as_raw(),
            0,
            "these tests start the binaries as uid {NONROOT}, which takes root: run them as root"
        );
        let meta = std::fs::metadata(&self.cwd).unwrap();
        assert_eq!((meta.uid(), meta.mode() & 0o777), (0, 0o555));
        let probe = Command::new("touch")
            .arg("probe")
            .current_dir(&self.cwd)
            .uid(NONROOT)
            .gid(NONROOT)
            .output()
            .expect("running touch as uid 65532");
        assert!(
            !probe.status.success() && !self.cwd.join("probe").exists(),
            "uid {NONROOT} could write into {}",
            self.cwd.display()
        );
    }

    /// Copies `binary` to `<sandbox>/bin/`, root's and mode 0755, as the
    /// image's COPY leaves it.
    fn install(&self, binary: &Path) -> PathBuf {
        assert!(binary.is_file(), "{} was not built", binary.display());
        let bin = self.dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        set_mode(&bin, 0o755);
        let installed = bin.join(binary.file_name().unwrap());
        std::fs::copy(binary, &installed).unwrap();
        set_mode(&installed, 0o755);
        installed
    }

    /// Writes a file as the kubelet writes a Secret volume's: root's,
    /// group 65532 (the Pod's fsGroup), mode 0440.
    fn secret_file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        as_secret(&path);
        path
    }

    /// Gives every file under `volumes` a Secret volume's ownership and mode.
    fn as_secret_volumes(&self, volumes: &Path) {
        for volume in std::fs::read_dir(volumes).unwrap() {
            let volume = volume.unwrap().path();
            set_mode(&volume, 0o755);
            for file in std::fs::read_dir(&volume).unwrap() {
                as_secret(&file.unwrap().path());
            }
        }
        set_mode(volumes, 0o755);
        set_mode(volumes.parent().unwrap(), 0o755);
    }

    /// Starts `binary` [`STARTS`] times, each on a free port, and returns
    /// how long each took from spawn to its first `/healthz` 200; fails if
    /// any took [`HEALTHZ_WITHIN`] or more. `after(port)` runs against each
    /// start before it is stopped.
    fn measure_starts(
        &self,
        name: &str,
        binary: &Path,
        args: impl Fn(u16) -> Vec<String>,
        env: impl Fn(u16) -> Vec<(String, String)>,
        mut after: impl FnMut(u16),
    ) -> Vec<Duration> {
        let _alone = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
        let log = self.dir.join(format!("{name}.log"));
        let mut times = Vec::new();
        while times.len() < STARTS {
            let port = free_port().unwrap();
            let mut command = Command::new(binary);
            command
                .args(args(port))
                .env_clear()
                .envs(IMAGE_ENV)
                .envs(env(port))
                .current_dir(&self.cwd)
                .uid(NONROOT)
                .gid(NONROOT);
            let started = Instant::now();
            let mut process = ManagedProcess::spawn(name, command, &log).unwrap();
            match wait_for_healthz(&mut process, port, started) {
                Ok(took) => {
                    assert!(
                        took < HEALTHZ_WITHIN,
                        "{name} answered /healthz {took:?} after it was started, over {HEALTHZ_WITHIN:?}"
                    );
                    after(port);
                    process.check_running().unwrap();
                    times.push(took);
                }
                // Something took the free port before the binary bound it.
                Err(error) if error.contains("Address already in use") => {
                    say!("{name}: port {port} was taken; trying another")
                }
                Err(error) => panic!(
                    "{error}\n(log: {})",
                    std::fs::read_to_string(&log).unwrap_or_default()
                ),
            }
            process.stop();
        }
        times
    }
}

/// Polls `/healthz` every 2 ms from `started` on: how long until a 200.
fn wait_for_healthz(process: &mut ManagedProcess, port: u16, started: Instant) -> Result<Duration, String> {
    // Longer than the bound, to say by how much it was missed.
    let give_up = started + Duration::from_secs(10);
    loop {
        if let Ok(response) = shopfleet_e2e::http::request(port, "GET", "/healthz", &[], None)
            && response.status == 200
        {
            return Ok(started.elapsed());
        }
        if let Err(error) = process.check_running() {
            return Err(format!("{error:#}"));
        }
        if Instant::now() > give_up {
            return Err(format!("no 200 from /healthz on port {port} within 10 s"));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Prints the binary's size and its start times (the figures of
/// docs/benchmarks.md, "Release binaries").
fn report(name: &str, binary: &Path, times: &[Duration]) {
    let bytes = std::fs::metadata(binary).unwrap().len();
    let mut sorted = times.to_vec();
    sorted.sort();
    let ms = |d: &Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
    say!(
        "{name}: {bytes} bytes ({:.1} MiB, stripped); /healthz {} ms after start (median of {}; each: {} ms)",
        bytes as f64 / (1024.0 * 1024.0),
        ms(&sorted[sorted.len() / 2]),
        times.len(),
        times.iter().map(ms).collect::<Vec<_>>().join(", ")
    );
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn as_secret(path: &Path) {
    std::os::unix::fs::chown(path, Some(0), Some(NONROOT)).unwrap();
    set_mode(path, 0o440);
}
