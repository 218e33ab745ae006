//! `shopfleet-local`: runs Shopfleet's local platform.
//!
//! - `up`: starts the platform in the foreground until Ctrl-C or `down`.
//! - `down`: stops a running `up`.
//! - `exec -- CMD ...`: starts the platform, runs CMD inside it (with
//!   `KUBECONFIG` and `DATABASE_URL` set), stops the platform, and exits with
//!   CMD's status. `make test` runs the test suite this way, so one control
//!   plane serves the whole run and nothing outlives it.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use shopfleet_e2e::kube_binaries;
use shopfleet_e2e::operator;
use shopfleet_e2e::platform::Platform;
use shopfleet_e2e::process::ManagedProcess;
use shopfleet_e2e::tenant_api::{ApiLaunch, TenantApi};

#[derive(Parser)]
#[command(about = "Shopfleet's local platform: a real Kubernetes control plane and PostgreSQL")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Bring the platform up and keep it running until Ctrl-C or `down`.
    Up,
    /// Stop the platform a running `up` started.
    Down,
    /// Run a command inside a fresh platform, then tear the platform down.
    Exec {
        #[arg(trailing_var_arg = true, required = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Build (once per machine) and print the folder of the Kubernetes binaries.
    KubeBinaries,
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Cmd) -> Result<ExitCode> {
    match command {
        Cmd::Up => up().map(|()| ExitCode::SUCCESS),
        Cmd::Down => down().map(|()| ExitCode::SUCCESS),
        Cmd::Exec { command } => exec(&command),
        Cmd::KubeBinaries => {
            println!("{}", kube_binaries::ensure()?.dir.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e/ sits in the repo")
        .to_owned()
}

/// Where a running `up` records its pid and environment.
fn state_dir() -> PathBuf {
    repo_root().join(".local")
}

/// Set by SIGINT or SIGTERM: time to tear down.
fn stop_requested() -> Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&flag))?;
    }
    Ok(flag)
}

