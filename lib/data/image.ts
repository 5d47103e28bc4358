/**
 * The in-memory image the data pipeline works on: height × width × channels, float32, row-major
 * HWC (TensorFlow.js' layout), pixels in [0, 1] until a normalisation says otherwise.
 *
 * @packageDocumentation
 */

/** Height, width, channels. */
export type Shape = readonly [height: number, width: number, channels: number];

/** An HWC float32 image. */
export interface Image {
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
}

/** A zero-filled image of `shape`. */
export function blankImage([height, width, channels]: Shape): Image {
  return { data: new Float32Array(height * width * channels), height, width, channels };
}

/** The shape of `image` as a tuple. */
export function shapeOf(image: Image): Shape {
  return [image.height, image.width, image.channels];
}

/** Bytes HWC in 0..255 → floats in [0, 1], into `out` (allocated when absent). */
export function bytesToImage(bytes: Uint8Array, shape: Shape, out?: Float32Array): Image {
  const [height, width, channels] = shape;
  const data = out ?? new Float32Array(height * width * channels);
  for (let i = 0; i < data.length; i++) data[i] = bytes[i]! / 255;
  return { data, height, width, channels };
}

/** Formats a shape as `28×28×1`. */
export function formatShape(shape: readonly number[]): string {
  return shape.join("×");
}
