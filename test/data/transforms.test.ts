import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { tf } from "../../lib/engine/tf.js";
import type { Image } from "../../lib/data/image.js";
import { Rng } from "../../lib/data/random.js";
import { resampleBox, resizedCropBox } from "../../lib/data/transforms/geometry.js";
import * as transforms from "../../lib/data/transforms/index.js";

import { applyTransform } from "../../lib/data/transforms/apply.js";

/** An image whose value at (r, c, ch) is distinct: (r * W + c) * C + ch + 1, scaled to (0, 1]. */
function ramp(h: number, w: number, c: number): Image {
  const n = h * w * c;
  return { data: Float32Array.from({ length: n }, (_, i) => (i + 1) / n), height: h, width: w, channels: c };
}

const run = (t: transforms.Transform, img: Image, seed = 0) => t.apply(img, seed);

describe("transforms", () => {
  it("randomCrop with padding: a window of the zero-padded image at every offset, uniformly", () => {
    const img = ramp(6, 5, 2);
    const t = transforms.randomCrop([6, 5], { padding: 2 });
    const seen = new Map<string, number>();
    for (let seed = 0; seed < 2000; seed++) {
      const out = run(t, img, seed);
      assert.deepEqual([out.height, out.width, out.channels], [6, 5, 2]);
      // Recover the offset from where the image's first pixel value landed (or from the zeros).
      let found: string | undefined;
      for (let dy = -2; dy <= 2 && !found; dy++) {
        for (let dx = -2; dx <= 2 && !found; dx++) {
          let match = true;
          for (let y = 0; y < 6 && match; y++) {
            for (let x = 0; x < 5 && match; x++) {
              for (let k = 0; k < 2; k++) {
                const sy = y + dy;
                const sx = x + dx;
                const want = sy >= 0 && sy < 6 && sx >= 0 && sx < 5 ? img.data[(sy * 5 + sx) * 2 + k]! : 0;
                if (out.data[(y * 5 + x) * 2 + k] !== want) match = false;
              }
            }
          }
          if (match) found = `${dy},${dx}`;
        }
      }
      assert.ok(found, `seed ${seed}: not a padded window`);
      seen.set(found, (seen.get(found) ?? 0) + 1);
    }
    assert.equal(seen.size, 25, "all 5×5 offsets occur");
    for (const count of seen.values()) assert.ok(count > 40 && count < 120, `offset counts ${[...seen.values()]}`);
  });

  it("randomHorizontalFlip mirrors exactly, about half the time", () => {
    const img = ramp(3, 4, 3);
    const flipped = run(transforms.randomHorizontalFlip(1), img);
    for (let y = 0; y < 3; y++) for (let x = 0; x < 4; x++) for (let k = 0; k < 3; k++) {
      assert.equal(flipped.data[(y * 4 + x) * 3 + k], img.data[(y * 4 + (3 - x)) * 3 + k]);
    }
    assert.deepEqual(run(transforms.randomHorizontalFlip(0), img).data, img.data);
    let flips = 0;
    for (let seed = 0; seed < 1000; seed++) if (run(transforms.randomHorizontalFlip(), img, seed).data[0] !== img.data[0]) flips++;
    assert.ok(flips > 450 && flips < 550, `${flips} flips in 1000`);
  });

  it("normalize, centerCrop and resize match their definitions (resize against tf.image.resizeBilinear)", async () => {
    const img = ramp(4, 4, 3);
    const norm = run(transforms.normalize({ mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 2] }), img);
    for (let i = 0; i < norm.data.length; i++) {
      const k = i % 3;
      assert.ok(Math.abs(norm.data[i]! - (img.data[i]! - [0.1, 0.2, 0.3][k]!) / [0.5, 0.25, 2][k]!) < 1e-6);
    }
    const center = run(transforms.centerCrop(2), img);
    assert.deepEqual(Array.from(center.data.subarray(0, 3)), Array.from(img.data.subarray((1 * 4 + 1) * 3, (1 * 4 + 1) * 3 + 3)));
    for (const [h, w] of [[7, 9], [3, 2], [8, 8]] as const) {
      const ours = run(transforms.resize([h, w]), img);
      const ref = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(img.data, [4, 4, 3]), [h, w], false, true).dataSync());
      for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(ours.data[i]! - ref[i]!) < 1e-5, `${h}×${w} at ${i}: ${ours.data[i]} vs ${ref[i]}`);
    }
  });

  it("randomResizedCrop draws boxes inside the image with area and aspect in range, falling back to a centred crop", () => {
    const spec = transforms.randomResizedCrop(8, { scale: [0.25, 0.5], ratio: [0.5, 2] }).spec as Extract<transforms.TransformSpec, { kind: "randomResizedCrop" }>;
    for (let seed = 0; seed < 500; seed++) {
      const [top, left, h, w] = resizedCropBox(40, 60, spec, new Rng(seed));
      assert.ok(top >= 0 && left >= 0 && top + h <= 40 && left + w <= 60);
      const area = (h * w) / (40 * 60);
      assert.ok(area > 0.23 && area < 0.52, `area ${area}`);
      assert.ok(w / h > 0.45 && w / h < 2.2, `ratio ${w / h}`);
    }
    // A 1×100 strip cannot fit any 0.9–1.0 area box of ratio 3/4–4/3: the centred fallback.
    const strict = transforms.randomResizedCrop(4, { scale: [0.9, 1] }).spec as Extract<transforms.TransformSpec, { kind: "randomResizedCrop" }>;
    assert.deepEqual(resizedCropBox(1, 100, strict, new Rng(1)), [0, 49, 1, 1]);
    const out = run(transforms.randomResizedCrop([5, 7]), ramp(20, 30, 3), 4);
    assert.deepEqual([out.height, out.width, out.channels], [5, 7, 3]);
    // The crop of the full image resamples like a plain resize.
    const full = resampleBox(ramp(6, 6, 1), 0, 0, 6, 6, 3, 3);
    assert.deepEqual(full.data, run(transforms.resize(3), ramp(6, 6, 1)).data);
  });

  it("colorJitter: brightness scales, contrast keeps the mean, saturation and hue leave grey pixels alone", () => {
    const img: Image = { data: Float32Array.from({ length: 48 }, (_, i) => 0.2 + (i % 7) * 0.05), height: 4, width: 4, channels: 3 };
    for (let seed = 0; seed < 20; seed++) {
      const b = run(transforms.colorJitter({ brightness: 0.2 }), img, seed);
      const factor = b.data[0]! / img.data[0]!;
      assert.ok(factor >= 0.8 - 1e-6 && factor <= 1.2 + 1e-6);
      for (let i = 0; i < 48; i++) assert.ok(Math.abs(b.data[i]! - Math.min(1, img.data[i]! * factor)) < 1e-5);
      const c = run(transforms.colorJitter({ contrast: 0.3 }), img, seed);
      const luma = (im: Image) => {
        let s = 0;
        for (let i = 0; i < im.data.length; i += 3) s += 0.2989 * im.data[i]! + 0.587 * im.data[i + 1]! + 0.114 * im.data[i + 2]!;
        return s / 16;
      };
      assert.ok(Math.abs(luma(c) - luma(img)) < 1e-4, "contrast keeps the mean luma");
    }
    const grey: Image = { data: new Float32Array(12).fill(0.4), height: 2, width: 2, channels: 3 };
    const sh = run(transforms.colorJitter({ saturation: 0.5, hue: 0.5 }), grey, 3);
    for (const v of sh.data) assert.ok(Math.abs(v - 0.4) < 1e-4); // the luma weights sum to 0.9999, as in torchvision
    const red: Image = { data: Float32Array.from([1, 0, 0]), height: 1, width: 1, channels: 3 };
    const shifted = applyTransform({ kind: "colorJitter", brightness: 0, contrast: 0, saturation: 0, hue: 0.5, p: 1 }, red, new Rng(11));
    assert.ok(shifted.data[0]! < 1 || shifted.data[1]! > 0 || shifted.data[2]! > 0, "hue moves red");
    assert.deepEqual(run(transforms.colorJitter({ brightness: 0.5, p: 0 }), img).data, img.data);
  });

  it("randomErasing fills one rectangle of the requested area; randomGrayscale equalises channels", () => {
    const img = ramp(20, 20, 3);
    for (let seed = 0; seed < 50; seed++) {
      const out = run(transforms.randomErasing({ p: 1, scale: [0.1, 0.2], value: [-1, -2, -3] }), img, seed);
      let erased = 0;
      for (let i = 0; i < out.data.length; i += 3) {
        if (out.data[i] === -1) {
          assert.deepEqual([out.data[i + 1], out.data[i + 2]], [-2, -3]);
          erased++;
        } else {
          assert.equal(out.data[i], img.data[i]);
        }
      }
      assert.ok(erased / 400 > 0.07 && erased / 400 < 0.23, `erased ${erased}`);
    }
    assert.deepEqual(run(transforms.randomErasing({ p: 0 }), img).data, img.data);
    const g = run(transforms.randomGrayscale(1), img);
    for (let i = 0; i < g.data.length; i += 3) assert.ok(g.data[i] === g.data[i + 1] && g.data[i] === g.data[i + 2]);
  });

  it("compose chains, is seeded, and reports output shapes or why it cannot apply", () => {
    const t = transforms.recipes.miniImagenetTrain(16);
    assert.deepEqual(t.outputShape([40, 30, 3]), [16, 16, 3]);
    const img = ramp(40, 30, 3);
    assert.deepEqual(run(t, img, 5).data, run(t, img, 5).data);
    assert.notDeepEqual(run(t, img, 5).data, run(t, img, 6).data);
    assert.throws(() => transforms.randomCrop(40).outputShape([32, 32, 3]), /randomCrop 40×40 is larger than the padded 32×32 image/);
    assert.throws(() => transforms.normalize(transforms.stats.cifar100).outputShape([28, 28, 1]), /normalize has 3 means and 3 stds for a 1-channel image/);
    assert.throws(() => transforms.randomHorizontalFlip(2), /p must be in \[0, 1\], got 2/);
    assert.match(String(transforms.recipes.cifarTrain()), /compose\(randomCrop\(size 32×32, padding 4, fill 0\) → randomHorizontalFlip\(p 0\.5\) → normalize/);
    const two = transforms.twoViews(transforms.randomCrop(4));
    assert.deepEqual(two.outputShape([4, 4, 1]), [4, 4, 1]);
    assert.throws(() => transforms.twoViews(transforms.resize(3), transforms.resize(4)).outputShape([4, 4, 1]), /the views produce different shapes/);
  });
});
