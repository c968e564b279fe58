// Unrolled symbol-spaced FFE (sps = 1), shared by fir.wgsl (`fir_unrolled`) and
// slice_count.wgsl (`ffe_slice_count_unrolled`): shaders.rs prepends this file to theirs (WGSL
// has no include). The including shader declares `taps: array<f32>` (the tap weights) and
// `xv: array<vec4<f32>>` (the input as vec4s, bound to a buffer of at least ceil(n_in / 4)
// vec4s; values at indices >= n_in are masked, whatever the padding holds).
//
// y[k] = sum_j w[j] * x[k + FW_BASE - j], zero outside 0 <= index < n_in, accumulated in f32
// in tap order j = 0..L-1 (as fir.wgsl). An invocation computes the four outputs 4t .. 4t+3
// from one window of FW_NV vec4 loads kept in registers: the tap count and the reference tap
// are constants (the host writes them into the two lines below per FFE: shaders.rs
// `with_ffe_window`), so every loop has a constant trip count, unrolls, and the window and the
// weights never touch local memory.

const FW_TAPS: u32 = 15u;
const FW_BASE: i32 = 7;

// Input index of the window's first sample relative to 4t, its offset inside its vec4
// (FW_REM) and that vec4's index relative to t (FW_V0); FW_NV vec4s hold the REM + L + 3
// samples the four outputs read.
const FW_OFF: i32 = FW_BASE - i32(FW_TAPS) + 1;
const FW_REM: u32 = u32(((FW_OFF % 4) + 4) % 4);
const FW_V0: i32 = (FW_OFF - i32(FW_REM)) / 4;
const FW_NV: u32 = (FW_REM + FW_TAPS + 6u) / 4u;

// The four outputs y[4t .. 4t+4] of an input of n_in samples (n_in >= 1).
fn ffe4(t: u32, n_in: u32) -> vec4<f32> {
    var w: array<f32, FW_TAPS>;
    for (var j = 0u; j < FW_TAPS; j = j + 1u) {
        w[j] = taps[j];
    }
    let v0 = i32(t) + FW_V0;
    var win: array<vec4<f32>, FW_NV>;
    if (v0 >= 0 && (v0 + i32(FW_NV)) * 4 <= i32(n_in)) {
        for (var i = 0u; i < FW_NV; i = i + 1u) {
            win[i] = xv[u32(v0) + i];
        }
    } else {
        // Near either end: clamp the vec4 index into the input, mask samples outside it.
        let last = i32((n_in + 3u) / 4u) - 1;
        for (var i = 0u; i < FW_NV; i = i + 1u) {
            let vi = v0 + i32(i);
            let g = vec4<i32>(vi * 4) + vec4<i32>(0, 1, 2, 3);
            let inside = (g >= vec4<i32>(0)) & (g < vec4<i32>(i32(n_in)));
            win[i] = select(vec4<f32>(0.0), xv[u32(clamp(vi, 0, last))], inside);
        }
    }
    var out = vec4<f32>(0.0);
    for (var r = 0u; r < 4u; r = r + 1u) {
        var acc = 0.0;
        for (var j = 0u; j < FW_TAPS; j = j + 1u) {
            // x[4t + r + BASE - j] sits at window sample REM + r + L - 1 - j.
            let s = FW_REM + r + FW_TAPS - 1u - j;
            acc = acc + w[j] * win[s >> 2u][s & 3u];
        }
        out[r] = acc;
    }
    return out;
}
