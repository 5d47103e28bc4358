/**
 * Mini-ImageNet (Vinyals et al. 2016, Ravi & Larochelle 2017's CSV splits): 100 ImageNet classes,
 * 600 images each, in one `images/` folder with `train.csv` (64 classes), `val.csv` (16) and
 * `test.csv` (20), each listing `filename,label` (the label is the WordNet id).
 *
 * Splits:
 * - `"train" | "val" | "test"`: the original class-disjoint splits (few-shot learning), labels
 *   0..k−1 over the split's own classes in WordNet-id order.
 * - `"clue-train" | "clue-val"`: CLUENet's re-split for 100-way classification (48,000 / 12,000
 *   images), reproduced exactly from the official code (`restructure_csv.py` in 52KunKun/CLUENet):
 *   the rows of train.csv, val.csv and test.csv are concatenated in that order; classes are the
 *   100 WordNet ids sorted, labelled 0..99; each class's rows, in file order, are shuffled with
 *   pandas `sample(frac=1, random_state=1)`, i.e. NumPy `RandomState(1).permutation(n)`, and the
 *   first `int(n × 0.8)` go to clue-train, the rest to clue-val. Samples come in that order
 *   (class by class, shuffled within), as in the official `new_train.csv` / `new_val.csv`.
 *
 * @packageDocumentation
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ImageDataset } from "../dataset.js";
import { readImageCsv, type CsvRow } from "../formats/csv.js";
import { locate } from "../locate.js";
import { numpyPermutation } from "../numpy-random.js";
import { checkFilesExist, imageListDataset, type ImageLoadOptions } from "./image-folder.js";

/** The Mini-ImageNet splits: the original few-shot ones, and CLUENet's 80/20 re-split of all 100 classes. */
export type MiniImagenetSplit = "train" | "val" | "test" | "clue-train" | "clue-val";

/** Options of {@link miniImagenet}. */
export interface MiniImagenetOptions extends ImageLoadOptions {
  /** The folder with `images/`, `train.csv`, `val.csv`, `test.csv`; default: search the usual places. */
  root?: string;
  split: MiniImagenetSplit;
  /** Decode size, default 84 (Mini-ImageNet's customary resolution); CLUENet's recipe trains at 224. */
  size?: number | readonly [number, number];
}

/** The seed and training fraction of CLUENet's re-split (`restructure_csv.py`). */
export const CLUE_SPLIT = { seed: 1, trainFraction: 1 - 0.2 } as const;

/**
 * CLUENet's re-split of the concatenated rows (train.csv, val.csv, test.csv, in that order):
 * per class in sorted WordNet-id order, a NumPy `RandomState(1)` permutation, the first
 * `int(n × 0.8)` rows to train. Returns both halves in the official files' order.
 */
export function clueSplit<R extends { label: string }>(rows: readonly R[]): { classes: string[]; train: R[]; val: R[] } {
  const byClass = new Map<string, R[]>();
  for (const row of rows) {
    let list = byClass.get(row.label);
    if (!list) byClass.set(row.label, (list = []));
    list.push(row);
  }
  const classes = [...byClass.keys()].sort();
  const train: R[] = [];
  const val: R[] = [];
  for (const label of classes) {
    const members = byClass.get(label)!;
    const order = numpyPermutation(members.length, CLUE_SPLIT.seed);
    const nTrain = Math.trunc(members.length * CLUE_SPLIT.trainFraction);
    order.forEach((k, j) => (j < nTrain ? train : val).push(members[k]!));
  }
  return { classes, train, val };
}

/**
 * Mini-ImageNet from its `images/` folder and CSV splits. `classes` are the ImageNet class names
 * (WordNet ids where unknown); images are decoded to `size` (default 84) by sharp in the loader's worker.
 */
