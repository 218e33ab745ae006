//! `shopfleet-operator`: the operator binary.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use shopfleet_operator::config::Config;

#[derive(Parser)]
#[command(about = "The Shopfleet operator", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the controllers against the cluster of the KUBECONFIG (or in-cluster).
    Run(Config),
    /// Print the CustomResourceDefinitions, or write one file per CRD into a folder.
    Crds {
        /// Folder to write `<plural>.<group>.yaml` files into, instead of stdout.
        #[arg(long)]
        out_dir: Vec<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Run(config) => {
            tracing_subscriber::fmt()
                .json()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info,kube=warn".into()),
                )
                .init();
            let client = kube::Client::try_default()
                .await
                .context("connecting to Kubernetes (KUBECONFIG or in-cluster)")?;
            shopfleet_operator::controller::run(client, config).await
        }
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
