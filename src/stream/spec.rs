//! What the user named as input and output, parsed and checked before anything starts.

use std::path::{Path, PathBuf};

use super::StreamError;

/// Where frames come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSpec {
    /// A video file anything decodebin reads.
    File(PathBuf),
    /// A V4L2 camera (`webcam` is /dev/video0).
    Camera(PathBuf),
    /// A network stream (rtsp, http, https), read with uridecodebin.
    Url(String),
    /// The synthetic dancer as a live camera, stamped with a frame counter.
    TestSrc(TestSrc),
}

/// The size and rate of `testsrc` (`testsrc:640x480@30`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestSrc {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

impl Default for TestSrc {
    fn default() -> Self {
        Self {
            width: 640,
            height: 480,
            fps: 30,
        }
    }
}

/// Where the RTSP server listens and what it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtspAddress {
    pub host: String,
    pub port: u16,
    /// The mount path, starting with `/`.
    pub path: String,
}

/// The port `rtsp://HOST/PATH` listens on.
pub const DEFAULT_RTSP_PORT: u16 = 8554;

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
    /// Serve over RTSP (H.264) to any number of clients.
    Rtsp(RtspAddress),
    /// A v4l2loopback virtual camera.
    V4l2(PathBuf),
    /// A window on the desktop.
    Display,
}

impl InputSpec {
    /// Parses the INPUT argument and checks that a file input is a readable regular file
    /// and that a camera exists.
    pub fn parse(arg: &str) -> Result<Self, StreamError> {
        if arg == "testsrc" {
            return Ok(InputSpec::TestSrc(TestSrc::default()));
        }
        if let Some(format) = arg.strip_prefix("testsrc:") {
            return parse_testsrc(format).map(InputSpec::TestSrc);
        }
        if arg == "webcam" {
            return camera(Path::new("/dev/video0"));
        }
        if let Some(device) = arg.strip_prefix("v4l2://") {
            return camera(Path::new(device));
        }
        for scheme in ["rtsp://", "http://", "https://"] {
            if arg.starts_with(scheme) {
                if arg.len() == scheme.len() {
                    return Err(StreamError::BadUrl(arg.into(), "no host".into()));
                }
                return Ok(InputSpec::Url(arg.into()));
            }
        }
        if arg.contains("://") {
            return Err(StreamError::BadUrl(
                arg.into(),
                "use rtsp://, http://, https:// or v4l2://".into(),
            ));
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

    /// A live source: frames arrive on their own clock and may be dropped.
    pub fn is_live(&self) -> bool {
        !matches!(self, InputSpec::File(_))
    }
}

fn parse_testsrc(format: &str) -> Result<TestSrc, StreamError> {
    let bad = || {
        StreamError::BadTestSrc(format!(
            "testsrc:{format}: expected testsrc:WIDTHxHEIGHT@FPS, e.g. testsrc:640x480@30"
        ))
    };
    let (size, fps) = format.split_once('@').ok_or_else(bad)?;
    let (w, h) = size.split_once('x').ok_or_else(bad)?;
    let number = |s: &str| s.parse::<u32>().map_err(|_| bad());
    let spec = TestSrc {
        width: number(w)?,
        height: number(h)?,
        fps: number(fps)?,
    };
    if !(64..=4096).contains(&spec.width)
        || !(64..=4096).contains(&spec.height)
        || !(1..=240).contains(&spec.fps)
    {
        return Err(bad());
    }
    Ok(spec)
}

/// A camera input, checked to exist (a missing camera is the common mistake).
fn camera(device: &Path) -> Result<InputSpec, StreamError> {
    if device.as_os_str().is_empty() || !device.is_absolute() {
        return Err(StreamError::BadUrl(
            format!("v4l2://{}", device.display()),
            "expected v4l2:///dev/videoN".into(),
        ));
    }
    if !device.exists() {
        return Err(StreamError::CameraNotFound(device.to_path_buf()));
    }
    Ok(InputSpec::Camera(device.to_path_buf()))
}

impl OutputSpec {
    /// Parses the OUTPUT argument: `null`, or a file whose extension picks the container.
    /// The file's directory must exist and be writable; the file itself is not created yet.
    pub fn parse(arg: &str) -> Result<Self, StreamError> {
        match arg {
            "null" => return Ok(OutputSpec::Null),
            "display" => {
                // Without a desktop, autovideosink falls through to sinks that crash (DirectFB
                // segfaulted on the headless VM), so refuse here with the reason.
                let desktop = ["DISPLAY", "WAYLAND_DISPLAY"]
                    .iter()
                    .any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()));
                if !desktop {
                    return Err(StreamError::NoDesktop);
                }
                return Ok(OutputSpec::Display);
            }
            _ => {}
        }
        if let Some(rest) = arg.strip_prefix("rtsp://") {
            return parse_rtsp(arg, rest).map(OutputSpec::Rtsp);
        }
        if let Some(device) = arg.strip_prefix("v4l2://") {
            let device = PathBuf::from(device);
            if !device.is_absolute() {
                return Err(StreamError::BadUrl(
                    arg.into(),
                    "expected v4l2:///dev/videoN".into(),
                ));
            }
            if !device.exists() {
                return Err(StreamError::VirtualCameraNotFound(device));
            }
            return Ok(OutputSpec::V4l2(device));
        }
        if arg.contains("://") {
            return Err(StreamError::BadUrl(
                arg.into(),
                "outputs are files, rtsp://ADDR:PORT/PATH, v4l2:///dev/videoN, display or null"
                    .into(),
            ));
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

/// `rtsp://HOST[:PORT]/PATH`: where to listen (the host is bound as given; 127.0.0.1
/// unless the user names another) and the path served.
fn parse_rtsp(arg: &str, rest: &str) -> Result<RtspAddress, StreamError> {
    let bad = |why: &str| StreamError::BadUrl(arg.into(), why.into());
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if path.len() < 2 || path.contains(['?', '#', ' ']) {
        return Err(bad(
            "expected rtsp://ADDR:PORT/PATH, e.g. rtsp://127.0.0.1:8554/metapix",
        ));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') => {
            let port = port
                .parse::<u16>()
                .map_err(|_| bad("the port is not a number from 0 to 65535"))?;
            (host, port)
        }
        _ => (authority, DEFAULT_RTSP_PORT),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok(RtspAddress {
        host: if host.is_empty() { "127.0.0.1" } else { host }.to_string(),
        port,
        path: path.trim_end_matches('/').to_string(),
    })
}

impl std::fmt::Display for InputSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputSpec::File(path) => write!(f, "{}", path.display()),
            InputSpec::Camera(device) => write!(f, "v4l2://{}", device.display()),
            InputSpec::Url(url) => f.write_str(url),
            InputSpec::TestSrc(t) => write!(f, "testsrc:{}x{}@{}", t.width, t.height, t.fps),
        }
    }
}

