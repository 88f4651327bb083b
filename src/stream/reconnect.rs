//! `--reconnect`: a live input (a network camera, an RTSP or HTTP stream, a webcam) that
//! drops out is opened again, for up to a time window, instead of ending the run. The
//! output stays open meanwhile (RTSP clients stay connected), and the frames that follow
//! continue the first ones' numbering and timeline, so the stages after the source see one
//! unbroken input with a gap in it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::StreamError;
use crate::stream::endpoints::FrameSource;
use crate::Frame;

/// The first wait before reopening; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Opens the input again, giving up after the time it is given (what is left of the
/// window): an attempt must not outlast the window.
pub type Reopen = Box<dyn FnMut(Duration) -> Result<Box<dyn FrameSource>, StreamError> + Send>;

/// A live source that reopens its input when it ends, for up to `window` each time.
pub struct Reconnecting {
    current: Box<dyn FrameSource>,
    reopen: Reopen,
    window: Duration,
    stop: Arc<AtomicBool>,
    /// Frames handed out so far (the next frame's index).
    index: u64,
    /// For the current connection: its first frame's pts and the pts it maps to.
    shift: Option<(Duration, Duration)>,
    /// The end of the last frame handed out (pts + duration) and when it was handed out.
    last: Option<(Duration, Instant)>,
}

impl Reconnecting {
    pub fn new(
        first: Box<dyn FrameSource>,
        reopen: Reopen,
        window: Duration,
        stop: Arc<AtomicBool>,
    ) -> Self {
        Self {
            current: first,
            reopen,
            window,
            stop,
            index: 0,
            shift: None,
            last: None,
        }
    }

