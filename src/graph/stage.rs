//! Running one stage on its own thread: a plain processor applied to every item of its input
//! link, timed, its output sent on through a link of its own. A stage that fails or panics
//! records why in the run's [`Failure`] and ends, dropping its links, which ends the rest.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::thread::{Scope, ScopedJoinHandle};
use std::time::Instant;

use super::link::{link, LinkReceiver, Policy};
use super::PipelineError;
use crate::base::stats::StageClock;

/// The first failure of a run, whichever part hit it: later ones are usually consequences,
/// and the first is the one that explains them.
#[derive(Debug, Default)]
pub(super) struct Failure {
    first: Mutex<Option<PipelineError>>,
    happened: AtomicBool,
}

impl Failure {
    /// Keeps `error` if nothing failed before it.
    pub(super) fn record(&self, error: PipelineError) {
        let mut first = self.first.lock().unwrap_or_else(|p| p.into_inner());
        if first.is_none() {
            *first = Some(error);
            self.happened.store(true, Ordering::Release);
        } else {
            tracing::debug!("after the first failure: {error}");
        }
    }

    pub(super) fn happened(&self) -> bool {
        self.happened.load(Ordering::Acquire)
    }

    pub(super) fn take(&self) -> Option<PipelineError> {
        self.first.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// The first line of what a panic said.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = crate::base::panic_text(payload);
    text.lines().next().unwrap_or("").to_string()
}

/// Runs `body` on a thread named `name`; its error or panic goes to `failure`.
pub(super) fn thread<'scope, F>(
    scope: &'scope Scope<'scope, '_>,
    name: &'static str,
    failure: &'scope Failure,
    body: F,
) -> ScopedJoinHandle<'scope, ()>
where
    F: FnOnce() -> Result<(), PipelineError> + Send + 'scope,
{
    std::thread::Builder::new()
        .name(name.into())
        .spawn_scoped(scope, move || {
            let _span = tracing::debug_span!("stage", name).entered();
            match catch_unwind(AssertUnwindSafe(body)) {
                Ok(Ok(())) => {}
                Ok(Err(error)) => failure.record(error),
                Err(payload) => failure.record(PipelineError::StagePanicked {
                    stage: name,
                    message: panic_message(payload.as_ref()),
                }),
            }
        })
        .expect("spawning a stage thread")
}

/// What a stage did with an item.
pub(super) enum Outcome<O> {
    /// Processed: timed, and sent on.
    Done(O),
    /// Sent on untouched (a frame the stage has nothing to do for): not timed.
    Passed(O),
    /// Dropped (counted by the stage): not timed, not sent.
    Dropped,
}

/// Runs `f` on every item of `input` on a new thread, timing each item it processes into
/// `clock` and sending on what it yields through a link with `policy`.
pub(super) fn spawn<'scope, I, O, F>(
    scope: &'scope Scope<'scope, '_>,
    name: &'static str,
    input: LinkReceiver<I>,
    policy: Policy,
    clock: StageClock,
    failure: &'scope Failure,
    mut f: F,
) -> (LinkReceiver<O>, ScopedJoinHandle<'scope, ()>)
where
    I: Send + 'scope,
    O: Send + 'scope,
    F: FnMut(I) -> Result<Outcome<O>, PipelineError> + Send + 'scope,
{
    let (tx, rx) = link(policy);
    let handle = thread(scope, name, failure, move || {
        for item in input {
            let start = Instant::now();
            let out = match f(item)? {
                Outcome::Done(out) => {
                    let mut clock = clock.lock().unwrap_or_else(|p| p.into_inner());
                    clock.record(start.elapsed());
                    out
                }
                Outcome::Passed(out) => out,
                // Deciding to drop costs nothing worth a sample.
                Outcome::Dropped => continue,
            };
            if tx.send(out).is_err() {
                break; // downstream stopped; its error (if any) is recorded by it
            }
        }
        Ok(())
    });
    (rx, handle)
}
