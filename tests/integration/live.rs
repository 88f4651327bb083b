//! Live streams with real clients: metapix-stream testsrc -> its RTSP server -> gst-launch's
//! rtspsrc, reading back the frame counter stamped into every frame; clients that come and
//! go; an RTSP input; one-line errors for missing cameras, unreachable streams, taken ports.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use metapix::base::stamp;

use crate::errors::fails_with;
use crate::util::{interrupt, wait, STREAM_BIN};

/// Served frame side (`--view skeleton --size 256`).
const SIDE: usize = 256;

pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().unwrap().port()
}

/// Starts `metapix-stream INPUT OUTPUT ARGS...`, its stderr kept in `log`.
fn start_stream(input: &str, output: &str, args: &[&str], log: &Path) -> Child {
    Command::new(STREAM_BIN)
        .args([input, output, "-q"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("metapix-stream starts")
}

/// Waits until something listens on `port` (the models load first).
pub(crate) fn wait_for_server(port: u16, server: &mut Child, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = server.try_wait() {
            panic!("server exited ({status}): {}", read(log));
        }
        assert!(
            Instant::now() < deadline,
            "no server on {port}: {}",
            read(log)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Waits until the log at `path` contains `text`, failing with `what` and the log after a
/// minute.
pub(crate) fn wait_for_line(path: &Path, text: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !read(path).contains(text) {
        assert!(Instant::now() < deadline, "{what}: {}", read(path));
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What a client read: frames, when each arrived, and the counters stamped in them.
pub(crate) struct Received {
    pub frames: u64,
    pub arrivals: Vec<Instant>,
    pub counters: Vec<u32>,
}

/// A real RTSP client: gst-launch's rtspsrc over TCP, decoding to grey frames that it sends
/// to a socket read on a thread. Its own lines ("Got EOS", warnings, errors) go to `log`.
pub(crate) fn start_client(url: &str, log: &Path) -> (Child, JoinHandle<Received>) {
    let frames = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let frames_port = frames.local_addr().unwrap().port();
    let log = std::fs::File::create(log).unwrap();
    let child = Command::new("gst-launch-1.0")
        .env("LC_ALL", "C")
        .args(["rtspsrc", &format!("location={url}"), "latency=0"])
        .args(["protocols=tcp", "!", "decodebin", "!", "videoconvert", "!"])
        .args(["video/x-raw,format=GRAY8", "!", "tcpclientsink"])
        .args([
            "host=127.0.0.1",
            &format!("port={frames_port}"),
            "sync=false",
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("gst-launch-1.0 runs (make setup installs gstreamer1.0-tools)");
    let reader = std::thread::spawn(move || {
        let mut got = Received {
            frames: 0,
            arrivals: Vec::new(),
            counters: Vec::new(),
        };
        let Some(mut stream) = accept_within(&frames, Duration::from_secs(120)) else {
            return got;
        };
        let mut frame = vec![0u8; SIDE * SIDE];
        while stream.read_exact(&mut frame).is_ok() {
            got.frames += 1;
            got.arrivals.push(Instant::now());
            if let Some(s) = stamp::read_gray(&frame, SIDE as u32, SIDE as u32, SIDE) {
                got.counters.push(s.counter);
            }
        }
        got
    });
    (child, reader)
}

/// The first connection to `listener` within `limit` (none when the client failed first).
fn accept_within(listener: &TcpListener, limit: Duration) -> Option<TcpStream> {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                return Some(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("accepting the client's frames: {e}"),
        }
    }
    None
}

/// Whether a client ended by itself on the end of the stream: its pipeline got end-of-stream
/// and the server did not cut it off (rtspsrc turns a closed connection into end-of-stream too,
/// with this warning, and gst-launch then exits 0). It may fail after the end, while hanging up:
/// its PAUSE or TEARDOWN finding the server gone.
pub(crate) fn ended_by_itself(status: ExitStatus, log: &str) -> bool {
    let cut_off = log.contains("The server closed the connection");
    let eos = log.find("Got EOS from element");
    let failed_after = |eos| log.find("ERROR").is_some_and(|e| e > eos);
    !cut_off && eos.is_some_and(|eos| status.success() || failed_after(eos))
}

/// The number in the server's closing line `served N frames at URL`.
pub(crate) fn served(log: &str) -> u64 {
    served_at(log, "")
}

/// The number in the closing line `served N frames at URL...` of the URL starting so.
pub(crate) fn served_at(log: &str, url: &str) -> u64 {
    let at = format!(" frames at {url}");
    log.lines()
        .filter(|l| l.contains(&at))
        .find_map(|l| l.strip_prefix("served ")?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no 'served' line for {url}: {log}"))
}

#[test]
fn testsrc_over_rtsp_reaches_a_real_client_and_both_stop_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (log, json) = (dir.path().join("server.log"), dir.path().join("stats.json"));
    let port = free_port();
    let url = format!("rtsp://127.0.0.1:{port}/metapix");
    let args = ["--view", "skeleton", "--size", "256", "--stats"];
    let mut server = start_stream(
        "testsrc",
        &url,
        &[&args[..], &[json.to_str().unwrap()]].concat(),
        &log,
    );
    wait_for_server(port, &mut server, &log);
    let client_log = dir.path().join("client.log");
    let (mut client, reader) = start_client(&url, &client_log);
    std::thread::sleep(Duration::from_secs(5));
    interrupt(&server);
    let status = wait(&mut server, Duration::from_secs(30), "metapix-stream");
    let log = read(&log);
    assert!(status.success(), "metapix-stream: {status}: {log}");
    // The client ends by itself: it got end-of-stream, not a dropped connection.
    let client_status = wait(&mut client, Duration::from_secs(15), "the client");
    let got = reader.join().unwrap();
    let sent = served(&log);
    println!(
        "served {sent}, client decoded {} ({} stamps read); {log}",
        got.frames,
        got.counters.len()
    );
    let client_log = read(&client_log);
    assert!(
        ended_by_itself(client_status, &client_log),
        "client: {client_status}: {client_log}"
    );
    if !client_status.success() {
        println!("the client failed after the end of the stream: {client_log}");
    }
    assert!(sent >= 50, "too few frames served in 5 s: {sent}");
    assert!(
        got.frames as f64 >= 0.9 * sent as f64,
        "the client received {} of {sent} frames",
        got.frames
    );
    // What arrived is what metapix made, in order.
    assert!(got.counters.len() as f64 >= 0.9 * got.frames as f64);
    assert!(got.counters.windows(2).all(|w| w[0] < w[1]));
    let stats: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let (frames_in, out, dropped) = (
        stats["frames_in"].as_u64().unwrap(),
        stats["frames_out"].as_u64().unwrap(),
        stats["frames_dropped"].as_u64().unwrap(),
    );
    assert_eq!(
        frames_in,
        out + dropped,
        "every frame is written or counted"
    );
    assert!(stats["end_to_end"]["p95_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(stats["interrupted"], true);
}

#[test]
fn rtsp_clients_come_and_go_and_an_rtsp_input_ends_with_its_server() {
    let dir = tempfile::tempdir().unwrap();
    let (log, relay_log) = (dir.path().join("server.log"), dir.path().join("relay.log"));
    let relay_json = dir.path().join("relay.json");
    let port = free_port();
    let url = format!("rtsp://127.0.0.1:{port}/metapix");
    let args = ["--view", "skeleton", "--size", "256"];
    let mut server = start_stream("testsrc:320x240@15", &url, &args, &log);
    wait_for_server(port, &mut server, &log);
    // A client that stays, one that leaves early, and metapix itself reading the stream.
    let client_log = |name: &str| dir.path().join(format!("{name}.log"));
    let (mut stays, stays_reader) = start_client(&url, &client_log("first client"));
    let (mut leaves, leaves_reader) = start_client(&url, &client_log("leaver"));
    let relay_args = [&args[..], &["--stats", relay_json.to_str().unwrap()]].concat();
    let mut relay = start_stream(&url, "null", &relay_args, &relay_log);
    std::thread::sleep(Duration::from_secs(3));
    leaves.kill().unwrap();
    let _ = leaves.wait();
    std::thread::sleep(Duration::from_secs(1));
    let (mut late, late_reader) = start_client(&url, &client_log("late client"));
    std::thread::sleep(Duration::from_secs(3));
    interrupt(&server);
    assert!(wait(&mut server, Duration::from_secs(30), "server").success());
    for (child, name) in [(&mut stays, "first client"), (&mut late, "late client")] {
        let status = wait(child, Duration::from_secs(15), name);
        let client_log = read(&client_log(name));
        assert!(
            ended_by_itself(status, &client_log),
            "{name}: {status}: {client_log}\nserver: {}",
            read(&log)
        );
    }
    let (stays, leaves, late) = (
        stays_reader.join().unwrap(),
        leaves_reader.join().unwrap(),
        late_reader.join().unwrap(),
    );
    println!(
        "first {} frames, leaver {}, late {}",
        stays.frames, leaves.frames, late.frames
    );
    assert!(stays.frames >= 60, "{}", stays.frames);
    assert!(leaves.frames >= 15 && late.frames >= 15);
    assert!(late.counters.first() > stays.counters.first());
    // The stream metapix read ended with its server: a clean end, exit 0.
    let status = wait(&mut relay, Duration::from_secs(30), "the relay");
    assert!(status.success(), "relay: {status}: {}", read(&relay_log));
    let stats: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&relay_json).unwrap()).unwrap();
    assert!(stats["frames_out"].as_u64().unwrap() >= 30, "{stats}");
}

/// `--reconnect`: metapix reading an RTSP stream rides out its server going away and a new
/// one coming up on the same address, and reads on from it.
#[test]
fn an_rtsp_input_that_drops_out_is_reopened_with_reconnect() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let (first_log, second_log, relay_log) = (path("1.log"), path("2.log"), path("relay.log"));
    let relay_json = path("relay.json");
    let port = free_port();
    let url = format!("rtsp://127.0.0.1:{port}/metapix");
    let args = ["--view", "skeleton", "--size", "256"];
    let mut first = start_stream("testsrc:320x240@15", &url, &args, &first_log);
    wait_for_server(port, &mut first, &first_log);
    let relay_args = [
        &args[..],
        &["--reconnect", "30", "--stats", relay_json.to_str().unwrap()],
    ]
    .concat();
    let mut relay = start_stream(&url, "null", &relay_args, &relay_log);
    std::thread::sleep(Duration::from_secs(4));
    interrupt(&first);
    assert!(wait(&mut first, Duration::from_secs(30), "first server").success());
    let served_first = served(&read(&first_log));
    std::thread::sleep(Duration::from_secs(1));
    let mut second = start_stream("testsrc:320x240@15", &url, &args, &second_log);
    wait_for_server(port, &mut second, &second_log);
    wait_for_line(&relay_log, "input back", "no reconnection");
    std::thread::sleep(Duration::from_secs(3));
    interrupt(&relay);
    let status = wait(&mut relay, Duration::from_secs(30), "the relay");
    let log = read(&relay_log);
    assert!(status.success(), "relay: {status}: {log}");
    interrupt(&second);
    assert!(wait(&mut second, Duration::from_secs(30), "second server").success());
    assert!(log.contains("reconnecting"), "{log}");
    let stats: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&relay_json).unwrap()).unwrap();
    let frames_in = stats["frames_in"].as_u64().unwrap();
    println!("first server served {served_first}, the relay read {frames_in}; {log}");
    assert!(frames_in > served_first + 15, "{stats}");
}

/// `--verbose` keeps its once-a-second line while no frame comes out: a 1 ms budget drops
/// every frame as late, and the line says so.
#[test]
fn verbose_reports_while_every_frame_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stream.log");
    let args = [
        "--view",
        "skeleton",
        "--size",
        "256",
        "--max-latency-ms",
        "1",
        "-v",
    ];
    let mut stream = start_stream("testsrc:320x240@30", "null", &args, &log);
    std::thread::sleep(Duration::from_secs(6));
    interrupt(&stream);
    let status = wait(&mut stream, Duration::from_secs(30), "metapix-stream");
    let log = read(&log);
    assert!(status.success(), "metapix-stream: {status}: {log}");
    let lines: Vec<&str> = log.lines().filter(|l| l.starts_with("live:")).collect();
    assert!(lines.len() >= 2, "too few meter lines: {log}");
    assert!(lines.iter().all(|l| l.contains("out 0.0 fps")), "{log}");
    let dropped = |l: &str| -> u64 {
        let n = l.split("dropped ").nth(1).and_then(|r| r.split(' ').next());
        n.and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no drop count in {l}"))
    };
    assert!(lines.iter().any(|l| dropped(l) > 0), "{log}");
}

#[test]
fn live_errors_are_one_line() {
    fails_with(
        STREAM_BIN,
        &["v4l2:///dev/video-metapix-none", "null"],
        "camera /dev/video-metapix-none not found",
    );
    fails_with(
        STREAM_BIN,
        &["testsrc", "v4l2:///dev/video-metapix-none"],
        "modprobe v4l2loopback",
    );
    fails_with(STREAM_BIN, &["testsrc", "rtsp://127.0.0.1"], "rtsp://");
    fails_with(
        STREAM_BIN,
        &["testsrc", "null", "--reconnect", "5"],
        "--reconnect applies to cameras and network streams, not testsrc",
    );
    let desktop = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()));
    if !desktop {
        fails_with(STREAM_BIN, &["testsrc", "display"], "no desktop");
    }
    let port = free_port();
    for closed in [
        format!("rtsp://127.0.0.1:{port}/nothing"),
        format!("http://127.0.0.1:{port}/nothing.mp4"),
    ] {
        fails_with(
            STREAM_BIN,
            &[&closed, "null", "--view", "skeleton"],
            &format!("cannot open {closed}: no connection to 127.0.0.1:{port}"),
        );
    }
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "rtsp://127.0.0.1:{}/metapix",
        taken.local_addr().unwrap().port()
    );
    fails_with(
        STREAM_BIN,
        &["testsrc", &url, "--view", "skeleton"],
        "cannot serve",
    );
}
