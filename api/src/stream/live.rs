//! This process's streams as the rest of the API holds them (in `State`):
//! the hub, and the way to ask the follower to follow a store.

use tokio::sync::{mpsc, oneshot};

use super::hub::{Hub, StreamLimits};
use crate::ids::StoreId;

/// What the follower is asked to do.
pub enum Request {
    /// Start following a store (if not yet): answered once it is.
    Follow(StoreId, oneshot::Sender<()>),
}

pub struct Live {
    pub hub: Hub,
    requests: mpsc::Sender<Request>,
    /// The follower's end, until `stream::spawn` starts it.
    pending: std::sync::Mutex<Option<mpsc::Receiver<Request>>>,
}

impl Live {
    pub fn new(limits: StreamLimits) -> Self {
        let (requests, pending) = mpsc::channel(64);
        Self {
            hub: Hub::new(limits),
            requests,
            pending: std::sync::Mutex::new(Some(pending)),
        }
    }

    /// Has the follower follow `store` (if it does not yet), and waits until it does.
    pub async fn follow(&self, store: StoreId) {
        let (answer, answered) = oneshot::channel();
        if self.requests.send(Request::Follow(store, answer)).await.is_ok() {
            let _ = answered.await;
        }
    }

    /// The follower's end of the requests; None once taken.
    pub fn take_requests(&self) -> Option<mpsc::Receiver<Request>> {
        self.pending.lock().expect("never poisoned").take()
    }
}
