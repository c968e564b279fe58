//! `lightlane fec encode|decode`: KP4/KR4 Reed–Solomon on raw symbol files.
//!
//! Files hold 10-bit symbols as little-endian `u16`, one codeword (or message) after the other
//! in transmission order: `encode` reads n × 514 message symbols and writes n × 544 (KP4) or
//! n × 528 (KR4) codeword symbols; `decode` reads codewords and writes them corrected
//! (uncorrectable codewords unchanged). The output is written to a temporary file beside
//! OUTPUT and renamed when everything succeeded, so a failed run leaves no partial output.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use lightlane::fec::{DecodeOutcome, ReedSolomon, RsCode};
use rayon::prelude::*;
use serde::Serialize;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Arguments of `lightlane fec`.
#[derive(Args, Debug)]
pub struct FecArgs {
    #[command(subcommand)]
    pub command: FecCommand,
}

/// `lightlane fec` subcommands.
#[derive(Subcommand, Debug)]
pub enum FecCommand {
    /// Encode n × 514 message symbols (raw little-endian u16) into n codewords.
    Encode(FecFileArgs),
    /// Decode n codewords (raw little-endian u16, n × 544 for KP4 or n × 528 for KR4).
    Decode(FecFileArgs),
}

/// Files and options shared by `encode` and `decode`.
#[derive(Args, Debug)]
pub struct FecFileArgs {
    /// Reed–Solomon code: kp4 = RS(544,514), kr4 = RS(528,514).
    #[arg(long, default_value = "kp4", value_parser = parse_code)]
    pub code: RsCode,
    /// Input file of little-endian u16 symbols.
    pub input: PathBuf,
    /// Output file of little-endian u16 symbols.
    pub output: PathBuf,
    /// Also write a JSON summary to this file ("-" for standard output).
    #[arg(long)]
    pub json: Option<PathBuf>,
}

fn parse_code(s: &str) -> Result<RsCode, String> {
    s.parse::<RsCode>().map_err(|e| e.to_string())
}

/// Summary of one run, written with `--json`.
#[derive(Debug, Serialize)]
struct Summary {
    command: &'static str,
    code: RsCode,
    input: String,
    output: String,
    codewords: u64,
    clean: u64,
    corrected_codewords: u64,
    corrected_symbols: u64,
    uncorrectable: u64,
    /// Indices of the first uncorrectable codewords (at most 1000).
    uncorrectable_indices: Vec<u64>,
}

/// Records per read chunk (bounded memory for any file size).
const CHUNK_RECORDS: usize = 16_384;
const MAX_LISTED: usize = 1000;

/// Runs `lightlane fec …`.
pub fn run(args: &FecArgs) -> Result<()> {
    let (summary, json) = match &args.command {
        FecCommand::Encode(a) => (process(a, false)?, &a.json),
        FecCommand::Decode(a) => (process(a, true)?, &a.json),
    };
    if summary.command == "decode" {
        println!(
            "{}: {} {} codewords: {} clean, {} corrected ({} symbols), {} uncorrectable",
            summary.output,
            summary.codewords,
            summary.code,
            summary.clean,
            summary.corrected_codewords,
            summary.corrected_symbols,
            summary.uncorrectable
        );
    } else {
        println!("{}: {} {} codewords encoded", summary.output, summary.codewords, summary.code);
    }
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&summary)?;
        if path.as_os_str() == "-" {
            println!("{text}");
        } else {
            std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}

