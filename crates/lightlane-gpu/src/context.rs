//! The long-lived GPU context: adapter choice, device with the adapter's limits, device-lost
//! and uncaptured-error handling, the pipeline cache and the buffer pools.

use crate::pool::{BufferPools, Pooled, Role};
use lightlane_core::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Environment variable: case-insensitive substring of the adapter name to use
/// (e.g. `llvmpipe`, `H200`). Unset: the most capable adapter (discrete > integrated > virtual > CPU).
pub const ADAPTER_ENV: &str = "LIGHTLANE_GPU_ADAPTER";

/// Smallest workgroup memory the kernels need (the FIR tile: 6144 f32).
pub const MIN_WORKGROUP_STORAGE: u32 = 6144 * 4;
/// Smallest storage-buffer binding the engine accepts (larger inputs are streamed in chunks).
pub const MIN_STORAGE_BINDING: u64 = 16 << 20;
/// Workgroup size of every kernel.
pub const WORKGROUP: u32 = 256;

/// How to choose the adapter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GpuOptions {
    /// Case-insensitive substring of the adapter name; `None` takes the most capable adapter.
    pub adapter: Option<String>,
}

impl GpuOptions {
    /// Options from the environment ([`ADAPTER_ENV`]).
    pub fn from_env() -> Self {
        GpuOptions {
            adapter: std::env::var(ADAPTER_ENV)
                .ok()
                .filter(|s| !s.trim().is_empty()),
        }
    }
}

/// Adapter facts for reports and benchmarks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    /// Adapter name as the driver reports it.
    pub name: String,
    /// Backend ("Vulkan", "Metal", ...).
    pub backend: String,
    /// Device type ("DiscreteGpu", "Cpu", ...).
    pub device_type: String,
    /// Driver name and version.
    pub driver: String,
    /// Whether GPU timestamp queries are available (the benches time kernels with them).
    pub timestamps: bool,
}

/// The GPU error type: `Error::Unusable { stage: "gpu", reason }`.
pub(crate) fn gpu_err(reason: impl Into<String>) -> Error {
    Error::Unusable {
        stage: "gpu",
        reason: reason.into(),
    }
}

/// A device and queue with the engine's caches. Create once ([`GpuContext::new`] or the
/// process-wide [`GpuContext::shared`]) and reuse: pipelines compile once per context and
/// buffers are recycled by role.
pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    features: wgpu::Features,
    lost: Arc<Mutex<Option<String>>>,
    uncaptured: Arc<Mutex<Option<String>>>,
    pipelines: Mutex<HashMap<(&'static str, &'static str, u64), wgpu::ComputePipeline>>,
    pub(crate) pools: Arc<BufferPools>,
    chunk_cap: std::sync::atomic::AtomicU64,
    tdecq_placement: std::sync::atomic::AtomicU8,
    /// Candidates a TDECQ batch may hold (0: by the adapter, [`GpuContext::tdecq_batch`]).
    tdecq_batch: std::sync::atomic::AtomicUsize,
    /// Bytes from which one-shot uploads go through the staging ring (0: by the adapter,
    /// `u64::MAX`: never; [`GpuContext::staged_upload_min`]).
    staged_min: std::sync::atomic::AtomicU64,
    /// The workgroup-private eye histograms count runs of consecutive segments per invocation
    /// ([`GpuContext::set_eye_runs`]).
    eye_runs: std::sync::atomic::AtomicBool,
    /// TDECQ's weighted histograms run the straight-line kernel for their column count
    /// ([`GpuContext::set_weighted_unrolled`]).
    weighted_unrolled: std::sync::atomic::AtomicBool,
    /// Host-side time by kind of operation, while on ([`GpuContext::ledger_start`]).
    ledger: Ledger,
}

/// The completion of a `map_async` (its callback sends the result).
pub(crate) type Mapping = std::sync::mpsc::Receiver<std::result::Result<(), wgpu::BufferAsyncError>>;

/// One kind of host-side operation in the [`GpuContext::ledger_take`] account.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LedgerRow {
    /// Calls.
    pub calls: u64,
    /// Bytes moved (uploads, readbacks; 0 for the rest).
    pub bytes: u64,
    /// Wall seconds, all calls together (calls on several threads add up).
    pub seconds: f64,
}

/// The account behind [`GpuContext::ledger_start`]: off unless started (then one atomic load
/// per operation).
#[derive(Default)]
struct Ledger {
    on: std::sync::atomic::AtomicBool,
    rows: Mutex<std::collections::BTreeMap<&'static str, LedgerRow>>,
}

impl Ledger {
    /// Runs `f`, adding its wall time (and `bytes`) to `kind` when the ledger is on.
    fn time<T>(&self, kind: &'static str, bytes: u64, f: impl FnOnce() -> T) -> T {
        if !self.on.load(std::sync::atomic::Ordering::Relaxed) {
            return f();
        }
        let t = std::time::Instant::now();
        let out = f();
        let dt = t.elapsed().as_secs_f64();
        if let Ok(mut rows) = self.rows.lock() {
            let r = rows.entry(kind).or_default();
            r.calls += 1;
            r.bytes += bytes;
            r.seconds += dt;
        }
        out
    }
}

/// Bytes from which [`GpuContext`]'s one-shot uploads go through a staging ring on a GPU
/// (`queue.write_buffer` copies on one thread into fresh staging memory: 4.4–5.5 GB/s for
/// 256 MiB on the H200 machine, where the ring streamed 26–28 GB/s).
pub const STAGED_UPLOAD_MIN: u64 = 32 << 20;
/// Chunk (slot) bytes of a staged one-shot upload.
const STAGED_UPLOAD_CHUNK: u64 = 32 << 20;

