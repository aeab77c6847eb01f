//! The streaming form of a model: a second ONNX graph, carried in the same file, that scores
//! the newest `hop_frames` frames from state tensors holding what its causal convolutions
//! still need of earlier frames (docs/model-format.md). Each frame is computed once instead
//! of once per window position, which is what brings the model under the CPU budget.
//!
//! Equal to the full-window form once the state has seen a receptive field of frames: the
//! first evaluation after a reset therefore warms the state up from the whole window (hops
//! ending at its last frame, from all-zero states), and later ones feed only the new hop.

use super::metadata::{StreamingForm, StreamingState};
use super::{fill_tensor, graph_io_names, model_error, optimize};
use crate::Result;
use base64::Engine as _;
use std::sync::Arc;
use tract_onnx::prelude::*;

/// Where each graph input comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Source {
    Features,
    State(usize),
}

/// A loaded streaming graph with its carried state.
pub(super) struct StreamingPlan {
    session: TypedSimpleState,
    /// The newest hop `[1, n_features, hop_frames]`, refilled in place between runs.
    input: Arc<Tensor>,
    /// Graph inputs in graph order.
    sources: Vec<Source>,
    /// Graph output position of each state's next value, in state order.
    state_outputs: Vec<usize>,
    /// Graph output position of the scores.
    scores_output: usize,
    /// Current state values, in state order (`None` only inside a run).
    states: Vec<Option<TValue>>,
    /// All-zero states, the start of a stream.
    zero_states: Vec<TValue>,
    /// True once the state has been warmed up from a window since the last reset.
    warm: bool,
    n_features: usize,
    hop_frames: usize,
}

impl StreamingPlan {
    /// Decodes, checks and optimizes the streaming graph described by `form` from `proto`'s
    /// metadata; `name` identifies the model in errors.
    pub(super) fn load(
        props: &[tract_onnx::pb::StringStringEntryProto],
        form: &StreamingForm,
        n_features: usize,
        n_keywords: usize,
        name: &str,
    ) -> Result<Self> {
        let fail = |reason: String| model_error(name, format!("streaming form: {reason}"));
        let encoded = props
            .iter()
            .find(|entry| entry.key == form.graph)
            .ok_or_else(|| fail(format!("no `{}` entry in metadata_props", form.graph)))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.value.trim())
            .map_err(|e| fail(format!("`{}` is not base64: {e}", form.graph)))?;
        let onnx = tract_onnx::onnx();
        let proto = onnx
            .proto_model_for_read(&mut &bytes[..])
            .map_err(|e| fail(format!("not a readable ONNX model: {e}")))?;
        let graph = proto
            .graph
            .as_ref()
            .ok_or_else(|| fail("not an ONNX model: it has no graph".to_string()))?;
        let (input_names, output_names) = graph_io_names(graph);
        let (sources, state_outputs, scores_output) =
            wire(form, &input_names, &output_names).map_err(&fail)?;

