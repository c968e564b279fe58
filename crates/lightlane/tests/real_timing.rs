//! Clock recovery on real scope captures (../shared/captures, see its MANIFEST.md): the symbol
//! rate is estimated without being told, the clock is recovered with the 802.3 reference PLL,
//! the bits are decided, and the line code proves them right: 64b/66b sync headers (and, after
//! descrambling, control-block types) for 10GBASE-R, 8b/10b code groups for PCIe Gen1.
//! Skips with a printed reason when the captures are absent.

mod common;
use common::{read, NRZ_10GBASE_R, NRZ_10GBASE_R_METADATA, PCIE, PCIE_METADATA};

use lightlane::timing::{estimate_baud, recover_clock, resample_at, CdrConfig, CdrKind, RecoveredClock, BANG_BANG_TOLERANCE_STEPS, LINEAR_TOLERANCE_UI};
use lightlane::{Modulation, Waveform};

/// Bits decided at 0 V at every recovered symbol centre.
fn decide(w: &Waveform, clock: &RecoveredClock) -> Vec<u8> {
    resample_at(&w.samples, &clock.symbol_positions, 1).iter().map(|&v| (v > 0.0) as u8).collect()
}

fn report(name: &str, kind: &CdrKind, nominal: f64, clock: &RecoveredClock) {
    eprintln!(
        "{name} [{}]: recovered {:.1} Bd ({:+.2} ppm vs {nominal:.6e}; {:+.3} ppm vs the CDR's start rate), TIE rms {:.3} ps = {:.4} UI over {} edges, {} symbols",
        kind.name(),
        clock.baud,
        (clock.baud / nominal - 1.0) * 1e6,
        clock.ppm_offset,
        clock.tie_rms_s * 1e12,
        clock.tie_rms_s * clock.baud,
        clock.tie_s.len() - clock.settled_edge_index(),
        clock.symbol_positions.len()
    );
}

// ---------------------------------------------------------------------------------------------
// 10GBASE-R (IEEE 802.3 Clause 49): 64b/66b blocks, sync header 01 (data) or 10 (control),
// payload scrambled by the self-synchronous 1 + x³⁹ + x⁵⁸.

/// Block-type field values of control blocks (802.3 Figure 49-7).
const BLOCK_TYPES: [u8; 15] = [0x1e, 0x2d, 0x33, 0x66, 0x55, 0x78, 0x4b, 0x87, 0x99, 0xaa, 0xb4, 0xcc, 0xd2, 0xe1, 0xff];

struct BlockStats {
    offset: usize,
    blocks: usize,
    valid_headers: usize,
    control_blocks: usize,
    valid_types: usize,
}

/// Finds the 66-bit alignment with the most valid sync headers, then descrambles the payloads
/// and checks the block type of every control block (both polarities; the better one counts).
fn blocks_66b(bits: &[u8]) -> BlockStats {
    let count = |off: usize| (off..bits.len().saturating_sub(1)).step_by(66).filter(|&i| bits[i] != bits[i + 1]).count();
    let offset = (0..66).max_by_key(|&o| count(o)).unwrap();
    let blocks = (bits.len() - offset) / 66;
    let valid_headers = count(offset).min(blocks);
    let mut best = (0, 0);
    for invert in [0u8, 1] {
        // Payload bits in transmission order, descrambled: out[i] = in[i] ^ in[i−39] ^ in[i−58].
        let payload: Vec<u8> = (0..blocks).flat_map(|b| bits[offset + 66 * b + 2..offset + 66 * b + 66].iter().map(move |&v| v ^ invert)).collect();
        let plain: Vec<u8> = (0..payload.len()).map(|i| if i >= 58 { payload[i] ^ payload[i - 39] ^ payload[i - 58] } else { 0 }).collect();
        let (mut control, mut valid) = (0, 0);
        for b in 1..blocks {
            let i = offset + 66 * b;
            // Control header: first sync bit 1 (0 when the line is inverted).
            if bits[i] == bits[i + 1] || (bits[i] ^ invert) != 1 {
                continue;
            }
            control += 1;
            let t = (0..8).fold(0u8, |acc, j| acc | (plain[64 * b + j] << j));
            valid += BLOCK_TYPES.contains(&t) as usize;
        }
        if valid > best.1 {
            best = (control, valid);
        }
    }
    BlockStats {
        offset,
        blocks,
        valid_headers,
        control_blocks: best.0,
        valid_types: best.1,
    }
}

