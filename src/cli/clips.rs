//! Saving detections' audio as WAV clips (`--save-clips`), shared by `detect` and `listen`.

use super::common::{file_error, DetectorArgs};
use super::stdin_name;
use hushword::audio::{write_wav_i16, TARGET_SAMPLE_RATE};
use hushword::detector::{Detection, Detector};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// A clip waiting for its post-roll.
struct PendingClip {
    path: PathBuf,
    audio: Vec<f32>,
    /// Post-roll samples it has so far.
    post: usize,
}

impl PendingClip {
    fn write(self) -> Result<(), String> {
        write_wav_i16(&self.path, &self.audio, TARGET_SAMPLE_RATE)
            .map_err(|e| file_error(&self.path, &e))
    }
}

/// Saved clips: unique names, pre-roll written at once or, with a post-roll, once the
/// audio after the detection has arrived.
pub struct ClipWriter {
    dir: PathBuf,
    post_roll: usize,
    used: HashSet<PathBuf>,
    pending: Vec<PendingClip>,
    drained: Vec<f32>,
}

impl ClipWriter {
    /// The writer `--save-clips DIR` asks for (creating the folder), or none without it.
    pub fn for_option(
        dir: Option<&PathBuf>,
        settings: &DetectorArgs,
    ) -> Result<Option<Self>, String> {
        let Some(dir) = dir else { return Ok(None) };
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("{}: cannot create folder: {e}", dir.display()))?;
        Ok(Some(Self::new(dir.clone(), settings)))
    }

    /// Clips in `dir` (which must exist), with the post-roll `settings` ask for.
    fn new(dir: PathBuf, settings: &DetectorArgs) -> Self {
        Self {
            dir,
            post_roll: (u64::from(settings.post_roll_ms) * u64::from(TARGET_SAMPLE_RATE) / 1000)
                as usize,
            used: HashSet::new(),
            pending: Vec::new(),
            drained: Vec::new(),
        }
    }

    /// A fresh path for this detection's clip; its audio is written later ([`Self::feed`]).
    pub fn start(&mut self, file: &Path, n: usize, d: &Detection) -> PathBuf {
        let stem = file
            .file_stem()
            .map_or_else(|| "audio".into(), |s| s.to_string_lossy());
        let stem = if stem == stdin_name() {
            "stdin".into()
        } else {
            stem
        };
        let keyword: String = d
            .keyword
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut path = self.dir.join(format!("{stem}_{n}_{keyword}.wav"));
        let mut again = 2;
        while self.used.contains(&path) {
            path = self.dir.join(format!("{stem}_{n}_{keyword}-{again}.wav"));
            again += 1;
        }
        self.used.insert(path.clone());
        self.pending.push(PendingClip {
            path: path.clone(),
            audio: d.pre_roll.clone(),
            post: 0,
        });
        path
    }

    /// Adds the post-roll captured since the last call to the clips waiting for it and
    /// writes those that are complete. Each chunk's post-roll is drained right after it is
    /// pushed, so the drained samples continue every waiting clip's audio.
    pub fn feed(&mut self, detector: &mut Detector) -> Result<(), String> {
        self.drained.clear();
        detector.drain_post_roll(&mut self.drained);
        let want = self.post_roll;
        for clip in &mut self.pending {
            let take = (want - clip.post).min(self.drained.len());
            clip.audio.extend_from_slice(&self.drained[..take]);
            clip.post += take;
        }
        while let Some(i) = self.pending.iter().position(|c| c.post >= want) {
            let clip = self.pending.remove(i);
            clip.write()?;
        }
        Ok(())
    }

    /// Writes every clip still waiting, with the post-roll it has.
    pub fn finish(&mut self) -> Result<(), String> {
        self.pending.drain(..).try_for_each(PendingClip::write)
    }
}
