//! `rtsp://ADDR:PORT/PATH`: an RTSP server (gst-rtsp-server) that any number of clients (OBS,
//! VLC, ffplay, gst-launch) can open, leave and reopen.
//!
//! One shared media per server: its pipeline (`pipelines/serve-rtsp.gst`, appsrc -> x264
//! zerolatency -> RTP) is built when the first client arrives and torn down when the last
//! one leaves; frames written while no client watches go nowhere. The server runs its own
//! GLib main loop on a thread. Finishing sends end-of-stream down the media, so clients see
//! the stream end rather than a dropped connection.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer_app::AppSrc;
use gstreamer_rtsp_server::prelude::*;
use gstreamer_rtsp_server::{RTSPFilterResult, RTSPMediaFactory, RTSPServer};

use super::common::{frame_buffer, init, rgb_caps};
use crate::stream::endpoints::FrameSink;
use crate::stream::{RtspAddress, StreamError};
use crate::Frame;

const SERVE_RTSP: &str = include_str!("../../../pipelines/serve-rtsp.gst");
/// How long clients get at most to receive the end of the stream and leave before the
/// server closes their connections. Clients on an idle machine leave within 0.3 s; a
/// client on a loaded one may still be decoding its backlog after 5 s, and closing its
/// connection then makes it fail instead of ending cleanly.
const EOS_GRACE: Duration = Duration::from_secs(10);

/// The media being served, while a client watches.
#[derive(Default)]
struct Served {
    frames: Option<AppSrc>,
    /// Frames pushed into a media (that is, sent to clients).
    count: u64,
}

/// A running RTSP server fed with frames.
pub struct RtspOutput {
    url: String,
    server: RTSPServer,
    source: Option<glib::SourceId>,
    context: glib::MainContext,
    main_loop: glib::MainLoop,
    thread: Option<JoinHandle<()>>,
    served: Arc<Mutex<Served>>,
    finished: bool,
}

/// Starts serving at `address`; fails with the reason when the address cannot be bound.
pub fn open(
    address: &RtspAddress,
    frame_size: (u32, u32),
    fps: Option<(i32, i32)>,
) -> Result<RtspOutput, StreamError> {
    init()?;
    let url = format!("rtsp://{}:{}{}", address.host, address.port, address.path);
    let failed = |reason: String| StreamError::Serve {
        url: url.clone(),
        reason,
    };
    for element in ["x264enc", "rtph264pay"] {
        if gst::ElementFactory::find(element).is_none() {
            return Err(StreamError::MissingElement {
                element: element.into(),
                package: super::common::package_of(element),
            });
        }
    }
    // The server only logs a failed bind; try it first for a reason the user can act on.
    if address.port != 0 {
        TcpListener::bind((address.host.as_str(), address.port)).map_err(|e| {
            failed(format!(
                "cannot listen on {}:{}: {e}",
                address.host, address.port
            ))
        })?;
    }

    let server = RTSPServer::new();
    server.set_address(&address.host);
    server.set_service(&address.port.to_string());
    let mounts = server
        .mount_points()
        .ok_or_else(|| failed("the server has no mount points".into()))?;
    let factory = RTSPMediaFactory::new();
    factory.set_launch(SERVE_RTSP.trim());
    factory.set_shared(true);
    let served = Arc::new(Mutex::new(Served::default()));
    let caps = rgb_caps(frame_size, fps);
    let slot = served.clone();
    factory.connect_media_configure(move |_, media| {
        let Ok(bin) = media.element().downcast::<gst::Bin>() else {
            return;
        };
        let Some(src) = bin
            .by_name_recurse_up("frames")
            .and_then(|e| e.downcast::<AppSrc>().ok())
        else {
            return;
        };
        src.set_caps(Some(&caps));
        slot.lock().expect("served media").frames = Some(src);
        let gone = slot.clone();
        media.connect_unprepared(move |_| {
            gone.lock().expect("served media").frames = None;
        });
    });
    mounts.add_factory(&address.path, factory);

    let context = glib::MainContext::new();
    let source = server.attach(Some(&context)).map_err(|e| {
        failed(format!(
            "cannot listen on {}:{}: {e}",
            address.host, address.port
        ))
    })?;
    let main_loop = glib::MainLoop::new(Some(&context), false);
    let (runner, loop_context) = (main_loop.clone(), context.clone());
    let thread = std::thread::Builder::new()
        .name("rtsp-server".into())
        .spawn(move || {
            let _ = loop_context.with_thread_default(|| runner.run());
        })
        .map_err(|e| failed(e.to_string()))?;
    let url = format!(
        "rtsp://{}:{}{}",
        address.host,
        server.bound_port(),
        address.path
    );
    tracing::info!("serving {url}");
    Ok(RtspOutput {
        url,
        server,
        source: Some(source),
        context,
        main_loop,
        thread: Some(thread),
        served,
        finished: false,
    })
}

impl FrameSink for RtspOutput {
    fn write(&mut self, frame: &Frame) -> Result<(), StreamError> {
        let mut served = self.served.lock().expect("served media");
        if let Some(src) = &served.frames {
            // The appsrc stamps the buffer with its running time (do-timestamp): a client
            // joining late starts at its own zero. A refused push means the media is going
            // away with its last client; the next one gets a new media.
            if src.push_buffer(frame_buffer(frame)).is_ok() {
                served.count += 1;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), StreamError> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        // No new clients from here on: one arriving now would wait for a media that has ended,
        // and keep the server up for the whole grace period below.
        self.stop_listening();
        let frames = self.served.lock().expect("served media").frames.take();
        if let Some(src) = frames {
            let _ = src.end_of_stream();
            // The media sends RTCP BYE once the end has gone through the payloader; clients
            // then tear down and leave. Wait for them (a loaded machine takes a while), up
            // to a limit, so that none is cut off before it has seen the end.
            let deadline = std::time::Instant::now() + EOS_GRACE;
            std::thread::sleep(Duration::from_millis(100));
            while !self.server.client_filter(None).is_empty()
                && std::time::Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            let staying = self.server.client_filter(None).len();
            if staying > 0 {
                tracing::warn!(
                    "{staying} client(s) still connected {EOS_GRACE:?} after the end was sent; \
                     closing their connections"
                );
            }
        }
        let count = self.served.lock().expect("served media").count;
        tracing::info!("served {count} frames at {}", self.url);
        self.stop();
        Ok(())
    }
}

impl RtspOutput {
    /// Stops accepting clients (the listening socket's source lives in our context, not the
    /// default one).
    fn stop_listening(&mut self) {
        if let Some(id) = self.source.take() {
            if let Some(source) = self.context.find_source_by_id(&id) {
                source.destroy();
            }
        }
    }

    /// Closes every client connection and stops the server's loop.
    fn stop(&mut self) {
        self.stop_listening();
        self.server
            .client_filter(Some(&mut |_, _| RTSPFilterResult::Remove));
        self.main_loop.quit();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RtspOutput {
    fn drop(&mut self) {
        self.stop();
    }
}
