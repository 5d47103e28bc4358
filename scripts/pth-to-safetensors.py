#!/usr/bin/env python3
"""
Converts a PyTorch checkpoint (.pth/.pt) of CLUENet (or any model) into a .safetensors
state_dict that cluelab loads with `cluenet.loadPretrained(name, file)` or `model.loadWeights(file)`.

  python3 scripts/pth-to-safetensors.py CLUA_mini_CIFAR100_epoch105.pth cluenet.safetensors
  (add --trust-pickle for a checkpoint that torch's safe weights-only loader refuses)

Accepts a bare state_dict or a training checkpoint holding one under "model_state_dict" (the
official CLUENet training script), "state_dict" or "model"; strips DataParallel's "module."
prefix; writes every floating-point tensor as float32 (names and PyTorch layouts unchanged) and
reports what it skipped. Needs only torch (no safetensors package).
"""
import argparse
import json
import os
import pickle
import struct
import sys

import torch


def find_state_dict(obj):
    if isinstance(obj, dict):
        for key in ("model_state_dict", "state_dict", "model"):
            if key in obj and isinstance(obj[key], dict):
                return obj[key], key
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj, None
    raise SystemExit("no state_dict found: expected a dict of tensors, or one under "
                     "'model_state_dict', 'state_dict' or 'model'")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help=".pth / .pt file saved with torch.save")
    p.add_argument("output", help=".safetensors file to write")
    p.add_argument("--trust-pickle", action="store_true",
                   help="unpickle everything in the checkpoint (can run code from the file: only for files you trust); "
                        "needed when torch's weights-only loader refuses an entry, e.g. lists of floats on torch 1.13")
    args = p.parse_args()
    if not os.path.isfile(args.checkpoint):
        raise SystemExit(f"no such checkpoint file: {args.checkpoint}")
    if args.trust_pickle:
        obj = torch.load(args.checkpoint, map_location="cpu")
    else:
        try:
            obj = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
        except TypeError:  # torch < 1.13 has no weights-only loader
            raise SystemExit("this torch cannot load checkpoints safely (no weights_only); "
                             "rerun with --trust-pickle if you trust the file")
        except pickle.UnpicklingError as error:
            raise SystemExit(f"torch's weights-only loader refused {args.checkpoint}: {str(error).splitlines()[-1]}\n"
                             "rerun with --trust-pickle if you trust the file (it may execute code from it)")
    state, key = find_state_dict(obj)
    header, blobs, offset, skipped = {}, [], 0, []
    for name, tensor in state.items():
        if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
            skipped.append(name)
            continue
        name = name[len("module."):] if name.startswith("module.") else name
        raw = tensor.detach().to(torch.float32).contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt", "source": args.checkpoint}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data section starts 8-byte aligned
    with open(args.output, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)
    where = f" (from '{key}')" if key else ""
    print(f"wrote {len(blobs)} tensors{where} to {args.output}"
          + (f"; skipped {len(skipped)} non-float entries: {', '.join(skipped)}" if skipped else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
