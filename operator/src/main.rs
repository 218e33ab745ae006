//! `shopfleet-operator`: the operator binary.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "The Shopfleet operator", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print the CustomResourceDefinitions, or write one file per CRD into a folder.
    Crds {
        /// Folder to write `<plural>.<group>.yaml` files into, instead of stdout.
        #[arg(long)]
        out_dir: Vec<PathBuf>,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Crds { out_dir } => {
            let crds = shopfleet_operator::crd::all();
            if out_dir.is_empty() {
                for (_, crd) in &crds {
                    print!("---\n{}", shopfleet_operator::crd::to_yaml(crd));
                }
            }
            for dir in &out_dir {
                for (file, crd) in &crds {
                    let path = dir.join(file);
                    std::fs::write(&path, shopfleet_operator::crd::to_yaml(crd))
                        .with_context(|| format!("writing {}", path.display()))?;
                }
            }
            Ok(())
        }
    }
}
