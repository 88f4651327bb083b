//! `rtsp://ADDR:PORT/PATH`: an RTSP server (gst-rtsp-server) that any number of clients (OBS,
//! VLC, ffplay, gst-launch) can open, leave and reopen.
//!
//! Streams of one process served on one address share its server, each at its own path
//! (`metapix serve`: rtsp://host:8554/alice, rtsp://host:8554/bob). Each path has one shared
//! media: its pipeline (`pipelines/serve-rtsp.gst`, appsrc -> x264 zerolatency -> RTP) is
//! built when the first client arrives and torn down when the last one leaves; frames written
//! while no client watches go nowhere. The server runs its own GLib main loop on a thread and
//! stops when its last path is finished. Finishing a path sends end-of-stream down its media,
//! so its clients see the stream end rather than a dropped connection.

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer_app::AppSrc;
use gstreamer_rtsp_server::prelude::*;
use gstreamer_rtsp_server::{
    RTSPClient, RTSPFilterResult, RTSPMedia, RTSPMediaFactory, RTSPServer,
};

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

/// The media being served at one path, while a client watches.
#[derive(Default)]
struct Served {
    media: Option<RTSPMedia>,
    frames: Option<AppSrc>,
    /// Frames pushed into a media (that is, sent to clients).
    count: u64,
}

/// A running RTSP server fed with frames at one path.
pub struct RtspOutput {
    url: String,
    path: String,
    server: Arc<Server>,
    served: Arc<Mutex<Served>>,
    finished: bool,
}

/// Starts serving at `address`; fails with the reason when the address cannot be bound or
/// its path is already served by this process.
pub fn open(
    address: &RtspAddress,
    frame_size: (u32, u32),
    fps: Option<(i32, i32)>,
) -> Result<RtspOutput, StreamError> {
    init()?;
    for element in ["x264enc", "rtph264pay"] {
        if gst::ElementFactory::find(element).is_none() {
            return Err(StreamError::MissingElement {
                element: element.into(),
                package: super::common::package_of(element),
            });
        }
    }
    let server = Server::for_address(address)?;
    let url = format!(
        "rtsp://{}:{}{}",
        address.host,
        server.server.bound_port(),
        address.path
    );
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
        let mut served = slot.lock().expect("served media");
        served.frames = Some(src);
        served.media = Some(media.clone());
        let gone = slot.clone();
        media.connect_unprepared(move |_| {
            let mut served = gone.lock().expect("served media");
            served.frames = None;
            served.media = None;
        });
    });
    if !server.mount(&address.path, factory) {
        return Err(StreamError::Serve {
            url,
            reason: "this path is already served by another stream".into(),
        });
    }
    tracing::info!("serving {url}");
    Ok(RtspOutput {
        url,
        path: address.path.clone(),
        server,
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
        // No new clients at this path from here on: one arriving now would wait for a media
        // that has ended, and keep the stream up for the whole grace period below.
        self.server.unmount(&self.path);
        let (frames, media) = {
            let mut served = self.served.lock().expect("served media");
            (served.frames.take(), served.media.clone())
        };
        if let (Some(src), Some(media)) = (frames, media) {
            let _ = src.end_of_stream();
            // The media sends RTCP BYE once the end has gone through the payloader; clients
            // then tear down and leave. Wait for them (a loaded machine takes a while), up
            // to a limit, so that none is cut off before it has seen the end.
            let deadline = Instant::now() + EOS_GRACE;
            std::thread::sleep(Duration::from_millis(100));
            while !self.server.watching(&media).is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let staying = self.server.watching(&media);
            if !staying.is_empty() {
                tracing::warn!(
                    "{} client(s) of {} still connected {EOS_GRACE:?} after the end was sent; \
                     closing their connections",
                    staying.len(),
                    self.url
                );
                staying.iter().for_each(|client| client.close());
            }
        }
        let count = self.served.lock().expect("served media").count;
        tracing::info!("served {count} frames at {}", self.url);
        Ok(())
    }
}

impl Drop for RtspOutput {
    /// An output dropped unfinished (its stream failed) closes its clients' connections.
    fn drop(&mut self) {
        if !self.finished {
            self.server.unmount(&self.path);
            if let Some(media) = self.served.lock().expect("served media").media.take() {
                self.server.watching(&media).iter().for_each(|c| c.close());
            }
        }
    }
}

