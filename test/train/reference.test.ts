/**
 * The optimizer, loss and clipping against PyTorch itself (Debian's python3-torch): the same
 * parameters, gradients and learning rates go through `torch.optim.AdamW`,
 * `CrossEntropyLoss(label_smoothing=…)` and `clip_grad_norm_`, and ours must agree.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { before, describe, test } from "node:test";
import { engine, tf } from "../../lib/index.js";
import { AdamW, clipByGlobalNorm, crossEntropy } from "../../lib/train/index.js";
import { Rng } from "../../lib/nn/index.js";

const PYTHON = "/usr/bin/python3";

const SCRIPT = String.raw`
import json, sys, torch
inp = json.load(sys.stdin)
out = {}
# AdamW: the same steps with a per-step learning rate
params = [torch.tensor(p["data"], dtype=torch.float32).reshape(p["shape"]).requires_grad_() for p in inp["params"]]
h = inp["hyper"]
opt = torch.optim.AdamW(params, lr=inp["lrs"][0], betas=(h["beta1"], h["beta2"]), eps=h["eps"], weight_decay=h["weightDecay"])
for t, lr in enumerate(inp["lrs"]):
    for g in opt.param_groups: g["lr"] = lr
    for i, p in enumerate(params):
        p.grad = torch.tensor(inp["grads"][t][i], dtype=torch.float32).reshape(p.shape)
    opt.step()
out["params"] = [p.detach().reshape(-1).tolist() for p in params]
out["exp_avg"] = [opt.state[p]["exp_avg"].reshape(-1).tolist() for p in params]
out["exp_avg_sq"] = [opt.state[p]["exp_avg_sq"].reshape(-1).tolist() for p in params]
# cross-entropy with label smoothing, and its gradient
logits = torch.tensor(inp["logits"], dtype=torch.float32).requires_grad_()
labels = torch.tensor(inp["labels"], dtype=torch.long)
ce = {}
for eps in inp["smoothing"]:
    loss = torch.nn.CrossEntropyLoss(label_smoothing=eps)(logits, labels)
    g, = torch.autograd.grad(loss, logits)
    ce[str(eps)] = {"loss": loss.item(), "grad": g.reshape(-1).tolist()}
out["ce"] = ce
# clip_grad_norm_
clip = {}
for max_norm in inp["maxNorms"]:
    ps = [torch.zeros(p["shape"], requires_grad=True) for p in inp["params"]]
    for i, p in enumerate(ps): p.grad = torch.tensor(inp["grads"][0][i], dtype=torch.float32).reshape(p.shape)
    norm = torch.nn.utils.clip_grad_norm_(ps, max_norm)
    clip[str(max_norm)] = {"norm": norm.item(), "grads": [p.grad.reshape(-1).tolist() for p in ps]}
out["clip"] = clip
print(json.dumps(out))
`;

function values(n: number, rng: Rng, scale = 1): number[] {
  return Array.from({ length: n }, () => Math.fround(scale * rng.normal()));
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    assert.ok(Math.abs(a - e) <= atol + rtol * Math.abs(e), `${what}[${i}]: ours ${a}, PyTorch ${e}`);
  }
}

describe("against PyTorch", () => {
  const rng = new Rng(7);
  const shapes = [[3, 4], [5], [2, 3, 2]];
  const params = shapes.map((shape) => ({ shape, data: values(shape.reduce((a, b) => a * b, 1), rng) }));
  const steps = 6;
  // Gradients of very different sizes per tensor (Adam's per-coordinate scaling matters), and a zero one.
  const grads = Array.from({ length: steps }, (_, t) => params.map((p, i) => (t === 2 && i === 1 ? p.data.map(() => 0) : values(p.data.length, rng, 10 ** (i - 1)))));
  const lrs = [1e-3, 5e-3, 1.5e-2, 1e-2, 2e-3, 1e-5];
  const hyper = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 };
  const logits = Array.from({ length: 4 }, () => values(5, rng, 2));
  const labels = [0, 3, 4, 1];
  const smoothing = [0, 0.1, 0.3];
  const maxNorms = [0.5, 1e6];
  let ref: {
    params: number[][];
    exp_avg: number[][];
    exp_avg_sq: number[][];
    ce: Record<string, { loss: number; grad: number[] }>;
    clip: Record<string, { norm: number; grads: number[][] }>;
  };

  before(async () => {
    await engine.ready();
    const run = spawnSync(PYTHON, ["-c", SCRIPT], { input: JSON.stringify({ params, grads, lrs, hyper, logits, labels, smoothing, maxNorms }), encoding: "utf8" });
    assert.equal(run.status, 0, `PyTorch reference failed (scripts/setup-system.sh installs python3-torch): ${run.stderr}`);
    ref = JSON.parse(run.stdout) as typeof ref;
  });

  test("AdamW: six steps with changing learning rates give PyTorch's weights and moments", async () => {
    const before = tf.memory().numTensors;
    const vars = params.map((p) => tf.tidy(() => tf.variable(tf.tensor(p.data, p.shape))));
    const opt = new AdamW({ lr: lrs[0]!, ...hyper });
    for (let t = 0; t < steps; t++) {
      const g = grads[t]!.map((d, i) => tf.tensor(d, shapes[i]));
      opt.applyGradients(vars, g, lrs[t]);
      tf.dispose(g);
    }
    assert.equal(opt.step, steps);
    for (let i = 0; i < vars.length; i++) {
      close(await vars[i]!.data(), ref.params[i]!, 1e-6, 1e-5, `param ${i}`);
      close(await opt.slot(vars[i]!)!.m.data(), ref.exp_avg[i]!, 1e-7, 1e-5, `exp_avg ${i}`);
      close(await opt.slot(vars[i]!)!.v.data(), ref.exp_avg_sq[i]!, 1e-9, 1e-5, `exp_avg_sq ${i}`);
    }
    opt.dispose();
    tf.dispose(vars);
    assert.equal(tf.memory().numTensors, before, "AdamW leaked tensors");
  });

  test("AdamW's state survives export and import bit for bit", async () => {
    const vars = params.map((p) => tf.tidy(() => tf.variable(tf.tensor(p.data, p.shape))));
    const a = new AdamW({ ...hyper });
    const g = grads[0]!.map((d, i) => tf.tensor(d, shapes[i]));
    a.applyGradients(vars, g, 1e-2);
    const state = await a.exportState(vars);
    const copy = vars.map((v) => tf.tidy(() => tf.variable(v.clone())));
    const b = new AdamW({ ...hyper });
    b.importState(copy, state);
    assert.equal(b.step, 1);
    a.applyGradients(vars, g, 1e-2);
    b.applyGradients(copy, g, 1e-2);
    for (let i = 0; i < vars.length; i++) assert.deepEqual(await vars[i]!.data(), await copy[i]!.data());
    assert.throws(() => b.importState(vars.slice(1), state), /holds moments for 3 variables, the model has 2/);
    tf.dispose([...g, ...vars, ...copy]);
    a.dispose();
    b.dispose();
  });

  test("cross-entropy with label smoothing 0, 0.1, 0.3: PyTorch's loss and gradient", async () => {
    for (const eps of smoothing) {
      const x = tf.tensor2d(logits);
      const y = tf.tensor1d(labels, "int32");
      const value = crossEntropy(x, y, eps);
      const grad = tf.grad((z: tf.Tensor) => crossEntropy(z as tf.Tensor2D, y, eps))(x);
      close([(await value.data())[0]!], [ref.ce[String(eps)]!.loss], 1e-6, 1e-5, `loss ε=${eps}`);
      close(await grad.data(), ref.ce[String(eps)]!.grad, 1e-7, 1e-5, `gradient ε=${eps}`);
      tf.dispose([x, y, value, grad]);
    }
    assert.throws(() => crossEntropy(tf.zeros([2, 3]), tf.zeros([3], "int32") as tf.Tensor1D), /logits must be \[B, classes\] and labels \[B\]/);
  });

  test("clipping by global norm: PyTorch's norm and clipped gradients (and none when under the limit)", async () => {
    for (const maxNorm of maxNorms) {
      const g = grads[0]!.map((d, i) => tf.tensor(d, shapes[i]));
      const { gradients, norm } = clipByGlobalNorm([...g, null], maxNorm);
      close([(await norm.data())[0]!], [ref.clip[String(maxNorm)]!.norm], 1e-5, 1e-5, "norm");
      for (let i = 0; i < g.length; i++) close(await gradients[i]!.data(), ref.clip[String(maxNorm)]!.grads[i]!, 1e-7, 1e-5, `clipped ${i}`);
      assert.equal(gradients[3], null);
      tf.dispose([...g, norm, ...gradients.filter((t): t is tf.Tensor => t !== null)]);
    }
  });

  test("bad hyperparameters are errors naming the value", () => {
    assert.throws(() => new AdamW({ beta1: 1 }), /beta1 must be in \[0, 1\), got 1/);
    assert.throws(() => new AdamW({ lr: -1 }), /lr must be ≥ 0, got -1/);
    assert.throws(() => new AdamW({ weightDecay: NaN }), /weightDecay must be ≥ 0, got NaN/);
  });
});
