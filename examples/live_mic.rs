//! Live wake-word detection from the default microphone (cpal), saving each trigger's audio
//! (pre-roll plus post-roll) to a WAV file. Needs the `cpal` feature (and ALSA headers on
//! Linux: `apt-get install libasound2-dev`):
//!
//! cargo run --release --features cpal --example live_mic -- [OUT_DIR [MODEL.onnx ...]]
//!
//! The device's own rate (often 44.1 or 48 kHz) is converted to 16 kHz with rubato on the
//! main thread; the audio callback only down-mixes and hands blocks over. Ctrl-C stops.

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SizedSample};
use hushword::{Detection, Detector, DetectorConfig, WakeWordModel};
use rubato::{FftFixedInOut, Resampler};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::Duration;

const RATE: u32 = 16_000;
const PRE_ROLL_MS: u32 = 1500;
const POST_ROLL_MS: u32 = 1000;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out_dir = PathBuf::from(args.first().map_or("triggers", String::as_str));
    let default_model = concat!(env!("CARGO_MANIFEST_DIR"), "/models/alexa.onnx").to_string();
    let model_paths = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        vec![default_model]
    };
    let models = model_paths
        .iter()
        .map(WakeWordModel::from_path)
        .collect::<hushword::Result<Vec<_>>>()
        .map_err(|e| e.to_string())?;
    let config = DetectorConfig {
        pre_roll_ms: PRE_ROLL_MS,
        post_roll_ms: POST_ROLL_MS,
        ..DetectorConfig::default()
    };
    let mut detector = Detector::new(models, config).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("{}: cannot create: {e}", out_dir.display()))?;

    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;

    let (tx, rx) = sync_channel::<Vec<f32>>(64);
    let overruns = Arc::new(AtomicU64::new(0));
    let (stream, device_rate) = open_microphone(tx, Arc::clone(&overruns))?;
    stream
        .play()
        .map_err(|e| format!("cannot start capture: {e}"))?;
    eprintln!(
        "listening at {device_rate} Hz for {:?}; triggers go to {}; Ctrl-C stops",
        detector
            .keywords()
            .iter()
            .map(|(_, k)| k)
            .collect::<Vec<_>>(),
        out_dir.display()
    );
    listen(&mut detector, &rx, device_rate, &stop, &out_dir)?;
    drop(stream);
    let lost = overruns.load(Ordering::Relaxed);
    if lost > 0 {
        eprintln!("{lost} audio blocks were dropped because processing fell behind");
    }
    Ok(())
}

/// Opens the default input device at its default config, delivering mono f32 blocks.
fn open_microphone(
    tx: SyncSender<Vec<f32>>,
    overruns: Arc<AtomicU64>,
) -> Result<(cpal::Stream, u32), String> {
    let device = cpal::default_host()
        .default_input_device()
        .ok_or("no default input device")?;
    let supported = device
        .default_input_config()
        .map_err(|e| format!("no usable input config: {e}"))?;
    let config: cpal::StreamConfig = supported.config();
    let rate = config.sample_rate.0;
    let stream = match supported.sample_format() {
        cpal::SampleFormat::F32 => build::<f32>(&device, &config, tx, overruns),
        cpal::SampleFormat::I16 => build::<i16>(&device, &config, tx, overruns),
        cpal::SampleFormat::U16 => build::<u16>(&device, &config, tx, overruns),
        other => return Err(format!("unsupported sample format {other}")),
    }?;
    Ok((stream, rate))
}

/// An input stream that averages the channels and hands each block to the main thread;
/// blocks the main thread has no room for are counted, never waited on (no blocking in
/// the audio callback).
fn build<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    tx: SyncSender<Vec<f32>>,
    overruns: Arc<AtomicU64>,
) -> Result<cpal::Stream, String>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    device
        .build_input_stream(
            config,
            move |data: &[T], _: &cpal::InputCallbackInfo| {
                let mono: Vec<f32> = data
                    .chunks(channels)
                    .map(|frame| {
                        frame.iter().map(|&s| s.to_sample::<f32>()).sum::<f32>() / channels as f32
                    })
                    .collect();
                if tx.try_send(mono).is_err() {
                    overruns.fetch_add(1, Ordering::Relaxed);
                }
            },
            |e| eprintln!("capture error: {e}"),
            None,
        )
        .map_err(|e| format!("cannot open the input stream: {e}"))
}

