//! Concurrent clients, each asking the same thing in a loop until a
//! deadline, and the latencies they saw: the API over HTTP/1.1 keep-alive
//! connections (one blocking thread per client), the baseline over
//! PostgreSQL connections.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

/// Latencies of a run, and what they come to.
pub struct Latencies {
    sorted: Vec<Duration>,
}

impl Latencies {
    fn new(mut all: Vec<Duration>) -> Self {
        all.sort_unstable();
        Self { sorted: all }
    }

    pub fn count(&self) -> usize {
        self.sorted.len()
    }

    /// The nearest-rank percentile `p` (0–100).
    pub fn percentile(&self, p: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0 * self.sorted.len() as f64).ceil() as usize).clamp(1, self.sorted.len());
        self.sorted[rank - 1]
    }

    pub fn max(&self) -> Duration {
        self.sorted.last().copied().unwrap_or_default()
    }
}

/// A keep-alive HTTP/1.1 connection to the API.
pub struct Client {
    port: u16,
    reader: Option<BufReader<TcpStream>>,
}

impl Client {
    pub fn new(port: u16) -> Self {
        Self { port, reader: None }
    }

    /// GET `path` with the store's secret key: the status and the body.
    pub fn get(&mut self, path: &str, key: &str) -> Result<(u16, String)> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: {key}\r\n\r\n");
        // A connection the server closed (after an idle while) is opened anew, once.
        for attempt in 0..2 {
            if self.reader.is_none() {
                let stream = TcpStream::connect(("127.0.0.1", self.port)).context("connecting to the API")?;
                stream.set_nodelay(true)?;
                self.reader = Some(BufReader::new(stream));
            }
            match self.exchange(request.as_bytes()) {
                Ok(answer) => return Ok(answer),
                Err(error) if attempt == 0 => {
                    self.reader = None;
                    let _ = error;
                }
                Err(error) => return Err(error),
            }
        }
        bail!("GET {path}: no answer")
    }

    fn exchange(&mut self, request: &[u8]) -> Result<(u16, String)> {
        let reader = self.reader.as_mut().context("not connected")?;
        reader.get_mut().write_all(request)?;
        let mut line = String::new();
        ensure!(reader.read_line(&mut line)? > 0, "the API closed the connection");
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .with_context(|| format!("no HTTP status line: {line:?}"))?;
        let (mut length, mut chunked, mut close) = (None, false, false);
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse::<usize>().ok(),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                reader.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .with_context(|| format!("a bad chunk size {line:?}"))?;
                let start = body.len();
                body.resize(start + size, 0);
                reader.read_exact(&mut body[start..])?;
                line.clear();
                reader.read_line(&mut line)?;
                if size == 0 {
                    break;
                }
            }
        } else if let Some(length) = length {
            body.resize(length, 0);
            reader.read_exact(&mut body)?;
        } else {
            reader.read_to_end(&mut body)?;
            close = true;
        }
        if close {
            self.reader = None;
        }
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// `clients` threads GET `path` until `seconds` have passed, each on its own
/// keep-alive connection; every answer must be 200.
pub fn api(port: u16, path: &str, key: &str, clients: usize, seconds: f64) -> Result<Latencies> {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let per_client: Vec<Result<Vec<Duration>>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(move || {
                    let mut client = Client::new(port);
                    let mut latencies = Vec::new();
                    while Instant::now() < deadline {
                        let started = Instant::now();
                        let (status, body) = client.get(path, key)?;
                        latencies.push(started.elapsed());
                        ensure!(status == 200, "GET {path} answered {status}: {body}");
                    }
                    Ok(latencies)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| {
                thread
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a client panicked")))
            })
            .collect()
    });
    let mut all = Vec::new();
    for latencies in per_client {
        all.extend(latencies?);
    }
    Ok(Latencies::new(all))
}

/// A connection for the baseline: as the superuser, in the store's zone
/// (sqlx asks for UTC when it connects, so the zone is set afterwards).
pub async fn connect(options: &PgConnectOptions, zone: &str) -> Result<PgConnection> {
    let mut conn = PgConnection::connect_with(options).await?;
    sqlx::query("SELECT set_config('timezone', $1, false)")
        .bind(zone)
        .execute(&mut conn)
        .await?;
    Ok(conn)
}

/// `clients` connections (see `connect`) run the baseline statement `run`
/// makes until `seconds` have passed (each at least once).
pub async fn baseline<F>(
    options: &PgConnectOptions,
    zone: &str,
    clients: usize,
    seconds: f64,
    run: F,
) -> Result<Latencies>
where
    F: AsyncFn(&mut PgConnection) -> Result<()>,
{
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let run = &run;
    let per_client = futures::future::try_join_all((0..clients).map(|_| async move {
        let mut conn = connect(options, zone).await?;
        let mut latencies = Vec::new();
        loop {
            let started = Instant::now();
            run(&mut conn).await?;
            latencies.push(started.elapsed());
            if Instant::now() >= deadline {
                break;
            }
        }
        conn.close().await?;
        anyhow::Ok(latencies)
    }))
    .await?;
    Ok(Latencies::new(per_client.into_iter().flatten().collect()))
}
