//! What the platform needs from Debian's packages (PostgreSQL, Chromium):
//! installed when missing, if we may (root with apt-get); otherwise the
//! caller says what to install.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use nix::unistd::Uid;

/// Whether this process may install Debian packages.
pub fn may_install() -> bool {
    Uid::effective().is_root() && Path::new("/usr/bin/apt-get").exists()
}

/// Installs `packages` (refreshing the package lists first), saying why and
/// roughly how long it takes.
pub fn install(packages: &[&str], why: &str) -> Result<()> {
    eprintln!(
        "==> {why}; installing Debian's {} (a minute or two)",
        packages.join(", ")
    );
    let install: Vec<&str> = ["install", "-y", "-qq"]
        .into_iter()
        .chain(packages.iter().copied())
        .collect();
    for args in [&["update", "-qq"][..], &install[..]] {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("running apt-get")?;
        if !status.success() {
            bail!("`apt-get {}` failed ({status})", args.join(" "));
        }
    }
    Ok(())
}
