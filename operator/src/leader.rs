//! Leader election on a `coordination.k8s.io/v1` Lease: of several replicas
//! only the holder of the Lease reconciles. The others stand by and take over
//! within about 20 s when the holder stops renewing it, or at once when the
//! holder hands it back on shutdown.
//!
//! The protocol is client-go's, the one kube-controller-manager uses:
//! - every write is a replace conditioned on the resourceVersion just read, so
//!   of two replicas claiming a free Lease exactly one wins;
//! - a standby judges expiry by how long ago *it* saw the Lease last change,
//!   on its own monotonic clock, never by comparing `renewTime` with its wall
//!   clock: clock skew between nodes cannot make two leaders;
//! - the leader gives up when it has not renewed for `renew_deadline`, before
//!   any standby may take over (`lease_duration` after the renewal it last
//!   saw), so leaderships never overlap.
//!
//! Not the kube-lease-manager crate: it builds against kube 5, but a leader
//! whose renewals fail keeps believing it leads (its errors are logged and
//! retried) while a standby takes the expired Lease, and it does not tell
//! who holds the Lease.

use std::future::Future;
use std::time::Duration;

use anyhow::{Context as _, bail};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until, timeout};

/// Which Lease, who we are in it, and the timings failover rests on.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub name: String,
    pub namespace: String,
    /// Must differ between replicas.
    pub identity: String,
    /// A holder's claim lasts this long after the renewal a standby last saw.
    pub lease_duration: Duration,
    /// How often the leader renews.
    pub renew_period: Duration,
    /// The leader gives up when it has not renewed for this long. Shorter than
    /// `lease_duration` by a margin for slow requests and clock rates.
    pub renew_deadline: Duration,
    /// How often a standby looks at the Lease, and a leader retries a failed renewal.
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// client-go's timings, with renewals every 5 s: a standby takes over at
    /// most 15 s + 2 s after the leader's last renewal.
    pub fn new(name: impl Into<String>, namespace: impl Into<String>, identity: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            namespace: namespace.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_period: Duration::from_secs(5),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// Blocks until this process holds the Lease (logging who holds it meanwhile),
/// then keeps renewing it in the background. Fails only on errors retrying
/// cannot fix: no permission to use Leases, or no such namespace.
pub async fn wait_for_leadership(client: Client, config: LeaseConfig) -> anyhow::Result<Leadership> {
    let store = ApiStore {
        api: Api::namespaced(client, &config.namespace),
        name: config.name.clone(),
    };
    wait_with(store, config).await
}

/// The Lease held: renewed in the background until lost or released.
/// Dropping it stops the renewals without handing the Lease back.
pub struct Leadership {
    /// Becomes `Some(reason)` when the Lease is lost.
    lost: watch::Receiver<Option<String>>,
    stop: Option<oneshot::Sender<()>>,
    keeper: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Leadership {
    /// Resolves, with why, once this process no longer holds the Lease (it
    /// could not renew it in time, or another replica holds it). From then on
    /// another replica may be reconciling: stop at once. Cancel-safe.
    pub async fn lost(&mut self) -> String {
        match self.lost.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone().unwrap_or_default(),
            Err(_) => "the task renewing the lease ended unexpectedly".into(),
        }
    }

    /// Stops renewing and hands the Lease back, so a standby takes over at once
    /// instead of after the Lease expires. Call after the controllers stopped.
    pub async fn release(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.keeper.take() {
            Some(keeper) => keeper.await.context("the task renewing the lease failed")?,
            None => Ok(()),
        }
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        if let Some(keeper) = self.keeper.take() {
            keeper.abort();
        }
    }
}

/// Where the Lease lives: the API server, or an in-memory one in the tests.
trait LeaseStore: Send + Sync + 'static {
    fn get(&self) -> impl Future<Output = kube::Result<Option<Lease>>> + Send;
    fn create(&self, lease: &Lease) -> impl Future<Output = kube::Result<Lease>> + Send;
    /// Fails with a Conflict unless `lease` carries the current resourceVersion.
    fn replace(&self, lease: &Lease) -> impl Future<Output = kube::Result<Lease>> + Send;
}

