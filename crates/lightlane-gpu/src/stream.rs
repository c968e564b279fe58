//! The staging ring: streams host data larger than one binding to the device in chunks,
//! overlapping the host's copy into one staging buffer with the GPU's copy and compute of the
//! previous chunks.
//!
//! Each slot holds a mappable staging buffer (MAP_WRITE | COPY_SRC) and a device buffer. For a
//! chunk, [`StagingRing::push`] waits until the slot's staging buffer is mapped again (its
//! previous copy has finished), fills it (from several threads for large chunks: one thread's
//! memcpy into mapped memory caps near 10 GB/s), unmaps it, and submits the copy into the
//! slot's device buffer together with the caller's kernel. The next chunk goes to the next
//! slot while the GPU works on this one.

use crate::context::{gpu_err, GpuContext, Mapping};
use crate::pool::{Pooled, Role};
use lightlane_core::Result;
use std::sync::mpsc;

struct Slot {
    staging: wgpu::Buffer,
    /// The slot's device buffer, made on the first [`StagingRing::push`] through the slot
    /// ([`StagingRing::push_to`] copies into the caller's buffer and needs none).
    device: Option<Pooled>,
    /// Completion of the slot's pending `map_async`, when one is outstanding, and the
    /// submission that last used the slot (the one to wait for).
    mapping: Option<(Mapping, wgpu::SubmissionIndex)>,
    /// Whether `staging` is mapped for writing now (it goes back to the context's pool only then).
    mapped: bool,
}

/// A ring of staging + device buffer pairs (see the module docs).
pub struct StagingRing<'a> {
    ctx: &'a GpuContext,
    slots: Vec<Slot>,
    slot_bytes: u64,
    next: usize,
}

/// Bytes above which a chunk is copied into mapped memory by several threads.
const PARALLEL_FILL: usize = 4 << 20;

