//! One client's stream: what it missed, then live events and ticks, with
//! heartbeats. A client that falls behind the store's channel catches up
//! from the log; one that stops reading is dropped, so that it never holds
//! more than its connection's bounded buffer.

use std::time::{Duration, Instant};

use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
use futures::StreamExt;
use tokio::sync::broadcast::error::RecvError;

use super::hub::Membership;
use super::log;
use super::message::LiveMessage;
use crate::error::ApiError;
use crate::state::State;

/// The most events one resume sends; a client that missed more reloads.
pub const RESUME_LIMIT: i64 = 1000;

/// How often the server pings, and how long a client may stay silent
/// (no pong, no message) before it is taken for gone.
const PING_EVERY: Duration = Duration::from_secs(10);
const SILENT_FOR: Duration = Duration::from_secs(30);

/// How long one message may take to be handed to a client's connection: a
/// client that does not read for this long is dropped.
const SEND_WITHIN: Duration = Duration::from_secs(5);

/// Why the stream ended, when the server ended it: the close frame says it,
/// and the metrics count it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The client closed the stream or went away.
    Left,
    /// It stopped reading: a message waited longer than `SEND_WITHIN`.
    Slow,
    /// It answered no ping.
    Silent,
    /// The server is stopping, or a database error.
    Failed,
}

impl Ending {
    pub fn name(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::Slow => "slow",
            Self::Silent => "silent",
            Self::Failed => "failed",
        }
    }

    fn close_reason(self) -> Option<CloseReason> {
        let (code, description) = match self {
            Self::Left => return None,
            Self::Slow => (
                CloseCode::Policy,
                "the client read too slowly; reconnect with ?after=<last id>",
            ),
            Self::Silent => (CloseCode::Policy, "no answer to pings"),
            Self::Failed => (
                CloseCode::Again,
                "the stream failed; reconnect with ?after=<last id>",
            ),
        };
        Some(CloseReason {
            code,
            description: Some(description.to_owned()),
        })
    }
}

/// Streams to one client until it leaves or is dropped.
pub async fn run(
    state: actix_web::web::Data<State>,
    mut membership: Membership,
    mut session: Session,
    mut incoming: MessageStream,
    after: Option<i64>,
) {
    let ending: Result<std::convert::Infallible, Ending> = async {
        state.live.follow(membership.store).await;
        let mut last = match after {
            Some(after) => catch_up(&state, &membership, &mut session, after, Window::Resume).await?,
            None => newest(&state, &membership).await?,
        };
        let ready = LiveMessage::Ready {
            last_id: (last > 0).then(|| last.to_string()),
        };
        send(&mut session, ready.text()).await?;
        let mut pings = tokio::time::interval(PING_EVERY);
        let mut heard = Instant::now();
        loop {
            tokio::select! {
                frame = membership.frames.recv() => match frame {
                    Ok(frame) => {
                        // Events a catch-up already sent come again from
                        // the channel: each is sent once, in order.
                        if let Some(position) = frame.position {
                            if position <= last {
                                continue;
                            }
                            last = position;
                        }
                        send(&mut session, frame.text.clone()).await?;
                    }
                    // A burst larger than the channel's backlog: what it
                    // skipped is in the log.
                    Err(RecvError::Lagged(_)) => {
                        last = catch_up(&state, &membership, &mut session, last, Window::Behind).await?;
                    }
                    Err(RecvError::Closed) => return Err(Ending::Failed),
                },
                message = incoming.next() => match message {
                    Some(Ok(Message::Ping(bytes))) => {
                        heard = Instant::now();
                        within(session.pong(&bytes)).await?;
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Err(Ending::Left),
                    // The stream is one way: anything else only shows the client is there.
                    Some(Ok(_)) => heard = Instant::now(),
                },
                _ = pings.tick() => {
                    if heard.elapsed() > SILENT_FOR {
                        return Err(Ending::Silent);
                    }
                    within(session.ping(b"")).await?;
                }
            }
        }
    }
    .await;
    let Err(ending) = ending;
    drop(membership);
    if ending != Ending::Left {
        state.metrics.stream_ended(ending.name());
    }
    // The close frame waits behind what the client did not read: a client
    // that stopped reading gets none, and its connection is dropped.
    let _ = tokio::time::timeout(SEND_WITHIN, session.close(ending.close_reason())).await;
}

/// The position of the store's newest event: where a new client starts.
async fn newest(state: &State, membership: &Membership) -> Result<i64, Ending> {
    let newest = async {
        let mut tx = state.db.store(membership.store).await?;
        let newest = log::last_position(&mut tx).await?;
        tx.commit().await?;
        Ok::<_, ApiError>(newest)
    };
    newest.await.map_err(|error| failed(membership, error))
}

/// Sends the events of the store's log after `after`; the position the
/// client has now seen up to. Resuming (`Window::Resume`), it sends
/// `reload` instead when the log no longer holds `after` or more than
/// [`RESUME_LIMIT`] events followed it; behind the channel
/// (`Window::Behind`), it reads on until it has sent everything.
async fn catch_up(
    state: &State,
    membership: &Membership,
    session: &mut Session,
    after: i64,
    window: Window,
) -> Result<i64, Ending> {
    let mut last = after;
    loop {
        let page = match window {
            Window::Resume => RESUME_LIMIT + 1,
            Window::Behind => PAGE,
        };
        let read = async {
            let mut tx = state.db.store(membership.store).await?;
            let newest = log::last_position(&mut tx).await?;
            let missed = if last != newest && log::holds(&mut tx, last).await? {
                log::events_after(&mut tx, last, page).await?
            } else {
                Vec::new()
            };
            tx.commit().await?;
            Ok::<_, ApiError>((newest, missed))
        };
        let (newest, missed) = read.await.map_err(|error| failed(membership, error))?;
        if last == newest {
            return Ok(last);
        }
        if missed.is_empty() || (window == Window::Resume && missed.len() as i64 > RESUME_LIMIT) {
            let reload = LiveMessage::Reload {
                reason: format!(
                    "event {last} is older than the stream keeps ({} hours, {RESUME_LIMIT} events)",
                    log::KEPT_FOR_HOURS
                ),
            };
            send(session, reload.text()).await?;
            return Ok(newest);
        }
        let complete = (missed.len() as i64) < page || window == Window::Resume;
        for (position, event) in missed {
            if let Some(event) = event {
                send(session, event.text()).await?;
            }
            last = position;
        }
        if complete {
            return Ok(last);
        }
    }
}

/// Why a client is caught up from the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Window {
    /// It reconnected with `?after=`: at most [`RESUME_LIMIT`] events.
    Resume,
    /// It fell behind its store's channel: all of them.
    Behind,
}

/// Events read from the log at once when catching up.
const PAGE: i64 = 500;

fn failed(membership: &Membership, error: ApiError) -> Ending {
    tracing::warn!(store = %membership.store, %error, "reading a live stream's log failed");
    Ending::Failed
}

async fn send(session: &mut Session, text: impl Into<bytestring::ByteString>) -> Result<(), Ending> {
    within(session.text(text)).await
}

/// Anything sent to the client (a message, a ping, a pong) waits behind
/// what it has not read: at most `SEND_WITHIN`.
async fn within(sending: impl Future<Output = Result<(), actix_ws::Closed>>) -> Result<(), Ending> {
    match tokio::time::timeout(SEND_WITHIN, sending).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(Ending::Left),
        Err(_) => Err(Ending::Slow),
    }
}
