"""Python side of `npm run bench -- community`, run with Debian's /usr/bin/python3.

  community_peer.py pca OUT_DIR        Fashion-MNIST (70,000 images) -> PCA-50 float32 rows in OUT_DIR/pca50.f32
  community_peer.py leiden DIR N SEEDS leidenalg's default call on the graph in DIR/{src.u32,dst.u32,w.f32}

Prints one JSON object on stdout.
"""
import gzip
import json
import sys
import time

import numpy as np


def read_idx(path):
    with gzip.open(path) as f:
        raw = f.read()
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(raw[3])]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def pca(out_dir):
    root = "/usr/share/datasets/fashion-mnist/"
    x = np.concatenate([read_idx(root + "train-images-idx3-ubyte.gz"), read_idx(root + "t10k-images-idx3-ubyte.gz")])
    x = x.reshape(len(x), -1).astype(np.float64) / 255.0
    started = time.perf_counter()
    x -= x.mean(axis=0)
    _, vectors = np.linalg.eigh(x.T @ x)
    projected = (x @ vectors[:, ::-1][:, :50]).astype(np.float32)
    projected.tofile(out_dir + "/pca50.f32")
    print(json.dumps({"rows": len(projected), "cols": 50, "seconds": time.perf_counter() - started}))


def leiden(graph_dir, n, seeds):
    import igraph as ig
    import leidenalg as la

    src = np.fromfile(graph_dir + "/src.u32", dtype=np.uint32)
    dst = np.fromfile(graph_dir + "/dst.u32", dtype=np.uint32)
    weight = np.fromfile(graph_dir + "/w.f32", dtype=np.float32)
    started = time.perf_counter()
    g = ig.Graph(n=n, edges=np.column_stack([src, dst]).tolist())
    g.es["weight"] = weight.astype(np.float64).tolist()
    build = time.perf_counter() - started
    runs = []
    for seed in seeds:
        started = time.perf_counter()
        partition = la.find_partition(g, la.ModularityVertexPartition, weights="weight", seed=seed)
        seconds = time.perf_counter() - started
        runs.append({"seed": seed, "seconds": seconds, "modularity": partition.quality(), "membership": partition.membership})
    print(json.dumps({"build_seconds": build, "leidenalg": la.version, "igraph": ig.__version__, "runs": runs}))


if __name__ == "__main__":
    if sys.argv[1] == "pca":
        pca(sys.argv[2])
    elif sys.argv[1] == "leiden":
        leiden(sys.argv[2], int(sys.argv[3]), [int(s) for s in sys.argv[4].split(",")])
    else:
        sys.exit("usage: community_peer.py pca OUT_DIR | leiden DIR N SEEDS")
