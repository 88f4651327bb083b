//! `metapix serve CONFIG`: many streams in one process, each with its own input, output and
//! person. Each runs as `metapix-stream` would, on its own threads; one that fails or ends
//! leaves the others running, and Ctrl-C finishes them all. Streams served over RTSP on one
//! port share one server, each at its own path.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tch::Device;

use super::stream::StreamJob;
use super::JobError;
use crate::base::stats::RunStats;
use crate::generate::{batch, load_checkpoint, FrameGenerator, GenerateError};
use crate::jobs::progress::Progress;
use crate::model::checkpoint::Loaded;
use crate::model::device::{self, DeviceChoice};
use crate::model::ArchConfig;
use crate::pose::PoseConfig;
use crate::render::View;
use crate::stream::{InputSpec, OutputSpec};

/// What a stream may set. In `[defaults]` it applies to every stream that leaves it unset;
/// what neither sets takes `metapix-stream`'s defaults.
#[derive(Deserialize, Default, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct StreamFields {
    /// Names the stream in messages (streams only).
    pub name: Option<String>,
    pub input: Option<String>,
    pub output: Option<String>,
    /// A `metapix personalize` checkpoint (default: the built-in avatar).
    pub model: Option<PathBuf>,
    pub view: Option<ViewName>,
    pub size: Option<u32>,
    pub device: Option<DeviceName>,
    pub max_latency_ms: Option<u64>,
    pub reconnect: Option<u64>,
    /// Where to write the stream's JSON run summary.
    pub stats: Option<PathBuf>,
    /// Rates, drops and latencies once a second, each line starting with the stream's name.
    pub verbose: Option<bool>,
}

/// `view = "gen" | "skeleton" | "side-by-side"`.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
pub enum ViewName {
    Gen,
    Skeleton,
    SideBySide,
}

/// `device = "auto" | "cpu" | "cuda"`.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceName {
    Auto,
    Cpu,
    Cuda,
}

/// The configuration file, as written.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Batches generation across the streams whose models can share a launch (Pose2Im of
    /// one shape on one device), each round waiting at most this long after its first pose
    /// for the others' ([`crate::generate::batch`]). Unset: each stream generates alone.
    pub batch_ms: Option<u64>,
    #[serde(default)]
    pub defaults: StreamFields,
    #[serde(rename = "stream", default)]
    pub streams: Vec<StreamFields>,
}

/// Validated streams, ready to run.
#[derive(Debug)]
pub struct ServeJob {
    pub streams: Vec<(String, StreamJob)>,
    /// `batch_ms`: how long a batch's round waits for the streams' poses.
    pub batch_window: Option<Duration>,
}

/// The longest `batch_ms`: a round waits at most this for the streams (a frame at 30 fps).
const MAX_BATCH_MS: u64 = 33;

/// How one stream ended.
#[derive(Debug)]
pub struct StreamOutcome {
    pub name: String,
    pub result: Result<RunStats, JobError>,
}

