import { tf, ready } from "../../engine/index.js";
import type { Encoder } from "../../train/encoder.js";
import type { RowMatrix } from "../graph/embeddings.js";
import type { Random } from "../random.js";
import type { SampleBatches } from "./samples.js";

/**
 * For each anchor of a batch, one positive drawn uniformly from the other batch members with the
 * same pseudo-label, or -1 when it has none (the paper skips such anchors).
 */
export function drawPositives(labels: ArrayLike<number>, random: Random): Int32Array {
  const b = labels.length;
  const positives = new Int32Array(b).fill(-1);
  for (let i = 0; i < b; i++) {
    let count = 0;
    for (let j = 0; j < b; j++) if (j !== i && labels[j] === labels[i]) count++;
    if (count === 0) continue;
    let pick = random.int(count);
    for (let j = 0; j < b; j++) {
      if (j !== i && labels[j] === labels[i] && pick-- === 0) {
        positives[i] = j;
        break;
      }
    }
  }
  return positives;
}

/**
 * The clustering-aware InfoNCE of DCvCD (Section 3.4) over one batch:
 * L = −Σ_i log( e^{s(i,p_i)/τ} / (e^{s(i,p_i)/τ} + Σ_{j∈N_i} e^{s(i,j)/τ}) ),
 * s the cosine similarity, p_i the anchor's positive, N_i the batch members with another
 * pseudo-label; anchors without a positive contribute nothing. Summed over anchors, as the paper.
 *
 * @param embeddings - the encoder's output for the batch, [batch, dims] (normalised here).
 */
export function clusteringInfoNce(embeddings: tf.Tensor2D, labels: ArrayLike<number>, positives: Int32Array, tau: number): tf.Scalar {
  return tf.tidy(() => {
    const b = labels.length;
    const positiveMask = new Float32Array(b * b);
    const negativeMask = new Float32Array(b * b);
    const anchors = new Float32Array(b);
    for (let i = 0; i < b; i++) {
      if (positives[i]! >= 0) {
        positiveMask[i * b + positives[i]!] = 1;
        anchors[i] = 1;
      }
      for (let j = 0; j < b; j++) if (labels[j] !== labels[i]) negativeMask[i * b + j] = 1;
    }
    const z = tf.div(embeddings, tf.maximum(tf.norm(embeddings, 2, 1, true), 1e-12));
    const logits = tf.div(tf.matMul(z, z, false, true), tau);
    const positive = tf.sum(tf.mul(logits, tf.tensor2d(positiveMask, [b, b])), 1, true); // [b, 1]
    // Non-negatives are pushed to −∞ (a large negative) so they vanish from the log-sum-exp.
    const negatives = tf.add(logits, tf.mul(tf.sub(tf.tensor2d(negativeMask, [b, b]), 1), 1e9));
    const denominator = tf.logSumExp(tf.concat([positive, negatives], 1), 1); // [b]
    const perAnchor = tf.sub(denominator, tf.squeeze(positive, [1]));
    return tf.sum(tf.mul(perAnchor, tf.tensor1d(anchors)));
  });
}

/** What one round of fine-tuning did. */
export interface FineTuneRecord {
  epochs: number;
  steps: number;
  samples: number;
  /** Mean loss per anchor over each epoch. */
  losses: number[];
  seconds: number;
}

/**
 * Fine-tunes the encoder on the main communities with the clustering-aware InfoNCE: SGD with
 * momentum and (coupled, PyTorch-style) weight decay, shuffled batches of main-community samples.
 */
