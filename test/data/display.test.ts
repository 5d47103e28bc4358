import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { toMimeBundle } from "../../lib/display/index.js";
import { tf } from "../../lib/engine/tf.js";
import { fashionMnist, imageFolder, type ImageDataset } from "../../lib/data/index.js";
import * as transforms from "../../lib/data/transforms/index.js";
import { mkdir, writeFile } from "node:fs/promises";
import { encodeImage, tempDir, writeIdxSet } from "./fixtures.js";

describe("displays", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let fm: ImageDataset;
  before(async () => {
    ({ dir, cleanup } = await tempDir("display"));
    await writeIdxSet(join(dir, "fm"), { train: 40, test: 2 });
    fm = await fashionMnist({ root: join(dir, "fm") });
  });
  after(() => cleanup());

  it("a dataset shows a stratified sample as an image grid with class names, plus a text summary", async () => {
    const bundle = await toMimeBundle(fm);
    assert.match(bundle["text/plain"], /^Fashion-MNIST \(train\): 40 images 28×28×1, 10 classes, from .* \(showing 24\)\n\[image grid: 24 images 28×28, 8 per row\]/);
    const html = String(bundle["text/html"]);
    for (const name of fm.classes) assert.ok(html.includes(`>${name}</figcaption>`), `caption ${name}`);
    assert.equal((html.match(/<figure/g) ?? []).length, 24);
    const png = Buffer.from(String(bundle["image/png"]), "base64");
    const meta = await sharp(png).metadata();
    assert.equal(meta.format, "png");
    assert.equal(meta.width, 8 * 56 + 7 * 2, "8 tiles of 28 px scaled ×2, 2 px gaps");
  });

  it("a batch shows its images with class names, normalisation undone, without creating tensors", async () => {
    for await (const b of fm.batches({ batchSize: 10, augment: transforms.recipes.fashionMnistTrain() })) {
      const before = tf.memory().numTensors;
      const bundle = await toMimeBundle(b);
      assert.equal(tf.memory().numTensors, before);
      assert.match(bundle["text/plain"], /^batch: x 10×28×28×1 float32, y \[10\] int32; normalisation undone for display/);
      assert.match(String(bundle["text/html"]), /T-shirt\/top<\/figcaption>/);
      // Undone: the un-normalised black background shows as 0, not as −0.81.
      const png = await sharp(Buffer.from(String(bundle["image/png"]), "base64")).raw().toBuffer();
      assert.ok(png.includes(0), "dark pixels present");
      b.dispose();
      break;
    }
    const root = join(dir, "big");
    await mkdir(join(root, "a"), { recursive: true });
    for (let k = 0; k < 3; k++) await writeFile(join(root, "a", `${k}.png`), await encodeImage(k, 200, 150, "png"));
    const big = await imageFolder({ root });
    const shown = await toMimeBundle(big);
    const meta = await sharp(Buffer.from(String(shown["image/png"]), "base64")).metadata();
    assert.equal(meta.height, 96, "large images are shown downscaled to 96 px");
    for await (const b of big.batches({ batchSize: 3, augment: transforms.twoViews(transforms.randomResizedCrop(64)) })) {
      const bundle = await toMimeBundle(b);
      assert.match(bundle["text/plain"], /^batch: x 2 views of 3×64×64×3 float32/);
      assert.match(String(bundle["text/html"]), /a \(view 2\)<\/figcaption>/);
      b.dispose();
    }
  });
});
