/**
 * The `Symbol.for` keys of what compiled cells call on `globalThis` (typescript/transform.ts
 * writes the calls, runtime.ts installs the functions). A module of its own so the main thread
 * never loads the compiler to learn them.
 */

/** The function that imports modules for cells (the notebook's folder; cluelab/tslab mapped). */
export const IMPORT_FUNCTION = "cluelab.kernel.import";
/** The object standing for `import.meta` in cells. */
export const IMPORT_META = "cluelab.kernel.importMeta";
/** The function that records which top-level names a running cell bound. */
export const BOUND_FUNCTION = "cluelab.kernel.bound";