#[test]
fn ten_gbase_r_blind_rate_reference_pll_and_sync_headers() {
    let Some(w) = read(NRZ_10GBASE_R, NRZ_10GBASE_R_METADATA) else { return };
    let fs = w.fs();
    assert!((fs - 40e9).abs() < 1.0);
    let nominal = 10.3125e9;
    let est = estimate_baud(&w.samples, fs, None, Modulation::Nrz).unwrap();
    eprintln!(
        "10GBASE-R: estimated {:.1} Bd ({:+.2} ppm vs 10.3125 GBd), line {:.1} dB above the floor",
        est.baud,
        (est.baud / nominal - 1.0) * 1e6,
        est.line_snr_db
    );
    // The rate the MANIFEST derives is 10.3124 GHz; 10GBASE-R allows ±100 ppm.
    assert!((est.baud / nominal - 1.0).abs() < 100e-6, "{est:?}");
    let told = estimate_baud(&w.samples, fs, Some(nominal), Modulation::Nrz).unwrap();
    assert!((told.baud / est.baud - 1.0).abs() < 1e-7, "{told:?} vs {est:?}");

    let kinds = [
        CdrKind::reference_pll(4e6),
        CdrKind::ReferencePll { corner_hz: 4e6, order: 2, damping: 0.707 },
        CdrKind::MuellerMuller { bandwidth_fraction: 2e-3 },
        CdrKind::Gardner { bandwidth_fraction: 2e-3 },
        CdrKind::BangBang { gain: 2e-3 },
    ];
    for kind in kinds {
        let clock = recover_clock(&w.samples, fs, est.baud, Modulation::Nrz, &CdrConfig { kind, ..Default::default() }).unwrap();
        report("10GBASE-R", &kind, nominal, &clock);
        let bits = decide(&w, &clock);
        let s = blocks_66b(&bits);
        let header_share = s.valid_headers as f64 / s.blocks as f64;
        let type_share = s.valid_types as f64 / s.control_blocks.max(1) as f64;
        eprintln!(
            "    {} bits, 66b alignment at bit {}: {}/{} blocks with a valid sync header ({:.2} %), {}/{} control blocks with a valid block type after descrambling",
            bits.len(),
            s.offset,
            s.valid_headers,
            s.blocks,
            100.0 * header_share,
            s.valid_types,
            s.control_blocks
        );
        assert!(s.blocks > 700, "{}", s.blocks);
        assert!(header_share >= 0.99, "{}: {:.4} of the sync headers valid", kind.name(), header_share);
        assert!(s.control_blocks > 10 && type_share >= 0.99, "{}: {}/{} block types valid", kind.name(), s.valid_types, s.control_blocks);
        assert!((clock.baud / est.baud - 1.0).abs() < 20e-6);
        // The MANIFEST reports 4.4 ps rms crossing deviation from an ideal (fixed) UI grid; the
        // 4 MHz PLL removes the wander part.
        assert!(clock.tie_rms_s < 6e-12, "TIE rms {} s", clock.tie_rms_s);

        // Block-parallel (blocks of 4096 UI, raised to four warm-ups: two blocks on this 51 500 UI
        // capture; the order-2 PLL's warm-up is too long for two and runs sequentially): the
        // same symbols within the stated bound, so the same bits and sync headers.
        let blocked = recover_clock(&w.samples, fs, est.baud, Modulation::Nrz, &CdrConfig { kind, block_symbols: 4096, ..Default::default() }).unwrap();
        assert_eq!(blocked.symbol_positions.len(), clock.symbol_positions.len(), "{}", kind.name());
        let spu = fs / est.baud;
        let worst = blocked.symbol_positions.iter().zip(&clock.symbol_positions).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max) / spu;
        let bound = match kind {
            CdrKind::BangBang { gain } => BANG_BANG_TOLERANCE_STEPS * gain,
            _ => 2.0 * LINEAR_TOLERANCE_UI,
        };
        let sb = blocks_66b(&decide(&w, &blocked));
        eprintln!("    block-parallel: worst centre difference {worst:.2e} UI, {}/{} valid sync headers", sb.valid_headers, sb.blocks);
        assert!(worst <= bound, "{}: {worst} UI", kind.name());
        assert!(sb.valid_headers as f64 >= 0.99 * sb.blocks as f64 && sb.valid_headers + 2 >= s.valid_headers, "{}", kind.name());
    }
}

