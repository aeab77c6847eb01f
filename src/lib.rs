//! hushword: on-device wake-word detection.
//!
//! Data flows one way: samples -> [`frontend`] (MFCC frames) -> [`model`] (scores)
//! -> [`detector`] (events with pre-roll audio). [`audio`] reads files and converts raw PCM
//! streams for tools, servers and tests.
pub mod audio;
pub mod bench;
pub mod capi;
pub mod detector;
pub mod error;
pub mod eval;
pub mod frontend;
pub mod model;
pub mod profile;

pub use detector::{Detection, Detector, DetectorConfig, ScoreSample};
pub use error::{Error, Result};
pub use frontend::{FrontendConfig, MfccFrontend};
pub use model::{ModelMetadata, WakeWordModel};
pub use profile::{Profile, ProfileMode};

/// The README's library example, compiled and run as a doc test.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
