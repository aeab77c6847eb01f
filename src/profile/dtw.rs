//! Subsequence dynamic time warping on the model's hidden activations, with cosine distance.
//!
//! A template (the activations over one enrolled utterance of the word, oldest first) is
//! aligned against the end of a sequence: the alignment may start anywhere in the sequence
//! (the word began at some unknown evaluation) but must end at its newest element (the word
//! ends now, which is when the model's score peaks). The distance is the mean cosine distance
//! along the best path, so templates and windows of different lengths compare on one scale
//! (0 = same direction, 1 = orthogonal; activations are ReLU outputs, so never above 1).

/// Cosine distance of two vectors that are unit length or all zero (zero counts as 1).
pub(super) fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    1.0 - a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>()
}

/// Scales `v` to unit length in place (an all-zero vector stays zero).
pub(super) fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Reusable rows of the accumulated cost and path length, sized for sequences up to `cap`.
pub(super) struct DtwScratch {
    cost: Vec<f32>,
    len: Vec<u32>,
}

impl DtwScratch {
    pub(super) fn new(cap: usize) -> Self {
        Self {
            cost: vec![0.0; 2 * cap],
            len: vec![0; 2 * cap],
        }
    }

    pub(super) fn memory_bytes(&self) -> usize {
        self.cost.len() * 4 + self.len.len() * 4
    }

    /// Mean cosine distance along the best alignment of `template` (`[t][width]`, unit rows)
    /// ending at element `n - 1` of the sequence `element(0..n)`, oldest first; `n` is at most
    /// the capacity. Allocates nothing.
    pub(super) fn distance<'a>(
        &mut self,
        template: &[f32],
        width: usize,
        n: usize,
        element: impl Fn(usize) -> &'a [f32],
    ) -> f32 {
        let t = template.len() / width.max(1);
        if t == 0 || n == 0 {
            return 1.0;
        }
        let (cost, len) = (&mut self.cost, &mut self.len);
        let (prev, cur) = (0, n);
        // Row 0: the template's first element may meet any sequence element (open start).
        for j in 0..n {
            cost[cur + j] = cosine_distance(&template[..width], element(j));
            len[cur + j] = 1;
        }
        for i in 1..t {
            cost.copy_within(cur..cur + n, prev);
            len.copy_within(cur..cur + n, prev);
            let row = &template[i * width..(i + 1) * width];
            for j in 0..n {
                let c = cosine_distance(row, element(j));
                // Steps: from (i-1, j), (i-1, j-1) and (i, j-1); compare by mean cost so that
                // long paths are not favoured or penalised for their length.
                let mut best = (cost[prev + j], len[prev + j]);
                if j > 0 {
                    for cand in [
                        (cost[prev + j - 1], len[prev + j - 1]),
                        (cost[cur + j - 1], len[cur + j - 1]),
                    ] {
                        let mean = |(cost, len): (f32, u32)| (cost + c) / (len + 1) as f32;
                        if mean(cand) < mean(best) {
                            best = cand;
                        }
                    }
                }
                cost[cur + j] = best.0 + c;
                len[cur + j] = best.1 + 1;
            }
        }
        cost[cur + n - 1] / len[cur + n - 1] as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let mut v = v.to_vec();
        normalize(&mut v);
        v
    }

    #[test]
    fn a_sequence_ending_in_the_template_is_at_distance_zero() {
        let rows: Vec<Vec<f32>> = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
            .iter()
            .map(|r| unit(r))
            .collect();
        let template: Vec<f32> = rows.concat();
        // Noise first, then the template slowed down (each row twice): still distance 0.
        let seq = [
            unit(&[1.0, -1.0]),
            rows[0].clone(),
            rows[0].clone(),
            rows[1].clone(),
            rows[1].clone(),
            rows[2].clone(),
        ];
        let mut dtw = DtwScratch::new(8);
        let d = dtw.distance(&template, 2, seq.len(), |j| &seq[j]);
        assert!(d.abs() < 1e-6, "{d}");
        // Ending elsewhere costs: the last element must align with the template's last row.
        let d = dtw.distance(&template, 2, 4, |j| &seq[j]);
        assert!(d > 0.05, "{d}");
    }

    #[test]
    fn orthogonal_sequences_are_at_distance_one() {
        let template = [1.0, 0.0, 1.0, 0.0];
        let seq = [[0.0, 1.0]; 3];
        let d = DtwScratch::new(3).distance(&template, 2, 3, |j| &seq[j]);
        assert!((d - 1.0).abs() < 1e-6);
    }
}
