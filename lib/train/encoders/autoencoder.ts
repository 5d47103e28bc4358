/**
 * The fully connected autoencoder of DEC (Xie et al. 2016) and N2D (McConville et al. 2020):
 * d → 500 → 500 → 2000 → 10 and the mirror image back to d, ReLU after every hidden layer, a
 * linear embedding and a linear reconstruction. As an {@link Encoder} it embeds with the encoder
 * half only and exposes only the encoder's variables, so fine-tuning (DCvCD) updates the encoder
 * and leaves the decoder, which clustering never uses, alone.
 */
import { tf } from "../../engine/index.js";
import { Linear, Module, Rng, kaimingUniform, zeros, type Build, type InitScheme } from "../../nn/index.js";
import type { Encoder } from "../encoder.js";

/** Options of {@link autoencoder}. */
export interface AutoencoderOptions {
  /** Values per input (default 784: 28×28×1 images, given as `[B, 28, 28, 1]` or `[B, 784]`). */
  inputDim?: number;
  /** Widths of the encoder's hidden layers (default [500, 500, 2000]); the decoder mirrors them. */
  hidden?: readonly number[];
  /** Size of the (linear) embedding (default 10, the number of clusters, as DEC and N2D). */
  embeddingDim?: number;
  /** Seed of the initial weights (default 0). */
  seed?: number;
}

/** The autoencoder: an {@link Encoder} (the encoder half) plus the decoder pre-training needs. */
export interface Autoencoder extends Encoder {
  readonly inputDim: number;
  readonly embeddingDim: number;
  /** Embeddings `[B, embeddingDim]` → reconstructions `[B, inputDim]` (linear output). */
  decode(embeddings: tf.Tensor2D): tf.Tensor2D;
  /** Inputs (as {@link Encoder.embed} takes them) → reconstructions `[B, inputDim]`. */
  reconstruct(inputs: tf.Tensor, options?: { training?: boolean }): tf.Tensor2D;
  /** The decoder's variables (pre-training updates these and {@link Encoder.trainableVariables}). */
  readonly decoderVariables: tf.Variable[];
  /** Learnable values of the encoder and the decoder. */
  countParams(): number;
}

/**
 * DEC's Keras initialisation: VarianceScaling(1/3, fan_in, uniform) weights, i.e. U(±1/√fanIn)
 * (the same bound as PyTorch's default), and zero biases.
 */
const DEC_INIT: InitScheme = {
  linear: (inFeatures) => ({ weight: kaimingUniform(inFeatures), bias: zeros }),
  conv: () => {
    throw new Error("the autoencoder has no convolutions");
  },
};

/** A stack of dense layers: ReLU after each but the last, which is linear. */
class DenseStack extends Module {
  private readonly layers: Linear[];

  constructor(build: Build, widths: readonly number[]) {
    super();
    this.layers = widths.slice(1).map((w, i) => this.module(String(i), new Linear(build, widths[i]!, w)));
  }

  forward(x: tf.Tensor2D): tf.Tensor2D {
    let h = x;
    this.layers.forEach((layer, i) => {
      const y = layer.forward(h) as tf.Tensor2D;
      h = i < this.layers.length - 1 ? tf.relu(y) : y;
    });
    return h;
  }

  variables(): tf.Variable[] {
    return this.namedParameters().map(([, p]) => p.variable);
  }
}

/**
 * The DEC/N2D autoencoder as an {@link Encoder}: `embed` maps images `[B, 28, 28, 1]` (or any
 * `[B, ...]` holding `inputDim` values per sample, e.g. `[B, 784]`) in [0, 1] to linear embeddings
 * `[B, embeddingDim]`; `trainableVariables` are the encoder's. Pre-train it with
 * {@link autoencoderPretrain} (reconstruction error), then cluster its embeddings.
 *
 * @example
 * ```ts
 * const ae = train.autoencoder({ seed: 0 });               // 784-500-500-2000-10
 * await train.autoencoderPretrain(ae, await datasets.fashionMnist(), { epochs: 30 });
 * const z = ae.embed(images);                                // [B, 10]
 * ```
 */
export function autoencoder(options: AutoencoderOptions = {}): Autoencoder {
  const { inputDim = 784, hidden = [500, 500, 2000], embeddingDim = 10, seed = 0 } = options;
  const positive = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  if (!positive(inputDim)) throw new RangeError(`autoencoder: inputDim must be a positive integer, got ${inputDim}`);
  if (!Array.isArray(hidden) || !hidden.every(positive)) {
    throw new RangeError(`autoencoder: hidden must be a list of positive integers (e.g. [500, 500, 2000]), got [${String(hidden)}]`);
  }
  if (!positive(embeddingDim)) throw new RangeError(`autoencoder: embeddingDim must be a positive integer, got ${embeddingDim}`);
  const build: Build = { rng: new Rng(seed), init: DEC_INIT };
  const widths = [inputDim, ...hidden, embeddingDim];
  const encoder = new DenseStack(build, widths);
  const decoder = new DenseStack(build, [...widths].reverse());
  const flatten = (inputs: tf.Tensor): tf.Tensor2D => {
    const perSample = inputs.shape.slice(1).reduce((a, b) => a * b, 1);
    if (inputs.rank < 2 || perSample !== inputDim) {
      throw new RangeError(
        `autoencoder expects [batch, ${inputDim}] or images holding ${inputDim} values each (e.g. [batch, 28, 28, 1]), got [${inputs.shape.join(", ")}]`,
      );
    }
    return inputs.rank === 2 ? (inputs as tf.Tensor2D) : tf.reshape(inputs, [inputs.shape[0]!, inputDim]);
  };
  const embed = (inputs: tf.Tensor) => encoder.forward(flatten(inputs));
  const decode = (z: tf.Tensor2D) => {
    if (z.rank !== 2 || z.shape[1] !== embeddingDim) {
      throw new RangeError(`autoencoder.decode expects embeddings [batch, ${embeddingDim}], got [${z.shape.join(", ")}]`);
    }
    return decoder.forward(z);
  };
  return {
    inputDim,
    embeddingDim,
    embed,
    decode,
    reconstruct: (inputs) => decoder.forward(embed(inputs)),
    trainableVariables: encoder.variables(),
    decoderVariables: decoder.variables(),
    countParams: () => encoder.countParams() + decoder.countParams(),
    dispose: () => {
      encoder.dispose();
      decoder.dispose();
    },
  };
}