struct ApiStore {
    api: Api<Lease>,
    name: String,
}

impl LeaseStore for ApiStore {
    async fn get(&self) -> kube::Result<Option<Lease>> {
        self.api.get_opt(&self.name).await
    }

    async fn create(&self, lease: &Lease) -> kube::Result<Lease> {
        self.api.create(&PostParams::default(), lease).await
    }

    async fn replace(&self, lease: &Lease) -> kube::Result<Lease> {
        self.api.replace(&self.name, &PostParams::default(), lease).await
    }
}

async fn wait_with<S: LeaseStore>(store: S, config: LeaseConfig) -> anyhow::Result<Leadership> {
    let mut elector = Elector {
        store,
        config,
        observed: None,
    };
    let mut reported_holder = None;
    loop {
        let started = Instant::now();
        match timeout(elector.config.renew_deadline, elector.try_acquire_or_renew()).await {
            Ok(Ok(Outcome::Leading)) => return Ok(Leadership::start(elector, started)),
            Ok(Ok(Outcome::Held { holder })) => {
                if reported_holder.as_ref() != Some(&holder) {
                    tracing::info!(%holder, lease = %elector.config.name, "standby: lease held by {holder}");
                    reported_holder = Some(holder);
                }
            }
            Ok(Ok(Outcome::Contended)) => tracing::debug!("another replica changed the lease first"),
            Ok(Err(kube::Error::Api(status))) if status.is_forbidden() => bail!(
                "not allowed to use the Lease {}/{} ({status}): the operator needs get, create and update \
                 on leases.coordination.k8s.io in that namespace",
                elector.config.namespace,
                elector.config.name
            ),
            Ok(Err(kube::Error::Api(status))) if status.is_not_found() => bail!(
                "cannot create the Lease {}/{} ({status}): does the namespace exist? \
                 (--lease-namespace, POD_NAMESPACE)",
                elector.config.namespace,
                elector.config.name
            ),
            Ok(Err(error)) => tracing::warn!(%error, "cannot read or claim the lease; retrying"),
            Err(_) => tracing::warn!("reading or claiming the lease timed out; retrying"),
        }
        sleep(elector.config.retry_period).await;
    }
}

struct Elector<S> {
    store: S,
    config: LeaseConfig,
    /// The Lease's spec as last read, and when it last changed, on this
    /// process's monotonic clock.
    observed: Option<(LeaseSpec, Instant)>,
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Leading,
    Held {
        holder: String,
    },
    /// Another write came between our read and our write: look again.
    Contended,
}