    /// Tries to reopen the input until it answers, the window passes or a stop comes. Each
    /// attempt is given only what is left of the window.
    fn reconnect(&mut self) -> bool {
        let lost = Instant::now();
        let deadline = lost + self.window;
        tracing::info!(
            "input ended; reconnecting for up to {:.0} s",
            self.window.as_secs_f64()
        );
        // Close the old connection first: a server that is shutting down waits for its
        // clients to leave.
        self.current = Box::new(Ended);
        let mut backoff = FIRST_BACKOFF;
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match (self.reopen)(left) {
                Ok(source) => {
                    self.current = source;
                    self.shift = None;
                    let back = lost.elapsed().as_secs_f64();
                    tracing::info!("input back after {back:.1} s");
                    return true;
                }
                Err(e) if Instant::now() + backoff > deadline => {
                    tracing::info!("input still unavailable ({e}); stopping");
                    return false;
                }
                Err(_) => {}
            }
            let wake = Instant::now() + backoff;
            while Instant::now() < wake && !self.stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Renumbers `frame` and moves its pts onto one timeline: a new connection's first frame
    /// comes after the last one by the time the input was away.
    fn continue_timeline(&mut self, frame: &mut Frame) {
        frame.index = self.index;
        self.index += 1;
        let Some(pts) = frame.pts else {
            return;
        };
        let (first, base) = *self.shift.get_or_insert_with(|| match self.last {
            None => (pts, pts),
            Some((end, at)) => (pts, end + at.elapsed()),
        });
        let pts = base + pts.saturating_sub(first);
        frame.pts = Some(pts);
        self.last = Some((pts + frame.duration.unwrap_or_default(), Instant::now()));
    }
}

/// The input between a connection's end and the next.
struct Ended;

impl FrameSource for Ended {
    fn next_frame(&mut self) -> Result<Option<Frame>, StreamError> {
        Ok(None)
    }
}

impl FrameSource for Reconnecting {
    fn next_frame(&mut self) -> Result<Option<Frame>, StreamError> {
        loop {
            match self.current.next_frame()? {
                Some(mut frame) => {
                    self.continue_timeline(&mut frame);
                    return Ok(Some(frame));
                }
                None => {
                    if self.stop.load(Ordering::Relaxed) || !self.reconnect() {
                        return Ok(None);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RgbImage;
    use std::collections::VecDeque;

    /// `n` frames 40 ms apart starting at pts 0, then the end.
    struct Clip(std::ops::Range<u64>);

    impl FrameSource for Clip {
        fn next_frame(&mut self) -> Result<Option<Frame>, StreamError> {
            Ok(self.0.next().map(|i| Frame {
                index: i,
                pts: Some(Duration::from_millis(40 * i)),
                duration: Some(Duration::from_millis(40)),
                arrived: Instant::now(),
                image: RgbImage::from_raw(2, 2, vec![0; 12]),
            }))
        }
    }

    /// Reopens with the outcomes queued in `plan` (Ok(n): a clip of n frames), then fails.
    fn reopen(plan: Vec<Result<u64, ()>>) -> Reopen {
        let mut plan = VecDeque::from(plan);
        Box::new(move |_| match plan.pop_front() {
            Some(Ok(n)) => Ok(Box::new(Clip(0..n)) as Box<dyn FrameSource>),
            _ => Err(StreamError::Gstreamer("connection refused".into())),
        })
    }

    fn drain(source: &mut Reconnecting) -> Vec<Frame> {
        std::iter::from_fn(|| source.next_frame().unwrap()).collect()
    }

    #[test]
    fn a_dropped_input_comes_back_on_one_timeline() {
        let stop = Arc::new(AtomicBool::new(false));
        // Lost after 3 frames; one failed try; back with 2 frames; lost; back with 2; then gone.
        let plan = vec![Err(()), Ok(2), Ok(2)];
        let window = Duration::from_millis(700);
        let mut source = Reconnecting::new(Box::new(Clip(0..3)), reopen(plan), window, stop);
        let started = Instant::now();
        let frames = drain(&mut source);
        assert_eq!(frames.len(), 7);
        let indices: Vec<u64> = frames.iter().map(|f| f.index).collect();
        assert_eq!(indices, (0..7).collect::<Vec<_>>());
        let pts: Vec<Duration> = frames.iter().map(|f| f.pts.unwrap()).collect();
        assert!(pts.windows(2).all(|w| w[0] < w[1]), "{pts:?}");
        // Within a connection the spacing is the input's; across the first outage (one
        // failed try, 500 ms of backoff) the gap is at least that long.
        assert_eq!(pts[4] - pts[3], Duration::from_millis(40));
        assert!(pts[3] - pts[2] >= Duration::from_millis(500), "{pts:?}");
        // It gave up after the window with nothing answering.
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn a_stop_ends_the_wait() {
        let stop = Arc::new(AtomicBool::new(false));
        let window = Duration::from_secs(60);
        let mut source =
            Reconnecting::new(Box::new(Clip(0..1)), reopen(vec![]), window, stop.clone());
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            stop.store(true, Ordering::Relaxed);
        });
        let started = Instant::now();
        assert_eq!(drain(&mut source).len(), 1);
        assert!(started.elapsed() < Duration::from_secs(2));
        stopper.join().unwrap();
    }

    #[test]
    fn the_window_holds_even_when_an_attempt_is_slow() {
        // An input that takes as long as it is allowed (at most 5 s, as a camera that never
        // starts or a host that never answers) and then fails: with a 1 s window the run
        // gives up after about 1 s, not after a whole 5 s attempt.
        let stop = Arc::new(AtomicBool::new(false));
        let slow: Reopen = Box::new(|left| {
            std::thread::sleep(left.min(Duration::from_secs(5)));
            Err(StreamError::Gstreamer("no video arrived".into()))
        });
        let window = Duration::from_secs(1);
        let mut source = Reconnecting::new(Box::new(Clip(0..1)), slow, window, stop);
        let started = Instant::now();
        assert_eq!(drain(&mut source).len(), 1);
        let took = started.elapsed();
        println!("gave up after {took:?}");
        assert!(took < window + Duration::from_millis(500), "{took:?}");
    }
}
