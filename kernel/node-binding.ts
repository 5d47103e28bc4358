/**
 * Node's internal bindings, reached through the deprecated `process.binding` for the two calls
 * the kernel needs that Node exposes nowhere else (the async id stack reset and the SIGINT
 * watchdog). The deprecation warning is silenced for the call: this use is deliberate, and the
 * warning would otherwise print under some cell.
 */

/** The binding `name` with the members a caller expects (each may be missing), or undefined where there is none (another runtime). */
export function nodeBinding<T extends object>(name: string): Partial<T> | undefined {
  const quiet = process.noDeprecation;
  process.noDeprecation = true;
  try {
    return (process as unknown as { binding(name: string): Partial<T> }).binding(name);
  } catch {
    return undefined;
  } finally {
    process.noDeprecation = quiet;
  }
}