impl<S: LeaseStore> Elector<S> {
    /// One round of client-go's `tryAcquireOrRenew`: read the Lease, and claim
    /// or renew it unless someone else's claim is still valid.
    async fn try_acquire_or_renew(&mut self) -> kube::Result<Outcome> {
        let now = Instant::now();
        let Some(mut lease) = self.store.get().await? else {
            let mut spec = claim(&LeaseSpec::default(), &self.config, Timestamp::now());
            spec.lease_transitions = Some(0);
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(spec),
            };
            return match self.store.create(&lease).await {
                Ok(created) => {
                    self.observe(&created.spec.unwrap_or_default(), Instant::now());
                    Ok(Outcome::Leading)
                }
                Err(kube::Error::Api(status)) if status.is_already_exists() => Ok(Outcome::Contended),
                Err(error) => Err(error),
            };
        };
        let spec = lease.spec.take().unwrap_or_default();
        let last_change = self.observe(&spec, now);
        if let Decision::Wait { holder } = decide(&spec, &self.config, last_change, now) {
            return Ok(Outcome::Held { holder });
        }
        // `lease` keeps the resourceVersion it was read with: the replace
        // fails if anyone wrote in between.
        lease.spec = Some(claim(&spec, &self.config, Timestamp::now()));
        match self.store.replace(&lease).await {
            Ok(replaced) => {
                self.observe(&replaced.spec.unwrap_or_default(), Instant::now());
                Ok(Outcome::Leading)
            }
            // Written, or deleted, since we read it.
            Err(kube::Error::Api(status)) if status.is_conflict() || status.is_not_found() => {
                Ok(Outcome::Contended)
            }
            Err(error) => Err(error),
        }
    }

    /// Records the spec just read; returns when it last changed.
    fn observe(&mut self, spec: &LeaseSpec, now: Instant) -> Instant {
        match &self.observed {
            Some((seen, changed)) if seen == spec => *changed,
            _ => {
                self.observed = Some((spec.clone(), now));
                now
            }
        }
    }

    /// Renews every `renew_period` until a renewal fails for `renew_deadline`
    /// or someone else holds the Lease; returns why.
    async fn renew_until_lost(&mut self, mut renewed_at: Instant) -> String {
        loop {
            sleep_until(renewed_at + self.config.renew_period).await;
            let deadline = renewed_at + self.config.renew_deadline;
            loop {
                let started = Instant::now();
                let attempt = timeout(
                    deadline.saturating_duration_since(started),
                    self.try_acquire_or_renew(),
                );
                let problem = match attempt.await {
                    Ok(Ok(Outcome::Leading)) => {
                        renewed_at = started;
                        break;
                    }
                    Ok(Ok(Outcome::Held { holder })) => return format!("the lease is now held by {holder}"),
                    Ok(Ok(Outcome::Contended)) => "the lease changed while renewing it".to_owned(),
                    Ok(Err(error)) => error.to_string(),
                    Err(_) => "the request timed out".to_owned(),
                };
                if Instant::now() + self.config.retry_period >= deadline {
                    return format!(
                        "could not renew the lease within {:?}: {problem}",
                        self.config.renew_deadline
                    );
                }
                tracing::warn!(%problem, "cannot renew the lease; retrying");
                sleep(self.config.retry_period).await;
            }
        }
    }

    /// Hands the Lease back if we hold it. Like client-go: no holder, and a
    /// 1 s duration for clients that look at the duration only.
    async fn release(&mut self) -> kube::Result<()> {
        let Some(mut lease) = self.store.get().await? else {
            return Ok(());
        };
        let spec = lease.spec.get_or_insert_default();
        if holder(spec) != Some(self.config.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.acquire_time = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        self.store.replace(&lease).await.map(drop)
    }
}

impl Leadership {
    fn start<S: LeaseStore>(elector: Elector<S>, renewed_at: Instant) -> Self {
        let (lost_tx, lost) = watch::channel(None);
        let (stop, stopped) = oneshot::channel();
        let keeper = tokio::spawn(keep(elector, renewed_at, stopped, lost_tx));
        Self {
            lost,
            stop: Some(stop),
            keeper: Some(keeper),
        }
    }
}

/// The background task of a [`Leadership`].
async fn keep<S: LeaseStore>(
    mut elector: Elector<S>,
    renewed_at: Instant,
    stopped: oneshot::Receiver<()>,
    lost: watch::Sender<Option<String>>,
) -> anyhow::Result<()> {
    let reason = tokio::select! {
        biased;
        _ = stopped => {
            let limit = elector.config.renew_deadline;
            return match timeout(limit, elector.release()).await {
                Ok(result) => result.context("handing the lease back"),
                Err(_) => bail!("handing the lease back timed out after {limit:?}"),
            };
        }
        reason = elector.renew_until_lost(renewed_at) => reason,
    };
    lost.send_replace(Some(reason.clone()));
    bail!("leadership was already lost: {reason}")
}

#[derive(Debug, PartialEq)]
enum Decision {
    /// Take the Lease, or renew it when it is already ours.
    Claim,
    Wait {
        holder: String,
    },
}

/// Whether to claim a Lease with `spec`, which last changed at `last_change`.
fn decide(spec: &LeaseSpec, config: &LeaseConfig, last_change: Instant, now: Instant) -> Decision {
    match holder(spec) {
        Some(holder) if holder != config.identity => {
            let duration = spec
                .lease_duration_seconds
                .and_then(|s| u64::try_from(s).ok())
                .filter(|&s| s > 0)
                .map_or(config.lease_duration, Duration::from_secs);
            if now.duration_since(last_change) < duration {
                Decision::Wait {
                    holder: holder.to_owned(),
                }
            } else {
                Decision::Claim
            }
        }
        _ => Decision::Claim,
    }
}

