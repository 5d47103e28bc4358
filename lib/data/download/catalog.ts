/**
 * The datasets `cluelab data download` knows: their canonical public archives, pinned by size and
 * checksum. MD5 is what the publishers give (CIFAR's page, Fashion-MNIST's README); MNIST's and
 * STL-10's pages give no checksum, so theirs are the MD5s torchvision has pinned and verified
 * against these files for years. After a verified download, `.cluelab-download.json` in the
 * dataset folder records each file's SHA-256 as well.
 *
 * @packageDocumentation
 */

/** The environment variable that points downloads at a mirror (`<mirror>/<archive name>`). */
export const MIRROR_ENV = "CLUELAB_DATA_MIRROR";

/** One file to fetch. */
export interface RemoteFile {
  /** File name (also its name in a mirror). */
  name: string;
  url: string;
  /** Exact size in bytes. */
  size: number;
  /** Hex MD5, where that is the published checksum. */
  md5?: string;
  /** Hex SHA-256, when pinned. */
  sha256?: string;
}

/** A downloadable dataset. */
export interface DownloadSpec {
  /** cluelab's name ("cifar10"): the folder it is installed in and the name readers search for. */
  name: string;
  title: string;
  files: RemoteFile[];
  /** `"extract"`: each file is a .tar.gz unpacked into the dataset folder; `"keep"`: the files are the dataset. */
  install: "extract" | "keep";
  /** Where the checksums come from (shown by `cluelab data list`). */
  checksums: string;
}

const CIFAR = "https://www.cs.toronto.edu/~kriz";
const FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com";
const MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist"; // LeCun's page refuses most downloads; this is PyTorch's copy

export const DOWNLOADS: Readonly<Record<string, DownloadSpec>> = {
  mnist: {
    name: "mnist",
    title: "MNIST",
    install: "keep",
    checksums: "MD5 pinned by torchvision (the original page publishes none)",
    files: [
      { name: "train-images-idx3-ubyte.gz", url: `${MNIST}/train-images-idx3-ubyte.gz`, size: 9912422, md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873" },
      { name: "train-labels-idx1-ubyte.gz", url: `${MNIST}/train-labels-idx1-ubyte.gz`, size: 28881, md5: "d53e105ee54ea40749a09fcbcd1e9432" },
      { name: "t10k-images-idx3-ubyte.gz", url: `${MNIST}/t10k-images-idx3-ubyte.gz`, size: 1648877, md5: "9fb629c4189551a2d022fa330f9573f3" },
      { name: "t10k-labels-idx1-ubyte.gz", url: `${MNIST}/t10k-labels-idx1-ubyte.gz`, size: 4542, md5: "ec29112dd5afa0611ce80d1b7f02629c" },
    ],
  },
  "fashion-mnist": {
    name: "fashion-mnist",
    title: "Fashion-MNIST",
    install: "keep",
    checksums: "MD5 published in Fashion-MNIST's README",
    files: [
      { name: "train-images-idx3-ubyte.gz", url: `${FASHION}/train-images-idx3-ubyte.gz`, size: 26421880, md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d" },
      { name: "train-labels-idx1-ubyte.gz", url: `${FASHION}/train-labels-idx1-ubyte.gz`, size: 29515, md5: "25c81989df183df01b3e8a0aad5dffbe" },
      { name: "t10k-images-idx3-ubyte.gz", url: `${FASHION}/t10k-images-idx3-ubyte.gz`, size: 4422102, md5: "bef4ecab320f06d8554ea6380940ec79" },
      { name: "t10k-labels-idx1-ubyte.gz", url: `${FASHION}/t10k-labels-idx1-ubyte.gz`, size: 5148, md5: "bb300cfdad3c16e7a12a480ee83cd310" },
    ],
  },
  cifar10: {
    name: "cifar10",
    title: "CIFAR-10 (binary version)",
    install: "extract",
    checksums: "MD5 published on the CIFAR page",
    files: [{ name: "cifar-10-binary.tar.gz", url: `${CIFAR}/cifar-10-binary.tar.gz`, size: 170052171, md5: "c32a1d4ab5d03f1284b67883e8d87530" }],
  },
  cifar100: {
    name: "cifar100",
    title: "CIFAR-100 (binary version)",
    install: "extract",
    checksums: "MD5 published on the CIFAR page",
    files: [{ name: "cifar-100-binary.tar.gz", url: `${CIFAR}/cifar-100-binary.tar.gz`, size: 168513733, md5: "03b5dce01913d631647c71ecec9e9cb8" }],
  },
  stl10: {
    name: "stl10",
    title: "STL-10 (binary version)",
    install: "extract",
    checksums: "MD5 pinned by torchvision (the STL-10 page publishes none)",
    files: [
      { name: "stl10_binary.tar.gz", url: "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz", size: 2640397119, md5: "91f7769df0f17e558f3565bffb0c7dfb" },
    ],
  },
};

/** The names `cluelab data download` accepts. */
export const DOWNLOADABLE = Object.keys(DOWNLOADS);
