//! The benchmark's records as they come: one JSON line per (person, init, K, T) cell,
//! appended and flushed to disk as soon as the cell is scored, after a first line holding
//! the settings they were made with. A run that stops (Ctrl-C, a crash, a lost machine)
//! loses at most the cell it was in; run again with the same settings, it skips the cells
//! the file holds.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::EvalRecord;
use crate::jobs::JobError;

/// The key of the first line.
const HEADER_KEY: &str = "metapix_eval_settings";

/// An open record file.
pub struct RecordLog {
    path: PathBuf,
    file: File,
    records: Vec<EvalRecord>,
}

impl RecordLog {
    /// Opens `path` for records made with `settings`: a new file, or one that a run with the
    /// same settings began, whose records are kept. A last line cut short by a crash is
    /// dropped; a file of other settings is refused, since mixing them would make the
    /// table compare cells made differently.
    pub fn open(path: &Path, settings: &Value) -> Result<Self, JobError> {
        let header = json!({ HEADER_KEY: settings });
        let (records, lines) = match File::open(path) {
            Ok(file) => read_existing(path, file, settings)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Vec::new(), Vec::new()),
            Err(e) => return Err(JobError::write(path)(e)),
        };
        if !records.is_empty() {
            let n = records.len();
            tracing::info!("resuming {}: {n} cells are done already", path.display());
        }
        // Rewritten as it was read, less a torn last line, so that appending starts on a
        // fresh line (the lines' text is kept: numbers do not round-trip through f64).
        let mut text = format!("{header}\n");
        for line in &lines {
            text.push_str(line);
            text.push('\n');
        }
        crate::base::fsutil::write_atomic(path, text.as_bytes()).map_err(JobError::write(path))?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(JobError::write(path))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            records,
        })
    }

    /// Whether the cell is done already.
    pub fn has(&self, target: &str, init: &str, k: usize, t: usize) -> bool {
        self.records
            .iter()
            .any(|r| r.target == target && r.init == init && r.k == k && r.t == t)
    }

    /// Records of earlier runs and this one so far.
    pub fn records(&self) -> &[EvalRecord] {
        &self.records
    }

    /// Writes `record` through to the disk.
    pub fn append(&mut self, record: EvalRecord) -> Result<(), JobError> {
        let line = serde_json::to_string(&record).expect("records serialize");
        writeln!(self.file, "{line}")
            .and_then(|()| self.file.sync_data())
            .map_err(JobError::write(&self.path))?;
        self.records.push(record);
        Ok(())
    }

    pub fn into_records(self) -> Vec<EvalRecord> {
        self.records
    }
}

/// The records of a file that must have been made with `settings`, and their lines.
fn read_existing(
    path: &Path,
    file: File,
    settings: &Value,
) -> Result<(Vec<EvalRecord>, Vec<String>), JobError> {
    let bad = |why: String| JobError::InvalidArgument(format!("{}: {why}", path.display()));
    let mut lines = BufReader::new(file).lines();
    let first = match lines.next() {
        Some(line) => line.map_err(|e| bad(e.to_string()))?,
        None => return Err(bad("empty; remove it to start afresh".into())),
    };
    let found: Value =
        serde_json::from_str(&first).map_err(|_| bad("not a metapix eval record file".into()))?;
    let Some(theirs) = found.get(HEADER_KEY) else {
        return Err(bad("not a metapix eval record file".into()));
    };
    if theirs != settings {
        return Err(bad(format!(
            "holds results made with other settings ({theirs}); remove it or choose another --out to start afresh"
        )));
    }
    let lines: Vec<String> = lines
        .collect::<Result<_, _>>()
        .map_err(|e| bad(e.to_string()))?;
    let n = lines.len();
    let mut records = Vec::with_capacity(n);
    let mut kept = Vec::with_capacity(n);
    for (i, line) in lines.into_iter().enumerate() {
        match serde_json::from_str(&line) {
            Ok(r) => {
                records.push(r);
                kept.push(line);
            }
            // The last line may be torn by a crash mid-write: its cell is simply done again.
            Err(_) if i + 1 == n => {}
            Err(e) => return Err(bad(format!("line {}: {e}", i + 2))),
        }
    }
    Ok((records, kept))
}

/// Every record in `path`: eval's JSON array, or its record file (JSON lines).
pub fn read_records(path: &Path) -> Result<Vec<EvalRecord>, JobError> {
    let bytes = std::fs::read(path)
        .map_err(|e| JobError::InvalidArgument(format!("cannot read {}: {e}", path.display())))?;
    let not_eval = |e: serde_json::Error| {
        JobError::InvalidArgument(format!(
            "{} is not metapix eval output: {e}",
            path.display()
        ))
    };
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return serde_json::from_slice(&bytes).map_err(not_eval);
    }
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.contains(HEADER_KEY))
        .map(|l| serde_json::from_str(l).map_err(not_eval))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::metrics::Quality;

    fn record(k: usize, t: usize) -> EvalRecord {
        EvalRecord {
            target: "people/a".into(),
            init: "metapix".into(),
            k,
            t,
            quality: Quality {
                mse: 0.01,
                psnr: 20.0,
                ssim: 0.8,
                temporal_std: 0.1,
                temporal_std_real: 0.1,
            },
            psnr_person: None,
            ssim_person: None,
            pck: Some(0.5),
            part_iou: None,
        }
    }

    #[test]
    fn records_survive_a_stop_and_a_torn_line_and_other_settings_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.jsonl");
        let settings = json!({"lr": 6e-4, "batch": 8});
        let mut log = RecordLog::open(&path, &settings).unwrap();
        log.append(record(5, 0)).unwrap();
        log.append(record(5, 10)).unwrap();
        drop(log);
        // A crash in the middle of the third line.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        write!(file, "{{\"target\":\"people/a\",\"init\":\"met").unwrap();
        drop(file);

        let mut log = RecordLog::open(&path, &settings).unwrap();
        assert_eq!(log.records().len(), 2);
        assert!(log.has("people/a", "metapix", 5, 10));
        assert!(!log.has("people/a", "metapix", 5, 20));
        log.append(record(5, 20)).unwrap();
        drop(log);
        assert_eq!(read_records(&path).unwrap().len(), 3);

        let other = json!({"lr": 1e-3, "batch": 8});
        let err = RecordLog::open(&path, &other).err().unwrap().to_string();
        assert!(err.contains("other settings"), "{err}");
        // The refused run did not touch the file.
        assert_eq!(read_records(&path).unwrap().len(), 3);
    }
}