/// `old` claimed (or renewed) by us at `now`.
fn claim(old: &LeaseSpec, config: &LeaseConfig, now: Timestamp) -> LeaseSpec {
    let renewing = holder(old) == Some(config.identity.as_str());
    LeaseSpec {
        holder_identity: Some(config.identity.clone()),
        lease_duration_seconds: Some(i32::try_from(config.lease_duration.as_secs()).unwrap_or(i32::MAX)),
        renew_time: Some(MicroTime(now)),
        acquire_time: match (renewing, &old.acquire_time) {
            (true, Some(acquired)) => Some(acquired.clone()),
            _ => Some(MicroTime(now)),
        },
        lease_transitions: match (renewing, old.lease_transitions) {
            (true, transitions) => transitions,
            (false, transitions) => Some(transitions.map_or(1, |t| t.saturating_add(1))),
        },
        ..old.clone()
    }
}

/// The holder's identity; an empty one means nobody.
fn holder(spec: &LeaseSpec) -> Option<&str> {
    spec.holder_identity.as_deref().filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU8, Ordering};
    use std::sync::{Arc, Mutex};

    use kube::core::Status;

    use super::*;

    fn config(identity: &str) -> LeaseConfig {
        LeaseConfig::new("shopfleet-operator", "shopfleet-system", identity)
    }

    fn held_by(holder: &str, duration: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(duration),
            lease_transitions: Some(3),
            acquire_time: Some(MicroTime(Timestamp::UNIX_EPOCH)),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn a_valid_claim_of_another_replica_is_respected_until_it_expires() {
        let seen = Instant::now();
        let spec = held_by("b", 15);
        let wait = Decision::Wait { holder: "b".into() };
        assert_eq!(decide(&spec, &config("a"), seen, seen), wait);
        assert_eq!(
            decide(&spec, &config("a"), seen, seen + Duration::from_millis(14_999)),
            wait
        );
        assert_eq!(
            decide(&spec, &config("a"), seen, seen + Duration::from_secs(15)),
            Decision::Claim
        );
        // The holder's duration counts, not ours.
        let long = held_by("b", 60);
        assert_eq!(
            decide(&long, &config("a"), seen, seen + Duration::from_secs(59)),
            wait
        );
    }

    #[test]
    fn free_released_and_own_leases_are_claimed() {
        let now = Instant::now();
        for spec in [LeaseSpec::default(), held_by("", 15), held_by("a", 15)] {
            assert_eq!(decide(&spec, &config("a"), now, now), Decision::Claim, "{spec:?}");
        }
    }

    #[test]
    fn taking_a_lease_counts_a_transition_and_renewing_does_not() {
        let now = Timestamp::from_second(1_000).unwrap();
        let taken = claim(&held_by("b", 60), &config("a"), now);
        assert_eq!(taken.holder_identity.as_deref(), Some("a"));
        assert_eq!(taken.lease_duration_seconds, Some(15));
        assert_eq!(taken.lease_transitions, Some(4));
        assert_eq!(taken.acquire_time, Some(MicroTime(now)));
        assert_eq!(taken.renew_time, Some(MicroTime(now)));

        let later = Timestamp::from_second(1_005).unwrap();
        let renewed = claim(&taken, &config("a"), later);
        assert_eq!(renewed.lease_transitions, Some(4));
        assert_eq!(renewed.acquire_time, Some(MicroTime(now)));
        assert_eq!(renewed.renew_time, Some(MicroTime(later)));
    }

    // An in-memory Lease with the API server's optimistic concurrency, shared
    // by several replicas. Each replica's connection can be cut.

    #[derive(Default)]
    struct Server {
        lease: Mutex<Option<Lease>>,
    }

    const UP: u8 = 0;
    const FAILING: u8 = 1;
    const HANGING: u8 = 2;

    #[derive(Clone)]
    struct Connection {
        server: Arc<Server>,
        state: Arc<AtomicU8>,
    }

    impl Connection {
        fn new(server: &Arc<Server>) -> Self {
            Self {
                server: server.clone(),
                state: Arc::new(AtomicU8::new(UP)),
            }
        }

        async fn reach(&self) -> kube::Result<()> {
            match self.state.load(Ordering::SeqCst) {
                UP => Ok(()),
                FAILING => Err(error(503, "ServiceUnavailable")),
                _ => std::future::pending().await,
            }
        }
    }

    fn error(code: u16, reason: &str) -> kube::Error {
        kube::Error::Api(Status::failure(reason, reason).with_code(code).boxed())
    }

    impl LeaseStore for Connection {
        async fn get(&self) -> kube::Result<Option<Lease>> {
            self.reach().await?;
            Ok(self.server.lease.lock().unwrap().clone())
        }

        async fn create(&self, lease: &Lease) -> kube::Result<Lease> {
            self.reach().await?;
            let mut stored = self.server.lease.lock().unwrap();
            if stored.is_some() {
                return Err(error(409, "AlreadyExists"));
            }
            let mut lease = lease.clone();
            lease.metadata.resource_version = Some("1".into());
            *stored = Some(lease.clone());
            Ok(lease)
        }

        async fn replace(&self, lease: &Lease) -> kube::Result<Lease> {
            self.reach().await?;
            let mut stored = self.server.lease.lock().unwrap();
            let current = stored.as_ref().and_then(|l| l.metadata.resource_version.clone());
            if current.is_none() || lease.metadata.resource_version != current {
                return Err(error(409, "Conflict"));
            }
            let version: u64 = current.unwrap().parse().unwrap();
            let mut lease = lease.clone();
            lease.metadata.resource_version = Some((version + 1).to_string());
            *stored = Some(lease.clone());
            Ok(lease)
        }
    }

    fn stored_holder(server: &Server) -> Option<String> {
        let lease = server.lease.lock().unwrap();
        lease.as_ref()?.spec.as_ref()?.holder_identity.clone()
    }

    /// Starts replica `identity` waiting for the Lease; returns its connection.
    fn replica(server: &Arc<Server>, identity: &str) -> (Connection, JoinHandle<anyhow::Result<Leadership>>) {
        let connection = Connection::new(server);
        let waiting = tokio::spawn(wait_with(connection.clone(), config(identity)));
        (connection, waiting)
    }

    // Paused time: the runtime jumps the clock forward whenever every task
    // sleeps, so these tests take milliseconds and their timings are exact.

    #[tokio::test(start_paused = true)]
    async fn one_replica_leads_while_the_other_stands_by() {
        let server = Arc::new(Server::default());
        let (_, a) = replica(&server, "a");
        let mut a = a.await.unwrap().unwrap();
        let (_, b) = replica(&server, "b");

        sleep(Duration::from_secs(120)).await;
        assert!(!b.is_finished(), "b must stand by while a renews");
        assert_eq!(stored_holder(&server).as_deref(), Some("a"));
        tokio::select! {
            reason = a.lost() => panic!("a lost the lease: {reason}"),
            () = std::future::ready(()) => {}
        }
        let lease = server.lease.lock().unwrap().clone().unwrap();
        assert_eq!(lease.spec.unwrap().lease_transitions, Some(0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_standby_takes_over_within_20_s_when_the_leader_dies() {
        let server = Arc::new(Server::default());
        let (_, a) = replica(&server, "a");
        let a = a.await.unwrap().unwrap();
        let (_, b) = replica(&server, "b");
        sleep(Duration::from_secs(30)).await;

        let died = Instant::now();
        drop(a); // stops renewing without handing the lease back, like a crash
        let _b = b.await.unwrap().unwrap();
        let failover = died.elapsed();
        assert!(failover <= Duration::from_secs(20), "{failover:?}");
        assert!(failover >= Duration::from_secs(10), "{failover:?}");
        assert_eq!(stored_holder(&server).as_deref(), Some("b"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_released_lease_is_taken_over_at_once() {
        let server = Arc::new(Server::default());
        let (_, a) = replica(&server, "a");
        let a = a.await.unwrap().unwrap();
        let (_, b) = replica(&server, "b");
        sleep(Duration::from_secs(30)).await;

        let released = Instant::now();
        a.release().await.unwrap();
        let _b = b.await.unwrap().unwrap();
        assert!(
            released.elapsed() <= Duration::from_secs(2),
            "{:?}",
            released.elapsed()
        );
        let lease = server.lease.lock().unwrap().clone().unwrap();
        assert_eq!(lease.spec.unwrap().lease_transitions, Some(1));
    }

    /// The leader's connection breaks (requests fail, or hang) while the
    /// standby's works: the leader must give up before the standby takes over.
    async fn leader_cut_off(how: u8) {
        let server = Arc::new(Server::default());
        let (a_connection, a) = replica(&server, "a");
        let mut a = a.await.unwrap().unwrap();
        let (_, b) = replica(&server, "b");
        sleep(Duration::from_secs(30)).await;

        a_connection.state.store(how, Ordering::SeqCst);
        let cut = Instant::now();
        let reason = a.lost().await;
        let gave_up = cut.elapsed();
        assert!(
            reason.starts_with("could not renew the lease within 10s"),
            "{reason}"
        );
        assert!(!b.is_finished(), "b took over while a still led");
        let _b = b.await.unwrap().unwrap();
        let took_over = cut.elapsed();
        assert!(gave_up <= Duration::from_secs(10), "{gave_up:?}");
        assert!(
            took_over >= gave_up + Duration::from_secs(2),
            "{gave_up:?} {took_over:?}"
        );
        assert!(took_over <= Duration::from_secs(20), "{took_over:?}");
        assert!(a.release().await.is_err(), "a lost leadership cannot be released");
    }

    #[tokio::test(start_paused = true)]
    async fn a_leader_whose_renewals_fail_gives_up_before_a_standby_takes_over() {
        leader_cut_off(FAILING).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_leader_whose_renewals_hang_gives_up_before_a_standby_takes_over() {
        leader_cut_off(HANGING).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_leader_survives_a_short_outage() {
        let server = Arc::new(Server::default());
        let (connection, a) = replica(&server, "a");
        let mut a = a.await.unwrap().unwrap();
        sleep(Duration::from_secs(4)).await;
        connection.state.store(FAILING, Ordering::SeqCst);
        sleep(Duration::from_secs(4)).await; // the renewal at 5 s and its retry at 7 s fail
        connection.state.store(UP, Ordering::SeqCst);
        tokio::select! {
            reason = a.lost() => panic!("a lost the lease: {reason}"),
            () = sleep(Duration::from_secs(60)) => {}
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_leader_that_sees_another_holder_steps_down() {
        let server = Arc::new(Server::default());
        let (_, a) = replica(&server, "a");
        let mut a = a.await.unwrap().unwrap();
        // Someone (an operator with the same lease by mistake, a human) writes
        // another holder into the Lease.
        {
            let mut lease = server.lease.lock().unwrap();
            let lease = lease.as_mut().unwrap();
            lease.spec.as_mut().unwrap().holder_identity = Some("intruder".into());
            lease.metadata.resource_version = Some("100".into());
        }
        let reason = tokio::time::timeout(Duration::from_secs(6), a.lost())
            .await
            .unwrap();
        assert_eq!(reason, "the lease is now held by intruder");
    }

    #[tokio::test(start_paused = true)]
    async fn missing_permissions_are_reported_not_retried() {
        struct Forbidden;
        impl LeaseStore for Forbidden {
            async fn get(&self) -> kube::Result<Option<Lease>> {
                Err(error(403, "Forbidden"))
            }
            async fn create(&self, _: &Lease) -> kube::Result<Lease> {
                unreachable!()
            }
            async fn replace(&self, _: &Lease) -> kube::Result<Lease> {
                unreachable!()
            }
        }
        let error = wait_with(Forbidden, config("a")).await.err().unwrap();
        assert!(
            error.to_string().contains("get, create and update on leases"),
            "{error}"
        );
    }
}
