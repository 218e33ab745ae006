//! Follows the tenant database's live log for the stores that have clients
//! on this replica, and sends each store's clients what happens there.
//!
//! While it has clients it also sequences the inbox every few milliseconds
//! (`log::sequence`: one replica at a time numbers the events committed
//! since the last batch, and notifies). One `LISTEN` connection per process:
//! a notification names a store; the follower reads that store's log past
//! the last position it sent and publishes each event. A notification only
//! wakes it: the log is the truth. Notifications sent
//! while the connection is down are lost, so after every (re)connect, once
//! listening again, it reads every followed store's log past its position.
//!
//! Everything runs in one task, one step at a time, so that a store starts
//! being followed (`Live::follow`) between two notifications, never in the
//! middle of one.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use actix_web::web;
use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

use super::hub::Frame;
use super::live::Request;
use super::log;
use super::message::{LiveMessage, LiveToday};
use crate::error::ApiError;
use crate::ids::StoreId;
use crate::state::State;

/// The notification channel the migration's trigger notifies.
const CHANNEL: &str = "shopfleet_live";

/// How often clients get today's figures.
pub const TICK_EVERY: Duration = Duration::from_secs(5);

/// How often each followed store's log is read even without a notification:
/// a safety net, never the way events normally arrive.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// How often the inbox is sequenced while this replica has clients: what
/// an event waits, at most, between its commit and its notification.
const SEQUENCE_EVERY: Duration = Duration::from_millis(20);

/// How long to wait before connecting again after the connection failed.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Events read from the log at once.
const BATCH: i64 = 500;

enum Wake {
    /// A notification: something was logged in this store.
    Store(StoreId),
    /// Listening (again): anything may have been missed.
    Listening,
}

/// Runs the follower for as long as the process runs.
pub fn spawn(state: web::Data<State>, requests: mpsc::Receiver<Request>) {
    let (wakes, woken) = mpsc::channel(1024);
    actix_web::rt::spawn(listen(state.clone(), wakes));
    actix_web::rt::spawn(follow(state, requests, woken));
}

/// Keeps one connection listening, and passes on what it hears.
async fn listen(state: web::Data<State>, wakes: mpsc::Sender<Wake>) {
    loop {
        let mut listener = match connect(&state).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "the live stream cannot listen to the database; retrying");
                tokio::time::sleep(RECONNECT_AFTER).await;
                continue;
            }
        };
        if wakes.send(Wake::Listening).await.is_err() {
            return;
        }
        // `try_recv` answers None when the connection was lost (and would
        // reconnect silently at the next call): start over, so that the
        // follower reads the logs once listening again.
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    let Ok(store) = notification.payload().parse().map(StoreId) else {
                        tracing::warn!(
                            payload = notification.payload(),
                            "a live notification without a store id"
                        );
                        continue;
                    };
                    if wakes.send(Wake::Store(store)).await.is_err() {
                        return;
                    }
                }
                Ok(None) => {
                    tracing::warn!("the live stream's database connection was lost; listening again");
                    state.metrics.stream_listener_reconnected();
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, "the live stream's database connection failed; listening again");
                    state.metrics.stream_listener_reconnected();
                    tokio::time::sleep(RECONNECT_AFTER).await;
                    break;
                }
            }
        }
    }
}

async fn connect(state: &State) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(state.db.pool()).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// The last position sent to each followed store's clients.
type Positions = HashMap<StoreId, i64>;

