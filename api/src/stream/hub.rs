//! This replica's streams: one broadcast channel per store with clients, and
//! the bounds on how many clients there may be.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytestring::ByteString;
pub use shopfleet_contract::StreamLimits;
use tokio::sync::broadcast;

use crate::ids::StoreId;

/// How many messages a store's channel keeps for its slowest client: one
/// further behind reads what it missed from the log (so a burst costs no
/// memory beyond this).
pub const CLIENT_BACKLOG: usize = 256;

/// One message for every client of a store: its log position (None for a
/// tick) and its text, serialized once and shared by them all.
#[derive(Debug)]
pub struct Frame {
    pub position: Option<i64>,
    pub text: ByteString,
}

/// Why a stream was refused: the close reason the client reads.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    StoreFull(u32),
    ReplicaFull(u32),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // A close reason holds at most 123 bytes.
            Self::StoreFull(limit) => write!(f, "this store has {limit} live streams open, the most allowed"),
            Self::ReplicaFull(limit) => {
                write!(f, "this server has {limit} live streams open, the most allowed")
            }
        }
    }
}

struct StoreChannel {
    sender: broadcast::Sender<Arc<Frame>>,
    clients: usize,
}

#[derive(Default)]
struct Channels {
    stores: HashMap<StoreId, StoreChannel>,
    clients: usize,
}

pub struct Hub {
    limits: StreamLimits,
    channels: Arc<Mutex<Channels>>,
}

/// A client's place in the hub: its receiver, and its count, given back when dropped.
pub struct Membership {
    pub store: StoreId,
    pub frames: broadcast::Receiver<Arc<Frame>>,
    channels: Arc<Mutex<Channels>>,
}

impl Hub {
    pub fn new(limits: StreamLimits) -> Self {
        Self {
            limits,
            channels: Arc::default(),
        }
    }

    /// Admits a client of `store`, within the limits.
    pub fn join(&self, store: StoreId) -> Result<Membership, Refusal> {
        let mut channels = self.channels.lock().expect("the hub's lock is never poisoned");
        if channels.clients >= self.limits.per_replica as usize {
            return Err(Refusal::ReplicaFull(self.limits.per_replica));
        }
        let channel = channels.stores.entry(store).or_insert_with(|| StoreChannel {
            sender: broadcast::channel(CLIENT_BACKLOG).0,
            clients: 0,
        });
        if channel.clients >= self.limits.per_store as usize {
            return Err(Refusal::StoreFull(self.limits.per_store));
        }
        channel.clients += 1;
        let frames = channel.sender.subscribe();
        channels.clients += 1;
        Ok(Membership {
            store,
            frames,
            channels: self.channels.clone(),
        })
    }

    /// Sends `frame` to every client of `store` here; false when it has none.
    pub fn publish(&self, store: StoreId, frame: Frame) -> bool {
        let channels = self.channels.lock().expect("the hub's lock is never poisoned");
        match channels.stores.get(&store) {
            Some(channel) => channel.sender.send(Arc::new(frame)).is_ok(),
            None => false,
        }
    }

    /// The stores with clients here.
    pub fn stores(&self) -> Vec<StoreId> {
        let channels = self.channels.lock().expect("the hub's lock is never poisoned");
        channels.stores.keys().copied().collect()
    }

    pub fn has_clients(&self, store: StoreId) -> bool {
        let channels = self.channels.lock().expect("the hub's lock is never poisoned");
        channels.stores.contains_key(&store)
    }

    /// Open streams here.
    pub fn clients(&self) -> usize {
        self.channels
            .lock()
            .expect("the hub's lock is never poisoned")
            .clients
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        let mut channels = self.channels.lock().expect("the hub's lock is never poisoned");
        channels.clients -= 1;
        if let Some(channel) = channels.stores.get_mut(&self.store) {
            channel.clients -= 1;
            if channel.clients == 0 {
                channels.stores.remove(&self.store);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(n: u128) -> StoreId {
        StoreId(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn clients_are_bounded_per_store_and_per_replica_and_leave_their_place() {
        let hub = Hub::new(StreamLimits {
            per_store: 2,
            per_replica: 3,
        });
        let a1 = hub.join(store(1)).unwrap();
        let _a2 = hub.join(store(1)).unwrap();
        assert_eq!(hub.join(store(1)).err(), Some(Refusal::StoreFull(2)));
        let _b1 = hub.join(store(2)).unwrap();
        assert_eq!(hub.join(store(3)).err(), Some(Refusal::ReplicaFull(3)));
        drop(a1);
        assert_eq!(hub.clients(), 2);
        assert!(hub.join(store(3)).is_ok(), "a place was given back");
    }

    #[test]
    fn a_frame_reaches_every_client_of_its_store_only() {
        let hub = Hub::new(StreamLimits {
            per_store: 10,
            per_replica: 10,
        });
        let mut a = hub.join(store(1)).unwrap();
        let mut b = hub.join(store(2)).unwrap();
        assert!(hub.publish(
            store(1),
            Frame {
                position: Some(1),
                text: "x".into()
            }
        ));
        assert_eq!(&*a.frames.try_recv().unwrap().text, "x");
        assert!(b.frames.try_recv().is_err());
        drop(a);
        assert!(!hub.has_clients(store(1)));
        assert!(!hub.publish(
            store(1),
            Frame {
                position: Some(2),
                text: "y".into()
            }
        ));
    }
}
