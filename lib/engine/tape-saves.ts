/**
 * Cheaper saving of tensors for the backward pass.
 *
 * TensorFlow.js keeps each tensor a kernel's gradient will need through `Engine.clone`: an
 * Identity kernel plus a tape node from the copy back to the original. The node exists so that a
 * gradient of a gradient can flow through saved values. A first-order gradient never uses it: the
 * copies feed no forward op, so the tape filter drops their nodes. Yet a CLUE_nano_FMNIST training
 * step makes ~600 such copies, each a full kernel dispatch.
 *
 * While exactly one gradient tape records (the forward pass of `tf.grad`, `variableGrads`, a
 * training step), this copy shares the storage (the Identity kernel's own work: one reference
 * count) and adds no tape node. Under nested tapes (a higher-order gradient is being taken) it
 * is TensorFlow.js' clone, unchanged.
 *
 * Second, outputs that exist only to be saved for the backward pass (a fused kernel's row
 * statistics, an argmax index) get no zero gradient. TensorFlow.js fills every output nobody
 * differentiated with a fresh zero tensor before calling the gradient function (~3 MB of new
 * arrays per CLUE_nano_FMNIST step); for the outputs a kernel declares with
 * {@link declareSaveOnlyOutputs}, its gradient function receives null there instead.
 */
import { tf } from "./tf.js";

type DataId = object;

/** The parts of TensorFlow.js' engine this touches (not in its public types). */
interface EngineInternals {
  state: { gradientDepth: number; tensorInfo: WeakMap<DataId, { backend: unknown }>; activeTape: TapeNode[] };
  backend: { incRef(dataId: DataId): void };
  clone(x: tf.Tensor): tf.Tensor;
  makeTensorFromTensorInfo(info: tf.TensorInfo): tf.Tensor;
  addTapeNode: AddTapeNode;
}

interface TapeNode {
  kernelName: string;
  gradient?: (dys: Array<tf.Tensor | null>) => unknown;
}

type AddTapeNode = (
  this: EngineInternals,
  kernelName: string,
  inputs: tf.NamedTensorMap,
  outputs: tf.Tensor[],
  gradientsFunc: unknown,
  saved: tf.Tensor[],
  attrs: tf.NamedAttrMap,
) => void;

let original: ((this: EngineInternals, x: tf.Tensor) => tf.Tensor) | undefined;
let originalAddTapeNode: AddTapeNode | undefined;

/** Kernel name → which of its outputs only carry saves for its gradient. */
const saveOnly = new Map<string, readonly boolean[]>();

/**
 * Declares that the outputs of `kernelName` marked true in `outputs` are never differentiated:
 * they are saved for its gradient (`outputsToSave`) and nothing else reads a gradient for them.
 * Where nothing downstream gave them a gradient, the kernel's gradient function is called with
 * null in their place instead of a zero tensor, so it must not read those entries.
 */
export function declareSaveOnlyOutputs(kernelName: string, outputs: readonly boolean[]): void {
  saveOnly.set(kernelName, outputs);
}

/** Installs the cheaper clone and tape nodes on TensorFlow.js' engine (once; later calls do nothing). */
export function installLightTapeSaves(): void {
  if (original) return;
  const engine = tf.engine() as unknown as EngineInternals;
  const proto = Object.getPrototypeOf(engine) as EngineInternals;
  const tfClone = proto.clone;
  if (typeof tfClone !== "function" || typeof proto.makeTensorFromTensorInfo !== "function") return; // another tfjs: keep its own
  original = tfClone;
  proto.clone = function (this: EngineInternals, x: tf.Tensor): tf.Tensor {
    // Data not on the active backend goes through the kernel, which moves it.
    if (this.state.gradientDepth !== 1 || this.state.tensorInfo.get(x.dataId)?.backend !== this.backend) return tfClone.call(this, x);
    this.backend.incRef(x.dataId);
    return this.makeTensorFromTensorInfo({ dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype });
  };
  const tfAddTapeNode = proto.addTapeNode;
  if (typeof tfAddTapeNode !== "function") return;
  originalAddTapeNode = tfAddTapeNode;
  proto.addTapeNode = function (this: EngineInternals, kernelName, inputs, outputs, gradientsFunc, saved, attrs) {
    tfAddTapeNode.call(this, kernelName, inputs, outputs, gradientsFunc, saved, attrs);
    const skip = saveOnly.get(kernelName);
    const grad = skip && outputs.length > 1 ? tf.getGradient(kernelName) : undefined;
    const node = this.state.activeTape[this.state.activeTape.length - 1];
    if (!grad || node?.kernelName !== kernelName || !node.gradient) return;
    // TensorFlow.js' own closure, less the zero tensors for the declared outputs.
    node.gradient = (dys) => {
      const filled = dys.map((dy, i) => {
        if (dy != null || skip![i]) return dy;
        const o = outputs[i]!;
        return tf.zeros(o.shape, o.dtype);
      });
      return grad.gradFunc(filled as tf.Tensor[], saved, attrs);
    };
  };
}

/**
 * A new tensor on `x`'s storage, as `tf.reshape(x, x.shape)` gives (one more reference to the
 * data) but with no kernel dispatch: a gradient function passing dy on to an input returns this,
 * not dy itself, so the caller's dy and the gradient stay separately disposable.
 */
export function shareTensor<T extends tf.Tensor>(x: T): T {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.state.tensorInfo.get(x.dataId)?.backend !== engine.backend || typeof engine.backend.incRef !== "function") {
    return tf.reshape(x, x.shape) as T;
  }
  engine.backend.incRef(x.dataId);
  return engine.makeTensorFromTensorInfo({ dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype }) as T;
}

/** Puts TensorFlow.js' own clone back (tests compare both). */
export function uninstallLightTapeSaves(): void {
  if (!original) return;
  const proto = Object.getPrototypeOf(tf.engine()) as EngineInternals;
  proto.clone = original;
  original = undefined;
  if (originalAddTapeNode) proto.addTapeNode = originalAddTapeNode;
  originalAddTapeNode = undefined;
}