async fn follow(
    state: web::Data<State>,
    mut requests: mpsc::Receiver<Request>,
    mut woken: mpsc::Receiver<Wake>,
) {
    let mut positions = Positions::new();
    let mut ticks = tokio::time::interval(TICK_EVERY);
    let mut sweeps = tokio::time::interval(SWEEP_EVERY);
    let mut sequencing = tokio::time::interval(SEQUENCE_EVERY);
    sequencing.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let done = tokio::select! {
            request = requests.recv() => match request {
                Some(Request::Follow(store, answer)) => {
                    if let Err(error) = start_following(&state, &mut positions, store).await {
                        tracing::warn!(%store, %error, "reading a store's live log failed");
                    }
                    let _ = answer.send(());
                    false
                }
                None => true,
            },
            wake = woken.recv() => match wake {
                Some(wake) => {
                    // Notifications come one per transaction: under load,
                    // read each store's log once for all that are waiting.
                    let mut stores = BTreeSet::new();
                    let mut wake = Some(wake);
                    while let Some(next) = wake {
                        match next {
                            Wake::Store(store) => {
                                stores.insert(store);
                            }
                            Wake::Listening => stores.extend(positions.keys().copied()),
                        }
                        wake = woken.try_recv().ok();
                    }
                    let stores: Vec<StoreId> = stores.into_iter().collect();
                    catch_up(&state, &mut positions, &stores).await;
                    false
                }
                None => true,
            },
            _ = ticks.tick() => {
                positions.retain(|store, _| state.live.hub.has_clients(*store));
                // Apart, so that a slow report never delays an event.
                actix_web::rt::spawn(tick_all(state.clone()));
                false
            }
            _ = sequencing.tick() => {
                if !positions.is_empty() {
                    sequence(&state).await;
                }
                false
            }
            _ = sweeps.tick() => {
                let stores: Vec<StoreId> = positions.keys().copied().collect();
                catch_up(&state, &mut positions, &stores).await;
                false
            }
        };
        if done {
            return;
        }
    }
}

/// Numbers what the inbox holds (see `log::sequence`).
async fn sequence(state: &State) {
    if let Err(error) = log::sequence(&state.db).await {
        tracing::warn!(%error, "sequencing the live inbox failed; retrying");
    }
}

/// Follows `store` from its last event now, unless already followed.
async fn start_following(state: &State, positions: &mut Positions, store: StoreId) -> Result<(), ApiError> {
    sequence(state).await;
    if let std::collections::hash_map::Entry::Vacant(unfollowed) = positions.entry(store) {
        let mut tx = state.db.store(store).await?;
        let last = log::last_position(&mut tx).await?;
        tx.commit().await?;
        unfollowed.insert(last);
    }
    Ok(())
}

/// Sends the clients of each of `stores` (that is followed) what its log
/// holds past their position.
async fn catch_up(state: &State, positions: &mut Positions, stores: &[StoreId]) {
    for store in stores {
        let Some(position) = positions.get_mut(store) else {
            continue;
        };
        if let Err(error) = publish_after(state, *store, position).await {
            tracing::warn!(%store, %error, "reading a store's live log failed; retrying at the next event");
        }
    }
}

async fn publish_after(state: &State, store: StoreId, position: &mut i64) -> Result<(), ApiError> {
    loop {
        let mut tx = state.db.store(store).await?;
        let events = log::events_after(&mut tx, *position, BATCH).await?;
        tx.commit().await?;
        let read = events.len() as i64;
        for (at, event) in events {
            if let Some(event) = event {
                let text = event.text();
                state.live.hub.publish(
                    store,
                    Frame {
                        position: Some(at),
                        text: text.into(),
                    },
                );
            }
            *position = at;
        }
        if read < BATCH {
            return Ok(());
        }
    }
}

/// Sends the clients of every store with clients here today's figures.
async fn tick_all(state: web::Data<State>) {
    for store in state.live.hub.stores() {
        tick(&state, store).await;
    }
}

/// Sends the clients of `store` today's figures.
async fn tick(state: &State, store: StoreId) {
    let today = async {
        let mut tx = state.db.store_reading(store).await?;
        let (date, time_zone, figures) = crate::analytics::sales::today(&mut tx).await?;
        let currency = tx.store.currency.clone();
        tx.commit().await?;
        Ok::<_, ApiError>(LiveToday {
            date,
            time_zone,
            currency,
            orders: figures.orders,
            net_sales_minor: figures.net_sales_minor,
        })
    };
    match today.await {
        Ok(today) => {
            state.live.hub.publish(
                store,
                Frame {
                    position: None,
                    text: LiveMessage::Tick(today).text().into(),
                },
            );
        }
        Err(error) => tracing::warn!(%store, %error, "today's figures for the live stream failed"),
    }
}
