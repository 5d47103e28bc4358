import { tf } from "../tf.js";

/**
 * Initialises a registered TensorFlow.js backend and returns the error that stopped it, if any.
 * TensorFlow.js would only log a factory's error; calling the factory here (and storing the
 * instance where TensorFlow.js keeps it) lets `doctor` say why. The active backend is unchanged.
 */
export async function initialiseBackend(name: string): Promise<Error | undefined> {
  const engine = tf.engine();
  if (engine.registry[name]) return undefined;
  const factory = tf.findBackendFactory(name);
  if (!factory) return new Error(`no backend named "${name}" is registered with TensorFlow.js`);
  try {
    engine.registry[name] = await factory();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** Stops the cpu backend's "install tfjs-node" banner: cluelab's doctor says what is available. */
export function quietCpuBanner(): void {
  const cpu = tf.engine().registry["cpu"] as unknown as { firstUse?: boolean } | undefined;
  if (cpu) cpu.firstUse = false;
}
