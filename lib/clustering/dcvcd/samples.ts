import { tf } from "../../engine/index.js";

/** The encoder's inputs for every sample: a tensor `[N, ...]`, or its values with the shape. */
export type SampleInputs = tf.Tensor | { data: Float32Array; shape: number[] };

/**
 * All samples as one Float32Array, from which batches are cut by copying rows: cheaper than
 * `tf.gather`/`tf.slice` on 4-D tensors, which are slow on the wasm backend.
 */
export class SampleBatches {
  readonly count: number;
  readonly rowShape: number[];
  private readonly rowSize: number;

  private constructor(
    private readonly data: Float32Array,
    shape: number[],
  ) {
    this.count = shape[0]!;
    this.rowShape = shape.slice(1);
    this.rowSize = this.rowShape.reduce((a, b) => a * b, 1);
  }

  static async from(inputs: SampleInputs): Promise<SampleBatches> {
    if (inputs instanceof tf.Tensor) {
      if (inputs.rank < 2) throw new RangeError(`inputs must be a tensor [samples, ...], got shape [${inputs.shape.join(", ")}]`);
      return new SampleBatches(Float32Array.from(await inputs.data()), inputs.shape);
    }
    const { data, shape } = inputs ?? ({} as { data?: unknown; shape?: unknown });
    if (!(data instanceof Float32Array) || !Array.isArray(shape) || shape.length < 2) {
      throw new TypeError("inputs must be a tf.Tensor or { data: Float32Array, shape: [samples, ...] }");
    }
    const size = shape.reduce((a: number, b: number) => a * b, 1);
    if (size !== data.length) throw new RangeError(`inputs: shape [${shape.join(", ")}] needs ${size} values, data has ${data.length}`);
    return new SampleBatches(data, shape);
  }

  /** The samples `rows`, in that order, as one tensor. */
  gather(rows: ArrayLike<number>): tf.Tensor {
    const out = new Float32Array(rows.length * this.rowSize);
    for (let r = 0; r < rows.length; r++) out.set(this.data.subarray(rows[r]! * this.rowSize, (rows[r]! + 1) * this.rowSize), r * this.rowSize);
    return tf.tensor(out, [rows.length, ...this.rowShape]);
  }

  /** Samples start..start+size-1 as one tensor. */
  range(start: number, size: number): tf.Tensor {
    return tf.tensor(this.data.subarray(start * this.rowSize, (start + size) * this.rowSize), [size, ...this.rowShape]);
  }
}
