//! The native streaming kernel: the `tcn-1` network the training pipeline makes (causal input
//! convolution, residual blocks of dilated depthwise + pointwise convolutions, a 1x1 head;
//! training/model.py), run frame by frame in plain Rust from the weights the model file
//! carries under `hushword.kernel` (docs/model-format.md).
//!
//! Why it exists: the streaming ONNX graph does a few tens of thousands of multiply-adds per
//! hop, but tract spends most of each call in per-node overhead (about 50 µs per hop), which is
//! several CPU-seconds per hour of audio on its own. Here each frame costs one pass over the
//! weights with nothing allocated, so the model fits the budget of under one CPU-second per
//! hour for the whole pipeline.
//!
//! Why it is safe: the engine only uses it after holding it equal to the ONNX graph at load
//! ([`TcnKernel::verify_against`] in `model/mod.rs`): the graph stays the definition of the model.

mod matvec;

pub use matvec::MatvecImpl;
use matvec::{matmul_acc, mul_acc, MAX_BATCH};

use super::metadata::KernelForm;

/// Per-block weights and the ring of the block's recent inputs.
struct Block {
    dilation: usize,
    /// Depthwise taps, tap-major `[k_dw][channels]`.
    dw_w: Vec<f32>,
    dw_b: Vec<f32>,
    /// Pointwise weights, input-major `[channels_in][channels_out]`.
    pw_wt: Vec<f32>,
    pw_b: Vec<f32>,
    history: Ring,
}

/// The last `len` vectors of `width` values, newest at `newest`; all zeros after a reset,
/// which is exactly the causal zero padding the network was trained with.
struct Ring {
    values: Vec<f32>,
    width: usize,
    len: usize,
    newest: usize,
}

impl Ring {
    fn new(len: usize, width: usize) -> Self {
        Self {
            values: vec![0.0; len * width],
            width,
            len,
            newest: 0,
        }
    }

    fn clear(&mut self) {
        self.values.fill(0.0);
        self.newest = 0;
    }

    /// Makes room for a new vector and returns it (to be overwritten).
    fn push(&mut self) -> &mut [f32] {
        // Branches, not `%`: an integer division per tap would cost more than the tap.
        self.newest = if self.newest + 1 == self.len {
            0
        } else {
            self.newest + 1
        };
        let at = self.newest * self.width;
        &mut self.values[at..at + self.width]
    }

    /// The vector pushed `age` pushes ago (0 = newest); `age < len`.
    fn get(&self, age: usize) -> &[f32] {
        let slot = if age <= self.newest {
            self.newest - age
        } else {
            self.newest + self.len - age
        };
        let at = slot * self.width;
        &self.values[at..at + self.width]
    }
}

/// A `tcn-1` network with its streaming state. Built once per model; evaluation allocates
/// nothing.
pub(super) struct TcnKernel {
    n_features: usize,
    channels: usize,
    k_in: usize,
    k_dw: usize,
    hop_frames: usize,
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    /// Input convolution, tap-major then input-major `[k_in][n_features][channels]`.
    in_wt: Vec<f32>,
    in_b: Vec<f32>,
    blocks: Vec<Block>,
    /// Head `[n_keywords][channels]` (one dot product per keyword).
    head_w: Vec<f32>,
    head_b: Vec<f32>,
    /// Normalized input frames for the input convolution.
    inputs: Ring,
    /// Activations of the frames being advanced together (`[MAX_BATCH][channels]`), two
    /// scratch blocks of the same shape, and gathered input frames (`[MAX_BATCH][n_features]`).
    x: Vec<f32>,
    h: Vec<f32>,
    g: Vec<f32>,
    z: Vec<f32>,
    /// Frames in `x` after the last advance (its newest is `x[(batch - 1) * channels..]`).
    batch: usize,
    warm: bool,
    imp: MatvecImpl,
}

/// Reads `n` values off the front of `blob`.
fn take(blob: &mut &[f32], n: usize) -> Vec<f32> {
    let (head, rest) = blob.split_at(n);
    *blob = rest;
    head.to_vec()
}

