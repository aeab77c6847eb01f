//! The one error type of the library. Every fallible public function returns [`Error`];
//! the library never prints, exits or panics on bad input.

use std::path::PathBuf;

/// Everything that can go wrong in hushword, each variant saying what and where.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Audio input is unusable (non-finite samples, wrong rate, empty...).
    #[error("invalid audio: {0}")]
    Audio(String),
    /// A WAV/FLAC file could not be read or decoded.
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    /// A model could not be loaded, lacks hushword metadata, or does not fit the front end.
    #[error("model {source_name}: {reason}")]
    Model { source_name: String, reason: String },
    /// A speaker profile could not be read, or does not belong to the model it is used with.
    #[error("profile {source_name}: {reason}")]
    Profile { source_name: String, reason: String },
    /// An I/O error outside of file decoding.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Shorthand for `Result<T, hushword::Error>`.
pub type Result<T> = std::result::Result<T, Error>;
