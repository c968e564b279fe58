// Workgroup-private histogram, shared by the histogram kernels (eye.wgsl,
// weighted_histogram.wgsl): shaders.rs prepends this file to theirs (WGSL has no include).
// A workgroup of 256 invocations clears `priv_hist[0..bins]`, counts into it with
// `atomicAdd(&priv_hist[b], 1u)`, and adds its non-zero bins to the including shader's global
// `hist: array<atomic<u32>>` at the end. Both helpers contain a workgroup barrier: call them
// from uniform control flow.

const PRIV_BINS: u32 = 4096u;

var<workgroup> priv_hist: array<atomic<u32>, PRIV_BINS>;

// Clears bins 0..bins (≤ PRIV_BINS) of the workgroup histogram.
fn priv_clear(lid: u32, bins: u32) {
    for (var b = lid; b < bins; b = b + 256u) {
        atomicStore(&priv_hist[b], 0u);
    }
    workgroupBarrier();
}

// Adds the workgroup histogram's non-zero bins 0..bins to the global `hist` from `base` on.
fn priv_flush(lid: u32, bins: u32, base: u32) {
    workgroupBarrier();
    for (var b = lid; b < bins; b = b + 256u) {
        let c = atomicLoad(&priv_hist[b]);
        if (c != 0u) {
            atomicAdd(&hist[base + b], c);
        }
    }
}
