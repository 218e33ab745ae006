//! Child processes of the local platform (etcd, kube-apiserver, PostgreSQL, ...).
//!
//! Every child is started so that it cannot outlive us: it gets SIGKILL from the
//! kernel when our process dies (even by SIGKILL), and we stop it with SIGTERM
//! (then SIGKILL) when its [`ManagedProcess`] is dropped. Each child sits in its
//! own process group, so a Ctrl-C in the terminal reaches only us and we stop the
//! children in a sensible order.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long a child gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

pub struct ManagedProcess {
    name: String,
    child: Child,
    log: PathBuf,
    stop_signal: Signal,
}

impl ManagedProcess {
    /// Starts `command`, sending its stdout and stderr to `log` (replaced).
    pub fn spawn(name: &str, command: Command, log: &Path) -> Result<Self> {
        let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        Self::spawn_logging_to(name, command, log, out)
    }

    /// Like [`ManagedProcess::spawn`], but appends to `log`: for a restart.
    pub fn spawn_appending(name: &str, command: Command, log: &Path) -> Result<Self> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        Self::spawn_logging_to(name, command, log, out)
    }

    fn spawn_logging_to(name: &str, mut command: Command, log: &Path, out: File) -> Result<Self> {
        command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .process_group(0);
        // SAFETY: prctl is async-signal-safe and touches no memory of ours; it runs
        // in the forked child after any uid/gid change (which would reset it).
        #[allow(unsafe_code)]
        unsafe {
            command
                .pre_exec(|| nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from));
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {name} ({:?})", command.get_program()))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            log: log.to_owned(),
            stop_signal: Signal::SIGTERM,
        })
    }

    /// The signal that asks this process to shut down (SIGTERM by default).
    pub fn with_stop_signal(mut self, signal: Signal) -> Self {
        self.stop_signal = signal;
        self
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Polls `ready` until it returns true, failing early (with the end of the
    /// log) if the process exits, and after `timeout`.
    pub fn wait_ready(&mut self, timeout: Duration, mut ready: impl FnMut() -> bool) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited during start-up ({status}); last lines of {}:\n{}",
                    self.name,
                    self.log.display(),
                    self.log_tail(30)
                );
            }
            if ready() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} was not ready after {timeout:?}; last lines of {}:\n{}",
                    self.name,
                    self.log.display(),
                    self.log_tail(30)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Fails if the process has exited (it is meant to run until stopped).
    pub fn check_running(&mut self) -> Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => bail!(
                "{} exited unexpectedly ({status}); last lines of {}:\n{}",
                self.name,
                self.log.display(),
                self.log_tail(30)
            ),
        }
    }

    fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGKILL, as a crash or an OOM kill would; waits until it is gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The stop signal, then SIGKILL after a grace period; waits until it is gone.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, self.stop_signal);
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} did not stop within {STOP_GRACE:?}; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a server that listens on the port it is given: `command(port)` on
/// a free port, waiting until `ready(port)`. A port is free when chosen, but
/// anything may take it before the server binds it (client sockets draw on
/// the same range), so a server that exits because its port was taken is
/// started again on another.
pub fn spawn_on_free_port(
    name: &str,
    log: &Path,
    timeout: Duration,
    command: impl Fn(u16) -> Command,
    ready: impl Fn(u16) -> bool,
) -> Result<(ManagedProcess, u16)> {
    const ATTEMPTS: usize = 5;
    for attempt in 1..=ATTEMPTS {
        let port = free_port()?;
        let mut process = ManagedProcess::spawn(name, command(port), log)?;
        let started = process.wait_ready(timeout, || ready(port)).and_then(|()| {
            // Someone else listening there would look ready: make sure it is us.
            std::thread::sleep(Duration::from_millis(100));
            process.check_running()
        });
        match started {
            Ok(()) => return Ok((process, port)),
            Err(error) if attempt < ATTEMPTS && format!("{error:#}").contains("Address already in use") => {
                eprintln!("{name}: port {port} was taken before it could bind it; trying another");
            }
            Err(error) => return Err(error),
        }
    }
    unreachable!("the last attempt returns")
}

/// A free TCP port on 127.0.0.1 (the OS picks it; we release it at once).
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// True once something accepts TCP connections on 127.0.0.1:`port`.
pub fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn a_server_whose_port_was_taken_starts_again_on_another() {
        let dir = tempfile::tempdir().unwrap();
        let attempts = Cell::new(0);
        let (mut server, port) = spawn_on_free_port(
            "test-server",
            &dir.path().join("server.log"),
            Duration::from_secs(10),
            |port| {
                attempts.set(attempts.get() + 1);
                let script = if attempts.get() == 1 {
                    "echo 'bind: Address already in use' >&2; exit 1".to_owned()
                } else {
                    format!("exec python3 -m http.server {port} --bind 127.0.0.1")
                };
                let mut command = Command::new("sh");
                command.args(["-c", &script]);
                command
            },
            port_open,
        )
        .unwrap();
        assert_eq!(attempts.get(), 2);
        assert!(port_open(port));
        server.kill();
    }

    #[test]
    fn any_other_start_up_failure_is_reported_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let attempts = Cell::new(0);
        let error = spawn_on_free_port(
            "test-server",
            &dir.path().join("server.log"),
            Duration::from_secs(10),
            |_| {
                attempts.set(attempts.get() + 1);
                let mut command = Command::new("sh");
                command.args(["-c", "echo 'no configuration' >&2; exit 1"]);
                command
            },
            port_open,
        )
        .err()
        .unwrap();
        assert_eq!(attempts.get(), 1);
        assert!(format!("{error:#}").contains("no configuration"), "{error:#}");
    }
}