impl std::fmt::Display for OutputSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputSpec::File { path, .. } => write!(f, "{}", path.display()),
            OutputSpec::Null => f.write_str("null"),
            OutputSpec::Rtsp(a) => write!(f, "rtsp://{}:{}{}", a.host, a.port, a.path),
            OutputSpec::V4l2(device) => write!(f, "v4l2://{}", device.display()),
            OutputSpec::Display => f.write_str("display"),
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

    #[test]
    fn live_inputs_are_parsed_and_checked() {
        assert_eq!(
            InputSpec::parse("testsrc").unwrap(),
            InputSpec::TestSrc(TestSrc::default())
        );
        assert_eq!(
            InputSpec::parse("testsrc:320x240@60").unwrap(),
            InputSpec::TestSrc(TestSrc {
                width: 320,
                height: 240,
                fps: 60
            })
        );
        for bad in ["testsrc:320x240", "testsrc:axb@3", "testsrc:320x240@0"] {
            assert!(
                matches!(InputSpec::parse(bad), Err(StreamError::BadTestSrc(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            InputSpec::parse("v4l2:///dev/video-none"),
            Err(StreamError::CameraNotFound(_))
        ));
        let url = "rtsp://127.0.0.1:1/x";
        assert_eq!(InputSpec::parse(url).unwrap(), InputSpec::Url(url.into()));
        assert!(InputSpec::parse(url).unwrap().is_live());
        assert!(matches!(
            InputSpec::parse("ftp://x/y"),
            Err(StreamError::BadUrl(..))
        ));
    }

    #[test]
    fn rtsp_outputs_name_address_port_and_path() {
        let rtsp = |s: &str| match OutputSpec::parse(s) {
            Ok(OutputSpec::Rtsp(a)) => Ok((a.host, a.port, a.path)),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e.to_string()),
        };
        let ok = |h: &str, p, path: &str| Ok((h.to_string(), p, path.to_string()));
        assert_eq!(
            rtsp("rtsp://127.0.0.1:8555/metapix"),
            ok("127.0.0.1", 8555, "/metapix")
        );
        assert_eq!(
            rtsp("rtsp://0.0.0.0/live/cam/"),
            ok("0.0.0.0", 8554, "/live/cam")
        );
        assert_eq!(rtsp("rtsp://:9000/a"), ok("127.0.0.1", 9000, "/a"));
        assert_eq!(rtsp("rtsp://[::1]:9000/a"), ok("::1", 9000, "/a"));
        assert!(rtsp("rtsp://127.0.0.1:8554").is_err());
        assert!(rtsp("rtsp://127.0.0.1:99999/a").is_err());
        assert!(matches!(
            OutputSpec::parse("v4l2:///dev/video-none"),
            Err(StreamError::VirtualCameraNotFound(_))
        ));
    }
}