impl ServeConfig {
    /// Reads CONFIG (TOML); a syntax error or unknown field comes with its line.
    pub fn read(path: &Path) -> Result<ServeConfig, JobError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            JobError::InvalidArgument(format!("cannot read {}: {e}", path.display()))
        })?;
        toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| format!(":{}", text[..s.start].matches('\n').count() + 1));
            JobError::InvalidArgument(format!(
                "{}{}: {}",
                path.display(),
                line.unwrap_or_default(),
                e.message().trim()
            ))
        })
    }

    /// Checks every stream as `metapix-stream` checks its arguments, before anything opens.
    /// An error names the stream and the field.
    pub fn validate(&self, pose: &PoseConfig) -> Result<ServeJob, JobError> {
        if self.streams.is_empty() {
            return Err(invalid(
                "no streams: add a [[stream]] with an input and an output",
            ));
        }
        if self.defaults.name.is_some() {
            return Err(invalid("[defaults] name: each stream names itself"));
        }
        if let Some(ms) = self.batch_ms.filter(|&ms| ms > MAX_BATCH_MS) {
            return Err(invalid(&format!(
                "batch_ms: {ms} ms is more than a frame at 30 fps ({MAX_BATCH_MS} ms): a round \
                 would wait longer than the frames come"
            )));
        }
        let mut streams: Vec<(String, StreamJob)> = Vec::new();
        let mut outputs: HashMap<String, String> = HashMap::new();
        for (i, fields) in self.streams.iter().enumerate() {
            let name = fields
                .name
                .clone()
                .ok_or_else(|| invalid(&format!("stream {}: name: missing", i + 1)))?;
            if streams.iter().any(|(n, _)| *n == name) {
                return Err(invalid(&format!("stream {name}: name: used twice")));
            }
            let job = self.stream_job(&name, fields, pose)?;
            let output = job.output.to_string();
            if job.output != OutputSpec::Null {
                if let Some(other) = outputs.insert(output.clone(), name.clone()) {
                    return Err(invalid(&format!(
                        "stream {name}: output: {output} is stream {other}'s output too"
                    )));
                }
            }
            streams.push((name, job));
        }
        // The streams that generate share the cores the pose stages leave.
        let generating = streams
            .iter()
            .filter(|(_, j)| j.view != View::Skeleton)
            .count();
        let threads = super::stream::generator_threads(streams.len(), generating);
        for (_, job) in streams.iter_mut() {
            job.cpu_threads = Some(threads);
        }
        Ok(ServeJob {
            streams,
            batch_window: self.batch_ms.map(Duration::from_millis),
        })
    }

    /// One stream's job: its fields over the defaults.
    fn stream_job(
        &self,
        name: &str,
        fields: &StreamFields,
        pose: &PoseConfig,
    ) -> Result<StreamJob, JobError> {
        let d = &self.defaults;
        let field = |field: &'static str| {
            move |e: JobError| invalid(&format!("stream {name}: {field}: {e}"))
        };
        let required = |value: &Option<String>, default: &Option<String>, what| {
            value
                .clone()
                .or_else(|| default.clone())
                .ok_or_else(|| invalid(&format!("stream {name}: {what}: missing")))
        };
        let input = required(&fields.input, &d.input, "input")?;
        let output = required(&fields.output, &d.output, "output")?;
        InputSpec::parse(&input).map_err(|e| field("input")(e.into()))?;
        OutputSpec::parse(&output).map_err(|e| field("output")(e.into()))?;
        let size = fields.size.or(d.size).unwrap_or(512);
        super::check_size(size).map_err(field("size"))?;
        let view = fields.view.or(d.view).map(View::from);
        let stats = fields.stats.clone().or_else(|| d.stats.clone());
        let device = fields.device.or(d.device).unwrap_or(DeviceName::Auto);
        let verbose = fields.verbose.or(d.verbose).unwrap_or(false);
        let mut job = StreamJob::new(&input, &output, view, size, pose.clone(), stats)?
            .with_model(
                fields.model.clone().or_else(|| d.model.clone()),
                device.into(),
            )
            .map_err(field("model"))?
            .with_live(fields.max_latency_ms.or(d.max_latency_ms), verbose)
            .map_err(field("max_latency_ms"))?
            .with_reconnect(fields.reconnect.or(d.reconnect))
            .map_err(field("reconnect"))?;
        job.name = Some(name.to_string());
        Ok(job)
    }
}

impl ServeJob {
    /// Runs every stream on its own threads until each has ended, failed or been stopped
    /// by `stop`; says how each ended as it ends.
    pub fn run(&self, stop: Arc<AtomicBool>) -> Vec<StreamOutcome> {
        let generators = match self.batch_window {
            Some(window) => self.batched_generators(window),
            None => self.streams.iter().map(|_| None).collect(),
        };
        std::thread::scope(|scope| {
            let running: Vec<_> = self
                .streams
                .iter()
                .zip(generators)
                .map(|((name, job), generator)| {
                    let stop = stop.clone();
                    let thread = std::thread::Builder::new().name(format!("stream {name}"));
                    let handle = thread.spawn_scoped(scope, move || {
                        let result = match generator {
                            Some(Err(e)) => Err(e),
                            Some(Ok(g)) => job.run_with(stop, &mut Progress::hidden(), Some(g)),
                            None => job.run(stop, &mut Progress::hidden()),
                        };
                        match &result {
                            Ok(stats) => tracing::info!(
                                "stream {name}: wrote {} frames to {} at {:.1} fps",
                                stats.frames_out,
                                stats.output,
                                stats.fps
                            ),
                            Err(e) => tracing::error!("stream {name} failed: {e}"),
                        }
                        result
                    });
                    (name.clone(), handle)
                })
                .collect();
            running
                .into_iter()
                .map(|(name, handle)| {
                    let result = match handle.map(|h| h.join()) {
                        Ok(Ok(result)) => result,
                        Ok(Err(_)) => Err(invalid("stopped by an internal error (a panic)")),
                        Err(e) => Err(invalid(&format!("cannot start its thread: {e}"))),
                    };
                    StreamOutcome { name, result }
                })
                .collect()
        })
    }

    /// Each generating stream's generator, loaded before any stream starts: the streams whose
    /// models can share a launch, two or more, become slots of one batch; the others get
    /// their own model. A stream whose model cannot be loaded gets its error.
    fn batched_generators(&self, window: Duration) -> Vec<Prepared> {
        let mut generators: Vec<Prepared> = self.streams.iter().map(|_| None).collect();
        for group in self.launch_groups(&mut generators) {
            let (d, kind) = (group.device, device::inference_kind(group.device));
            if group.members.len() == 1 {
                for (i, model) in group.members {
                    let choice = &self.streams[i].1.model;
                    let own = FrameGenerator::from_loaded(model, choice, d, kind);
                    generators[i] = Some(own.map_err(JobError::from));
                }
                continue;
            }
            let names: Vec<&str> = group
                .members
                .iter()
                .map(|(i, _)| self.streams[*i].0.as_str())
                .collect();
            tracing::info!("batching streams {} on {d:?}", names.join(", "));
            let metas: Vec<_> = group
                .members
                .iter()
                .map(|(i, m)| (*i, m.meta.clone()))
                .collect();
            let models = group.members.into_iter().map(|(_, m)| m).collect();
            match batch::start(models, d, kind, window) {
                Ok(slots) => {
                    for ((i, meta), slot) in metas.into_iter().zip(slots) {
                        generators[i] = Some(Ok(FrameGenerator::batched(meta, slot)));
                    }
                }
                Err(e) => {
                    let reason = match e {
                        GenerateError::Batch(reason) => reason,
                        other => other.to_string(),
                    };
                    for (i, _) in metas {
                        let e = GenerateError::Batch(reason.clone());
                        generators[i] = Some(Err(e.into()));
                    }
                }
            }
        }
        generators
    }

