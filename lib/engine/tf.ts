/**
 * The one TensorFlow.js namespace cluelab computes with. Everything in the library, and every
 * notebook through `import { tf } from "cluelab"`, uses this copy, so tensors made anywhere are
 * usable by the models (a second copy of TensorFlow.js would have its own engine).
 */
import * as tf from "@tensorflow/tfjs";

export { tf };
