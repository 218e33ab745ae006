//! Where the machine's CPU went during one side of a round: the time used by
//! each program (kube-apiserver, etcd, PostgreSQL, the operator, this
//! script…), read from `/proc`, and how busy the machine was. Comparing the
//! two sides says whether the operator's extra time is work (whose?) or
//! waiting.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

/// CPU seconds per program name, and the machine's busy and total seconds.
pub struct Snapshot {
    by_program: BTreeMap<String, f64>,
    machine_busy: f64,
    machine_steal: f64,
    machine_total: f64,
}

/// USER_HZ: the unit of `/proc`'s CPU times, 100 per second on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

impl Snapshot {
    /// Every process's user and system time, with that of its children it
    /// has waited for (PostgreSQL's backends end up in the postmaster's).
    pub fn take() -> Result<Self> {
        let mut by_program = BTreeMap::new();
        for entry in std::fs::read_dir("/proc")? {
            let entry = entry?;
            if !entry
                .file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
            {
                continue;
            }
            // A process may end between the listing and the read.
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let Some((program, seconds)) = process_seconds(&stat) else {
                continue;
            };
            *by_program.entry(program).or_default() += seconds;
        }
        let machine = machine_seconds(&std::fs::read_to_string("/proc/stat")?)?;
        Ok(Snapshot {
            by_program,
            machine_busy: machine.busy,
            machine_steal: machine.steal,
            machine_total: machine.total,
        })
    }

    /// What was used since `before`, the programs that used most first.
    pub fn since(&self, before: &Snapshot) -> String {
        let mut used: Vec<(&str, f64)> = self
            .by_program
            .iter()
            .map(|(program, seconds)| {
                let earlier = before.by_program.get(program).copied().unwrap_or(0.0);
                (program.as_str(), seconds - earlier)
            })
            .filter(|(_, seconds)| *seconds >= 0.5)
            .collect();
        used.sort_by(|a, b| b.1.total_cmp(&a.1));
        let busy = self.machine_busy - before.machine_busy;
        let steal = self.machine_steal - before.machine_steal;
        let total = self.machine_total - before.machine_total;
        let programs: Vec<String> = used.iter().map(|(p, s)| format!("{p} {s:.1} s")).collect();
        format!(
            "machine busy {busy:.1} s of {total:.1} s ({:.0} %, stolen by the host {steal:.1} s); {}",
            100.0 * busy / total.max(0.01),
            programs.join(", ")
        )
    }
}

/// A process's program name and its CPU seconds with its waited-for children's.
fn process_seconds(stat: &str) -> Option<(String, f64)> {
    // The name (field 2) is in parentheses and may hold spaces.
    let (head, tail) = stat.rsplit_once(')')?;
    let program = head.split_once('(')?.1.to_owned();
    let fields: Vec<&str> = tail.split_whitespace().collect();
    // utime, stime, cutime, cstime are fields 14 to 17; the slice starts at field 3.
    let ticks: u64 = fields
        .get(11..15)?
        .iter()
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    Some((program, ticks as f64 / TICKS_PER_SECOND))
}

#[derive(Debug, PartialEq)]
struct Machine {
    busy: f64,
    steal: f64,
    total: f64,
}

/// The machine's CPU seconds, all cores, from `/proc/stat`: busy (user,
/// nice, system, interrupts), stolen by the host, and in all.
fn machine_seconds(stat: &str) -> Result<Machine> {
    let line = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .context("no cpu line")?;
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|t| t.parse::<f64>().map(|t| t / TICKS_PER_SECOND))
        .collect::<Result<_, _>>()?;
    let [user, nice, system, idle, iowait, irq, softirq, steal] = ticks[..] else {
        anyhow::bail!("a cpu line of fewer than 8 fields: {line}");
    };
    Ok(Machine {
        busy: user + nice + system + irq + softirq,
        steal,
        total: user + nice + system + idle + iowait + irq + softirq + steal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_line_gives_its_name_and_its_time_with_its_childrens() {
        let stat = "42 (kube apiserver) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 30 20 20 0 12 0 100 0";
        let (program, seconds) = process_seconds(stat).unwrap();
        assert_eq!(program, "kube apiserver");
        assert!((seconds - 3.5).abs() < 1e-9, "{seconds}");
    }

    #[test]
    fn idle_iowait_and_steal_are_not_busy() {
        let stat = "cpu  100 0 50 800 30 0 0 20 0 0\ncpu0 1 2 3\n";
        let machine = machine_seconds(stat).unwrap();
        assert_eq!(
            machine,
            Machine {
                busy: 1.5,
                steal: 0.2,
                total: 10.0
            }
        );
    }
}
