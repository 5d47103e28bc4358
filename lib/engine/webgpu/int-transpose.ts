/**
 * tfjs-backend-webgpu 4.22's generic TransposeProgram reads its input buffer as if it held the
 * output dtype. int32 and bool buffers — including float32 tensors made from them by `cast`,
 * which on WebGPU relabels the buffer without converting it — then fail shader compilation
 * (e.g. transposing a one-hot assignment mask). Such inputs are first materialised as real f32
 * (`x + 0` converts element by element), transposed by the backend's own kernel, and cast back:
 * exact for the index and mask values models transpose (|v| < 2^24).
 */
import { composedKernel } from "../compose.js";
import { tf } from "../tf.js";

const BACKEND = "webgpu";
let patched = false;

export function patchWebgpuIntTranspose(): void {
  if (patched) return;
  const original = tf.getKernel("Transpose", BACKEND);
  if (!original) return;
  const viaFloat = composedKernel("Transpose", BACKEND, ({ x }, attrs) => {
    const asFloat = tf.add(tf.cast(x!, "float32"), 0); // a real conversion, see above
    const transposed = tf.transpose(asFloat, attrs.perm as number[]);
    return x!.dtype === "float32" ? transposed : tf.cast(transposed, x!.dtype);
  });
  tf.unregisterKernel("Transpose", BACKEND);
  tf.registerKernel({
    kernelName: "Transpose",
    backendName: BACKEND,
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      const stored = (args.backend as unknown as { tensorMap: { get(id: object): { dtype: string } } }).tensorMap.get(
        x.dataId,
      ).dtype;
      return stored === "float32" ? original.kernelFunc(args) : viaFloat.kernelFunc(args);
    },
  });
  patched = true;
}