/// Rows (both windows together) from which the GPU engine plans TDECQ's histogram windows on
/// the device under [`TdecqPlacement::Raced`] and [`TdecqPlacement::Large`]. Each evaluation on
/// the device is a round trip (weights up, dispatch, wait, counts back: 3.7 ms a candidate on
/// the H200 machine for 2 × 8.4 M rows); the decimated search windows of the first stage
/// (~130 k rows at the default 32 768 search symbols) evaluate faster on the CPU's cores.
pub const TDECQ_GPU_MIN_ROWS: usize = 1 << 20;

/// Where the GPU engine evaluates TDECQ's histogram windows (the reference-equalizer search,
/// IEEE 802.3 121.8.5). The counts are the same everywhere, so the search and its result are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TdecqPlacement {
    /// Windows of at least [`TDECQ_GPU_MIN_ROWS`] rows are planned on the device and race the
    /// CPU (`lightlane_core::eye::TdecqHistograms::race`): after one warm-up evaluation, two
    /// are timed on both, and the CPU takes the rest of the search when it was faster (a
    /// many-core host), else the device keeps them.
    #[default]
    Raced,
    /// Windows of at least [`TDECQ_GPU_MIN_ROWS`] rows on the device, every evaluation.
    Large,
    /// Every window on the device, every evaluation (the conformance tests' setting).
    Device,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.info.name)
            .field("backend", &self.info.backend)
            .finish()
    }
}

fn type_rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

/// Checks that `limits` cover what the kernels need (workgroup memory, workgroup size,
/// storage bindings). `Err` names the first limit that is too small.
pub fn check_limits(limits: &wgpu::Limits) -> Result<()> {
    let checks: [(&str, u64, u64); 5] = [
        (
            "max_compute_workgroup_storage_size",
            limits.max_compute_workgroup_storage_size as u64,
            MIN_WORKGROUP_STORAGE as u64,
        ),
        (
            "max_compute_invocations_per_workgroup",
            limits.max_compute_invocations_per_workgroup as u64,
            WORKGROUP as u64,
        ),
        (
            "max_compute_workgroup_size_x",
            limits.max_compute_workgroup_size_x as u64,
            WORKGROUP as u64,
        ),
        (
            "max_storage_buffer_binding_size",
            limits.max_storage_buffer_binding_size,
            MIN_STORAGE_BINDING,
        ),
        (
            "max_storage_buffers_per_shader_stage",
            limits.max_storage_buffers_per_shader_stage as u64,
            6,
        ),
    ];
    for (name, have, need) in checks {
        if have < need {
            return Err(gpu_err(format!(
                "adapter limit {name} = {have} is below the {need} the kernels need"
            )));
        }
    }
    Ok(())
}