export async function fineTune(
  encoder: Encoder,
  inputs: SampleBatches,
  indices: Int32Array,
  pseudoLabels: Int32Array,
  settings: {
    epochs: number;
    batchSize: number;
    learningRate: number;
    momentum: number;
    weightDecay: number;
    tau: number;
    samplesPerEpoch: number;
  },
  random: Random,
  signal?: AbortSignal,
): Promise<FineTuneRecord> {
  await ready();
  const started = performance.now();
  const variables = encoder.trainableVariables;
  const optimizer = new SgdMomentum(variables, settings.learningRate, settings.momentum, settings.weightDecay);
  const losses: number[] = [];
  let steps = 0;
  const perEpoch = Math.min(indices.length, settings.samplesPerEpoch);
  try {
    for (let epoch = 0; epoch < settings.epochs; epoch++) {
      const order = random.permutation(indices.length);
      let total = 0;
      let anchors = 0;
      for (let start = 0; start + 1 < perEpoch; start += settings.batchSize) {
        signal?.throwIfAborted();
        const end = Math.min(perEpoch, start + settings.batchSize);
        const rows = new Int32Array(end - start);
        const labels = new Int32Array(end - start);
        for (let r = start; r < end; r++) {
          rows[r - start] = indices[order[r]!]!;
          labels[r - start] = pseudoLabels[order[r]!]!;
        }
        const positives = drawPositives(labels, random);
        const used = positives.reduce((s, p) => s + (p >= 0 ? 1 : 0), 0);
        if (used === 0) continue;
        const batch = inputs.gather(rows);
        const cost = optimizer.step(() => clusteringInfoNce(encoder.embed(batch, { training: true }), labels, positives, settings.tau));
        batch.dispose();
        total += (await cost.data())[0]!;
        cost.dispose();
        anchors += used;
        steps++;
      }
      losses.push(anchors ? total / anchors : 0);
    }
  } finally {
    optimizer.dispose();
  }
  return { epochs: settings.epochs, steps, samples: perEpoch, losses, seconds: (performance.now() - started) / 1000 };
}

/**
 * SGD with momentum and weight decay exactly as PyTorch's `torch.optim.SGD` (the paper's
 * optimiser): g ← ∇ + wd·θ, b ← μ·b + g, θ ← θ − lr·b. Written out because TensorFlow.js 4.22's
 * MomentumOptimizer has no weight decay and leaks its learning-rate scalar on dispose.
 */
export class SgdMomentum {
  private readonly buffers: tf.Variable[];

  constructor(
    private readonly variables: tf.Variable[],
    private readonly learningRate: number,
    private readonly momentum: number,
    private readonly weightDecay: number,
  ) {
    this.buffers = variables.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
  }

  /** One update from the gradient of `loss`; returns the loss (the caller disposes it). */
  step(loss: () => tf.Scalar): tf.Scalar {
    return tf.tidy(() => {
      const { value, grads } = tf.variableGrads(loss, this.variables);
      this.variables.forEach((v, i) => {
        const gradient = grads[v.name];
        if (!gradient) return; // a variable the loss does not use
        const decayed = this.weightDecay ? tf.add(gradient, tf.mul(v, this.weightDecay)) : gradient;
        const buffer = tf.add(tf.mul(this.buffers[i]!, this.momentum), decayed);
        this.buffers[i]!.assign(buffer);
        v.assign(tf.sub(v, tf.mul(buffer, this.learningRate)));
      });
      return tf.keep(value);
    });
  }

  dispose(): void {
    tf.dispose(this.buffers);
  }
}

/** Embeds every sample (in batches, inference mode) into a row-major matrix. */
export async function embedAll(encoder: Encoder, inputs: SampleBatches, batchSize: number, signal?: AbortSignal): Promise<RowMatrix> {
  await ready();
  const n = inputs.count;
  let out: Float32Array | undefined;
  let cols = 0;
  for (let start = 0; start < n; start += batchSize) {
    signal?.throwIfAborted();
    const size = Math.min(batchSize, n - start);
    const embedded = tf.tidy(() => encoder.embed(inputs.range(start, size), { training: false }));
    if (embedded.rank !== 2 || embedded.shape[0] !== size) {
      const shape = embedded.shape.join(", ");
      embedded.dispose();
      throw new RangeError(`the encoder returned shape [${shape}] for a batch of ${size}; embed must return [batch, dims]`);
    }
    const values = (await embedded.data()) as Float32Array;
    cols = embedded.shape[1];
    embedded.dispose();
    out ??= new Float32Array(n * cols);
    out.set(values, start * cols);
  }
  return { data: out ?? new Float32Array(0), rows: n, cols };
}