fn up() -> Result<()> {
    let state = state_dir();
    if let Ok(pid) = std::fs::read_to_string(state.join("pid"))
        && pid_alive(pid.trim())
    {
        bail!(
            "the platform is already up (pid {}); run `make down` first",
            pid.trim()
        );
    }
    let stop = stop_requested()?;
    let mut platform = Platform::start()?;
    platform.install_crds(&repo_root().join("crds"))?;
    let mut operator = start_operator(&platform)?;
    for (sample, resource) in [("tenant.yaml", "tenant/acme"), ("store.yaml", "store/main")] {
        let sample = repo_root().join("e2e/samples").join(sample);
        platform.kubectl_apply(&std::fs::read_to_string(&sample)?)?;
        eprintln!(
            "==> Applied {}; waiting for {resource} to become Ready",
            sample.display()
        );
        let out = platform
            .kubectl()
            .args([
                "wait",
                "--for=condition=Ready",
                "--timeout=180s",
                "-n",
                "tenant-acme",
                resource,
            ])
            .output()?;
        if !out.status.success() {
            bail!(
                "{resource} did not become Ready: {}; the operator's log is {}",
                String::from_utf8_lossy(&out.stderr).trim(),
                platform.dir().join("operator.log").display()
            );
        }
    }

    let mut api = start_sample_api(&platform)?;
    let invitation = owner_invitation(&platform, api.port)?;

    std::fs::create_dir_all(&state)?;
    let env_file = state.join("env");
    let exports: String = platform
        .env()
        .iter()
        .map(|(key, value)| format!("export {key}='{}'\n", value.to_string_lossy()))
        .collect();
    std::fs::write(&env_file, exports)?;
    std::fs::write(state.join("pid"), std::process::id().to_string())?;

    println!(
        "\nShopfleet is up.\n\n  \
         Use it from another shell:\n    source {env}\n    kubectl get tenants,stores -A\n    \
         kubectl get all,secrets -n tenant-acme\n    psql \"$DATABASE_URL\"   # the server's superuser\n    \
         psql \"$(kubectl get secret acme-db -n tenant-acme -o jsonpath='{{.data.DATABASE_URL}}' | base64 -d)\"   \
         # as acme's API\n\n  \
         Acme's API (a local process, as kwok runs no containers): http://127.0.0.1:{port}\n{invitation}\n  \
         Logs: {logs}\n  Stop: Ctrl-C here, or `make down` from another shell.\n",
        env = env_file.display(),
        logs = platform.dir().display(),
        port = api.port,
    );
    while !stop.load(Ordering::Relaxed) {
        let running = platform
            .check_running()
            .and_then(|()| operator.check_running())
            .and_then(|()| api.process.check_running());
        if let Err(error) = running {
            eprintln!("error: {error:#}");
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("==> Stopping the platform");
    drop(api);
    drop(operator);
    drop(platform);
    let _ = std::fs::remove_dir_all(&state);
    eprintln!("==> Stopped; nothing left running");
    Ok(())
}

/// Runs the operator binary built beside this one against the platform.
fn start_operator(platform: &Platform) -> Result<ManagedProcess> {
    let binary = std::env::current_exe()?.with_file_name("shopfleet-operator");
    let log = platform.dir().join("operator.log");
    let operator = operator::start(&binary, &[], platform.env(), &log)?;
    eprintln!(
        "==> Operator running (log: {}; metrics: http://127.0.0.1:{}/metrics)",
        log.display(),
        operator.port
    );
    Ok(operator.process)
}

/// Runs acme's API from the Deployment the operator made, as its Pod would.
fn start_sample_api(platform: &Platform) -> Result<TenantApi> {
    let launch = ApiLaunch::from_deployment(
        || platform.kubectl(),
        "tenant-acme",
        "acme-api",
        &platform.dir().join("acme-api"),
    )?;
    let binary = std::env::current_exe()?.with_file_name("shopfleet-api");
    let api = launch.start(&binary)?;
    eprintln!(
        "==> Acme's API running on http://127.0.0.1:{} (log: {})",
        api.port,
        api.log.display()
    );
    Ok(api)
}

/// How the sample tenant's first owner gets in: the operator's invitation,
/// accepted with a password, then a sign-in. Printed with working commands.
fn owner_invitation(platform: &Platform, port: u16) -> Result<String> {
    let email = platform.secret_value("tenant-acme", "acme-owner-invite", "email")?;
    let token = platform.secret_value("tenant-acme", "acme-owner-invite", "token")?;
    let api = format!("http://127.0.0.1:{port}");
    Ok(format!(
        "\n  Sign in as acme's first owner ({email}):\n    \
         # once: accept the operator's invitation (Secret acme-owner-invite) with a password of your choice\n    \
         curl -s {api}/v1/auth/accept-invitation -H 'content-type: application/json' \\\n      \
         -d '{{\"token\": \"{token}\", \"password\": \"choose-a-passphrase\"}}'\n    \
         # then, any time: sign in for an access token\n    \
         curl -s {api}/v1/auth/login -H 'content-type: application/json' \\\n      \
         -d '{{\"email\": \"{email}\", \"password\": \"choose-a-passphrase\"}}'\n    \
         # and use it: curl -s {api}/v1/stores -H \"Authorization: Bearer $TOKEN\"\n\n  \
         The staff web app: open {api}/app/ and sign in with {email} and that password\n"
    ))
}

fn down() -> Result<()> {
    let pid_file = state_dir().join("pid");
    let Ok(pid) = std::fs::read_to_string(&pid_file) else {
        eprintln!("The platform is not up (no {}).", pid_file.display());
        return Ok(());
    };
    let pid = pid.trim();
    if !pid_alive(pid) {
        std::fs::remove_dir_all(state_dir())?;
        eprintln!("The platform was not running; removed its stale state.");
        return Ok(());
    }
    let raw: i32 = pid.parse().context("reading .local/pid")?;
    kill(Pid::from_raw(raw), Signal::SIGTERM)?;
    for _ in 0..600 {
        if !pid_alive(pid) {
            eprintln!("Stopped the platform (pid {pid}).");
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the platform (pid {pid}) did not stop within a minute")
}

fn pid_alive(pid: &str) -> bool {
    pid.parse()
        .is_ok_and(|raw: i32| kill(Pid::from_raw(raw), None).is_ok())
}

fn exec(command: &[String]) -> Result<ExitCode> {
    let stop = stop_requested()?;
    let platform = Platform::start()?;
    let mut child = Command::new(&command[0])
        .args(&command[1..])
        .envs(platform.env())
        .spawn()
        .with_context(|| format!("running {}", command[0]))?;
    let mut forwarded = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        // A Ctrl-C in the terminal reaches the child too; a SIGTERM sent to us
        // alone is passed on, and we tear down once the child has gone.
        if stop.load(Ordering::Relaxed) && !forwarded {
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
            forwarded = true;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(platform);
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}