/// Devices opened by [`GpuContext::new`] in this process (see [`GpuContext::contexts_created`]).
static CREATED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl GpuContext {
    /// How many contexts (adapter + device setups) this process has opened: a batch of
    /// captures on the shared context opens one, however many files it analyses.
    pub fn contexts_created() -> usize {
        CREATED.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Opens the adapter chosen by `options` and creates a device with all the limits the
    /// adapter offers (so bindings can be as large as the hardware allows).
    ///
    /// Errors (`Error::Unusable { stage: "gpu", .. }`): no adapter (or none matching
    /// `options.adapter`), an adapter whose limits are below [`check_limits`], device creation
    /// failure.
    pub fn new(options: &GpuOptions) -> Result<GpuContext> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: wgpu::Backends::PRIMARY,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY));
        let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
        let mut candidates: Vec<wgpu::Adapter> = match &options.adapter {
            Some(want) => {
                let w = want.to_ascii_lowercase();
                adapters
                    .into_iter()
                    .filter(|a| a.get_info().name.to_ascii_lowercase().contains(&w))
                    .collect()
            }
            None => adapters,
        };
        candidates.sort_by_key(|a| type_rank(a.get_info().device_type));
        let adapter = match candidates.into_iter().next() {
            Some(a) => a,
            None => {
                return Err(gpu_err(match &options.adapter {
                    Some(w) => format!("no GPU adapter matches {ADAPTER_ENV}='{w}' (found: {names:?})"),
                    None => "no GPU adapter found (no Vulkan/Metal/DX12 driver; on Linux without a GPU install \
                             mesa-vulkan-drivers for the lavapipe CPU driver)"
                        .to_string(),
                }))
            }
        };
        let info = adapter.get_info();
        let limits = adapter.limits();
        check_limits(&limits).map_err(|e| gpu_err(format!("adapter '{}': {e}", info.name)))?;
        let features = adapter.features() & wgpu::Features::TIMESTAMP_QUERY;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("lightlane"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| {
            gpu_err(format!(
                "adapter '{}': device creation failed: {e}",
                info.name
            ))
        })?;
        CREATED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let lost = Arc::new(Mutex::new(None));
        let lost2 = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            if let Ok(mut l) = lost2.lock() {
                *l = Some(format!("device lost ({reason:?}): {msg}"));
            }
        });
        let uncaptured = Arc::new(Mutex::new(None));
        let unc2 = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut u) = unc2.lock() {
                u.get_or_insert_with(|| e.to_string());
            }
        }));
        Ok(GpuContext {
            device,
            queue,
            info,
            limits,
            features,
            lost,
            uncaptured,
            pipelines: Mutex::new(HashMap::new()),
            pools: Arc::new(BufferPools::default()),
            chunk_cap: std::sync::atomic::AtomicU64::new(0),
            tdecq_placement: std::sync::atomic::AtomicU8::new(0),
            tdecq_batch: std::sync::atomic::AtomicUsize::new(0),
            staged_min: std::sync::atomic::AtomicU64::new(0),
            eye_runs: std::sync::atomic::AtomicBool::new(false),
            weighted_unrolled: std::sync::atomic::AtomicBool::new(true),
            ledger: Ledger::default(),
        })
    }

    /// The process-wide context (created on first use with [`GpuOptions::from_env`]); the
    /// error of the first attempt is returned to every later caller without retrying.
    pub fn shared() -> Result<&'static GpuContext> {
        static CTX: OnceLock<std::result::Result<GpuContext, String>> = OnceLock::new();
        match CTX
            .get_or_init(|| GpuContext::new(&GpuOptions::from_env()).map_err(|e| e.to_string()))
        {
            Ok(c) => Ok(c),
            Err(e) => Err(gpu_err(e.clone())),
        }
    }

    /// Adapter facts.
    pub fn adapter(&self) -> AdapterSummary {
        AdapterSummary {
            name: self.info.name.clone(),
            backend: format!("{:?}", self.info.backend),
            device_type: format!("{:?}", self.info.device_type),
            driver: format!("{} {}", self.info.driver, self.info.driver_info),
            timestamps: self.features.contains(wgpu::Features::TIMESTAMP_QUERY),
        }
    }

    /// The device limits in force (the adapter's).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// Largest storage binding in bytes used for one chunk of a streamed input: the adapter's
    /// binding and buffer limits, or the cap set with [`GpuContext::set_max_chunk_bytes`].
    pub fn max_binding(&self) -> u64 {
        let hw = self
            .limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size);
        match self.chunk_cap.load(std::sync::atomic::Ordering::Relaxed) {
            0 => hw,
            cap => cap.min(hw),
        }
    }

    /// Caps the bytes of one streamed chunk (`None`: the adapter's limits). Bounds device
    /// memory per call and exercises the streaming path in tests. Values below 4 KiB are
    /// raised to 4 KiB.
    pub fn set_max_chunk_bytes(&self, bytes: Option<u64>) {
        let v = bytes.map(|b| b.max(4096)).unwrap_or(0);
        self.chunk_cap
            .store(v, std::sync::atomic::Ordering::Relaxed);
    }

    /// Sets where the GPU engine evaluates TDECQ's windows (default [`TdecqPlacement::Raced`]).
    pub fn set_tdecq_placement(&self, placement: TdecqPlacement) {
        let v = match placement {
            TdecqPlacement::Raced => 0,
            TdecqPlacement::Large => 1,
            TdecqPlacement::Device => 2,
        };
        self.tdecq_placement
            .store(v, std::sync::atomic::Ordering::Relaxed);
    }

    /// Where the GPU engine evaluates TDECQ's windows.
    pub fn tdecq_placement(&self) -> TdecqPlacement {
        match self.tdecq_placement.load(std::sync::atomic::Ordering::Relaxed) {
            0 => TdecqPlacement::Raced,
            1 => TdecqPlacement::Large,
            _ => TdecqPlacement::Device,
        }
    }

    /// Sets the most candidates TDECQ's pattern search hands the GPU engine at once (clamped
    /// to `1..=`[`crate::WEIGHTED_BATCH`]); `None`: by the adapter ([`GpuContext::tdecq_batch`]).
    pub fn set_tdecq_batch(&self, candidates: Option<usize>) {
        let v = candidates.map_or(0, |c| c.clamp(1, crate::WEIGHTED_BATCH));
        self.tdecq_batch.store(v, std::sync::atomic::Ordering::Relaxed);
    }

    /// The most candidates a TDECQ evaluation batch holds on this context
    /// (`lightlane_core::eye::TdecqHistograms::batch`). By default [`crate::WEIGHTED_BATCH`] on
    /// a GPU, where a round trip costs several evaluations' counting (H200: 3.7 ms a round
    /// trip against 0.43 ms of kernel), and 1 on a CPU driver (lavapipe), whose kernels cost
    /// more than its round trips, so speculative candidates would only add counting.
    pub fn tdecq_batch(&self) -> usize {
        match self.tdecq_batch.load(std::sync::atomic::Ordering::Relaxed) {
            0 if self.info.device_type == wgpu::DeviceType::Cpu => 1,
            0 => crate::WEIGHTED_BATCH,
            n => n,
        }
    }

    /// Whether the workgroup-private eye histograms (the kernels of histograms that fit a
    /// workgroup whole or a tile of phases at a time) count runs of consecutive segments per
    /// invocation, loading and quantizing each sample once (`eye_private_runs`,
    /// `eye_tiled_runs`), instead of one segment per invocation and step (`eye_private`,
    /// `eye_tiled`, the default). The counts are the same; `gpu_bench` times both.
    pub fn set_eye_runs(&self, runs: bool) {
        self.eye_runs.store(runs, std::sync::atomic::Ordering::Relaxed);
    }

    /// See [`GpuContext::set_eye_runs`].
    pub fn eye_runs(&self) -> bool {
        self.eye_runs.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether plans of TDECQ's weighted histograms made from now on run the kernel written
    /// for their column count (up to `shaders::WEIGHTED_UNROLLED_MAX_COLUMNS`; the default):
    /// the candidate's weights loaded once per invocation, each row's sum in straight-line
    /// code (`shaders::weighted_unrolled_source`), or the loop over any column count. The
    /// counts are the same; `gpu_bench` times both (on lavapipe, 2 × 131 k rows × 16 columns:
    /// 8.7 against 13.8 ms a candidate).
    pub fn set_weighted_unrolled(&self, unrolled: bool) {
        self.weighted_unrolled.store(unrolled, std::sync::atomic::Ordering::Relaxed);
    }

    /// See [`GpuContext::set_weighted_unrolled`].
    pub fn weighted_unrolled(&self) -> bool {
        self.weighted_unrolled.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The weighted-histogram pipeline for `ncols` columns: the straight-line one when
    /// [`GpuContext::weighted_unrolled`] and it has one for that count, else the loop form.
    pub(crate) fn pipeline_weighted(&self, ncols: usize) -> Result<wgpu::ComputePipeline> {
        if self.weighted_unrolled() && ncols <= crate::shaders::WEIGHTED_UNROLLED_MAX_COLUMNS {
            return self.pipeline_keyed("weighted_histogram", "weighted_histogram", ncols as u64, || crate::shaders::weighted_unrolled_source(ncols).map(Into::into));
        }
        self.pipeline("weighted_histogram", crate::shaders::WEIGHTED_HISTOGRAM, "weighted_histogram")
    }

    /// Sets the bytes from which one-shot uploads go through the staging ring (at least 4);
    /// `Some(u64::MAX)`: never; `None`: by the adapter ([`GpuContext::staged_upload_min`]).
    pub fn set_staged_upload_min(&self, bytes: Option<u64>) {
        let v = bytes.map_or(0, |b| b.max(4));
        self.staged_min.store(v, std::sync::atomic::Ordering::Relaxed);
    }

    /// Bytes from which one-shot uploads (a kernel's input: a capture to resample or equalize,
    /// TDECQ's windows) go through the staging ring instead of `queue.write_buffer`: by default
    /// [`STAGED_UPLOAD_MIN`] on a GPU and never on a CPU driver (lavapipe, where the ring's
    /// extra copy made it slower: 2.3 against 3.4 GB/s for 64 MiB).
    pub fn staged_upload_min(&self) -> u64 {
        match self.staged_min.load(std::sync::atomic::Ordering::Relaxed) {
            0 if self.info.device_type == wgpu::DeviceType::Cpu => u64::MAX,
            0 => STAGED_UPLOAD_MIN,
            n => n,
        }
    }

    /// Idle staging buffers the context keeps for the next [`crate::StagingRing`] (mapped,
    /// ready to fill).
    pub fn idle_staging_buffers(&self) -> usize {
        self.pools.idle_staging()
    }

    /// The wgpu device (for callers that add their own kernels).
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The wgpu queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// `Err` once the device has been lost or reported an uncaptured error; every kernel
    /// checks this first so a lost device gives a typed error rather than garbage.
    pub fn check_alive(&self) -> Result<()> {
        if let Some(l) = self.lost.lock().ok().and_then(|g| g.clone()) {
            return Err(gpu_err(l));
        }
        if let Some(u) = self.uncaptured.lock().ok().and_then(|g| g.clone()) {
            return Err(gpu_err(format!("device error: {u}")));
        }
        Ok(())
    }

    /// The compute pipeline of `entry` in the shader `source` (named `module`), compiled once
    /// per context and cached.
    pub(crate) fn pipeline(
        &self,
        module: &'static str,
        source: &'static str,
        entry: &'static str,
    ) -> Result<wgpu::ComputePipeline> {
        self.pipeline_keyed(module, entry, 0, || Some(source.into()))
    }

    /// The pipeline of `entry` in `source` (which starts with [`shaders::FFE_WINDOW`]) with the
    /// unrolled FFE's constants set to `taps` taps and reference tap `base`, compiled once per
    /// `(taps, base)`; `None` where [`shaders::with_ffe_window`] has no such variant.
    pub(crate) fn pipeline_ffe(
        &self,
        module: &'static str,
        source: &'static str,
        entry: &'static str,
        taps: usize,
        base: usize,
    ) -> Result<Option<wgpu::ComputePipeline>> {
        if !crate::shaders::has_ffe_window(source, taps, base) {
            return Ok(None);
        }
        // The source is written only when the variant is not cached yet.
        let variant = 1 + ((taps as u64) << 32 | base as u64);
        self.pipeline_keyed(module, entry, variant, || {
            crate::shaders::with_ffe_window(source, taps, base).map(Into::into)
        })
        .map(Some)
    }

    /// The eye-histogram pipeline of `entry` for `m` columns per sample interval: the
    /// straight-line `segment` of [`crate::shaders::eye_segment_source`] where m has one,
    /// compiled once per m, else the loop form.
    pub(crate) fn pipeline_eye(
        &self,
        entry: &'static str,
        m: usize,
    ) -> Result<wgpu::ComputePipeline> {
        if m == 0 || m > crate::shaders::EYE_SEGMENT_MAX_M {
            return self.pipeline("eye", crate::shaders::EYE, entry);
        }
        self.pipeline_keyed("eye", entry, m as u64, || {
            Some(
                crate::shaders::with_eye_segment(m)
                    .map_or(crate::shaders::EYE.into(), Into::into),
            )
        })
    }

    /// The pipeline of `entry` cached under `(module, entry, variant)`; on a miss compiled from
    /// `source()`, whose `None` (no such variant) is an error.
    fn pipeline_keyed(
        &self,
        module: &'static str,
        entry: &'static str,
        variant: u64,
        source: impl FnOnce() -> Option<std::borrow::Cow<'static, str>>,
    ) -> Result<wgpu::ComputePipeline> {
        let mut cache = self
            .pipelines
            .lock()
            .map_err(|_| gpu_err("pipeline cache poisoned"))?;
        if let Some(p) = cache.get(&(module, entry, variant)) {
            return Ok(p.clone());
        }
        let source = source().ok_or_else(|| {
            gpu_err(format!("no {module} shader variant {variant:#x} for {entry}"))
        })?;
        let p = self.scoped(|| {
            let sm = self
                .device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(module),
                    source: wgpu::ShaderSource::Wgsl(source),
                });
            self.device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(entry),
                    layout: None,
                    module: &sm,
                    entry_point: Some(entry),
                    compilation_options: Default::default(),
                    cache: None,
                })
        })?;
        cache.insert((module, entry, variant), p.clone());
        Ok(p)
    }

    /// Runs `f` inside validation and out-of-memory error scopes; a captured error becomes
    /// `Err`.
    pub(crate) fn scoped<T>(&self, f: impl FnOnce() -> T) -> Result<T> {
        self.check_alive()?;
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let v = pollster::block_on(val.pop());
        let o = pollster::block_on(oom.pop());
        if let Some(e) = o {
            return Err(gpu_err(format!("out of GPU memory: {e}")));
        }
        if let Some(e) = v {
            return Err(gpu_err(format!("validation error: {e}")));
        }
        self.check_alive()?;
        Ok(out)
    }

    /// A pooled buffer of at least `size` bytes for `role`.
    pub(crate) fn buffer(&self, role: Role, size: u64) -> Result<Pooled> {
        if size > self.limits.max_buffer_size {
            return Err(gpu_err(format!(
                "buffer of {size} bytes exceeds the adapter's max_buffer_size {}",
                self.limits.max_buffer_size
            )));
        }
        let pools = self.pools.clone();
        self.ledger.time("buffer from the pool", 0, || {
            self.scoped(|| pools.acquire(&self.device, role, size))
        })
    }

    /// Starts (afresh) the account of the host's time by kind of operation: buffers from the
    /// pool, uploads (written or through the staging ring; their buffers included), waits for
    /// the GPU before a readback, copies out of the mapping. `gpu_bench` prints it for the
    /// end-to-end run.
    pub fn ledger_start(&self) {
        if let Ok(mut rows) = self.ledger.rows.lock() {
            rows.clear();
        }
        self.ledger.on.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Stops the account and returns it, by kind of operation.
    pub fn ledger_take(&self) -> Vec<(&'static str, LedgerRow)> {
        self.ledger.on.store(false, std::sync::atomic::Ordering::Relaxed);
        self.ledger.rows.lock().map(|mut r| std::mem::take(&mut *r).into_iter().collect()).unwrap_or_default()
    }

    /// Bind group for `pipeline` group 0 from `(binding, buffer)` pairs (whole buffers).
    pub(crate) fn bind(
        &self,
        pipeline: &wgpu::ComputePipeline,
        entries: &[(u32, &wgpu::Buffer)],
    ) -> wgpu::BindGroup {
        let layout = pipeline.get_bind_group_layout(0);
        let e: Vec<wgpu::BindGroupEntry> = entries
            .iter()
            .map(|(b, buf)| wgpu::BindGroupEntry {
                binding: *b,
                resource: buf.as_entire_binding(),
            })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &layout,
            entries: &e,
        })
    }

    /// Workgroup grid for `groups` workgroups: `(x, y)` with x ≤ the per-dimension limit.
    pub(crate) fn grid(&self, groups: u32) -> (u32, u32) {
        grid_shape(groups, self.limits.max_compute_workgroups_per_dimension)
    }

    /// Copies `size` bytes of `src` (COPY_SRC) into a pooled readback buffer and returns them.
    pub(crate) fn read_back(&self, src: &wgpu::Buffer, size: u64) -> Result<Vec<u8>> {
        self.read_back_at(src, 0, size)
    }

    /// Copies `size` bytes of `src` from byte `offset` (a multiple of 4) and returns them.
    pub(crate) fn read_back_at(
        &self,
        src: &wgpu::Buffer,
        offset: u64,
        size: u64,
    ) -> Result<Vec<u8>> {
        let mut out = vec![0u8; size as usize];
        self.read_back_into(src, offset, &mut out)?;
        Ok(out)
    }

    /// Copies `dst.len()` bytes of `src` from byte `offset` (a multiple of 4) straight into
    /// `dst` (no intermediate vector).
    pub(crate) fn read_back_into(
        &self,
        src: &wgpu::Buffer,
        offset: u64,
        dst: &mut [u8],
    ) -> Result<()> {
        if dst.is_empty() {
            return Ok(());
        }
        let size = (dst.len() as u64).div_ceil(4) * 4;
        let rb = self.buffer(Role::Readback, size)?;
        let copied = self.scoped(|| {
            let mut enc = self.device.create_command_encoder(&Default::default());
            enc.copy_buffer_to_buffer(src, offset, rb.buffer(), 0, size);
            self.queue.submit([enc.finish()])
        })?;
        self.map_read_after(rb.buffer(), dst, Some(copied))
    }

    /// Maps a MAP_READ buffer last written by submission `written` (when known), copies its
    /// first `dst.len()` bytes into `dst` and unmaps it. The wait is for that submission, not
    /// for whatever other threads submitted since (the pipeline runs the eye beside
    /// equalization, and TDECQ's main positions beside each other, on one device); should the
    /// mapping still be pending, or `written` be unknown, it waits for all. Large reads copy
    /// out of the mapping on several threads: one thread's copy bounds the readback rate
    /// (DESIGN.md: 1.2–1.7 GB/s device → host, copy included).
    pub(crate) fn map_read_after(&self, buf: &wgpu::Buffer, dst: &mut [u8], written: Option<wgpu::SubmissionIndex>) -> Result<()> {
        let size = (dst.len() as u64).div_ceil(4) * 4;
        let (tx, rx) = std::sync::mpsc::channel();
        buf.slice(0..size).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.await_mapping(&rx, written, "readback: wait for the GPU")?
            .map_err(|e| gpu_err(format!("readback mapping failed: {e}")))?;
        let copied = buf
            .slice(0..size)
            .get_mapped_range()
            .map(|view| {
                let n = dst.len() as u64;
                self.ledger.time("readback: copy out", n, || parallel_copy(&view[..dst.len()], dst))
            })
            .map_err(|e| gpu_err(format!("readback mapping failed: {e}")));
        buf.unmap();
        self.check_alive()?;
        copied
    }

    /// Waits for a `map_async` whose callback sends into `rx`, of a buffer last used by
    /// submission `after` when known: for that submission first, then, while the mapping is
    /// still pending, for all work on the device. The waits count as `kind` in the ledger.
    /// Returns the mapping's own result; `Err` when the wait fails or the callback was dropped.
    pub(crate) fn await_mapping(&self, rx: &Mapping, mut after: Option<wgpu::SubmissionIndex>, kind: &'static str) -> Result<std::result::Result<(), wgpu::BufferAsyncError>> {
        loop {
            self.ledger
                .time(kind, 0, || self.device.poll(wgpu::PollType::Wait { submission_index: after.take(), timeout: None }))
                .map_err(|e| gpu_err(format!("waiting for the GPU failed: {e}")))?;
            self.check_alive()?;
            match rx.try_recv() {
                Ok(r) => return Ok(r),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return Err(gpu_err("buffer mapping was dropped")),
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
            }
        }
    }

    /// Uploads `data` into a pooled buffer of `role`, padded to 4 bytes: through
    /// `queue.write_buffer`, or from [`GpuContext::staged_upload_min`] bytes (a multiple of 4)
    /// through [`GpuContext::upload_staged`] (the staging ring's one-shot form; `gpu_bench`
    /// measures the two side by side).
    pub(crate) fn upload(&self, role: Role, data: &[u8]) -> Result<Pooled> {
        let bytes = data.len() as u64;
        if bytes >= self.staged_upload_min() && data.len().is_multiple_of(4) {
            let chunk = STAGED_UPLOAD_CHUNK.min(self.max_binding()).max(4) / 4 * 4;
            return self.ledger.time("upload (staging ring)", bytes, || self.upload_staged(role, data, chunk));
        }
        self.ledger.time("upload (write_buffer)", bytes, || self.upload_written(role, data))
    }

    /// [`GpuContext::upload`] through `queue.write_buffer` whatever the size.
    pub(crate) fn upload_written(&self, role: Role, data: &[u8]) -> Result<Pooled> {
        let size = (data.len() as u64).div_ceil(4).max(1) * 4;
        let buf = self.buffer(role, size)?;
        self.scoped(|| {
            if data.len().is_multiple_of(4) {
                self.queue.write_buffer(buf.buffer(), 0, data);
            } else {
                let mut padded = data.to_vec();
                padded.resize(size as usize, 0);
                self.queue.write_buffer(buf.buffer(), 0, &padded);
            }
        })?;
        Ok(buf)
    }

    /// Uploads `data` (a multiple of 4 bytes) into a pooled buffer of `role` through a
    /// [`crate::StagingRing`] of two `chunk`-byte slots: each chunk is copied into mapped
    /// staging memory on several threads, then on the device straight into its place in the
    /// buffer ([`crate::StagingRing::push_to`]), while the next chunk fills the other slot. The ring's staging buffers are of one size
    /// whatever `data`'s, so the context's pool serves every call after the first.
    pub(crate) fn upload_staged(&self, role: Role, data: &[u8], chunk: u64) -> Result<Pooled> {
        if !data.len().is_multiple_of(4) || chunk == 0 || !chunk.is_multiple_of(4) {
            return Err(gpu_err(format!(
                "staged upload of {} bytes in {chunk}-byte chunks: both must be multiples of 4",
                data.len()
            )));
        }
        let buf = self.buffer(role, (data.len() as u64).max(4))?;
        let mut ring = crate::StagingRing::new(self, chunk, 2)?;
        for (i, c) in data.chunks(chunk as usize).enumerate() {
            let at = i as u64 * chunk;
            ring.push_to(c, buf.buffer(), at)?;
        }
        ring.finish()?;
        Ok(buf)
    }

    /// A device buffer holding `prefix` followed by `y[range]` of the device buffer `y`:
    /// `prefix` is uploaded (small: a detector's history), `y[range]` copied on the device.
    /// Returns the buffer and its length in samples.
    pub(crate) fn join_resident(
        &self,
        prefix: &[f32],
        y: &Pooled,
        range: std::ops::Range<usize>,
    ) -> Result<(Pooled, usize)> {
        let n = prefix.len() + range.len();
        if n > self.elems_per_binding(4) {
            return Err(gpu_err(format!(
                "joined detector input: {n} samples exceed one binding"
            )));
        }
        let buf = self.buffer(Role::Output, n.max(1) as u64 * 4)?;
        self.scoped(|| {
            if !prefix.is_empty() {
                self.queue
                    .write_buffer(buf.buffer(), 0, bytemuck::cast_slice(prefix));
            }
            if !range.is_empty() {
                let mut enc = self.device.create_command_encoder(&Default::default());
                enc.copy_buffer_to_buffer(
                    y.buffer(),
                    range.start as u64 * 4,
                    buf.buffer(),
                    prefix.len() as u64 * 4,
                    range.len() as u64 * 4,
                );
                self.queue.submit([enc.finish()]);
            }
        })?;
        Ok((buf, n))
    }

    /// Waits for all submitted work.
    pub(crate) fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| gpu_err(format!("waiting for the GPU failed: {e}")))?;
        self.check_alive()
    }
}

