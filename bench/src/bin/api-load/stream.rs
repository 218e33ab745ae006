//! The live stream's fan-out (`--stream-clients N`): N WebSockets on the
//! store's stream, open while the scenarios run, each timing every event
//! from its commit (the event's `at` is taken at commit, by the trigger that
//! logs it) to its arrival, on this machine's one clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// Latencies are counted in buckets of this width, up to `BUCKETS` of them
/// (the last one holds everything slower).
const BUCKET: Duration = Duration::from_micros(100);
const BUCKETS: usize = 100_000;

/// How many clients connect at once.
const CONNECTING_AT_ONCE: usize = 50;

pub struct Fanout {
    clients: usize,
    counts: Arc<Vec<AtomicU64>>,
    /// Events each client received.
    received: Arc<Vec<AtomicU64>>,
    readers: Vec<JoinHandle<()>>,
}

/// What the clients saw since the last `reset`.
pub struct Figures {
    pub clients: usize,
    /// Events delivered, to all clients.
    pub delivered: u64,
    /// Events the client that received fewest / most received.
    pub fewest: u64,
    pub most: u64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

/// Opens `clients` streams of store `store` on the API at `port` with the
/// store's secret key, and waits until each has said `ready`.
pub fn open(runtime: &Runtime, port: u16, store: uuid::Uuid, secret: &str, clients: usize) -> Result<Fanout> {
    let counts: Arc<Vec<AtomicU64>> = Arc::new((0..BUCKETS).map(|_| AtomicU64::new(0)).collect());
    let received: Arc<Vec<AtomicU64>> = Arc::new((0..clients).map(|_| AtomicU64::new(0)).collect());
    let mut readers = Vec::with_capacity(clients);
    let started = Instant::now();
    runtime.block_on(async {
        for first in (0..clients).step_by(CONNECTING_AT_ONCE) {
            let batch = first..(first + CONNECTING_AT_ONCE).min(clients);
            let sockets = futures::future::try_join_all(batch.map(|_| connect(port, store, secret))).await?;
            for (offset, socket) in sockets.into_iter().enumerate() {
                let (counts, received) = (counts.clone(), received.clone());
                readers.push(tokio::spawn(read(socket, counts, received, first + offset)));
            }
        }
        Ok::<_, anyhow::Error>(())
    })?;
    eprintln!(
        "==> {clients} stream clients connected and ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Fanout {
        clients,
        counts,
        received,
        readers,
    })
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(port: u16, store: uuid::Uuid, secret: &str) -> Result<Socket> {
    let mut request = format!("ws://127.0.0.1:{port}/v1/stores/{store}/stream").into_client_request()?;
    request
        .headers_mut()
        .insert("X-Api-Key", HeaderValue::from_str(secret)?);
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("shopfleet.live.v1"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .context("opening a stream")?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) if text.contains(r#""type":"ready""#) => return Ok(socket),
            Some(Ok(Message::Close(frame))) => bail!("the API closed a stream as it opened: {frame:?}"),
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(error).context("reading a stream"),
            None => bail!("a stream ended before it was ready"),
        }
    }
}

/// Counts every event the socket brings, with its latency, until it ends.
async fn read(mut socket: Socket, counts: Arc<Vec<AtomicU64>>, received: Arc<Vec<AtomicU64>>, client: usize) {
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let arrived = jiff::Timestamp::now();
        // Only `at` is read (a thousand clients parsing whole messages would
        // weigh on the 2 cores the API shares with them).
        let Some(at) = commit_time(&text) else {
            continue; // a tick
        };
        let latency = arrived.duration_since(at).unsigned_abs();
        let bucket = ((latency.as_micros() / BUCKET.as_micros()) as usize).min(BUCKETS - 1);
        counts[bucket].fetch_add(1, Ordering::Relaxed);
        received[client].fetch_add(1, Ordering::Relaxed);
    }
}

/// The `"at"` of an event's JSON text.
fn commit_time(text: &str) -> Option<jiff::Timestamp> {
    let start = text.find(r#""at":""#)? + 6;
    let end = start + text[start..].find('"')?;
    text[start..end].parse().ok()
}

impl Fanout {
    /// Forgets what was counted so far.
    pub fn reset(&self) {
        for count in self.counts.iter().chain(self.received.iter()) {
            count.store(0, Ordering::Relaxed);
        }
    }

    /// Waits until no event has arrived for a second (the last ones of a
    /// run are still on their way when it ends), then sums up.
    pub fn settle(&self) -> Figures {
        let total = || {
            self.received
                .iter()
                .map(|n| n.load(Ordering::Relaxed))
                .sum::<u64>()
        };
        let mut last = total();
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let now = total();
            if now == last {
                break;
            }
            last = now;
        }
        let counts: Vec<u64> = self.counts.iter().map(|n| n.load(Ordering::Relaxed)).collect();
        let delivered: u64 = counts.iter().sum();
        let quantile = |q: f64| {
            let rank = ((delivered as f64) * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            let bucket = counts
                .iter()
                .position(|count| {
                    seen += count;
                    seen >= rank
                })
                .unwrap_or(0);
            BUCKET * (bucket as u32 + 1)
        };
        let per_client: Vec<u64> = self.received.iter().map(|n| n.load(Ordering::Relaxed)).collect();
        Figures {
            clients: self.clients,
            delivered,
            fewest: per_client.iter().copied().min().unwrap_or(0),
            most: per_client.iter().copied().max().unwrap_or(0),
            p50: quantile(0.50),
            p99: quantile(0.99),
            max: quantile(1.0),
        }
    }

    /// Closes every stream.
    pub fn close(self) {
        for reader in self.readers {
            reader.abort();
        }
    }
}
