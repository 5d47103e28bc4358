import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { tf } from "../../lib/engine/tf.js";
import { clueSplit, imageFolder, miniImagenet, MINI_IMAGENET_NAMES } from "../../lib/data/index.js";
import { numpyPermutation } from "../../lib/data/numpy-random.js";
import * as transforms from "../../lib/data/transforms/index.js";
import { encodeImage, flatImage, tempDir } from "./fixtures.js";

const COLORS: Record<string, [number, number, number]> = { cat: [200, 30, 30], dog: [20, 180, 40], emu: [30, 40, 220] };

/** A listing of every file and folder under `dir` with sizes and times, to prove nothing was written. */
async function snapshot(dir: string): Promise<string> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const s = await stat(p);
      out.push(`${p} ${s.size} ${s.mtimeMs}`);
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out.sort().join("\n");
}

describe("image folders", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir("images"));
    // root/<class>/<image>: flat colours so decoded values are known; JPEG and PNG, two sizes.
    for (const [cls, rgb] of Object.entries(COLORS)) {
      await mkdir(join(dir, "folders", cls), { recursive: true });
      for (let k = 0; k < 4; k++) {
        const format = k % 2 ? "png" : "jpeg";
        await writeFile(join(dir, "folders", cls, `${k}.${format === "png" ? "png" : "jpg"}`), await flatImage(rgb, k < 2 ? 20 : 30, 24, format));
      }
    }
    await writeFile(join(dir, "folders", "cat", "notes.txt"), "not an image");
  });
  after(() => cleanup());

  it("reads class folders: sorted classes, JPEG and PNG decoded and resized to one size, pixels right", async () => {
    const before = await snapshot(join(dir, "folders"));
    const ds = await imageFolder({ root: join(dir, "folders"), size: 16 });
    assert.deepEqual(ds.classes, ["cat", "dog", "emu"]);
    assert.equal(ds.length, 12);
    assert.deepEqual(ds.shape, [16, 16, 3]);
    assert.deepEqual(ds.classCounts(), [4, 4, 4]);
    for (const i of [0, 5, 11]) {
      const { image, label } = await ds.get(i);
      const rgb = COLORS[ds.classes[label]!]!;
      for (let p = 0; p < 16 * 16; p += 37) {
        for (let k = 0; k < 3; k++) assert.ok(Math.abs(image.data[p * 3 + k]! * 255 - rgb[k]!) <= 3, `sample ${i} channel ${k}`);
      }
    }
    const grey = await imageFolder({ root: join(dir, "folders"), size: [8, 12], channels: 1 });
    assert.deepEqual(grey.shape, [8, 12, 1]);
    // Without a size, the first image's is used (20×24) and the others are fitted to it.
    const natural = await imageFolder({ root: join(dir, "folders") });
    assert.deepEqual(natural.shape, [20, 24, 3]);
    for await (const b of natural.batches({ batchSize: 12, augment: transforms.recipes.miniImagenetTrain(16), seed: 1 })) {
      assert.deepEqual(b.x.shape, [12, 16, 16, 3]);
      assert.deepEqual(Array.from(await b.y.data()), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
      b.dispose();
    }
    assert.equal(await snapshot(join(dir, "folders")), before, "reading wrote nothing into the data folder");
  });

  it("reads an images folder listed by a CSV, with explicit classes and column names", async () => {
    const root = join(dir, "csv");
    await mkdir(join(root, "images"), { recursive: true });
    for (let k = 0; k < 3; k++) await writeFile(join(root, "images", `im${k}.png`), await encodeImage(k, 10, 10, "png"));
    await writeFile(join(root, "list.csv"), 'path,class,extra\nim2.png,"b",x\nim0.png,a,y\n');
    const ds = await imageFolder({ root, csv: "list.csv", columns: { file: "path", label: "class" }, classes: ["a", "b", "c"] });
    assert.deepEqual(ds.classes, ["a", "b", "c"]);
    assert.deepEqual(Array.from(ds.labels), [1, 0]);
    const { image } = await ds.get(0);
    assert.equal(Math.round(image.data[(3 * 10 + 4) * 3 + 1]! * 255), (2 * 37 + 3 * 7 + 4 * 3 + 101) % 256, "PNG decodes losslessly");
    await assert.rejects(imageFolder({ root, csv: "list.csv" }), /list\.csv: the header row has columns "path", "class", "extra"; expected "filename" and "label"/);
    await writeFile(join(root, "bad-label.csv"), "filename,label\nim0.png,zebra\n");
    await assert.rejects(imageFolder({ root, csv: "bad-label.csv", classes: ["a"] }), /bad-label\.csv: .*im0\.png has label "zebra", which is not one of the 1 classes given/);
  });

  it("a CSV naming missing images is an error naming them, or with skipBad they are left out and counted", async () => {
    const root = join(dir, "csv");
    await writeFile(join(root, "missing.csv"), "filename,label\nim0.png,a\nnope.png,a\nim1.png,b\ngone.jpg,b\n");
    await assert.rejects(
      imageFolder({ root, csv: "missing.csv" }),
      /missing\.csv: names 2 image files that do not exist, e\.g\. .*images\/nope\.png \(and 1 more\); fix the paths, or pass \{ skipBad: true \}/,
    );
    const ds = await imageFolder({ root, csv: "missing.csv", skipBad: true });
    assert.equal(ds.length, 2);
    assert.equal(ds.skipped.count, 2);
    assert.match(ds.skipped.examples[0]!, /nope\.png \(missing\)/);
    assert.match(String(ds), /2 images 10×10×3, 2 classes, 2 unreadable skipped/);
  });

  it("an undecodable image fails its batch naming the file; with skipBad it is left out and counted", async () => {
    const root = join(dir, "broken");
    await mkdir(join(root, "a"), { recursive: true });
    for (let k = 0; k < 5; k++) await writeFile(join(root, "a", `${k}.jpg`), await encodeImage(k, 12, 12, "jpeg"));
    await writeFile(join(root, "a", "2.jpg"), (await encodeImage(2, 12, 12, "jpeg")).subarray(0, 200)); // truncated
    await writeFile(join(root, "a", "3.jpg"), "this is text, not a JPEG");
    const ds = await imageFolder({ root, size: 12 });
    await assert.rejects(ds.get(2), /2\.jpg: cannot decode image \(.*\); expected a readable JPEG, PNG or WebP file/);
    for (const workers of [0, 1]) {
      await assert.rejects(async () => {
        for await (const b of ds.batches({ batchSize: 5, workers })) b.dispose();
      }, /a\/2\.jpg: cannot decode image/);
    }
    const tolerant = await imageFolder({ root, size: 12, skipBad: true });
    for (const workers of [0, 1]) {
      const loader = tolerant.batches({ batchSize: 3, workers });
      const sizes: number[] = [];
      for await (const b of loader) {
        sizes.push(b.size);
        assert.equal(b.x.shape[0], b.size);
        b.dispose();
      }
      assert.deepEqual(sizes, [2, 1]);
      assert.deepEqual(loader.skipped.map((s) => s.where.split("/").at(-1)), ["2.jpg", "3.jpg"]);
    }
    assert.equal(tf.memory().numTensors, 0);
  });
});

