//! Rebuild when what the binary embeds changes: `sqlx::migrate!` embeds
//! migrations/, and `web_app` embeds the staff web app from `web/dist`, which
//! `make web` (run by `make up` and `make test`) builds with Node. When that
//! is missing, say so plainly rather than with a macro's "folder does not
//! exist".

use std::path::Path;

fn main() {
    println!("cargo::rerun-if-changed=../migrations");
    println!("cargo::rerun-if-changed=../web/dist");
    if !Path::new("../web/dist/index.html").exists() {
        panic!(
            "the web app is not built: run `make web` (it needs Node.js 20+ with npm) \
             to build web/dist, which the API embeds"
        );
    }
}
