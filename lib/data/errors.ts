/**
 * A problem with data on disk or with a dataset request: the message names the file (when there
 * is one), what was found and what was expected, and what to do about it.
 */
export class DataError extends Error {
  override readonly name = "DataError";
  /** The file or folder the problem is about, when there is one. */
  readonly path: string | undefined;

  constructor(message: string, path?: string) {
    super(path !== undefined && !message.startsWith(path) ? `${path}: ${message}` : message);
    this.path = path;
  }
}

/**
 * An image file that cannot be used: missing, truncated, or not a decodable image. Datasets
 * created with `skipBad: true` leave such samples out (and count them) instead of failing.
 */
export class BadImageError extends DataError {}