/// Bytes from which [`parallel_copy`] uses several threads.
const PARALLEL_COPY: usize = 4 << 20;

/// Threads of a large host copy into or out of mapped memory: every core, up to 16. A fresh
/// destination is page-faulted by the copy itself, and faults are what bound it (H200 machine,
/// 16 cores, 256 MiB: 7.9–9.2 GB/s into a new vector on 8 threads; 10.6–11.5 GB/s when the
/// pool's 16 threads faulted it first, copy included; 20–21 GB/s into faulted memory).
pub(crate) fn copy_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(16)
}

/// `dst.copy_from_slice(src)`, on [`copy_threads`] threads for large copies.
pub(crate) fn parallel_copy(src: &[u8], dst: &mut [u8]) {
    if src.len() < PARALLEL_COPY {
        dst.copy_from_slice(src);
        return;
    }
    let threads = copy_threads();
    let per = src.len().div_ceil(threads);
    std::thread::scope(|s| {
        for (a, b) in src.chunks(per).zip(dst.chunks_mut(per)) {
            s.spawn(move || b.copy_from_slice(a));
        }
    });
}

/// Workgroup grid `(x, y)` covering `groups` workgroups with `x ≤ max`: the fewest rows, then
/// the narrowest row, so at most `y − 1` surplus workgroups (a full-width last row would waste
/// up to a whole row: 65 535 idle workgroups for 65 536). Kernels skip the surplus.
pub(crate) fn grid_shape(groups: u32, max: u32) -> (u32, u32) {
    let max = max.max(1);
    if groups <= max {
        (groups.max(1), 1)
    } else {
        let y = groups.div_ceil(max);
        (groups.div_ceil(y), y)
    }
}

