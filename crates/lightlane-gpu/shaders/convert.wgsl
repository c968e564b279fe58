// Raw ADC codes -> volts: v = f32(code) * gain + offset.
// Codes arrive packed little-endian in u32 words (4 x i8 or 2 x i16), which is how the host
// buffer of `i8`/`i16` reinterprets as `u32`. One thread per 4 output samples.

struct Params {
    n: u32,          // number of codes in this dispatch
    first: u32,      // index of the first code (in codes) inside `codes`
    gain: f32,
    offset: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> codes: array<u32>;
@group(0) @binding(2) var<storage, read_write> volts: array<f32>;

fn code_i8(i: u32) -> f32 {
    let w = codes[i >> 2u];
    return f32(extractBits(bitcast<i32>(w), (i & 3u) * 8u, 8u));
}

fn code_i16(i: u32) -> f32 {
    let w = codes[i >> 1u];
    return f32(extractBits(bitcast<i32>(w), (i & 1u) * 16u, 16u));
}

@compute @workgroup_size(256)
fn codes_i8(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * 256u;
    for (var r = 0u; r < 4u; r = r + 1u) {
        let k = t * 4u + r;
        if (k < p.n) {
            volts[k] = code_i8(p.first + k) * p.gain + p.offset;
        }
    }
}

@compute @workgroup_size(256)
fn codes_i16(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * 256u;
    for (var r = 0u; r < 4u; r = r + 1u) {
        let k = t * 4u + r;
        if (k < p.n) {
            volts[k] = code_i16(p.first + k) * p.gain + p.offset;
        }
    }
}
