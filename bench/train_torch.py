#!/usr/bin/python3
"""PyTorch peer of `npm run bench -- train`: the same step, timed the same way.

Builds the PyTorch transcription of the official model (bench/torch/cluenet_ref.py) and times one
configuration in one mode, printing one JSON line:
  {"img_s": float, "times": [s, ...], "cpu_times": [s, ...], "torch": str, "threads": int}
(cpu_times: this process's CPU time per step, every thread included)

  train_torch.py --config CLUE_nano_FMNIST --mode train --batch 64 --classes 10 --steps 5
  mode train: model.train(), forward with drop path, cross-entropy, backward, torch.optim.AdamW step
  mode infer: model.eval(), forward under torch.no_grad()

Threads: torch.set_num_threads(--threads, default 2); the caller sets OPENBLAS_NUM_THREADS=1 (two
thread pools on two cores oversubscribe them). Each time is one step after --warmup warm-up steps (default 1).
"""
import argparse
import importlib.util
import json
import os
import sys
import time

import torch
import torch.nn.functional as F


def load_transcription():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch", "cluenet_ref.py")
    spec = importlib.util.spec_from_file_location("cluenet_ref", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True)
    p.add_argument("--mode", choices=["train", "infer"], required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--classes", type=int, required=True)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ref = load_transcription()
    model = ref.build(args.config, args.classes)
    cfg = model.cfg
    h, w = cfg["inputSize"]
    x = torch.randn(args.batch, cfg["inChannels"], h, w)
    times = []
    if args.mode == "train":
        y = torch.randint(0, args.classes, (args.batch,))
        opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
        model.train()

        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss.item()
    else:
        model.eval()

        def step():
            with torch.no_grad():
                return model(x).sum().item()

    cpu_times = []
    for _ in range(max(1, args.warmup)):
        step()
    for _ in range(args.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    times_sorted = sorted(times)
    median = times_sorted[len(times_sorted) // 2]
    print(json.dumps({"img_s": args.batch / median, "times": times, "cpu_times": cpu_times, "torch": torch.__version__,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    sys.exit(main())
