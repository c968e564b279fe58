// FIR / FFE: y[k] = sum_j w[j] * x[k*sps + base - j], zero outside 0 <= index < n_in.
// `base` = reference tap c for an FFE (lightlane_core::eq::Ffe::equalize), or L-1 for a
// 'valid' convolution (lightlane_core::filter::Fir::process_valid). Accumulation is f32 in tap
// order j = 0..L-1.
//
// fir_tiled: a workgroup computes 256*R consecutive outputs; the input span they read,
// (256*R - 1)*sps + L samples, is staged once in workgroup memory (coalesced loads) so each
// input sample is read from device memory once per workgroup instead of L times.
// fir_direct: no staging, for spans larger than the tile.
// fir_unrolled: sps = 1, the unrolled four-outputs-per-invocation FFE of ffe_window.wgsl
// (prepended by shaders.rs; the host sets FW_TAPS = ntaps, FW_BASE = base), vec4 loads and a
// vec4 store: the last vec4 may write up to three outputs past n_out into the buffer's padding.
// fir_held: the reference receiver's filter (lightlane_core BesselThomsonFilter::apply): sps 1,
// the input's end samples held beyond its ends, `taps` uploaded last to first (g[j] = w[L-1-j]):
// y[k] = sum_j g[j] * x[clamp(k + base - (L-1) + j, 0, n_in - 1)], accumulated as the CPU's
// FMA paths (filter::simd) do: fma from 0, j ascending. Tiled as fir_tiled.

struct Params {
    n_in: u32,
    n_out: u32,
    sps: u32,
    base: u32,
    ntaps: u32,
    per_thread: u32,  // R, outputs per thread (tiled kernel)
    wg_x: u32,        // workgroups along x (2-D dispatch for large outputs)
    _pad: u32,
}

const TILE: u32 = 6144u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> taps: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
// x and y as vec4s (fir_unrolled; the same buffers as bindings 2 and 3).
@group(0) @binding(4) var<storage, read> xv: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> yv: array<vec4<f32>>;

var<workgroup> tile: array<f32, TILE>;

fn load_x(i: i32) -> f32 {
    if (i < 0 || u32(i) >= p.n_in) {
        return 0.0;
    }
    return x[u32(i)];
}

@compute @workgroup_size(256)
fn fir_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let wg = wid.x + wid.y * p.wg_x;
    let per_wg = 256u * p.per_thread;
    let k0 = wg * per_wg;
    // Input index of tile[0]: the lowest index any output of this workgroup reads.
    let start = i32(k0 * p.sps + p.base) - i32(p.ntaps - 1u);
    let span = (per_wg - 1u) * p.sps + p.ntaps;
    for (var i = lid; i < span; i = i + 256u) {
        tile[i] = load_x(start + i32(i));
    }
    workgroupBarrier();
    for (var r = 0u; r < p.per_thread; r = r + 1u) {
        let kl = r * 256u + lid;
        let k = k0 + kl;
        if (k < p.n_out) {
            // tile offset of x[k*sps + base - j] is kl*sps + (L-1) - j
            let top = kl * p.sps + p.ntaps - 1u;
            var acc = 0.0;
            for (var j = 0u; j < p.ntaps; j = j + 1u) {
                acc = acc + taps[j] * tile[top - j];
            }
            y[k] = acc;
        }
    }
}

@compute @workgroup_size(256)
fn fir_held(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let wg = wid.x + wid.y * p.wg_x;
    let per_wg = 256u * p.per_thread;
    let k0 = wg * per_wg;
    // tile[i] = x[start + i] (held at the ends); output k reads tile[k - k0 + j], j < L.
    let start = i32(k0 + p.base) - i32(p.ntaps - 1u);
    let span = per_wg - 1u + p.ntaps;
    let last = i32(p.n_in) - 1;
    for (var i = lid; i < span; i = i + 256u) {
        tile[i] = x[u32(clamp(start + i32(i), 0, last))];
    }
    workgroupBarrier();
    for (var r = 0u; r < p.per_thread; r = r + 1u) {
        let kl = r * 256u + lid;
        let k = k0 + kl;
        if (k < p.n_out) {
            var acc = 0.0;
            for (var j = 0u; j < p.ntaps; j = j + 1u) {
                acc = fma(taps[j], tile[kl + j], acc);
            }
            y[k] = acc;
        }
    }
}

@compute @workgroup_size(256)
fn fir_direct(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x + gid.y * p.wg_x * 256u;
    if (k >= p.n_out) {
        return;
    }
    let centre = i32(k * p.sps + p.base);
    var acc = 0.0;
    for (var j = 0u; j < p.ntaps; j = j + 1u) {
        acc = acc + taps[j] * load_x(centre - i32(j));
    }
    y[k] = acc;
}

@compute @workgroup_size(256)
fn fir_unrolled(@builtin(global_invocation_id) gid: vec3<u32>) {
    let t = gid.x + gid.y * p.wg_x * 256u;
    if (t * 4u >= p.n_out) {
        return;
    }
    yv[t] = ffe4(t, p.n_in);
}
