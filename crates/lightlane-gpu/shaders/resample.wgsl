// Keys cubic (a = -0.5) resampling, the arithmetic of lightlane_core::timing::interp::cubic_kernel.
// Output m (of this dispatch) belongs to anchor a = m / per_anchor, point j = m % per_anchor, and
// lies at input index  i_a + (f_a + j * s_a)  where the host split the anchor's f64 position into
// an integer i_a and a fraction f_a in [0, 1), and s_a is the f32 step between points. The
// position clamps to [0, last] (global indices) as on the CPU; x holds the global samples
// [x0, x0 + len(x)) which cover every sample this dispatch reads.

struct Params {
    n: u32,           // outputs in this dispatch
    per_anchor: u32,  // points per anchor
    x0: u32,          // global index of x[0]
    last: u32,        // global index of the capture's last sample
    wg_x: u32,
    _p0: u32,
    _p1: u32,
    _p2: u32,
}

struct Anchor {
    i: i32,
    f: f32,
    step: f32,
    _pad: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> anchors: array<Anchor>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn at(k: i32) -> f32 {
    let g = clamp(k, 0, i32(p.last));
    return x[u32(g) - p.x0];
}

@compute @workgroup_size(256)
fn resample_cubic(@builtin(global_invocation_id) gid: vec3<u32>) {
    let m = gid.x + gid.y * p.wg_x * 256u;
    if (m >= p.n) {
        return;
    }
    let a = anchors[m / p.per_anchor];
    let j = m % p.per_anchor;
    let pf = a.f + f32(j) * a.step;
    let fl = floor(pf);
    // Whole samples beyond the anchor, bounded so the i32 sum cannot overflow.
    let di = i32(clamp(fl, -1073741824.0, 1073741824.0));
    var i = a.i + di;
    var t = pf - fl;
    if (i < 0) {
        i = 0;
        t = 0.0;
    } else if (i >= i32(p.last)) {
        i = i32(p.last);
        t = 0.0;
    }
    let p0 = at(i - 1);
    let p1 = at(i);
    let p2 = at(i + 1);
    let p3 = at(i + 2);
    let a0 = -0.5 * p0 + 1.5 * p1 - 1.5 * p2 + 0.5 * p3;
    let a1 = p0 - 2.5 * p1 + 2.0 * p2 - 0.5 * p3;
    let a2 = -0.5 * p0 + 0.5 * p2;
    out[m] = ((a0 * t + a1) * t + a2) * t + p1;
}
