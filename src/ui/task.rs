//! Work a screen hands to a thread of its own (store reads and writes, file work), so the
//! window's thread only draws; the answers are taken each frame. The one way screens other
//! than the batch table (which has the worker and the page reader) do their I/O.

use std::sync::mpsc::{Receiver, TryRecvError, channel};

/// Work under way, each answering with a `T`.
pub struct Tasks<T> {
    pending: Vec<Receiver<T>>,
}

impl<T> Default for Tasks<T> {
    fn default() -> Self {
        Self {
            pending: Vec::new(),
        }
    }
}

impl<T: Send + 'static> Tasks<T> {
    /// Runs `work` on a thread of its own.
    pub fn spawn(&mut self, work: impl FnOnce() -> T + Send + 'static) {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let _ = tx.send(work());
        });
        self.pending.push(rx);
    }

    /// True while some work has not answered.
    pub fn busy(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The answers that came in, in the order the work was started.
    pub fn take(&mut self) -> Vec<T> {
        let mut done = Vec::new();
        self.pending.retain(|rx| match rx.try_recv() {
            Ok(d) => {
                done.push(d);
                false
            }
            Err(TryRecvError::Empty) => true,
            Err(TryRecvError::Disconnected) => false,
        });
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_come_back_and_nothing_is_left_pending() {
        let mut t: Tasks<u32> = Tasks::default();
        t.spawn(|| 1);
        t.spawn(|| 2);
        let mut got = Vec::new();
        let start = std::time::Instant::now();
        while t.busy() {
            got.extend(t.take());
            assert!(start.elapsed() < std::time::Duration::from_secs(5));
        }
        got.sort_unstable();
        assert_eq!(got, vec![1, 2]);
    }
}
