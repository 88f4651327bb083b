//! Pose files: one JSON object per line and frame, written by `metapix pose` and by the
//! synthetic person (ground truth), read by tests and evaluation.
//!
//! A line: `{"index": 0, "timestamp": 0.0, "found": true, "landmarks": [[x, y, z,
//! visibility, presence], ...33]}` with x, y in source pixels; `landmarks` is empty when
//! no person was found.

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::base::fsutil::AtomicFile;
use crate::{Landmark, Skeleton};

/// One frame's line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoseRecord {
    pub index: u64,
    /// Seconds from the start of the input.
    pub timestamp: f64,
    pub found: bool,
    pub landmarks: Vec<[f32; 5]>,
}

impl PoseRecord {
    pub fn new(index: u64, timestamp: Duration, skeleton: &Skeleton) -> Self {
        Self {
            index,
            timestamp: timestamp.as_secs_f64(),
            found: skeleton.found(),
            landmarks: skeleton
                .landmarks
                .iter()
                .map(|l| [l.x, l.y, l.z, l.visibility, l.presence])
                .collect(),
        }
    }

    pub fn skeleton(&self) -> Skeleton {
        let landmarks = self
            .landmarks
            .iter()
            .map(|&[x, y, z, visibility, presence]| Landmark {
                x,
                y,
                z,
                visibility,
                presence,
            })
            .collect();
        Skeleton { landmarks }
    }
}

/// Writes records as they come; the file appears under its name only at [`PoseWriter::finish`].
pub struct PoseWriter {
    file: AtomicFile,
}

impl PoseWriter {
    pub fn create(path: &Path) -> std::io::Result<Self> {
        Ok(Self {
            file: AtomicFile::create(path)?,
        })
    }

    pub fn write(&mut self, record: &PoseRecord) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.file, record)?;
        self.file.write_all(b"\n")
    }

    pub fn finish(self) -> std::io::Result<()> {
        self.file.commit()
    }
}

/// Reads a whole pose file; a malformed line is an error naming its number.
pub fn read(path: &Path) -> std::io::Result<Vec<PoseRecord>> {
    let reader = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut out = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str(&line).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} line {}: {e}", path.display(), n + 1),
            )
        })?;
        out.push(record);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::skeleton::NUM_LANDMARKS;

    #[test]
    fn records_round_trip_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("poses.jsonl");
        let points: [[f32; 2]; NUM_LANDMARKS] = std::array::from_fn(|i| [i as f32, 2.0 * i as f32]);
        let person = Skeleton::from_points(&points);
        let mut w = PoseWriter::create(&path).unwrap();
        w.write(&PoseRecord::new(0, Duration::from_millis(40), &person))
            .unwrap();
        w.write(&PoseRecord::new(
            1,
            Duration::from_millis(80),
            &Skeleton::none(),
        ))
        .unwrap();
        assert!(!path.exists(), "appears only when finished");
        w.finish().unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].skeleton(), person);
        assert!(back[0].found && !back[1].found && back[1].landmarks.is_empty());
        assert!((back[1].timestamp - 0.08).abs() < 1e-12);
        std::fs::write(&path, "{\"index\": 0}\n").unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }
}
