//! What an opened input declares about itself, and the checks made against it.

use std::path::Path;
use std::time::Duration;

use super::StreamError;

/// What the input holds, known once it has prerolled.
#[derive(Debug, Clone)]
pub struct InputInfo {
    pub width: u32,
    pub height: u32,
    /// Frame rate as numerator and denominator, where the input declares one.
    pub fps: Option<(i32, i32)>,
    pub duration: Option<Duration>,
    pub has_audio: bool,
}

impl InputInfo {
    /// Frames the input should yield, for progress bars.
    pub fn estimated_frames(&self) -> Option<u64> {
        let (n, d) = self.fps?;
        Some((self.duration?.as_secs_f64() * n as f64 / d as f64).round() as u64)
    }

    /// Fails when the frames read (`frames`, the last ending at `end`) stop well short of
    /// the duration the container declares: a truncated file, which GStreamer's demuxers
    /// end quietly. Time-based, so variable frame rates do not trip it.
    pub fn check_complete(
        &self,
        path: &Path,
        frames: u64,
        end: Option<Duration>,
    ) -> Result<(), StreamError> {
        let Some(declared) = self.duration else {
            return Ok(());
        };
        let period = self
            .fps
            .map(|(n, d)| Duration::from_secs_f64(d as f64 / n as f64))
            .unwrap_or_default();
        let slack = (period * 2).max(Duration::from_millis(500));
        let decoded = end.unwrap_or_default();
        if decoded + slack < declared {
            return Err(StreamError::Truncated {
                path: path.to_path_buf(),
                frames,
                decoded: decoded.as_secs_f64(),
                declared: declared.as_secs_f64(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_is_told_from_a_complete_read() {
        let info = InputInfo {
            width: 8,
            height: 8,
            fps: Some((30, 1)),
            duration: Some(Duration::from_secs(3)),
            has_audio: false,
        };
        let p = Path::new("a.mp4");
        assert!(info
            .check_complete(p, 90, Some(Duration::from_secs(3)))
            .is_ok());
        assert!(info
            .check_complete(p, 80, Some(Duration::from_millis(2600)))
            .is_ok());
        let err = info.check_complete(p, 53, Some(Duration::from_millis(1767)));
        assert!(
            matches!(err, Err(StreamError::Truncated { frames: 53, .. })),
            "{err:?}"
        );
        assert!(info.check_complete(p, 0, None).is_err());
    }
}
