/**
 * The `native` TensorFlow.js backend: the cpu backend's storage (typed arrays in JavaScript
 * memory) and its kernels as the fallback, with native kernels registered over the hot ones.
 * Native kernels read and write those typed arrays in place; their outputs come from a
 * {@link BufferPool}.
 */
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { tf } from "../tf.js";
import type { NativeAddon } from "./addon.js";
import { BufferPool } from "./pool.js";

type DataId = object;
type Values = tf.backend_util.BackendValues;
type NumericDtype = "float32" | "int32" | "bool";
type ArrayFor<D extends NumericDtype> = D extends "float32" ? Float32Array : D extends "int32" ? Int32Array : Uint8Array;

export class NativeBackend extends MathBackendCPU {
  readonly pool: BufferPool;

  constructor(
    readonly addon: NativeAddon,
    poolLimitBytes: number,
  ) {
    super();
    this.pool = new BufferPool(poolLimitBytes);
    // No "install tfjs-node" banner: this backend is the fast path.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** An uninitialised output array of `size` elements, recycled when possible. */
  alloc<D extends NumericDtype>(size: number, dtype: D): ArrayFor<D> {
    const bytesPer = dtype === "bool" ? 1 : 4;
    const buffer = this.pool.take(size * bytesPer);
    const array = dtype === "float32" ? new Float32Array(buffer, 0, size) : dtype === "int32" ? new Int32Array(buffer, 0, size) : new Uint8Array(buffer, 0, size);
    return array as ArrayFor<D>;
  }

  /** Stores `values` (from {@link alloc}) as a new tensor's data. */
  output(values: Float32Array | Int32Array | Uint8Array, shape: number[], dtype: NumericDtype): tf.TensorInfo {
    return this.makeTensorInfo(shape, dtype, values);
  }

  /** The typed array a tensor's data lives in (no copy). */
  values<T extends Values = Float32Array>(t: tf.TensorInfo): T {
    return this.data.get(t.dataId).values as T;
  }

  override write(values: Values, shape: number[], dtype: tf.DataType): DataId {
    if (ArrayBuffer.isView(values)) this.pool.retain(values.buffer);
    return super.write(values, shape, dtype);
  }

  override move(dataId: DataId, values: Values, shape: number[], dtype: tf.DataType, refCount: number): void {
    if (ArrayBuffer.isView(values)) this.pool.retain(values.buffer);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const freed = super.disposeData(dataId, force);
    if (freed && values && ArrayBuffer.isView(values) && !this.data.has(dataId)) this.pool.release(values.buffer);
    return freed;
  }

  override readSync(dataId: DataId): Values {
    const values = this.data.get(dataId).values;
    // The caller may keep these values past the tensor's life: never recycle their buffer.
    if (values && ArrayBuffer.isView(values)) this.pool.escape(values.buffer);
    return super.readSync(dataId);
  }

  override dispose(): void {
    this.pool.clear();
    super.dispose();
  }
}