/// One RTSP server and its main loop, shared by the outputs of this process served on its
/// address; it stops when the last of them is dropped.
struct Server {
    server: RTSPServer,
    context: glib::MainContext,
    main_loop: glib::MainLoop,
    source: Option<glib::SourceId>,
    thread: Option<JoinHandle<()>>,
    paths: Mutex<HashSet<String>>,
}

/// The servers running in this process, by host and port (port 0 asks for a new one each
/// time, so it is never shared).
type Servers = Mutex<HashMap<(String, u16), Weak<Server>>>;

fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(Default::default)
}

impl Server {
    /// The server of this process at `address`, started if there is none.
    fn for_address(address: &RtspAddress) -> Result<Arc<Server>, StreamError> {
        let key = (address.host.clone(), address.port);
        let mut servers = servers().lock().expect("rtsp servers");
        if let Some(server) = servers.get(&key).and_then(Weak::upgrade) {
            return Ok(server);
        }
        let server = Arc::new(Server::start(address)?);
        servers.retain(|_, s| s.strong_count() > 0);
        if address.port != 0 {
            servers.insert(key, Arc::downgrade(&server));
        }
        Ok(server)
    }

    fn start(address: &RtspAddress) -> Result<Server, StreamError> {
        let failed = |reason: String| StreamError::Serve {
            url: format!("rtsp://{}:{}{}", address.host, address.port, address.path),
            reason,
        };
        let cannot_listen = |e: &dyn std::fmt::Display| {
            failed(format!(
                "cannot listen on {}:{}: {e}",
                address.host, address.port
            ))
        };
        // The server only logs a failed bind; try it first for a reason the user can act on.
        if address.port != 0 {
            TcpListener::bind((address.host.as_str(), address.port))
                .map_err(|e| cannot_listen(&e))?;
        }
        let server = RTSPServer::new();
        server.set_address(&address.host);
        server.set_service(&address.port.to_string());
        let context = glib::MainContext::new();
        let source = server
            .attach(Some(&context))
            .map_err(|e| cannot_listen(&e))?;
        let main_loop = glib::MainLoop::new(Some(&context), false);
        let (runner, loop_context) = (main_loop.clone(), context.clone());
        let thread = std::thread::Builder::new()
            .name("rtsp-server".into())
            .spawn(move || {
                let _ = loop_context.with_thread_default(|| runner.run());
            })
            .map_err(|e| failed(e.to_string()))?;
        Ok(Server {
            server,
            context,
            main_loop,
            source: Some(source),
            thread: Some(thread),
            paths: Mutex::default(),
        })
    }

    /// Serves `factory` at `path`; false if this server already serves that path.
    fn mount(&self, path: &str, factory: RTSPMediaFactory) -> bool {
        let Some(mounts) = self.server.mount_points() else {
            return false;
        };
        if !self.paths.lock().expect("paths").insert(path.to_string()) {
            return false;
        }
        mounts.add_factory(path, factory);
        true
    }

    /// Stops serving `path` to new clients (those watching it stay).
    fn unmount(&self, path: &str) {
        if self.paths.lock().expect("paths").remove(path) {
            if let Some(mounts) = self.server.mount_points() {
                mounts.remove_factory(path);
            }
        }
    }

    /// The connected clients with a session on `media`.
    fn watching(&self, media: &RTSPMedia) -> Vec<RTSPClient> {
        let on_media = |client: &RTSPClient| {
            client.session_filter(None).iter().any(|session| {
                session
                    .filter(None)
                    .iter()
                    .any(|s| s.media().as_ref() == Some(media))
            })
        };
        self.server
            .client_filter(None)
            .into_iter()
            .filter(on_media)
            .collect()
    }
}

impl Drop for Server {
    /// Stops accepting clients, closes every connection and stops the main loop.
    fn drop(&mut self) {
        // The listening socket's source lives in our context, not the default one.
        if let Some(id) = self.source.take() {
            if let Some(source) = self.context.find_source_by_id(&id) {
                source.destroy();
            }
        }
        self.server
            .client_filter(Some(&mut |_, _| RTSPFilterResult::Remove));
        self.main_loop.quit();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
