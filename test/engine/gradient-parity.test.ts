import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { BackendName } from "../../lib/engine/index.js";
import { computeOn, loadBackend, mismatch } from "../helpers/backends.js";
import { forwardAndGradients, PARITY_CASES } from "./parity-cases.js";

// fp32 with different summation orders (XNNPACK, GPU shaders): relative 1e-3 is tight enough to
// catch a wrong kernel (errors are O(1) then) and loose enough for reassociation.
const TOLERANCE: Record<string, { atol: number; rtol: number }> = {
  native: { atol: 1e-4, rtol: 1e-3 },
  wasm: { atol: 1e-4, rtol: 1e-3 },
  webgpu: { atol: 2e-4, rtol: 2e-3 },
};

for (const backend of ["native", "wasm", "webgpu"] as BackendName[]) {
  describe(`gradient parity: ${backend} vs cpu`, () => {
    before(async () => {
      await loadBackend("cpu");
      await loadBackend(backend);
    });

    PARITY_CASES.forEach((c, i) => {
      it(c.name, async () => {
        const reference = await computeOn("cpu", () => forwardAndGradients(c, i));
        const candidate = await computeOn(backend, () => forwardAndGradients(c, i));
        assert.equal(candidate.leaked, 0, `${backend} leaked ${candidate.leaked} tensors`);
        assert.equal(candidate.values.length, reference.values.length);
        const { atol, rtol } = TOLERANCE[backend]!;
        candidate.values.forEach((values, k) => {
          const what = k === 0 ? "forward value" : `gradient w.r.t. input ${k - 1}`;
          const { worst, at } = mismatch(values, reference.values[k]!, atol, rtol);
          assert.ok(
            worst <= 1,
            `${what}: ${backend} gives ${values[at]} at index ${at}, cpu gives ${reference.values[k]![at]} (${worst.toFixed(1)}× the tolerance)`,
          );
        });
      });
    });
  });
}