fn process(a: &FecFileArgs, decode: bool) -> Result<Summary> {
    let code = a.code;
    let (n, k) = (code.n(), code.k());
    let in_len = if decode { n } else { k };
    let what = if decode { "codeword" } else { "message" };
    let name = a.input.display().to_string();
    let file = File::open(&a.input).with_context(|| format!("cannot open {name}"))?;
    let size = file.metadata().with_context(|| format!("cannot stat {name}"))?.len();
    let record_bytes = 2 * in_len as u64;
    if size == 0 {
        bail!("{name}: file is empty; expected {what}s of {in_len} u16 symbols ({record_bytes} bytes each)");
    }
    if size % record_bytes != 0 {
        let whole = size / record_bytes;
        bail!(
            "{name}: size {size} bytes is not a whole number of {code} {what}s of {in_len} little-endian u16 \
             symbols ({record_bytes} bytes); {whole} complete, then {} trailing bytes at offset {} \
             (truncated file or wrong --code?)",
            size - whole * record_bytes,
            whole * record_bytes
        );
    }
    let records = size / record_bytes;
    let tmp = temp_path(&a.output);
    let result = (|| -> Result<Summary> {
        let out = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut writer = BufWriter::new(out);
        let mut reader = BufReader::new(file);
        let rs = ReedSolomon::new(code);
        let mut summary = Summary {
            command: if decode { "decode" } else { "encode" },
            code,
            input: name.clone(),
            output: a.output.display().to_string(),
            codewords: records,
            clean: 0,
            corrected_codewords: 0,
            corrected_symbols: 0,
            uncorrectable: 0,
            uncorrectable_indices: Vec::new(),
        };
        let mut bytes = vec![0u8; CHUNK_RECORDS * record_bytes as usize];
        let mut done: u64 = 0;
        while done < records {
            let count = (records - done).min(CHUNK_RECORDS as u64) as usize;
            let buf = &mut bytes[..count * record_bytes as usize];
            reader
                .read_exact(buf)
                .with_context(|| format!("{name}: read failed at byte offset {}", done * record_bytes))?;
            let symbols: Vec<u16> = buf.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
            if let Some(i) = symbols.iter().position(|&v| v >= 1024) {
                let sym = done * in_len as u64 + i as u64;
                bail!(
                    "{name}: symbol {sym} ({what} {}, position {}) at byte offset {} has value {}, \
                     which is not a 10-bit symbol (must be < 1024)",
                    sym / in_len as u64,
                    sym % in_len as u64,
                    2 * sym,
                    symbols[i]
                );
            }
            let words = if decode {
                let mut words = symbols;
                let mut outs = vec![DecodeOutcome::Clean; count];
                rs.decode_batch(&mut words, &mut outs).with_context(|| format!("{name}: decoding failed"))?;
                for (i, o) in outs.iter().enumerate() {
                    match o {
                        DecodeOutcome::Clean => summary.clean += 1,
                        DecodeOutcome::Corrected { symbols } => {
                            summary.corrected_codewords += 1;
                            summary.corrected_symbols += *symbols as u64;
                        }
                        DecodeOutcome::Uncorrectable => {
                            summary.uncorrectable += 1;
                            if summary.uncorrectable_indices.len() < MAX_LISTED {
                                summary.uncorrectable_indices.push(done + i as u64);
                            }
                        }
                    }
                }
                words
            } else {
                let mut words = vec![0u16; count * n];
                words
                    .par_chunks_mut(n)
                    .zip(symbols.par_chunks(k))
                    .try_for_each(|(cw, msg)| rs.encode(msg, cw))
                    .with_context(|| format!("{name}: encoding failed"))?;
                words
            };
            let out_bytes: Vec<u8> = words.iter().flat_map(|v| v.to_le_bytes()).collect();
            writer.write_all(&out_bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
            done += count as u64;
        }
        writer.flush().with_context(|| format!("cannot write {}", tmp.display()))?;
        Ok(summary)
    })();
    match result {
        Ok(summary) => {
            std::fs::rename(&tmp, &a.output)
                .with_context(|| format!("cannot move {} to {}", tmp.display(), a.output.display()))?;
            Ok(summary)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// `OUTPUT.partial` in the output's folder, so the final rename stays on one file system.
fn temp_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().map(|s| s.to_os_string()).unwrap_or_else(|| "fec-output".into());
    name.push(".partial");
    output.with_file_name(name)
}