impl<'a> StagingRing<'a> {
    /// A ring of `slots` pairs of `slot_bytes` each (rounded up to 4 bytes). The staging
    /// buffers come from the context's pool when it holds mapped ones of this size, and go back
    /// there (mapped) when the ring is dropped: a new staging buffer is mapped at creation,
    /// which makes wgpu zero its whole size on the host (a 64 MiB slot costs tens of
    /// milliseconds of the calling thread, every call).
    pub fn new(ctx: &'a GpuContext, slot_bytes: u64, slots: usize) -> Result<Self> {
        let slot_bytes = slot_bytes.div_ceil(4).max(1) * 4;
        let slots = (0..slots.max(1))
            .map(|_| {
                let staging = match ctx.pools.take_staging(slot_bytes) {
                    Some(b) => b,
                    None => ctx.scoped(|| {
                        ctx.device.create_buffer(&wgpu::BufferDescriptor {
                            label: Some("lightlane staging"),
                            size: slot_bytes,
                            usage: wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC,
                            mapped_at_creation: true,
                        })
                    })?,
                };
                Ok(Slot {
                    staging,
                    device: None,
                    mapping: None,
                    mapped: true,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(StagingRing {
            ctx,
            slots,
            slot_bytes,
            next: 0,
        })
    }

    /// Bytes per chunk.
    pub fn slot_bytes(&self) -> u64 {
        self.slot_bytes
    }

    /// Uploads `data` (at most `slot_bytes`) into the next slot and submits the copy and the
    /// commands `record` encodes, which get the slot's device buffer (the chunk sits at its
    /// start; bytes past `data.len()` are stale).
    pub fn push(&mut self, data: &[u8], record: impl FnOnce(&mut wgpu::CommandEncoder, &wgpu::Buffer)) -> Result<()> {
        let slot = &mut self.slots[self.next];
        let device = match &slot.device {
            Some(d) => d.buffer().clone(),
            None => slot.device.insert(self.ctx.buffer(Role::Input, self.slot_bytes)?).buffer().clone(),
        };
        self.submit_chunk(data, |enc, staging, len| {
            if len > 0 {
                enc.copy_buffer_to_buffer(staging, 0, &device, 0, len);
            }
            record(enc, &device);
        })
    }

    /// Uploads `data` (at most `slot_bytes`) straight into `dst` from byte `at` (a multiple of
    /// 4; `dst` has COPY_DST): the staging buffer is copied there instead of into the slot's
    /// device buffer. Bytes past `data.len()` up to the next multiple of 4 are stale.
    pub fn push_to(&mut self, data: &[u8], dst: &wgpu::Buffer, at: u64) -> Result<()> {
        self.submit_chunk(data, |enc, staging, len| {
            if len > 0 {
                enc.copy_buffer_to_buffer(staging, 0, dst, at, len);
            }
        })
    }

    /// Fills the next slot's staging buffer with `data` and submits what `record` encodes
    /// (given the staging buffer and the bytes filled, `data.len()` rounded up to 4), then
    /// re-maps the staging buffer.
    fn submit_chunk(&mut self, data: &[u8], record: impl FnOnce(&mut wgpu::CommandEncoder, &wgpu::Buffer, u64)) -> Result<()> {
        if data.len() as u64 > self.slot_bytes {
            return Err(gpu_err(format!("chunk of {} bytes exceeds the ring's {} bytes", data.len(), self.slot_bytes)));
        }
        let ctx = self.ctx;
        let idx = self.next;
        self.next = (idx + 1) % self.slots.len();
        let slot = &mut self.slots[idx];
        if let Some((rx, used)) = slot.mapping.take() {
            wait_mapped(ctx, &rx, used)?;
            slot.mapped = true;
        }
        let len = (data.len() as u64).div_ceil(4) * 4;
        if len > 0 {
            let mut view = slot
                .staging
                .slice(0..len)
                .get_mapped_range_mut()
                .map_err(|e| gpu_err(format!("staging buffer not mapped: {e}")))?;
            let mut dst = view.slice(..data.len());
            if data.len() >= PARALLEL_FILL {
                let threads = crate::context::copy_threads();
                let per = data.len().div_ceil(threads);
                std::thread::scope(|s| {
                    let mut rest = dst;
                    for src in data.chunks(per) {
                        let (head, tail) = rest.split_at(src.len());
                        rest = tail;
                        let mut part = SendWriteOnly(head);
                        s.spawn(move || {
                            let part = &mut part;
                            part.0.copy_from_slice(src)
                        });
                    }
                });
            } else {
                dst.copy_from_slice(data);
            }
        }
        slot.staging.unmap();
        slot.mapped = false;
        let used = ctx.scoped(|| {
            let mut enc = ctx.device.create_command_encoder(&Default::default());
            record(&mut enc, &slot.staging, len);
            ctx.queue.submit([enc.finish()])
        })?;
        // Re-map for the next use; completes once this submission is done with the buffer.
        let (tx, rx) = mpsc::channel();
        slot.staging.slice(..).map_async(wgpu::MapMode::Write, move |r| {
            let _ = tx.send(r);
        });
        slot.mapping = Some((rx, used));
        // Let wgpu make progress on earlier submissions without blocking.
        let _ = ctx.device.poll(wgpu::PollType::Poll);
        Ok(())
    }

    /// The submission of the chunk pushed last (what a readback of its results waits for:
    /// [`GpuContext::map_read_after`](crate::GpuContext)); `None` before the first.
    pub(crate) fn last_submission(&self) -> Option<wgpu::SubmissionIndex> {
        let n = self.slots.len();
        self.slots[(self.next + n - 1) % n].mapping.as_ref().map(|(_, used)| used.clone())
    }

    /// Waits for every submitted chunk (each slot's last submission, whose re-mapping then
    /// completes; not for other work on the device).
    pub fn finish(&mut self) -> Result<()> {
        for slot in &mut self.slots {
            if let Some((rx, used)) = slot.mapping.take() {
                wait_mapped(self.ctx, &rx, used)?;
                slot.mapped = true;
            }
        }
        Ok(())
    }
}

impl Drop for StagingRing<'_> {
    /// Returns the staging buffers that are mapped (after waiting for pending re-mappings) to
    /// the context's pool; a failed wait (a lost device) drops them instead.
    fn drop(&mut self) {
        for mut slot in self.slots.drain(..) {
            if let Some((rx, used)) = slot.mapping.take() {
                slot.mapped = wait_mapped(self.ctx, &rx, used).is_ok();
            }
            if slot.mapped {
                self.ctx.pools.put_staging(slot.staging);
            }
        }
    }
}

/// A disjoint piece of a write mapping, moved to a fill thread.
struct SendWriteOnly<'a>(wgpu::WriteOnly<'a, [u8]>);

// SAFETY: `WriteOnly<[u8]>` is an exclusive, write-only view of its own byte range (like
// `&mut [u8]`, which is Send); the pieces come from `split_at` and never overlap, and the scope
// joins every thread before the mapping is dropped or unmapped. wgpu implements Send only for
// sized `T` (an artefact of the impl's implicit `Sized` bound), not by design for slices.
unsafe impl Send for SendWriteOnly<'_> {}

/// Waits for the mapping `rx` of a staging buffer last used by submission `used`
/// ([`GpuContext::await_mapping`]).
fn wait_mapped(ctx: &GpuContext, rx: &Mapping, used: wgpu::SubmissionIndex) -> Result<()> {
    ctx.await_mapping(rx, Some(used), "upload: wait for a staging slot")?
        .map_err(|e| gpu_err(format!("staging buffer mapping failed: {e}")))
}