// ---------------------------------------------------------------------------------------------
// PCIe Gen1 (2.5 GT/s): 8b/10b code groups (ANSI X3.230 / IEEE 802.3 Clause 36 tables).

/// 5b/6b sub-blocks `abcdei` of D.x (x = EDCBA), as (RD−, RD+); `a` is the leftmost character.
const SIX: [(&str, &str); 32] = [
    ("100111", "011000"), ("011101", "100010"), ("101101", "010010"), ("110001", "110001"),
    ("110101", "001010"), ("101001", "101001"), ("011001", "011001"), ("111000", "000111"),
    ("111001", "000110"), ("100101", "100101"), ("010101", "010101"), ("110100", "110100"),
    ("001101", "001101"), ("101100", "101100"), ("011100", "011100"), ("010111", "101000"),
    ("011011", "100100"), ("100011", "100011"), ("010011", "010011"), ("110010", "110010"),
    ("001011", "001011"), ("101010", "101010"), ("011010", "011010"), ("111010", "000101"),
    ("110011", "001100"), ("100110", "100110"), ("010110", "010110"), ("110110", "001001"),
    ("001110", "001110"), ("101110", "010001"), ("011110", "100001"), ("101011", "010100"),
];
/// 3b/4b sub-blocks `fghj` of D.x.y (y = HGF), as (RD−, RD+); index 7 is the primary P7, 8 the
/// alternate A7.
const FOUR: [(&str, &str); 9] = [
    ("1011", "0100"), ("1001", "1001"), ("0101", "0101"), ("1100", "0011"), ("1101", "0010"),
    ("1010", "1010"), ("0110", "0110"), ("1110", "0001"), ("0111", "1000"),
];
/// The twelve control characters at RD− (RD+ is the complement).
const K_RD_MINUS: [&str; 12] = [
    "0011110100", "0011111001", "0011110101", "0011110011", "0011110010", "0011111010", "0011110110", "0011111000",
    "1110101000", "1101101000", "1011101000", "0111101000",
];
const K28_5: [u16; 2] = [0b0011111010, 0b1100000101];

fn bits_of(s: &str) -> u16 {
    s.bytes().fold(0, |acc, b| (acc << 1) | (b - b'0') as u16)
}

/// Disparity (ones minus zeros) of the low `n` bits.
fn disparity(v: u16, n: u32) -> i32 {
    2 * (v & ((1 << n) - 1)).count_ones() as i32 - n as i32
}

/// Every valid (running disparity, code group) → running disparity after it; `false` is RD−.
fn code_table() -> std::collections::HashMap<(bool, u16), bool> {
    let mut table = std::collections::HashMap::new();
    let next = |rd: bool, sub: u16, n: u32| match disparity(sub, n) {
        0 => rd,
        d => d > 0,
    };
    for rd in [false, true] {
        for byte in 0..=255u16 {
            let (x, y) = ((byte & 31) as usize, (byte >> 5) as usize);
            let six = bits_of(if rd { SIX[x].1 } else { SIX[x].0 });
            let rd6 = next(rd, six, 6);
            let alt = y == 7 && ((!rd6 && (x == 17 || x == 18 || x == 20)) || (rd6 && (x == 11 || x == 13 || x == 14)));
            let fi = if alt { 8 } else { y };
            let four = bits_of(if rd6 { FOUR[fi].1 } else { FOUR[fi].0 });
            let rd4 = next(rd6, four, 4);
            table.insert((rd, (six << 4) | four), rd4);
        }
        for k in K_RD_MINUS {
            let code = if rd { !bits_of(k) & 0x3ff } else { bits_of(k) };
            let d = disparity(code, 10);
            table.insert((rd, code), if d == 0 { rd } else { d > 0 });
        }
    }
    table
}

struct CodeStats {
    offset: usize,
    groups: usize,
    valid: usize,
    disparity_errors: usize,
    commas: usize,
}