export async function miniImagenet(options: MiniImagenetOptions): Promise<ImageDataset> {
  const split = options?.split;
  const splits: MiniImagenetSplit[] = ["train", "val", "test", "clue-train", "clue-val"];
  if (!splits.includes(split)) throw new RangeError(`Mini-ImageNet: split must be one of ${splits.map((s) => `"${s}"`).join(", ")}, got "${String(split)}"`);
  const csvs = split.startsWith("clue-") ? ["train.csv", "val.csv", "test.csv"] : [`${split}.csv`];
  const { dir } = await locate(
    {
      name: "mini-imagenet",
      title: `Mini-ImageNet (${split})`,
      subdirs: ["mini-imagenet"],
      probe: async (d) => (existsSync(join(d, "images")) && csvs.every((c) => existsSync(join(d, c))) ? d : undefined),
      expected: `an images/ folder with ${csvs.join(", ")}`,
      downloadable: false,
    },
    options.root,
  );
  const tables = await Promise.all(csvs.map(async (c) => ({ csv: join(dir, c), rows: await readImageCsv(join(dir, c)) })));
  let rows: (CsvRow & { csv: string })[] = tables.flatMap((t) => t.rows.map((r) => ({ ...r, csv: t.csv })));
  let classes: string[];
  if (split.startsWith("clue-")) {
    const parts = clueSplit(rows);
    classes = parts.classes;
    rows = split === "clue-train" ? parts.train : parts.val;
  } else {
    classes = [...new Set(rows.map((r) => r.label))].sort();
  }
  const images = join(dir, "images");
  const listedIn = tables.length === 1 ? tables[0]!.csv : dir;
  const checked = await checkFilesExist({ paths: rows.map((r) => join(images, r.file)), labels: rows.map((r) => r.label) }, listedIn, options.skipBad ?? false);
  return imageListDataset(checked.list, classes, {
    ...options,
    size: options.size ?? 84,
    name: `Mini-ImageNet (${split})`,
    origin: dir,
    skipped: checked.skipped,
    listedIn,
    classNames: classes.map((id) => MINI_IMAGENET_NAMES[id] ?? id),
  });
}

/** ImageNet names of Mini-ImageNet's 100 classes, by WordNet id. */
export const MINI_IMAGENET_NAMES: Readonly<Record<string, string>> = {
  n01532829: "house_finch",
  n01558993: "robin",
  n01704323: "triceratops",
  n01749939: "green_mamba",
  n01770081: "harvestman",
  n01843383: "toucan",
  n01855672: "goose",
  n01910747: "jellyfish",
  n01930112: "nematode",
  n01981276: "king_crab",
  n02074367: "dugong",
  n02089867: "Walker_hound",
  n02091244: "Ibizan_hound",
  n02091831: "Saluki",
  n02099601: "golden_retriever",
  n02101006: "Gordon_setter",
  n02105505: "komondor",
  n02108089: "boxer",
  n02108551: "Tibetan_mastiff",
  n02108915: "French_bulldog",
  n02110063: "malamute",
  n02110341: "dalmatian",
  n02111277: "Newfoundland",
  n02113712: "miniature_poodle",
  n02114548: "white_wolf",
  n02116738: "African_hunting_dog",
  n02120079: "Arctic_fox",
  n02129165: "lion",
  n02138441: "meerkat",
  n02165456: "ladybug",
  n02174001: "rhinoceros_beetle",
  n02219486: "ant",
  n02443484: "black-footed_ferret",
  n02457408: "three-toed_sloth",
  n02606052: "rock_beauty",
  n02687172: "aircraft_carrier",
  n02747177: "ashcan",
  n02795169: "barrel",
  n02823428: "beer_bottle",
  n02871525: "bookshop",
  n02950826: "cannon",
  n02966193: "carousel",
  n02971356: "carton",
  n02981792: "catamaran",
  n03017168: "chime",
  n03047690: "clog",
  n03062245: "cocktail_shaker",
  n03075370: "combination_lock",
  n03127925: "crate",
  n03146219: "cuirass",
  n03207743: "dishrag",
  n03220513: "dome",
  n03272010: "electric_guitar",
  n03337140: "file",
  n03347037: "fire_screen",
  n03400231: "frying_pan",
  n03417042: "garbage_truck",
  n03476684: "hair_slide",
  n03527444: "holster",
  n03535780: "horizontal_bar",
  n03544143: "hourglass",
  n03584254: "iPod",
  n03676483: "lipstick",
  n03770439: "miniskirt",
  n03773504: "missile",
  n03775546: "mixing_bowl",
  n03838899: "oboe",
  n03854065: "organ",
  n03888605: "parallel_bars",
  n03908618: "pencil_box",
  n03924679: "photocopier",
  n03980874: "poncho",
  n03998194: "prayer_rug",
  n04067472: "reel",
  n04146614: "school_bus",
  n04149813: "scoreboard",
  n04243546: "slot",
  n04251144: "snorkel",
  n04258138: "solar_dish",
  n04275548: "spider_web",
  n04296562: "stage",
  n04389033: "tank",
  n04418357: "theater_curtain",
  n04435653: "tile_roof",
  n04443257: "tobacco_shop",
  n04509417: "unicycle",
  n04515003: "upright",
  n04522168: "vase",
  n04596742: "wok",
  n04604644: "worm_fence",
  n04612504: "yawl",
  n06794110: "street_sign",
  n07584110: "consomme",
  n07613480: "trifle",
  n07697537: "hotdog",
  n07747607: "orange",
  n09246464: "cliff",
  n09256479: "coral_reef",
  n13054560: "bolete",
  n13133613: "ear",
};