/// `[rows][cols]` row-major to `[cols][rows]`.
fn transpose(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; w.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = w[r * cols + c];
        }
    }
    t
}

impl TcnKernel {
    /// Builds the network from the decoded weight blob; `form` has been validated, including
    /// that `weights.len()` equals [`KernelForm::n_weights`].
    pub(super) fn new(form: &KernelForm, weights: &[f32], hop_frames: usize) -> Self {
        let (f, c, k_in, k_dw) = (form.n_features, form.channels, form.k_in, form.k_dw);
        let mut blob = weights;
        let mean = take(&mut blob, f);
        let inv_std = take(&mut blob, f);
        // PyTorch conv_in.weight is [C][F][k_in]; the kernel wants [k_in][F][C].
        let w = take(&mut blob, c * f * k_in);
        let mut in_wt = vec![0.0; w.len()];
        for o in 0..c {
            for i in 0..f {
                for k in 0..k_in {
                    in_wt[(k * f + i) * c + o] = w[(o * f + i) * k_in + k];
                }
            }
        }
        let in_b = take(&mut blob, c);
        let blocks = form
            .dilations
            .iter()
            .map(|&dilation| {
                let dw = take(&mut blob, c * k_dw); // [C][k_dw]
                let dw_b = take(&mut blob, c);
                let pw = take(&mut blob, c * c); // [C_out][C_in]
                Block {
                    dilation,
                    dw_w: transpose(&dw, c, k_dw),
                    dw_b,
                    pw_wt: transpose(&pw, c, c),
                    pw_b: take(&mut blob, c),
                    history: Ring::new((k_dw - 1) * dilation + MAX_BATCH, c),
                }
            })
            .collect();
        let head_w = take(&mut blob, form.n_keywords * c);
        let head_b = take(&mut blob, form.n_keywords);
        Self {
            n_features: f,
            channels: c,
            k_in,
            k_dw,
            hop_frames,
            mean,
            inv_std,
            in_wt,
            in_b,
            blocks,
            head_w,
            head_b,
            inputs: Ring::new(k_in - 1 + MAX_BATCH, f),
            x: vec![0.0; MAX_BATCH * c],
            h: vec![0.0; MAX_BATCH * c],
            g: vec![0.0; MAX_BATCH * c],
            z: vec![0.0; MAX_BATCH * f],
            batch: 1,
            warm: false,
            imp: MatvecImpl::best(),
        }
    }

    /// Per-feature mean and standard deviation the network normalizes with.
    pub(super) fn feature_statistics(&self) -> (Vec<f32>, Vec<f32>) {
        let std = self
            .inv_std
            .iter()
            .map(|s| if *s != 0.0 { 1.0 / s } else { 1.0 })
            .collect();
        (self.mean.clone(), std)
    }

    /// Runs the given implementation of the matrix-vector product (tests and benchmarks).
    pub(super) fn set_impl(&mut self, imp: MatvecImpl) {
        self.imp = imp;
    }

    /// Frames the next [`Self::evaluate_next`] needs: one hop when warm, else a window.
    pub(super) fn frames_needed(&self, window_frames: usize) -> usize {
        super::streaming::frames_needed(self.warm, self.hop_frames, window_frames)
    }

    /// Forgets the stream: zero state, and the next evaluation warms up from a window.
    pub(super) fn reset(&mut self) {
        self.inputs.clear();
        for block in &mut self.blocks {
            block.history.clear();
        }
        self.warm = false;
    }

    /// Bytes of weights and state this kernel holds on the heap.
    pub(super) fn heap_bytes(&self) -> usize {
        let floats = self.mean.len()
            + self.inv_std.len()
            + self.in_wt.len()
            + self.in_b.len()
            + self.head_w.len()
            + self.head_b.len()
            + self.inputs.values.len()
            + self.x.len()
            + self.h.len()
            + self.g.len()
            + self.z.len()
            + self
                .blocks
                .iter()
                .map(|b| {
                    b.dw_w.len()
                        + b.dw_b.len()
                        + b.pw_wt.len()
                        + b.pw_b.len()
                        + b.history.values.len()
                })
                .sum::<usize>();
        floats * std::mem::size_of::<f32>()
    }

