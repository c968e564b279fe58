//! Buffer pools by role: buffers are recycled in power-of-two size classes per role, so a
//! stream of same-sized calls allocates device memory once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What a pooled buffer is used for (decides its usage flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Kernel input: STORAGE | COPY_DST.
    Input,
    /// Kernel output or accumulator: STORAGE | COPY_SRC | COPY_DST.
    Output,
    /// Host readback: MAP_READ | COPY_DST.
    Readback,
    /// Kernel parameters: UNIFORM | COPY_DST.
    Uniform,
}

impl Role {
    fn usage(self) -> wgpu::BufferUsages {
        use wgpu::BufferUsages as U;
        match self {
            Role::Input => U::STORAGE | U::COPY_DST,
            Role::Output => U::STORAGE | U::COPY_SRC | U::COPY_DST,
            Role::Readback => U::MAP_READ | U::COPY_DST,
            Role::Uniform => U::UNIFORM | U::COPY_DST,
        }
    }
}

/// Buffers kept per (role, size class).
const KEEP_PER_CLASS: usize = 4;
/// Smallest size class in bytes.
const MIN_CLASS: u64 = 256;

/// Free lists of buffers keyed by role and power-of-two size class, and the staging ring's
/// mapped staging buffers by size.
#[derive(Debug, Default)]
pub struct BufferPools {
    free: Mutex<HashMap<(Role, u64), Vec<wgpu::Buffer>>>,
    staging: Mutex<HashMap<u64, Vec<wgpu::Buffer>>>,
}

/// Most bytes of idle staging buffers kept for reuse (host-visible memory).
const STAGING_KEEP_BYTES: u64 = 512 << 20;

/// Size class of a request: the next power of two ≥ `size` (at least 256 bytes).
pub fn size_class(size: u64) -> u64 {
    size.max(MIN_CLASS).next_power_of_two()
}

impl BufferPools {
    /// A buffer of at least `size` bytes for `role`, from the pool or newly created.
    pub(crate) fn acquire(self: &Arc<Self>, device: &wgpu::Device, role: Role, size: u64) -> Pooled {
        let class = size_class(size);
        let reused = self.free.lock().ok().and_then(|mut f| f.get_mut(&(role, class)).and_then(|v| v.pop()));
        let buffer = reused.unwrap_or_else(|| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("lightlane pooled"),
                size: class,
                usage: role.usage(),
                mapped_at_creation: false,
            })
        });
        Pooled {
            buffer: Some(buffer),
            role,
            class,
            pools: self.clone(),
        }
    }

    /// Number of idle buffers held (all roles).
    pub fn idle(&self) -> usize {
        self.free.lock().map(|f| f.values().map(Vec::len).sum()).unwrap_or(0)
    }

    /// An idle staging buffer (MAP_WRITE | COPY_SRC, mapped for writing) of exactly `size`
    /// bytes, when one is kept.
    pub(crate) fn take_staging(&self, size: u64) -> Option<wgpu::Buffer> {
        self.staging.lock().ok().and_then(|mut f| f.get_mut(&size).and_then(|v| v.pop()))
    }

    /// Keeps `buffer`, a staging buffer that is mapped for writing, for
    /// [`take_staging`](Self::take_staging), within [`KEEP_PER_CLASS`] per size and
    /// [`STAGING_KEEP_BYTES`] in all (else it is dropped).
    pub(crate) fn put_staging(&self, buffer: wgpu::Buffer) {
        if let Ok(mut f) = self.staging.lock() {
            let held: u64 = f.values().flatten().map(|b| b.size()).sum();
            let list = f.entry(buffer.size()).or_default();
            if list.len() < KEEP_PER_CLASS && held + buffer.size() <= STAGING_KEEP_BYTES {
                list.push(buffer);
            }
        }
    }

    /// Number of idle staging buffers held.
    pub fn idle_staging(&self) -> usize {
        self.staging.lock().map(|f| f.values().map(Vec::len).sum()).unwrap_or(0)
    }
}

/// A buffer on loan from the pool; it returns there when dropped.
#[derive(Debug)]
pub struct Pooled {
    buffer: Option<wgpu::Buffer>,
    role: Role,
    class: u64,
    pools: Arc<BufferPools>,
}

impl Pooled {
    /// The wgpu buffer (its size is the size class, ≥ the requested size).
    pub fn buffer(&self) -> &wgpu::Buffer {
        self.buffer.as_ref().expect("present until drop")
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let (Some(b), Ok(mut f)) = (self.buffer.take(), self.pools.free.lock()) {
            let list = f.entry((self.role, self.class)).or_default();
            if list.len() < KEEP_PER_CLASS {
                list.push(b);
            }
        }
    }
}
