//! Starting a live input (a camera, a network stream): live sources do not preroll, so the
//! pipeline is set playing and watched until its video branch has negotiated a format.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app::AppSink;

use super::common::bus_error;
use super::input::Branches;

/// How long a camera or network stream may take to deliver its first frame.
pub(crate) const LIVE_START_TIMEOUT: Duration = Duration::from_secs(15);

/// Starts a live pipeline (live sources do not preroll) and waits, up to `limit`, until its
/// video branch has a format, or fails with the reason the bus gives.
pub(super) fn wait_for_live_frames(
    pipeline: &gst::Pipeline,
    branches: &Arc<Mutex<Branches>>,
    stop: &AtomicBool,
    limit: Duration,
) -> Result<AppSink, String> {
    if pipeline.set_state(gst::State::Playing).is_err() {
        return Err(bus_error(pipeline).unwrap_or_else(|| "it would not start".into()));
    }
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if stop.load(Ordering::Relaxed) {
            return Err("interrupted while connecting".into());
        }
        if let Some(reason) = bus_error(pipeline) {
            return Err(reason);
        }
        let mut b = branches.lock().expect("branch registry");
        let negotiated = b
            .frames
            .as_ref()
            .and_then(|f| f.static_pad("sink"))
            .is_some_and(|p| p.current_caps().is_some());
        if negotiated {
            return Ok(b.frames.take().expect("checked above"));
        }
        drop(b);
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!(
        "no video arrived within {:.1} s",
        limit.as_secs_f64()
    ))
}
