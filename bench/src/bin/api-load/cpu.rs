//! Where the CPU goes during a measurement, from /proc: the load generator
//! (wrk or pgbench: our children, counted once waited for), the API,
//! PostgreSQL (the postmaster, its live backends, and the backends that
//! exited, which the postmaster has waited for), interrupts (loopback
//! networking is mostly softirq), anything else, and idle time. On a machine
//! where every side shares the same cores, CPU per request is what limits
//! throughput; "other" shows whether anything else was running.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

/// Linux reports CPU times in USER_HZ ticks, 100 a second.
const TICK: Duration = Duration::from_millis(10);

/// CPU time, by where it went (summed over the cores).
#[derive(Clone, Copy, Default)]
pub struct CpuTimes {
    pub load: Duration,
    pub api: Duration,
    pub postgres: Duration,
    /// Of every process on the machine, the three above included.
    all_processes: Duration,
    pub interrupts: Duration,
    /// Wanted by this virtual machine, but given elsewhere by its host.
    steal: Duration,
    pub idle: Duration,
}

impl CpuTimes {
    /// Other processes, and the time the host took.
    pub fn other(&self) -> Duration {
        (self.all_processes + self.steal).saturating_sub(self.load + self.api + self.postgres)
    }

    pub fn per_call(&self, calls: u64) -> Self {
        let each = |total: Duration| total / u32::try_from(calls.max(1)).unwrap_or(u32::MAX);
        Self {
            load: each(self.load),
            api: each(self.api),
            postgres: each(self.postgres),
            all_processes: each(self.all_processes),
            interrupts: each(self.interrupts),
            steal: each(self.steal),
            idle: each(self.idle),
        }
    }
}

impl std::ops::Sub for CpuTimes {
    type Output = Self;

    fn sub(self, earlier: Self) -> Self {
        Self {
            load: self.load.saturating_sub(earlier.load),
            api: self.api.saturating_sub(earlier.api),
            postgres: self.postgres.saturating_sub(earlier.postgres),
            all_processes: self.all_processes.saturating_sub(earlier.all_processes),
            interrupts: self.interrupts.saturating_sub(earlier.interrupts),
            steal: self.steal.saturating_sub(earlier.steal),
            idle: self.idle.saturating_sub(earlier.idle),
        }
    }
}

/// The processes whose CPU time is read.
pub struct Processes {
    pub api: u32,
    pub postmaster: u32,
}

impl Processes {
    /// The API's pid and the postmaster's, from its data folder's postmaster.pid.
    pub fn new(api: u32, postgres_data: &Path) -> Result<Self> {
        let pid_file = postgres_data.join("postmaster.pid");
        let postmaster = std::fs::read_to_string(&pid_file)
            .with_context(|| format!("reading {}", pid_file.display()))?
            .lines()
            .next()
            .and_then(|line| line.trim().parse().ok())
            .with_context(|| format!("no pid on the first line of {}", pid_file.display()))?;
        Ok(Self { api, postmaster })
    }

    pub fn cpu_times(&self) -> Result<CpuTimes> {
        let own = stat("self").context("reading /proc/self/stat")?;
        let api = stat(&self.api.to_string()).context("reading the API's /proc stat")?;
        let postmaster = stat(&self.postmaster.to_string()).context("reading the postmaster's /proc stat")?;
        let mut postgres = postmaster.own + postmaster.children;
        for entry in std::fs::read_dir("/proc")? {
            let name = entry?.file_name();
            let Some(pid) = name.to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())) else {
                continue;
            };
            // A process may end between the listing and the read: it is then
            // counted in its parent's children.
            if let Ok(process) = stat(pid)
                && process.parent == self.postmaster
            {
                postgres += process.own;
            }
        }
        let machine = machine().context("reading /proc/stat")?;
        Ok(CpuTimes {
            load: own.children,
            api: api.own,
            postgres,
            ..machine
        })
    }
}

/// The machine's CPU times, from the first line of /proc/stat:
/// `cpu user nice system idle iowait irq softirq steal ...`.
fn machine() -> Result<CpuTimes> {
    let text = std::fs::read_to_string("/proc/stat")?;
    let ticks: Vec<u64> = text
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("cpu "))
        .context("no `cpu` line")?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let sum = |fields: &[usize]| -> Result<Duration> {
        let mut total = 0;
        for &field in fields {
            total += ticks.get(field).with_context(|| format!("no field {field}"))?;
        }
        Ok(TICK * u32::try_from(total)?)
    };
    Ok(CpuTimes {
        all_processes: sum(&[0, 1, 2])?,
        idle: sum(&[3, 4])?,
        interrupts: sum(&[5, 6])?,
        steal: sum(&[7])?,
        ..CpuTimes::default()
    })
}

/// What /proc/<pid>/stat says of a process's CPU time.
struct Stat {
    parent: u32,
    /// User and system time of the process itself.
    own: Duration,
    /// Of its children that it has waited for.
    children: Duration,
}

fn stat(pid: &str) -> Result<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name, in parentheses, may hold spaces: fields count from after it.
    let (_, fields) = text.rsplit_once(')').context("no command name")?;
    let fields: Vec<&str> = fields.split_whitespace().collect();
    let field = |n: usize| -> Result<u64> {
        // Field n of proc(5), numbered from 1 (pid), is fields[n - 3].
        let value = fields.get(n - 3).with_context(|| format!("no field {n}"))?;
        Ok(value.parse()?)
    };
    let ticks = |count: u64| TICK * u32::try_from(count).unwrap_or(u32::MAX);
    Ok(Stat {
        parent: u32::try_from(field(4)?)?,
        own: ticks(field(14)? + field(15)?),
        children: ticks(field(16)? + field(17)?),
    })
}