/// Aligns on the comma (0011111 / 1100000 at the start of a K28.5), then checks every 10-bit
/// group against the code table: valid at either disparity, and the running disparity tracked.
fn groups_8b10b(bits: &[u8]) -> CodeStats {
    let mut hits = [0usize; 10];
    for i in 0..bits.len().saturating_sub(7) {
        let w = bits[i..i + 7].iter().fold(0u8, |acc, &b| (acc << 1) | b);
        if w == 0b0011111 || w == 0b1100000 {
            hits[i % 10] += 1;
        }
    }
    let offset = (0..10).max_by_key(|&o| hits[o]).unwrap();
    let table = code_table();
    let groups = (bits.len() - offset) / 10;
    let (mut valid, mut disparity_errors, mut commas) = (0, 0, 0);
    let mut rd: Option<bool> = None;
    for g in 0..groups {
        let code = bits[offset + 10 * g..offset + 10 * g + 10].iter().fold(0u16, |acc, &b| (acc << 1) | b as u16);
        let minus = table.get(&(false, code));
        let plus = table.get(&(true, code));
        if minus.is_some() || plus.is_some() {
            valid += 1;
        }
        commas += K28_5.contains(&code) as usize;
        rd = match (rd, minus, plus) {
            (Some(r), _, _) if table.contains_key(&(r, code)) => Some(table[&(r, code)]),
            (_, Some(&n), None) | (_, None, Some(&n)) => {
                disparity_errors += rd.is_some() as usize;
                Some(n)
            }
            (_, Some(&n), Some(_)) => {
                disparity_errors += rd.is_some() as usize;
                Some(n)
            }
            (_, None, None) => None,
        };
    }
    CodeStats {
        offset,
        groups,
        valid,
        disparity_errors,
        commas,
    }
}

#[test]
fn code_table_is_complete() {
    let t = code_table();
    // 268 characters (256 data + 12 control) at each disparity; codes shared by both disparities
    // (balanced ones) appear under both keys.
    assert_eq!(t.keys().filter(|(rd, _)| !rd).count(), 268);
    assert_eq!(t.keys().filter(|(rd, _)| *rd).count(), 268);
    // K28.5 flips the disparity; D21.5 (1010101010) keeps it.
    assert!(t[&(false, 0b0011111010)]);
    assert!(t[&(true, 0b1010101010)]);
    assert!(!t.contains_key(&(false, 0b1111111111)));
}

#[test]
fn pcie_gen1_reference_pll_and_8b10b_code_groups() {
    let Some(w) = read(PCIE, PCIE_METADATA) else { return };
    let fs = w.fs();
    let nominal = 2.5e9;
    let est = estimate_baud(&w.samples, fs, None, Modulation::Nrz).unwrap();
    eprintln!(
        "PCIe Gen1: estimated {:.1} Bd ({:+.2} ppm vs 2.5 GT/s), line {:.1} dB above the floor",
        est.baud,
        (est.baud / nominal - 1.0) * 1e6,
        est.line_snr_db
    );
    // PCIe allows ±300 ppm (with spread-spectrum clocking up to −5000 ppm; this link shows none).
    assert!((est.baud / nominal - 1.0).abs() < 300e-6, "{est:?}");
    for kind in [
        CdrKind::reference_pll(4e6),
        CdrKind::ReferencePll { corner_hz: 1.5e6, order: 2, damping: 0.707 },
        CdrKind::MuellerMuller { bandwidth_fraction: 2e-3 },
        CdrKind::Gardner { bandwidth_fraction: 2e-3 },
        CdrKind::BangBang { gain: 2e-3 },
    ] {
        let clock = recover_clock(&w.samples, fs, est.baud, Modulation::Nrz, &CdrConfig { kind, ..Default::default() }).unwrap();
        report("PCIe Gen1", &kind, nominal, &clock);
        let bits = decide(&w, &clock);
        let s = groups_8b10b(&bits);
        let share = s.valid as f64 / s.groups as f64;
        eprintln!(
            "    {} bits, comma alignment at bit {}: {}/{} valid code groups ({:.2} %), {} running-disparity errors, {} K28.5",
            bits.len(),
            s.offset,
            s.valid,
            s.groups,
            100.0 * share,
            s.disparity_errors,
            s.commas
        );
        assert!(s.groups > 4000, "{}", s.groups);
        assert!(share >= 0.99, "{}: {share:.4} of the code groups valid", kind.name());
        assert!(s.commas > 0);
        assert!((s.disparity_errors as f64) < 0.01 * s.groups as f64);
    }
}
