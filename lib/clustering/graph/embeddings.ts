import { tf } from "../../engine/index.js";

/** A row-major matrix of float32 values: `rows` embeddings of `cols` dimensions. */
export interface RowMatrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

/** What the graph builders and k-means accept: a 2-D tensor or a row-major Float32Array matrix. */
export type Embeddings = tf.Tensor2D | RowMatrix;

/** Reads embeddings into a row-major matrix (the tensor is not disposed: it stays the caller's). */
export async function readEmbeddings(embeddings: Embeddings, what = "embeddings"): Promise<RowMatrix> {
  if (embeddings instanceof tf.Tensor) {
    if (embeddings.rank !== 2) {
      throw new RangeError(`${what} must be a 2-D tensor [samples, dims], got shape [${embeddings.shape.join(", ")}]`);
    }
    const data = (await embeddings.data()) as Float32Array;
    return { data: Float32Array.from(data), rows: embeddings.shape[0], cols: embeddings.shape[1] };
  }
  const { data, rows, cols } = embeddings ?? ({} as RowMatrix);
  if (!(data instanceof Float32Array) || !Number.isInteger(rows) || !Number.isInteger(cols)) {
    throw new TypeError(`${what} must be a tf.Tensor2D or { data: Float32Array, rows, cols }`);
  }
  if (data.length !== rows * cols) {
    throw new RangeError(`${what}: data has ${data.length} values, but rows × cols = ${rows} × ${cols} = ${rows * cols}`);
  }
  return embeddings;
}

/**
 * Checks every value is finite, and returns a copy whose rows have unit L2 norm. A zero row has no
 * direction, so it has no cosine with anything: it is an error, naming the row.
 */
export function normalizedRows(matrix: RowMatrix, what = "embeddings"): RowMatrix {
  const { data, rows, cols } = matrix;
  if (rows === 0 || cols === 0) throw new RangeError(`${what} is empty (${rows} × ${cols}); there is nothing to compare`);
  const out = new Float32Array(data.length);
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    const base = i * cols;
    for (let j = 0; j < cols; j++) {
      const v = data[base + j]!;
      if (!Number.isFinite(v)) {
        throw new RangeError(`${what}: row ${i} has ${v} at dimension ${j}; embeddings must be finite (check the encoder's input and weights)`);
      }
      sum += v * v;
    }
    if (!(sum > 0)) {
      throw new RangeError(`${what}: row ${i} is all zeros, so it has no cosine similarity with anything; drop or fix that sample`);
    }
    const scale = 1 / Math.sqrt(sum);
    for (let j = 0; j < cols; j++) out[base + j] = data[base + j]! * scale;
  }
  return { data: out, rows, cols };
}

/** The rows `indices` of a matrix, in that order. */
export function selectRows(matrix: RowMatrix, indices: ArrayLike<number>): RowMatrix {
  const { data, cols } = matrix;
  const out = new Float32Array(indices.length * cols);
  for (let k = 0; k < indices.length; k++) out.set(data.subarray(indices[k]! * cols, (indices[k]! + 1) * cols), k * cols);
  return { data: out, rows: indices.length, cols };
}
