//! What the user named as input and output, parsed and checked before anything starts.

use std::path::{Path, PathBuf};

use super::StreamError;

/// Where frames come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSpec {
    /// A video file anything decodebin reads.
    File(PathBuf),
}

/// Containers we write, chosen by the output's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Mp4,
    Mkv,
    Webm,
}

/// Where output frames go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputSpec {
    File {
        path: PathBuf,
        container: Container,
    },
    /// Discard (benchmarks).
    Null,
}

impl InputSpec {
    /// Parses the INPUT argument and checks that a file input is a readable regular file.
    pub fn parse(arg: &str) -> Result<Self, StreamError> {
        for scheme in ["v4l2://", "rtsp://", "http://", "https://"] {
            if arg.starts_with(scheme) {
                return Err(StreamError::Unsupported(format!(
                    "input {arg}: live sources are not supported yet"
                )));
            }
        }
        if arg == "webcam" || arg == "testsrc" {
            return Err(StreamError::Unsupported(format!(
                "input {arg}: live sources are not supported yet"
            )));
        }
        let path = PathBuf::from(arg);
        let meta = std::fs::metadata(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StreamError::InputNotFound(path.clone()),
            _ => StreamError::InputUnreadable {
                path: path.clone(),
                reason: e.to_string(),
            },
        })?;
        if meta.is_dir() {
            return Err(StreamError::InputIsDirectory(path));
        }
        std::fs::File::open(&path).map_err(|e| StreamError::InputUnreadable {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        Ok(InputSpec::File(path))
    }
}

impl OutputSpec {
    /// Parses the OUTPUT argument: `null`, or a file whose extension picks the container.
    /// The file's directory must exist and be writable; the file itself is not created yet.
    pub fn parse(arg: &str) -> Result<Self, StreamError> {
        if arg == "null" {
            return Ok(OutputSpec::Null);
        }
        if arg.contains("://") || arg == "display" {
            return Err(StreamError::Unsupported(format!(
                "output {arg}: live outputs are not supported yet"
            )));
        }
        let path = PathBuf::from(arg);
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let container = match ext.as_deref() {
            Some("mp4") => Container::Mp4,
            Some("mkv") => Container::Mkv,
            Some("webm") => Container::Webm,
            _ => return Err(StreamError::UnknownOutputExtension(path)),
        };
        check_output_dir(&path)?;
        Ok(OutputSpec::File { path, container })
    }
}

impl std::fmt::Display for InputSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputSpec::File(path) => write!(f, "{}", path.display()),
        }
    }
}

impl std::fmt::Display for OutputSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputSpec::File { path, .. } => write!(f, "{}", path.display()),
            OutputSpec::Null => f.write_str("null"),
        }
    }
}

/// Fails early when the output could never be written, rather than after decoding starts.
pub fn check_output_dir(path: &Path) -> Result<(), StreamError> {
    check_writable_dir(path)?;
    if path.is_dir() {
        return Err(StreamError::OutputNotWritable {
            path: path.to_path_buf(),
            reason: "it is a directory".into(),
        });
    }
    Ok(())
}

fn check_writable_dir(path: &Path) -> Result<(), StreamError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(StreamError::OutputDirMissing(dir.to_path_buf()));
    }
    // Permissions bits lie for root and on some mounts: try to create a file.
    let probe = dir.join(format!(".metapix-write-test-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(StreamError::OutputNotWritable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_extensions_pick_containers() {
        let dir = tempfile::tempdir().unwrap();
        let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        assert!(matches!(
            OutputSpec::parse(&p("a.MP4")),
            Ok(OutputSpec::File {
                container: Container::Mp4,
                ..
            })
        ));
        assert!(matches!(
            OutputSpec::parse(&p("a.mkv")),
            Ok(OutputSpec::File {
                container: Container::Mkv,
                ..
            })
        ));
        assert!(matches!(
            OutputSpec::parse(&p("a.webm")),
            Ok(OutputSpec::File {
                container: Container::Webm,
                ..
            })
        ));
        assert!(matches!(
            OutputSpec::parse(&p("a.avi")),
            Err(StreamError::UnknownOutputExtension(_))
        ));
        assert!(matches!(
            OutputSpec::parse(&p("a")),
            Err(StreamError::UnknownOutputExtension(_))
        ));
        assert_eq!(OutputSpec::parse("null").unwrap(), OutputSpec::Null);
        assert!(matches!(
            OutputSpec::parse(&p("missing/a.mp4")),
            Err(StreamError::OutputDirMissing(_))
        ));
    }

    #[test]
    fn inputs_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.mp4");
        assert!(matches!(
            InputSpec::parse(missing.to_str().unwrap()),
            Err(StreamError::InputNotFound(_))
        ));
        assert!(matches!(
            InputSpec::parse(dir.path().to_str().unwrap()),
            Err(StreamError::InputIsDirectory(_))
        ));
        let file = dir.path().join("x.mp4");
        std::fs::write(&file, b"hello").unwrap();
        assert_eq!(
            InputSpec::parse(file.to_str().unwrap()).unwrap(),
            InputSpec::File(file)
        );
    }
}
