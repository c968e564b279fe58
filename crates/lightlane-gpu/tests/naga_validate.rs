//! Every shader parses and validates with naga (no GPU needed), and names the entry points
//! the host code dispatches.

use lightlane_gpu::shaders;

/// `src` parsed and validated by naga (all checks), or a panic naming `name`.
fn validate(name: &str, src: &str) -> naga::Module {
    let module = naga::front::wgsl::parse_str(src)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)));
    let mut v = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    );
    v.validate(&module)
        .unwrap_or_else(|e| panic!("{name}: validation failed: {e:?}"));
    module
}

#[test]
fn every_shader_parses_and_validates() {
    for (name, src, entries) in shaders::ALL {
        let module = validate(name, src);
        for entry in *entries {
            let ep = module
                .entry_points
                .iter()
                .find(|ep| ep.name == *entry)
                .unwrap_or_else(|| panic!("{name}: no entry point {entry}"));
            assert_eq!(ep.stage, naga::ShaderStage::Compute, "{name}::{entry}");
            assert_eq!(
                ep.workgroup_size[1..],
                [1, 1],
                "{name}::{entry}: 1-D workgroups"
            );
        }
        assert_eq!(
            module.entry_points.len(),
            entries.len(),
            "{name}: an entry point is not dispatched by the host"
        );
    }
}

#[test]
fn workgroup_memory_fits_lavapipe() {
    // lavapipe offers 32 KiB of workgroup memory; sum each shader's workgroup variables.
    for (name, src, _) in shaders::ALL {
        let module = naga::front::wgsl::parse_str(src).unwrap();
        let mut layouter = naga::proc::Layouter::default();
        layouter.update(module.to_ctx()).unwrap();
        let bytes: u32 = module
            .global_variables
            .iter()
            .filter(|(_, g)| g.space == naga::AddressSpace::WorkGroup)
            .map(|(_, g)| layouter[g.ty].size)
            .sum();
        assert!(
            bytes <= 32 * 1024,
            "{name}: {bytes} bytes of workgroup memory"
        );
        // check_limits demands MIN_WORKGROUP_STORAGE of the adapter: every shader must fit it.
        assert!(
            bytes <= lightlane_gpu::context::MIN_WORKGROUP_STORAGE,
            "{name}: {bytes} bytes"
        );
    }
}

#[test]
fn a_broken_shader_fails_validation() {
    // The test above can fail: a type error must be caught.
    let bad = "@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }";
    assert!(naga::front::wgsl::parse_str(bad).is_err());
}

#[test]
fn every_unrolled_ffe_variant_validates() {
    // The host writes the tap count and reference tap into FFE_WINDOW's constants; every
    // variant it can ask for must be valid WGSL, and the window must change with them.
    for taps in 1..=shaders::FFE_UNROLLED_MAX_TAPS {
        for base in [0, taps / 2, taps - 1] {
            for (name, src) in [("fir", shaders::FIR), ("slice_count", shaders::SLICE_COUNT)] {
                let v = shaders::with_ffe_window(src, taps, base)
                    .unwrap_or_else(|| panic!("{name} {taps}/{base}"));
                assert!(
                    v.contains(&shaders::ffe4_source(taps, base).unwrap()),
                    "{name} {taps}/{base}"
                );
                assert_eq!(v.matches("fn ffe4(").count(), 1, "{name} {taps}/{base}");
                validate(&format!("{name} taps {taps} base {base}"), &v);
            }
        }
    }
    assert!(shaders::with_ffe_window(shaders::FIR, 0, 0).is_none());
    assert!(shaders::with_ffe_window(shaders::FIR, 5, 5).is_none());
    assert!(
        shaders::with_ffe_window(shaders::FIR, shaders::FFE_UNROLLED_MAX_TAPS + 1, 0).is_none()
    );
    assert!(
        shaders::with_ffe_window(shaders::EYE, 5, 2).is_none(),
        "a source without the window"
    );
}

#[test]
fn every_straight_line_eye_segment_validates() {
    for m in 1..=shaders::EYE_SEGMENT_MAX_M {
        let body = shaders::eye_segment_source(m).unwrap();
        assert!(
            !body.contains("for (") && !body.contains("loop") && !body.contains("while"),
            "m {m}"
        );
        assert_eq!(
            body.matches("eye_bin(").count(),
            m,
            "m {m}: one count per column"
        );
        let v = shaders::with_eye_segment(m).unwrap();
        assert!(v.contains(&body));
        assert_eq!(v.matches("fn segment(").count(), 1, "m {m}");
        validate(&format!("eye m {m}"), &v);
    }
    assert!(shaders::eye_segment_source(0).is_none());
    assert!(shaders::eye_segment_source(shaders::EYE_SEGMENT_MAX_M + 1).is_none());
}

#[test]
fn every_straight_line_weighted_kernel_validates() {
    for ncols in 1..=shaders::WEIGHTED_UNROLLED_MAX_COLUMNS {
        let v = shaders::weighted_unrolled_source(ncols).unwrap();
        let (a, b) = (v.find("// BEGIN row").unwrap(), v.find("// END row").unwrap());
        let row = &v[a..b];
        assert!(!row.contains("for ("), "{ncols}: the row is straight-line");
        assert_eq!(row.matches("exact(").count(), ncols, "{ncols}: one product per column");
        assert_eq!(v.matches(" = w[wb + ").count(), ncols, "{ncols}: each weight loaded once");
        validate(&format!("weighted {ncols} columns"), &v);
    }
    assert!(shaders::weighted_unrolled_source(0).is_none());
    assert!(shaders::weighted_unrolled_source(shaders::WEIGHTED_UNROLLED_MAX_COLUMNS + 1).is_none());
}
