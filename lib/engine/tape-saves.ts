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
 */
import { tf } from "./tf.js";

type DataId = object;

/** The parts of TensorFlow.js' engine this touches (not in its public types). */
interface EngineInternals {
  state: { gradientDepth: number; tensorInfo: WeakMap<DataId, { backend: unknown }> };
  backend: { incRef(dataId: DataId): void };
  clone(x: tf.Tensor): tf.Tensor;
  makeTensorFromTensorInfo(info: tf.TensorInfo): tf.Tensor;
}

let original: ((this: EngineInternals, x: tf.Tensor) => tf.Tensor) | undefined;

/** Installs the cheaper clone on TensorFlow.js' engine (once; later calls do nothing). */
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
}

/** Puts TensorFlow.js' own clone back (tests compare both). */
export function uninstallLightTapeSaves(): void {
  if (!original) return;
  (Object.getPrototypeOf(tf.engine()) as EngineInternals).clone = original;
  original = undefined;
}