#[cfg(test)]
mod tests {
    use super::{grid_shape, parallel_copy, GpuContext, Role};

    #[test]
    fn grid_covers_the_groups_with_less_than_a_row_of_surplus() {
        for max in [1u32, 7, 256, 65_535] {
            for groups in [
                0u32,
                1,
                2,
                max - 1,
                max,
                max + 1,
                2 * max,
                2 * max + 1,
                65_536,
                1 << 20,
                3_000_001,
            ] {
                let (x, y) = grid_shape(groups, max);
                assert!(x >= 1 && x <= max, "x {x} for {groups} groups, max {max}");
                let total = x as u64 * y as u64;
                assert!(total >= groups.max(1) as u64, "{x}x{y} < {groups}");
                assert!(
                    total - (groups.max(1) as u64) < y as u64,
                    "{x}x{y} wastes a row for {groups}"
                );
            }
        }
        assert_eq!(grid_shape(65_536, 65_535), (32_768, 2));
    }

    #[test]
    fn the_ledger_accounts_uploads_and_readbacks_only_while_on() {
        let Ok(ctx) = GpuContext::shared() else {
            assert!(std::env::var("LIGHTLANE_REQUIRE_GPU").ok().as_deref() != Some("1"), "no adapter");
            return;
        };
        let data = vec![7u8; 4096];
        // Off: nothing is counted.
        let _ = ctx.ledger_take();
        let b = ctx.upload(Role::Output, &data).unwrap();
        ctx.ledger_start();
        let b2 = ctx.upload(Role::Output, &data).unwrap();
        assert_eq!(ctx.read_back(b2.buffer(), 4096).unwrap(), data);
        let rows = ctx.ledger_take();
        // (Other tests may use the shared context meanwhile: at least ours are there.)
        let row = |k: &str| rows.iter().find(|(n, _)| *n == k).map(|(_, r)| *r).unwrap_or_default();
        assert!(row("upload (write_buffer)").calls >= 1 && row("upload (write_buffer)").bytes >= 4096, "{rows:?}");
        assert!(row("readback: copy out").calls >= 1 && row("readback: copy out").bytes >= 4096, "{rows:?}");
        assert!(row("readback: wait for the GPU").calls >= 1 && row("buffer from the pool").calls >= 2, "{rows:?}");
        assert!(rows.iter().all(|(_, r)| r.seconds >= 0.0));
        drop(b);
        let _ = ctx.upload(Role::Output, &data).unwrap();
        assert!(ctx.ledger_take().is_empty(), "stopped");
    }

