//! `hushword features`: a file's front-end frames as a float32 `.npy` array.

use super::common::file_error;
use clap::Args;
use hushword::audio::load_audio;
use hushword::frontend::{FeatureKind, FrontendConfig, MfccFrontend};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct FeaturesArgs {
    /// WAV or FLAC file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Output .npy file.
    #[arg(short, long, value_name = "OUT.npy")]
    output: PathBuf,
    /// Front-end settings as JSON (docs/model-format.md); defaults for missing fields.
    #[arg(long, value_name = "JSON_FILE")]
    config: Option<PathBuf>,
    /// Write log-mel energies instead of MFCCs.
    #[arg(long)]
    log_mel: bool,
}

pub fn run(args: FeaturesArgs) -> Result<ExitCode, String> {
    let mut config = match &args.config {
        Some(path) => read_config(path)?,
        None => FrontendConfig::default(),
    };
    if args.log_mel {
        config.features = FeatureKind::LogMel;
    }
    let mut frontend = MfccFrontend::new(config).map_err(|e| match &args.config {
        Some(p) => format!("{}: {e}", p.display()),
        None => e.to_string(),
    })?;
    let audio = load_audio(&args.file).map_err(|e| file_error(&args.file, &e))?;
    if let Some(note) = &audio.note {
        super::common::report_note(&args.file, note);
    }
    let samples = audio.samples;
    let frames = frontend
        .compute(&samples)
        .map_err(|e| file_error(&args.file, &e))?;
    let (rows, cols) = frames.dim();
    let data: Vec<f32> = frames.iter().copied().collect();
    write_npy(&args.output, rows, cols, &data)
        .map_err(|e| format!("{}: cannot write: {e}", args.output.display()))?;
    let _ = writeln!(
        std::io::stderr(),
        "{}: {rows} frames x {cols} features",
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn read_config(path: &Path) -> Result<FrontendConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a front-end config: {e}", path.display()))
}

/// The NPY v1.0 bytes of a C-order little-endian float32 array `[rows, cols]`.
pub fn npy_bytes(rows: usize, cols: usize, data: &[f32]) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // magic (6) + version (2) + header length (2) + header, padded with spaces and ending in
    // a newline so the data starts on a 64-byte boundary.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

fn write_npy(path: &Path, rows: usize, cols: usize, data: &[f32]) -> std::io::Result<()> {
    std::fs::write(path, npy_bytes(rows, cols, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_describes_the_shape() {
        let bytes = npy_bytes(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(header.contains("'shape': (2, 3)"));
        assert!(header.ends_with('\n'));
        assert_eq!(bytes.len(), 10 + header_len + 24);
        assert_eq!(
            &bytes[10 + header_len..10 + header_len + 4],
            &1.0f32.to_le_bytes()
        );
    }
}
