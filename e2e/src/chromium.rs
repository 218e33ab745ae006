//! Debian's Chromium, the one browser the web app's tests and benchmarks run
//! (through playwright-core and lighthouse, which are told its path and
//! download nothing).

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::debian;

/// The browser binary itself; `/usr/bin/chromium` is a shell wrapper around it.
const CANDIDATES: [&str; 2] = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"];

/// Chromium's path, installing Debian's package when it is missing and we may.
pub fn path() -> Result<PathBuf> {
    if let Some(found) = find() {
        return Ok(found);
    }
    if debian::may_install() {
        debian::install(&["chromium"], "Chromium not found")?;
        if let Some(found) = find() {
            return Ok(found);
        }
    }
    bail!(
        "Chromium is missing (looked for {}): the web app's browser tests run in it. \
         Install it (Debian/Ubuntu: `apt-get install chromium`).",
        CANDIDATES.join(", ")
    )
}

fn find() -> Option<PathBuf> {
    CANDIDATES.iter().map(PathBuf::from).find(|path| path.exists())
}