    #[test]
    fn a_readback_waits_for_its_submission_and_survives_a_stale_one() {
        let Ok(ctx) = GpuContext::shared() else {
            assert!(std::env::var("LIGHTLANE_REQUIRE_GPU").ok().as_deref() != Some("1"), "no adapter");
            return;
        };
        // Large enough that the copy is still running when the stale submission is done.
        let n = 1 << 25;
        let data: Vec<u8> = (0..n).map(|i| (i * 7 + i / 251) as u8).collect();
        let src = ctx.upload(Role::Output, &data).unwrap();
        let rb = ctx.buffer(Role::Readback, n as u64).unwrap();
        // Another thread keeps the device busy with copies meanwhile (stopped before any
        // check, so a failure cannot leave it running).
        let stop = std::sync::atomic::AtomicBool::new(false);
        let reads = std::thread::scope(|s| {
            s.spawn(|| {
                let a = ctx.buffer(Role::Output, 1 << 22).unwrap();
                let b = ctx.buffer(Role::Output, 1 << 22).unwrap();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let mut enc = ctx.device.create_command_encoder(&Default::default());
                    enc.copy_buffer_to_buffer(a.buffer(), 0, b.buffer(), 0, 1 << 22);
                    ctx.queue.submit([enc.finish()]);
                    let _ = ctx.device.poll(wgpu::PollType::Poll);
                }
            });
            let reads: Vec<_> = [false, true]
                .into_iter()
                .map(|stale| {
                    // A submission before the copy (stale: the mapping is not ready after it).
                    let before = ctx.queue.submit([ctx.device.create_command_encoder(&Default::default()).finish()]);
                    let mut enc = ctx.device.create_command_encoder(&Default::default());
                    enc.copy_buffer_to_buffer(src.buffer(), 0, rb.buffer(), 0, n as u64);
                    let copied = ctx.queue.submit([enc.finish()]);
                    let mut out = vec![0u8; n];
                    let r = ctx.map_read_after(rb.buffer(), &mut out, Some(if stale { before } else { copied }));
                    (stale, r.map(|()| out))
                })
                .collect();
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            reads
        });
        for (stale, out) in reads {
            assert!(out.as_ref().is_ok_and(|o| *o == data), "stale {stale}: {:?}", out.err());
        }
        let mut out = vec![0u8; n];
        ctx.read_back_into(src.buffer(), 0, &mut out).unwrap();
        assert!(out == data);
    }

    #[test]
    fn awaiting_a_mapping_polls_until_its_callback_comes_or_is_dropped() {
        // The race-free half of the test above: the "mapping" answers 150 ms after the
        // submission it names is done, so one wait for that submission is not enough.
        let Ok(ctx) = GpuContext::shared() else {
            assert!(std::env::var("LIGHTLANE_REQUIRE_GPU").ok().as_deref() != Some("1"), "no adapter");
            return;
        };
        let done = ctx.queue.submit([ctx.device.create_command_encoder(&Default::default()).finish()]);
        let (tx, rx) = std::sync::mpsc::channel();
        let late = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(150));
            tx.send(Ok(())).unwrap();
        });
        assert!(matches!(ctx.await_mapping(&rx, Some(done), "test"), Ok(Ok(()))));
        late.join().unwrap();
        // A callback that was dropped unanswered is an error, not a hang.
        let (tx, rx) = std::sync::mpsc::channel::<std::result::Result<(), wgpu::BufferAsyncError>>();
        drop(tx);
        let e = ctx.await_mapping(&rx, None, "test").unwrap_err();
        assert!(e.to_string().contains("dropped"), "{e}");
    }

    #[test]
    fn staged_uploads_land_every_byte_in_place() {
        // Several chunks with a short last one, one chunk, exactly one chunk, read back whole;
        // unaligned data or chunks are errors.
        let Ok(ctx) = GpuContext::shared() else {
            assert!(std::env::var("LIGHTLANE_REQUIRE_GPU").ok().as_deref() != Some("1"), "no adapter");
            return;
        };
        let words = |n: usize| -> Vec<u8> {
            (0..n as u32).flat_map(|i| (i.wrapping_mul(2_654_435_761) ^ i).to_le_bytes()).collect()
        };
        for (bytes, chunk) in [(5 << 20 | 12, 1u64 << 20), (4096, 1 << 20), (1 << 20, 1 << 20)] {
            let data = words(bytes / 4);
            let b = ctx.upload_staged(Role::Output, &data, chunk).unwrap();
            assert!(ctx.read_back(b.buffer(), data.len() as u64).unwrap() == data, "{bytes} bytes in {chunk}-byte chunks");
        }
        let data = words(64);
        assert!(ctx.upload_staged(Role::Output, &data[..7], 1 << 20).is_err(), "unaligned data");
        assert!(ctx.upload_staged(Role::Output, &data[..8], 6).is_err(), "unaligned chunk");
    }

    #[test]
    fn one_shot_uploads_take_the_staging_ring_from_the_set_size() {
        // A fresh context: by the adapter (never on a CPU driver), then from 4 KiB: a large
        // aligned upload goes through the ring (its staging buffers then wait in the pool),
        // an unaligned or small one through write_buffer; every byte lands either way.
        let Ok(ctx) = GpuContext::new(&super::GpuOptions::from_env()) else {
            assert!(std::env::var("LIGHTLANE_REQUIRE_GPU").ok().as_deref() != Some("1"), "no adapter");
            return;
        };
        let by_adapter = if ctx.adapter().device_type == "Cpu" { u64::MAX } else { super::STAGED_UPLOAD_MIN };
        assert_eq!(ctx.staged_upload_min(), by_adapter);
        ctx.set_staged_upload_min(Some(4096));
        assert_eq!(ctx.staged_upload_min(), 4096);
        let data: Vec<u8> = (0..(3 << 20) + 12).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        assert_eq!(ctx.idle_staging_buffers(), 0);
        for (len, staged) in [(1000, false), (data.len() - 1, false), (data.len(), true)] {
            let b = ctx.upload(Role::Output, &data[..len]).unwrap();
            assert!(ctx.read_back(b.buffer(), len as u64).unwrap() == data[..len], "{len} bytes");
            assert_eq!(ctx.idle_staging_buffers() > 0, staged, "{len} bytes");
        }
        ctx.set_staged_upload_min(None);
        assert_eq!(ctx.staged_upload_min(), by_adapter);
    }

    #[test]
    fn parallel_copy_copies_every_byte() {
        for n in [0usize, 17, (4 << 20) - 1, (4 << 20) + 13, 9 << 20] {
            let src: Vec<u8> = (0..n).map(|i| (i * 31 + i / 257) as u8).collect();
            let mut dst = vec![0xAAu8; n];
            parallel_copy(&src, &mut dst);
            assert!(dst == src, "{n} bytes");
        }
    }
}
