//! Shared by the integration tests: where the binaries, the real footage and the MediaPipe
//! reference are, and small wrappers around real clients (ffprobe, gst-launch-1.0).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

pub const STREAM_BIN: &str = env!("CARGO_BIN_EXE_metapix-stream");
pub const METAPIX_BIN: &str = env!("CARGO_BIN_EXE_metapix");

/// The shared real footage: `$METAPIX_DATA`, else `../shared/data` beside the checkout.
/// Under CI it must be there; elsewhere tests that need it say so and skip.
pub fn data_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("METAPIX_DATA").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data")),
    ];
    let found = candidates
        .into_iter()
        .flatten()
        .find(|d| d.join("real").is_dir());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs the real footage in ../shared/data (or $METAPIX_DATA)"
        );
        eprintln!("SKIPPED: no ../shared/data and no $METAPIX_DATA");
    }
    found
}

/// A file of the shared footage, e.g. `real/driving/tfjs_pose_1.mp4`.
pub fn data_file(relative: &str) -> Option<PathBuf> {
    data_dir().map(|d| d.join(relative))
}

/// Runs a binary with `args` and returns its output (never inherits the terminal).
pub fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"))
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// What ffprobe (an independent reader) sees in a media file.
#[derive(Debug)]
pub struct Probe {
    pub frames: u64,
    pub fps: f64,
    pub width: u32,
    pub height: u32,
    pub duration: f64,
    /// Presentation time of the first video frame.
    pub video_start: f64,
    /// First and last instant of the audio track, from its packets (containers differ in
    /// whether they declare a track duration).
    pub audio_span: Option<(f64, f64)>,
}

pub fn probe(path: &Path) -> Probe {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-of",
            "json",
            "-show_streams",
            "-show_format",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs (make setup installs ffmpeg)");
    assert!(
        out.status.success(),
        "ffprobe failed on {}: {}",
        path.display(),
        stderr(&out)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe json");
    let streams = json["streams"].as_array().expect("streams");
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video")
        .expect("a video stream");
    let rate = video["r_frame_rate"].as_str().unwrap_or("0/1");
    let (n, d) = rate.split_once('/').expect("n/d rate");
    let num = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<f64>().ok());
    Probe {
        frames: num(&video["nb_read_frames"]).expect("frame count") as u64,
        fps: n.parse::<f64>().unwrap() / d.parse::<f64>().unwrap(),
        width: video["width"].as_u64().unwrap() as u32,
        height: video["height"].as_u64().unwrap() as u32,
        duration: num(&json["format"]["duration"]).expect("duration"),
        video_start: num(&video["start_time"]).unwrap_or(0.0),
        audio_span: audio_span(path),
    }
}

fn audio_span(path: &Path) -> Option<(f64, f64)> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "packet=pts_time,duration_time",
        ])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let mut span: Option<(f64, f64)> = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut fields = line.split(',').map(|f| f.trim().parse::<f64>().ok());
        let (Some(Some(pts)), Some(Some(dur))) = (fields.next(), fields.next()) else {
            continue;
        };
        span = Some(match span {
            None => (pts, pts + dur),
            Some((a, b)) => (a.min(pts), b.max(pts + dur)),
        });
    }
    span
}

/// Makes a clip with GStreamer's test sources: `frames` frames of a moving pattern (no
/// person) at `fps`, with a sine-tone audio track when `audio`.
pub fn make_clip(path: &Path, frames: u32, fps: u32, audio: bool) {
    let mut desc = format!(
        "videotestsrc num-buffers={frames} pattern=ball ! video/x-raw,width=320,height=240,framerate={fps}/1 \
         ! videoconvert ! video/x-raw,format=I420 ! x264enc speed-preset=ultrafast ! h264parse ! mp4mux name=mux \
         ! filesink location={}",
        path.display()
    );
    if audio {
        let samples = 48000 * frames as u64 / fps as u64;
        desc.push_str(&format!(
            " audiotestsrc num-buffers={} samplesperbuffer=1000 ! audio/x-raw,rate=48000 ! audioconvert ! avenc_aac ! mux.",
            samples / 1000
        ));
    }
    let out = Command::new("gst-launch-1.0")
        .arg("-q")
        .args(desc.split_whitespace())
        .output()
        .expect("gst-launch-1.0 runs (make setup installs gstreamer1.0-tools)");
    assert!(out.status.success(), "gst-launch failed: {}", stderr(&out));
}

/// Sends SIGINT, as Ctrl-C would.
pub fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Waits for `child` (`what`, in messages) to exit, killing it and failing after `limit`.
pub fn wait(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A 90-frame mp4 cut at 60% of its bytes (`cut.mp4` in `dir`): its index comes first
/// (faststart), so it opens and ends early, as a truncated download does.
pub fn make_cut_clip(dir: &Path) -> PathBuf {
    let clip = dir.join("clip.mp4");
    let status = Command::new("gst-launch-1.0")
        .args([
            "-q",
            "videotestsrc",
            "num-buffers=90",
            "!",
            "video/x-raw,width=160,height=120,framerate=30/1",
        ])
        .args([
            "!",
            "x264enc",
            "speed-preset=ultrafast",
            "!",
            "mp4mux",
            "faststart=true",
            "!",
            "filesink",
        ])
        .arg(format!("location={}", clip.display()))
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&clip).unwrap();
    let cut = dir.join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10]).unwrap();
    cut
}