/// A trigger whose post-roll is still being collected.
struct Recording {
    detection: Detection,
    post_roll: Vec<f32>,
}

/// Resamples to 16 kHz, detects, and writes each trigger's audio once its post-roll is in.
fn listen(
    detector: &mut Detector,
    rx: &Receiver<Vec<f32>>,
    device_rate: u32,
    stop: &AtomicBool,
    out_dir: &Path,
) -> Result<(), String> {
    let mut resampler = FftFixedInOut::<f32>::new(device_rate as usize, RATE as usize, 480, 1)
        .map_err(|e| format!("cannot resample {device_rate} Hz: {e}"))?;
    let mut output = resampler.output_buffer_allocate(true);
    let mut pending: Vec<f32> = Vec::new();
    let mut events = Vec::new();
    let mut recordings: Vec<Recording> = Vec::new();
    let mut post = Vec::new();
    let post_len = (POST_ROLL_MS * RATE / 1000) as usize;
    let mut saved = 0usize;
    while !stop.load(Ordering::SeqCst) {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(block) => pending.extend_from_slice(&block),
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Err("the capture stream ended".into()),
        }
        while pending.len() >= resampler.input_frames_next() {
            let take = resampler.input_frames_next();
            let (_, produced) = resampler
                .process_into_buffer(&[&pending[..take]], &mut output, None)
                .map_err(|e| format!("resampling failed: {e}"))?;
            pending.drain(..take);
            detector
                .push_f32(&output[0][..produced], &mut events)
                .map_err(|e| e.to_string())?;
            for detection in events.drain(..) {
                eprintln!(
                    "`{}` (score {:.2}) at {:.2} s",
                    detection.keyword,
                    detection.score,
                    detection.position as f64 / f64::from(RATE)
                );
                recordings.push(Recording {
                    detection,
                    post_roll: Vec::with_capacity(post_len),
                });
            }
            post.clear();
            detector.drain_post_roll(&mut post);
            for recording in &mut recordings {
                let room = post_len - recording.post_roll.len();
                recording
                    .post_roll
                    .extend_from_slice(&post[..room.min(post.len())]);
            }
            for done in extract_finished(&mut recordings, post_len) {
                saved += 1;
                save(out_dir, saved, &done)?;
            }
        }
    }
    Ok(())
}

fn extract_finished(recordings: &mut Vec<Recording>, post_len: usize) -> Vec<Recording> {
    let (done, open) = recordings
        .drain(..)
        .partition(|r| r.post_roll.len() >= post_len);
    *recordings = open;
    done
}

/// Writes pre-roll + post-roll as 16-bit 16 kHz mono WAV.
fn save(dir: &Path, index: usize, recording: &Recording) -> Result<(), String> {
    let d = &recording.detection;
    let path = dir.join(format!("trigger-{index:03}-{}.wav", d.keyword));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let fail = |e: hound::Error| format!("{}: {e}", path.display());
    let mut wav = hound::WavWriter::create(&path, spec).map_err(fail)?;
    for &s in d.pre_roll.iter().chain(&recording.post_roll) {
        let pcm = (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
        wav.write_sample(pcm).map_err(fail)?;
    }
    wav.finalize().map_err(fail)?;
    eprintln!(
        "  saved {} ({:.2} s before, {:.2} s after the trigger)",
        path.display(),
        d.pre_roll.len() as f64 / f64::from(RATE),
        recording.post_roll.len() as f64 / f64::from(RATE)
    );
    Ok(())
}