    /// The generating streams' models, loaded, in groups that can share a launch (an
    /// architecture that groups, one resolution, one device); a model that does not group
    /// is a group of its own. Load errors go to `generators`.
    fn launch_groups(&self, generators: &mut [Prepared]) -> Vec<LaunchGroup> {
        let mut groups: Vec<LaunchGroup> = Vec::new();
        for (i, (_, job)) in self.streams.iter().enumerate() {
            if job.view == View::Skeleton {
                continue;
            }
            let loaded = device::select(job.device)
                .map_err(JobError::from)
                .and_then(|d| Ok((d, load_checkpoint(&job.model, d)?)));
            let (device, model) = match loaded {
                Ok(loaded) => loaded,
                Err(e) => {
                    generators[i] = Some(Err(e));
                    continue;
                }
            };
            let (arch, resolution) = (model.meta.arch, model.meta.resolution);
            let joins = |g: &&mut LaunchGroup| {
                arch.groups_side_by_side()
                    && (g.device, g.arch, g.resolution) == (device, arch, resolution)
            };
            match groups.iter_mut().find(joins) {
                Some(group) => group.members.push((i, model)),
                None => groups.push(LaunchGroup {
                    device,
                    arch,
                    resolution,
                    members: vec![(i, model)],
                }),
            }
        }
        groups
    }
}

/// A stream's generator made before it starts (serve's batches), its load error, or None:
/// the stream loads its own.
type Prepared = Option<Result<FrameGenerator, JobError>>;

/// Streams whose models can run as one: their indexes and loaded checkpoints.
struct LaunchGroup {
    device: Device,
    arch: ArchConfig,
    resolution: u32,
    members: Vec<(usize, Loaded)>,
}

fn invalid(message: &str) -> JobError {
    JobError::InvalidArgument(message.to_string())
}

impl From<ViewName> for View {
    fn from(v: ViewName) -> View {
        match v {
            ViewName::Gen => View::Gen,
            ViewName::Skeleton => View::Skeleton,
            ViewName::SideBySide => View::SideBySide,
        }
    }
}

impl From<DeviceName> for DeviceChoice {
    fn from(d: DeviceName) -> DeviceChoice {
        match d {
            DeviceName::Auto => DeviceChoice::Auto,
            DeviceName::Cpu => DeviceChoice::Cpu,
            DeviceName::Cuda => DeviceChoice::Cuda,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> ServeConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn stream_fields_fall_back_to_the_defaults() {
        let job = config(
            "[defaults]\nsize = 256\nview = \"skeleton\"\nmax_latency_ms = 80\n\
             [[stream]]\nname = \"a\"\ninput = \"testsrc\"\noutput = \"null\"\n\
             [[stream]]\nname = \"b\"\ninput = \"testsrc\"\noutput = \"null\"\nsize = 128\n",
        )
        .validate(&PoseConfig::default())
        .unwrap();
        let (a, b) = (&job.streams[0].1, &job.streams[1].1);
        assert_eq!((a.size, b.size), (256, 128));
        assert_eq!((a.view, b.view), (View::Skeleton, View::Skeleton));
        assert_eq!(b.max_latency, Some(std::time::Duration::from_millis(80)));
    }

    #[test]
    fn generating_streams_share_the_cores_their_pose_stages_leave() {
        let stream = |name: &str, view: &str| {
            format!(
                "[[stream]]\nname = \"{name}\"\ninput = \"testsrc\"\noutput = \"null\"\n\
                 view = \"{view}\"\n"
            )
        };
        let text = stream("a", "gen") + &stream("b", "gen") + &stream("c", "skeleton");
        let job = config(&text).validate(&PoseConfig::default()).unwrap();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads: Vec<_> = job.streams.iter().map(|(_, j)| j.cpu_threads).collect();
        let each = threads[0].unwrap();
        assert!(threads.iter().all(|t| *t == Some(each)), "{threads:?}");
        // Three pose stages and two generators of `each` threads fit the cores, or each
        // generator has the one thread it cannot do without.
        assert!(
            3 + 2 * each <= cores.max(5),
            "{each} threads each on {cores} cores"
        );
    }
}