        let hop_shape = [1, n_features, form.hop_frames];
        let shapes: Vec<&[usize]> = sources
            .iter()
            .map(|s| match s {
                Source::Features => &hop_shape[..],
                Source::State(i) => &form.states[*i].shape[..],
            })
            .collect();
        let inference = onnx
            .model_for_proto_model(&proto)
            .map_err(|e| fail(format!("cannot build the ONNX graph: {e:#}")))?;
        let plan = optimize(inference, &shapes).map_err(|e| {
            fail(format!(
                "inputs {shapes:?} (features 1 x n_features x hop_frames, then the states) do not fit the graph: {e:#}"
            ))
        })?;
        let session = TypedSimpleState::new(&plan)
            .map_err(|e| fail(format!("cannot start a session: {e:#}")))?;
        let zero = |shape: &[usize]| {
            Tensor::zero::<f32>(shape).map_err(|e| fail(format!("cannot allocate: {e:#}")))
        };
        let zero_states = form
            .states
            .iter()
            .map(|s| zero(&s.shape).map(|t| t.into_tvalue()))
            .collect::<Result<Vec<_>>>()?;
        let mut plan = Self {
            session,
            input: Arc::new(zero(&hop_shape)?),
            states: zero_states.iter().cloned().map(Some).collect(),
            sources,
            state_outputs,
            scores_output,
            zero_states,
            warm: false,
            n_features,
            hop_frames: form.hop_frames,
        };
        plan.check_outputs(&form.states, n_keywords).map_err(fail)?;
        plan.reset();
        Ok(plan)
    }

    /// Frames the next [`Self::evaluate_next`] needs: one hop when warm, else a window.
    pub(super) fn frames_needed(&self, window_frames: usize) -> usize {
        frames_needed(self.warm, self.hop_frames, window_frames)
    }

    /// Forgets the stream: the next evaluation warms up from a whole window.
    pub(super) fn reset(&mut self) {
        self.warm = false;
    }

    /// Scores the newest frames, `n_features x frames_needed()` time-last. A failure
    /// leaves the plan cold, so the next call starts over from a window.
    pub(super) fn evaluate_next(
        &mut self,
        frames: &[f32],
        scores: &mut [f32],
        name: &str,
    ) -> Result<()> {
        let warm = std::mem::replace(&mut self.warm, false);
        let total = frames.len() / self.n_features.max(1);
        if warm {
            self.run_hop(frames, total, 0, scores, name)?;
        } else {
            for (slot, zero) in self.states.iter_mut().zip(&self.zero_states) {
                *slot = Some(zero.clone());
            }
            // Whole hops ending at the newest frame; the oldest `total % hop` frames lie
            // outside the receptive field (checked at load).
            for start in (total % self.hop_frames..total).step_by(self.hop_frames) {
                self.run_hop(frames, total, start, scores, name)?;
            }
        }
        self.warm = true;
        Ok(())
    }

    /// Runs the hop `frames[.., start..start + hop]` of a time-last block `total` frames long.
    fn run_hop(
        &mut self,
        frames: &[f32],
        total: usize,
        start: usize,
        scores: &mut [f32],
        name: &str,
    ) -> Result<()> {
        let hop = self.hop_frames;
        fill_tensor(&mut self.input, name, |dst| {
            for (f, row) in dst.chunks_exact_mut(hop).enumerate() {
                row.copy_from_slice(&frames[f * total + start..f * total + start + hop]);
            }
        })?;
        // tract takes its inputs by value; the states move in and come back as outputs.
        let mut inputs = TVec::with_capacity(self.sources.len());
        for source in &self.sources {
            inputs.push(match *source {
                Source::Features => self.input.clone().into_tvalue(),
                Source::State(i) => self.states[i]
                    .take()
                    .unwrap_or_else(|| self.zero_states[i].clone()),
            });
        }
        let outputs = self
            .session
            .run(inputs)
            .map_err(|e| model_error(name, format!("streaming evaluation failed: {e:#}")))?;
        for (slot, &at) in self.states.iter_mut().zip(&self.state_outputs) {
            *slot = Some(outputs[at].clone());
        }
        read_scores(&outputs[self.scores_output], scores)
            .map_err(|reason| model_error(name, format!("streaming form: {reason}")))
    }

    /// Runs one all-zero hop and checks the scores are `[1, n_keywords]` and every state
    /// comes back with its declared shape.
    fn check_outputs(
        &mut self,
        states: &[StreamingState],
        n_keywords: usize,
    ) -> std::result::Result<(), String> {
        let inputs = self
            .sources
            .iter()
            .map(|source| match *source {
                Source::Features => self.input.clone().into_tvalue(),
                Source::State(i) => self.zero_states[i].clone(),
            })
            .collect();
        let outputs = self
            .session
            .run(inputs)
            .map_err(|e| format!("a zero hop does not run: {e:#}"))?;
        let scores = &outputs[self.scores_output];
        if scores.datum_type() != f32::datum_type() || scores.shape() != [1, n_keywords] {
            return Err(format!(
                "scores shape {:?} ({:?}) does not fit [1, n_keywords] = [1, {n_keywords}] f32",
                scores.shape(),
                scores.datum_type()
            ));
        }
        for (state, &at) in states.iter().zip(&self.state_outputs) {
            let value = &outputs[at];
            if value.datum_type() != f32::datum_type() || value.shape() != state.shape {
                return Err(format!(
                    "state output `{}` has shape {:?} ({:?}), its input `{}` is {:?} f32",
                    state.output,
                    value.shape(),
                    value.datum_type(),
                    state.input,
                    state.shape
                ));
            }
        }
        Ok(())
    }
}

/// Matches the graph's inputs and outputs with the names the metadata gives: every graph
/// input and output must be the features, the scores or one state.
fn wire(
    form: &StreamingForm,
    inputs: &[String],
    outputs: &[String],
) -> std::result::Result<(Vec<Source>, Vec<usize>, usize), String> {
    let state_of = |name: &str| form.states.iter().position(|s| s.input == name);
    let sources = inputs
        .iter()
        .map(|name| match name {
            n if *n == form.input => Ok(Source::Features),
            n => state_of(n).map(Source::State).ok_or_else(|| {
                format!("graph input `{n}` is neither `{}` nor a state", form.input)
            }),
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let position = |what: &str, name: &str, names: &[String]| {
        names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| format!("the graph has no {what} `{name}`"))
    };
    position("input", &form.input, inputs)?;
    for state in &form.states {
        position("input", &state.input, inputs)?;
    }
    if inputs.len() != form.states.len() + 1 || outputs.len() != form.states.len() + 1 {
        return Err(format!(
            "the graph has {} inputs and {} outputs; the metadata describes {} each (features or scores, and {} states)",
            inputs.len(),
            outputs.len(),
            form.states.len() + 1,
            form.states.len()
        ));
    }
    let state_outputs = form
        .states
        .iter()
        .map(|s| position("output", &s.output, outputs))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let scores_output = position("output", &form.output, outputs)?;
    Ok((sources, state_outputs, scores_output))
}

/// Frames a streaming evaluation takes: one hop once warm, else a whole window to warm up from
/// (shared by the streaming graph and the native kernel).
pub(super) fn frames_needed(warm: bool, hop_frames: usize, window_frames: usize) -> usize {
    if warm {
        hop_frames
    } else {
        window_frames
    }
}

/// Copies an f32 output of `scores.len()` values into `scores`.
pub(super) fn read_scores(output: &TValue, scores: &mut [f32]) -> std::result::Result<(), String> {
    let view = output
        .try_as_plain_ram()
        .map_err(|e| format!("unreadable output: {e:#}"))?;
    let values = view
        .as_slice::<f32>()
        .map_err(|e| format!("unreadable output: {e:#}"))?;
    if values.len() != scores.len() {
        return Err(format!(
            "output has {} values, expected {}",
            values.len(),
            scores.len()
        ));
    }
    scores.copy_from_slice(values);
    Ok(())
}