describe("Mini-ImageNet", () => {
  let root: string;
  let cleanup: () => Promise<void>;
  const wnids = Object.keys(MINI_IMAGENET_NAMES).slice(0, 6);
  before(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir("mini"));
    root = join(dir, "mini-imagenet");
    await mkdir(join(root, "images"), { recursive: true });
    // Class-disjoint CSVs like the original: 3 train classes, 1 val, 2 test; 10 images each, 84×84 JPEGs.
    const parts = { train: wnids.slice(0, 3), val: wnids.slice(3, 4), test: wnids.slice(4) };
    let seed = 0;
    for (const [split, classes] of Object.entries(parts)) {
      const lines = ["filename,label"];
      for (const w of classes) {
        for (let k = 0; k < 10; k++) {
          const name = `${w}${String(k + 1).padStart(8, "0")}.jpg`;
          await writeFile(join(root, "images", name), await encodeImage(seed++, 84, 84, "jpeg"));
          lines.push(`${name},${w}`);
        }
      }
      await writeFile(join(root, `${split}.csv`), lines.join("\n") + "\n");
    }
  });
  after(() => cleanup());

  it("reads the original class-disjoint splits with the ImageNet class names", async () => {
    const train = await miniImagenet({ root, split: "train" });
    assert.equal(train.length, 30);
    assert.deepEqual(train.classes, wnids.slice(0, 3).map((w) => MINI_IMAGENET_NAMES[w]));
    assert.deepEqual(train.shape, [84, 84, 3]);
    const test = await miniImagenet({ root, split: "test", size: 32 });
    assert.deepEqual(test.classCounts(), [10, 10]);
    assert.deepEqual(test.shape, [32, 32, 3]);
    await assert.rejects(miniImagenet({ root, split: "everything" as "train" }), /split must be one of "train", "val", "test", "clue-train", "clue-val"/);
  });

  it("clue-train / clue-val: all classes, 80/20 per class in NumPy RandomState(1) order, disjoint, covering", async () => {
    const train = await miniImagenet({ root, split: "clue-train" });
    const val = await miniImagenet({ root, split: "clue-val" });
    assert.equal(train.classes.length, 6);
    assert.deepEqual(train.classCounts(), new Array(6).fill(8));
    assert.deepEqual(val.classCounts(), new Array(6).fill(2));
    // Per class, numpy.random.RandomState(1).permutation(10) = [2 9 6 4 0 3 1 7 8 5]: the last two go to val.
    assert.deepEqual(Array.from(numpyPermutation(10, 1)), [2, 9, 6, 4, 0, 3, 1, 7, 8, 5]);
    // Longer ones, as printed by numpy.random.RandomState(seed).permutation(70000) (masks above 2^16).
    assert.deepEqual(Array.from(numpyPermutation(70000, 1).slice(-5)), [49100, 20609, 21440, 50057, 5192]);
    assert.deepEqual(Array.from(numpyPermutation(70000, 12345).slice(0, 5)), [58332, 53059, 36369, 9078, 4675]);
    const valFirst = await val.get(0);
    const expected = (await miniImagenet({ root, split: "train" })).subset([8]); // class 0, row 8
    assert.deepEqual(valFirst.image.data, (await expected.get(0)).image.data);
  });

  it("clueSplit reproduces the official new_val.csv of CLUENet's repository (100 classes × 600 images)", () => {
    // The official CSVs list the 64 + 16 + 20 classes' rows, 600 per class, class by class.
    const rows = Object.keys(MINI_IMAGENET_NAMES).flatMap((label) => Array.from({ length: 600 }, (_, k) => ({ label, k })));
    const { classes, train, val } = clueSplit(rows);
    assert.equal(classes.length, 100);
    assert.equal(train.length, 48000);
    assert.equal(val.length, 12000);
    // In the official new_val.csv every class's 120 rows are at positions p[480:] of that class, where
    // p = RandomState(1).permutation(600); checked for all 100 classes against the file when this was written.
    const digest = (ks: number[]) => createHash("sha256").update(ks.join(",")).digest("hex");
    const firstClass = val.filter((r) => r.label === classes[0]).map((r) => r.k);
    assert.deepEqual(firstClass.slice(0, 6), [327, 194, 198, 470, 494, 352]);
    assert.equal(digest(firstClass), "79f18ca82587eb47537646ecddc3bb88d7676ad3e54c56497e4ae72ce6e99297");
    assert.equal(digest(train.filter((r) => r.label === classes[99]).map((r) => r.k)), "89adc1033b96e948f553965daedd535f30ba1e6108eed90949a8735a6d7f8f51");
    assert.equal(classes[0], "n01532829");
  });
});