    /// Scores the newest frames (`n_features x frames_needed()`, time-last, oldest first).
    /// Cold, it starts from zero state at the same frame the graph's warm-up does (whole hops
    /// ending at the newest frame), so both give the same scores.
    pub(super) fn evaluate_next(&mut self, frames: &[f32], scores: &mut [f32]) {
        let total = frames.len() / self.n_features.max(1);
        let first = if self.warm {
            0
        } else {
            self.reset();
            total % self.hop_frames
        };
        let mut t = first;
        while t < total {
            let n = (total - t).min(MAX_BATCH);
            self.advance(frames, total, t, n);
            t += n;
        }
        self.score(scores);
        self.warm = true;
    }

    /// Advances the network by frames `t0..t0 + n` (`n <= MAX_BATCH`) of a time-last block
    /// `total` frames long, layer by layer so that each weight is loaded once for all `n`.
    fn advance(&mut self, frames: &[f32], total: usize, t0: usize, n: usize) {
        let (f, c) = (self.n_features, self.channels);
        for j in 0..n {
            let slot = self.inputs.push();
            for (i, z) in slot.iter_mut().enumerate() {
                *z = (frames[i * total + t0 + j] - self.mean[i]) * self.inv_std[i];
            }
        }
        let (x, h, g, z) = (
            &mut self.x[..n * c],
            &mut self.h[..n * c],
            &mut self.g[..n * c],
            &mut self.z[..n * f],
        );
        for xj in x.chunks_exact_mut(c) {
            xj.copy_from_slice(&self.in_b);
        }
        // Tap k of frame j reads the input k_in - 1 - k frames before it.
        for k in 0..self.k_in {
            for (j, zj) in z.chunks_exact_mut(f).enumerate() {
                zj.copy_from_slice(self.inputs.get(n - 1 - j + self.k_in - 1 - k));
            }
            let taps = &self.in_wt[k * f * c..(k + 1) * f * c];
            matmul_acc(self.imp, taps, z, x, f, c);
        }
        relu(x);
        for block in &mut self.blocks {
            for xj in x.chunks_exact(c) {
                block.history.push().copy_from_slice(xj);
            }
            for (j, hj) in h.chunks_exact_mut(c).enumerate() {
                hj.copy_from_slice(&block.dw_b);
                for k in 0..self.k_dw {
                    let v = block
                        .history
                        .get(n - 1 - j + (self.k_dw - 1 - k) * block.dilation);
                    mul_acc(self.imp, hj, &block.dw_w[k * c..(k + 1) * c], v);
                }
            }
            relu(h);
            for gj in g.chunks_exact_mut(c) {
                gj.copy_from_slice(&block.pw_b);
            }
            matmul_acc(self.imp, &block.pw_wt, h, g, c, c);
            for (x, &g) in x.iter_mut().zip(g.iter()) {
                *x += g.max(0.0);
            }
        }
        self.batch = n;
    }

    /// The last hidden layer (the head's input) at the newest frame: `channels` values,
    /// all zero before the first evaluation. Read in place: nothing is copied or allocated.
    pub(super) fn hidden(&self) -> &[f32] {
        let c = self.channels;
        &self.x[(self.batch - 1) * c..self.batch * c]
    }

    /// Sigmoid of the head at the newest frame.
    fn score(&self, scores: &mut [f32]) {
        let c = self.channels;
        let newest = &self.x[(self.batch - 1) * c..self.batch * c];
        for (k, s) in scores.iter_mut().enumerate() {
            let w = &self.head_w[k * c..(k + 1) * c];
            let z = self.head_b[k] + w.iter().zip(newest).map(|(w, x)| w * x).sum::<f32>();
            *s = 1.0 / (1.0 + (-z).exp());
        }
    }
}

fn relu(v: &mut [f32]) {
    for x in v {
        *x = x.max(0.0);
    }
}
