//! `shopfleet-operator`: the operator binary.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use shopfleet_operator::config::Config;
use shopfleet_operator::http::{self, Health};
use shopfleet_operator::leader::{self, LeaseConfig};
use shopfleet_operator::metrics::{self, Metrics};
use tokio::net::TcpListener;

/// How long the controllers get to finish their reconciles after SIGTERM,
/// within the Pod's default 30 s termination grace period, leaving time to
/// hand the Lease back.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

#[derive(Parser)]
#[command(about = "The Shopfleet operator", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the controllers against the cluster of the KUBECONFIG (or in-cluster).
    Run(Box<Config>),
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
        Cmd::Run(config) => run(*config).await,
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

/// The `run` command: serve probes and metrics, wait to be elected, then
/// reconcile until told to stop or until leadership is lost.
async fn run(config: Config) -> Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,kube=warn".into()),
        )
        .init();
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::new());

    // Up before anything else, so the kubelet's liveness probe passes while
    // this replica stands by.
    let listener = TcpListener::bind(config.listen).await.with_context(|| {
        format!(
            "cannot listen on {} for /metrics, /healthz and /readyz (is another process using it? \
             see --listen, SHOPFLEET_OPERATOR_LISTEN)",
            config.listen
        )
    })?;
    tracing::info!(address = %listener.local_addr()?, "serving /metrics, /healthz and /readyz");
    tokio::spawn({
        let (metrics, health) = (metrics.clone(), health.clone());
        async move {
            if let Err(error) = http::serve(listener, metrics, health).await {
                // Without probes the kubelet would restart us anyway, and later.
                tracing::error!(error = format!("{error:#}"), "the HTTP server stopped");
                std::process::exit(1);
            }
        }
    });

    let client = counting_client(metrics.clone()).await?;
    let lease = LeaseConfig::new(&config.lease_name, &config.lease_namespace, &config.identity);
    tracing::info!(
        lease = %lease.name,
        namespace = %lease.namespace,
        identity = %lease.identity,
        "waiting for leadership"
    );
    let mut leadership = tokio::select! {
        leadership = leader::wait_for_leadership(client.clone(), lease) => leadership?,
        () = shutdown_signal() => {
            tracing::info!("stopping as a standby");
            return Ok(());
        }
    };
    tracing::info!("leading");
    metrics.set_leader(true);
    health.set_leading(true);

    let controllers = shopfleet_operator::controller::run(client, config, metrics.clone(), health.clone());
    tokio::pin!(controllers);
    let result = tokio::select! {
        result = &mut controllers => result,
        reason = leadership.lost() => exit_on_lost_leadership(&reason),
        () = shutdown_signal() => {
            // The controllers stop on this signal too, once their reconciles
            // are done. Wait for them, but not for ever: a signal that came
            // while they were still starting reached only us.
            tokio::select! {
                result = &mut controllers => result,
                reason = leadership.lost() => exit_on_lost_leadership(&reason),
                () = tokio::time::sleep(SHUTDOWN_GRACE) => {
                    tracing::warn!(?SHUTDOWN_GRACE, "the controllers did not stop in time; stopping anyway");
                    Ok(())
                }
            }
        }
    };
    metrics.set_leader(false);
    health.set_leading(false);
    match leadership.release().await {
        Ok(()) => tracing::info!("lease handed back"),
        Err(error) => tracing::warn!(
            error = format!("{error:#}"),
            "cannot hand the lease back: a standby takes over when it expires"
        ),
    }
    result
}

/// A client for the cluster of the KUBECONFIG (or in-cluster) that counts
/// every request it sends in `shopfleet_operator_kube_requests_total`.
async fn counting_client(metrics: Arc<Metrics>) -> Result<kube::Client> {
    let config = kube::Config::infer()
        .await
        .context("reading the Kubernetes configuration (KUBECONFIG or in-cluster)")?;
    let count = tower::util::MapRequestLayer::new(move |request: ::http::Request<kube::client::Body>| {
        let uri = request.uri();
        metrics.kube_request(
            metrics::kube_verb(request.method(), uri.path(), uri.query()),
            metrics::kube_resource(uri.path()),
        );
        request
    });
    let builder = kube::client::ClientBuilder::try_from(config).context("building the Kubernetes client")?;
    Ok(builder.with_layer(&count).build())
}

/// Another replica may be reconciling already: stop this instant, mid-reconcile
/// if need be (reconciles are idempotent), without handing back a Lease that is
/// no longer ours. The kubelet restarts the container, which comes back as a standby.
fn exit_on_lost_leadership(reason: &str) -> ! {
    tracing::error!(%reason, "lost leadership: exiting so that two replicas never reconcile at once");
    std::process::exit(1)
}

/// SIGTERM (the kubelet stopping the Pod) or Ctrl-C.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops gracefully");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = terminate => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
