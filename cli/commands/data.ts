import { Command, InvalidArgumentError } from "commander";
import { DOWNLOADS, DOWNLOADABLE, MIRROR_ENV } from "../../lib/data/download/catalog.js";
import type { DownloadProgress } from "../../lib/data/download/index.js";
import type { ImageDataset } from "../../lib/data/index.js";
import { defaultDataDir, searchPath } from "../../lib/data/locate.js";

/**
 * `cluelab data`: `download <name> [--dir DIR]` fetches, verifies and installs a dataset;
 * `list` shows the known datasets and where each is found.
 */
export function dataCommand(): Command {
  const data = new Command("data").description("download datasets and show where they are found");
  data
    .command("download")
    .description(`download, verify and install a dataset (${DOWNLOADABLE.join(", ")})`)
    .argument("<name>", `dataset: ${DOWNLOADABLE.join(", ")}`, parseName)
    .option("--dir <dir>", "data folder; the dataset goes in <dir>/<name> (default: $CLUELAB_DATA, else ~/.cache/cluelab)")
    .option("--keep-archives", "keep the verified archives in <dir>/.downloads after installing")
    .addHelpText("after", `\nSet ${MIRROR_ENV}=<url> to fetch the archives from <url>/<archive name> instead of the publishers.`)
    .action(async (name: string, options: { dir?: string; keepArchives?: boolean }) => runDownload(name, options));
  data
    .command("list")
    .description("list the datasets cluelab reads and where each is found (or why it cannot be used)")
    .action(async () => runList());
  return data;
}

function parseName(value: string): string {
  const known = Object.keys(DOWNLOADS);
  if (known.includes(value)) return value;
  const alias = value.toLowerCase().replace(/[-_ ]/g, "");
  const match = known.find((k) => k.replace(/-/g, "") === alias);
  if (match) return match;
  throw new InvalidArgumentError(`unknown dataset "${value}"; expected one of ${known.join(", ")}`);
}

async function runDownload(name: string, options: { dir?: string; keepArchives?: boolean }): Promise<void> {
  const spec = DOWNLOADS[name]!;
  const dir = options.dir ?? defaultDataDir();
  const { download } = await import("../../lib/data/download/index.js");
  const bar = progressBar(process.stderr);
  const result = await download(name, { dir, keepArchives: options.keepArchives, onProgress: bar.update });
  bar.done();
  if (result.alreadyPresent) {
    process.stdout.write(`${spec.title} is already in ${result.dir} (delete that folder to download it again)\n`);
  } else {
    process.stdout.write(`${spec.title}: verified (${spec.checksums}) and installed in ${result.dir}\n`);
  }
}

async function runList(): Promise<void> {
  const { cifar10, cifar100, DataError, fashionMnist, miniImagenet, mnist, stl10 } = await import("../../lib/data/index.js");
  // Opens each dataset's first split without a root, as a notebook would, to show where it is found.
  const OPENERS: Record<string, () => Promise<ImageDataset>> = {
    mnist: () => mnist(),
    "fashion-mnist": () => fashionMnist(),
    cifar10: () => cifar10(),
    cifar100: () => cifar100(),
    stl10: () => stl10(),
    "mini-imagenet": () => miniImagenet({ split: "train" }),
  };
  const out = (line: string) => process.stdout.write(line + "\n");
  out(`downloads go to ${defaultDataDir()}/<name> unless --dir is given; searched without a root: $CLUELAB_DATA, system locations, the user cache`);
  for (const [name, open] of Object.entries(OPENERS)) {
    const title = DOWNLOADS[name]?.title ?? "Mini-ImageNet (images/ + train/val/test CSVs; no public archive)";
    out(`${name.padEnd(14)} ${title}`);
    try {
      const ds = await open();
      out(`${"".padEnd(14)} found: ${ds.origin} (${ds.name}: ${ds.length.toLocaleString("en")} images)`);
    } catch (error) {
      const message = error instanceof DataError && /was not found/.test(error.message) ? `not found; searched ${searchPath(name).join(", ")}` : `unusable: ${(error as Error).message}`;
      out(`${"".padEnd(14)} ${message}`);
    }
  }
}

/** A one-line progress bar on a TTY; a line per quarter otherwise (logs stay short). */
function progressBar(stream: NodeJS.WriteStream): { update: (p: DownloadProgress) => void; done: () => void } {
  let last = 0;
  let lastQuarter = -1;
  let current = "";
  const started = performance.now();
  const mb = (b: number) => (b / 1e6).toFixed(1);
  return {
    update(p) {
      const now = performance.now();
      const fraction = p.total > 0 ? p.received / p.total : 0;
      if (stream.isTTY) {
        if (now - last < 100 && p.received < p.total) return;
        last = now;
        const width = 30;
        const filled = Math.round(fraction * width);
        const rate = (p.received - p.resumedFrom) / Math.max(1e-3, (now - started) / 1000);
        current = p.file;
        stream.write(`\r${p.file} ${"█".repeat(filled)}${"░".repeat(width - filled)} ${(fraction * 100).toFixed(0).padStart(3)}%  ${mb(p.received)}/${mb(p.total)} MB  ${mb(rate)} MB/s${p.resumedFrom > 0 ? "  (resumed)" : ""}   `);
      } else {
        const quarter = Math.floor(fraction * 4);
        if (p.file !== current) {
          current = p.file;
          lastQuarter = -1;
        }
        if (quarter > lastQuarter) {
          lastQuarter = quarter;
          stream.write(`${p.file}: ${(quarter * 25).toString().padStart(3)}%  ${mb(p.received)}/${mb(p.total)} MB${p.resumedFrom > 0 ? " (resumed)" : ""}\n`);
        }
      }
    },
    done() {
      if (stream.isTTY && current) stream.write("\n");
    },
  };
}
