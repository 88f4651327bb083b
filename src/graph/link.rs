//! The channel between two stages, with the one drop policy of live streams.
//!
//! A file source must never lose a frame, so its links block when full. A live source
//! (a camera, a network stream, `testsrc`) must never wait for a slow stage, so its links
//! hold one frame and a sender that finds the slot taken evicts the frame waiting there
//! (the stalest one) and counts it. The count belongs to the link, so every drop is
//! attributed to the stage that could not keep up.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TryRecvError, TrySendError};

/// How a link behaves when the receiving stage is busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Wait (file inputs: every frame is processed).
    Block { capacity: usize },
    /// Keep one frame waiting; a newer one replaces it (live inputs).
    DropStalest,
}

/// What the two ends share.
#[derive(Debug, Default)]
struct Shared {
    dropped: AtomicU64,
    /// Set when the receiver is gone, so an evicting sender (which holds a receiver of its
    /// own) still learns that downstream stopped.
    closed: AtomicBool,
}

/// The sending end of a link.
pub struct LinkSender<T> {
    tx: Sender<T>,
    /// Present for [`Policy::DropStalest`]: used to take the stale frame out.
    evict: Option<Receiver<T>>,
    shared: Arc<Shared>,
}

/// The receiving end of a link.
pub struct LinkReceiver<T> {
    rx: Receiver<T>,
    shared: Arc<Shared>,
}

/// Reads a link's drop count while both ends are in use.
#[derive(Debug, Clone)]
pub struct DropCounter(Arc<Shared>);

/// The receiver has gone: downstream stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// A new link with `policy`.
pub fn link<T>(policy: Policy) -> (LinkSender<T>, LinkReceiver<T>) {
    let capacity = match policy {
        Policy::Block { capacity } => capacity.max(1),
        Policy::DropStalest => 1,
    };
    let (tx, rx) = bounded(capacity);
    let shared = Arc::new(Shared::default());
    let evict = (policy == Policy::DropStalest).then(|| rx.clone());
    (
        LinkSender {
            tx,
            evict,
            shared: shared.clone(),
        },
        LinkReceiver { rx, shared },
    )
}

impl<T> LinkSender<T> {
    /// Sends `item`: blocks while the link is full, or replaces the waiting frame.
    pub fn send(&self, mut item: T) -> Result<(), Closed> {
        let Some(evict) = &self.evict else {
            return self.tx.send(item).map_err(|_| Closed);
        };
        loop {
            if self.shared.closed.load(Ordering::Acquire) {
                return Err(Closed);
            }
            match self.tx.try_send(item) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(_)) => return Err(Closed),
                Err(TrySendError::Full(back)) => {
                    item = back;
                    // The receiver may take it first; then the retry simply succeeds.
                    if evict.try_recv().is_ok() {
                        self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }

    /// Counts frames this link dropped.
    pub fn drops(&self) -> DropCounter {
        DropCounter(self.shared.clone())
    }
}

impl<T> LinkReceiver<T> {
    /// The next item; None once every sender is gone and the link is empty.
    pub fn recv(&self) -> Option<T> {
        self.rx.recv().ok()
    }

    /// The next item if one is waiting.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.rx.try_recv()
    }

    /// The next item, waiting at most `timeout` (so a consumer can do periodic work while
    /// nothing arrives).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.rx.recv_timeout(timeout)
    }

    pub fn drops(&self) -> DropCounter {
        DropCounter(self.shared.clone())
    }
}

impl<T> Drop for LinkReceiver<T> {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
    }
}

impl<T> Iterator for LinkReceiver<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.recv()
    }
}

impl DropCounter {
    pub fn get(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_links_keep_the_newest_and_count_the_rest() {
        let (tx, rx) = link(Policy::DropStalest);
        for i in 0..5 {
            tx.send(i).unwrap();
        }
        assert_eq!(rx.try_recv(), Ok(4));
        assert_eq!(tx.drops().get(), 4);
        drop(tx);
        assert_eq!(rx.recv(), None);
    }

    #[test]
    fn blocking_links_keep_everything() {
        let (tx, mut rx) = link(Policy::Block { capacity: 2 });
        let sender = std::thread::spawn(move || {
            for i in 0..100 {
                tx.send(i).unwrap();
            }
        });
        let got: Vec<i32> = rx.by_ref().collect();
        sender.join().unwrap();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
        assert_eq!(rx.drops().get(), 0);
    }

    #[test]
    fn a_gone_receiver_stops_both_kinds_of_sender() {
        for policy in [Policy::DropStalest, Policy::Block { capacity: 1 }] {
            let (tx, rx) = link::<u8>(policy);
            drop(rx);
            // The first send into an empty link may succeed; the link is closed after.
            let _ = tx.send(1);
            assert_eq!(tx.send(2), Err(Closed), "{policy:?}");
        }
    }
}
