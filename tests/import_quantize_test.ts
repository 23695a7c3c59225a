/**
 * Every ONNX fixture network through post-training quantization: each is prepared with a calibrated input
 * QuantStub, calibrated on calibration-like inputs and converted; on held-back inputs its VALIDATION model
 * equals the fixed-point model bit for bit at every node, the fixed-point output stays close to the float one (cosine
 * ≥ 0.99), `checkModel` passes it, it compiles at O0–O3 to programs that compute the same integers, and
 * the O3 program runs on WebGPU as on the CPU.
 * @module
 */
import { assert, assertEquals } from "@std/assert";
import { ptq, setFakeQuantize } from "@hqat/fx";
import { checkModel, compileProgram } from "@hqat/hbdk";
import { parseNpy } from "@hqat/io";
import { March } from "@hqat/march-bayes";
import { forward, Scope } from "@hqat/nn";
import { loadOnnx } from "@hqat/onnx";
import { runIntModel, runIntModelGpu } from "@hqat/program";
import { default_calib_8bit_fake_quant_qconfig as q8, FakeQuantState } from "@hqat/qtensor";
import { probeWebGpu, randomKey, randomNormal, type Tensor, WebGpuDevice } from "@hqat/tensor";

const DIR = new URL("../packages/onnx/testdata/", import.meta.url);
const MANIFEST: { name: string }[] = JSON.parse(await Deno.readTextFile(new URL("manifest.json", DIR)));
const QUANTIZED = MANIFEST.map((f) => f.name);
const gpu = (await probeWebGpu()).available;

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

/** A fixture quantized on 16 calibration inputs, with 4 held-back inputs. */
async function quantized(name: string) {
  const model = loadOnnx(await Deno.readFile(new URL(`${name}.onnx`, DIR)), {
    source: `${name}.onnx`,
    quantStubScale: null,
  });
  const frame = parseNpy(await Deno.readFile(new URL(`${name}.input.npy`, DIR))).shape.slice(1);
  const float = model.initialState();
  const r = ptq(model, float, randomNormal(randomKey(3), [16, ...frame]), {
    qconfig: { "": q8 },
    march: March.BAYES,
    batchSize: 8,
    warn: () => {},
  });
  return { model, float, r, test: randomNormal(randomKey(9), [4, ...frame]) as Tensor };
}

for (const name of QUANTIZED) {
  Deno.test({
    name: `${name}: PTQ gives VALIDATION = fixed-point model = .hbm at O0–O3 (and WebGPU), close to float`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const { model, float, r, test } = await quantized(name);
      const x = test.data as Float32Array;
      // Every node's VALIDATION value against the fixed-point model's integers of its buffer.
      const seen = new Map<string, Float32Array>();
      const scope = new Scope(r.state, "", { training: false, updates: new Map() });
      const validation = setFakeQuantize(r.prepared, FakeQuantState.VALIDATION)
        .run(scope, test, (node, y) => seen.set(node, y.data as Float32Array));
      const int = runIntModel(r.intModel, x, test.shape, { keepAll: true });
      let compared = 0;
      for (const [buffer, q] of int.all!) {
        const v = seen.get(buffer);
        if (!v || q.scale.length !== 1) continue;
        const s = q.scale[0];
        assertEquals(v, Float32Array.from(q.data, (i) => i * s), `node ${buffer}`);
        compared++;
      }
      const steps = r.intModel.instructions.filter((i) => !seen.has(i.name)).length; // parts of one node
      assert(compared >= r.intModel.instructions.length - steps - 3, `${compared} nodes compared`);
      assertEquals(int.output, validation.data, "VALIDATION vs fixed-point model");
      const cos = cosine(forward(model, float, test).y.data, int.output);
      assert(cos >= 0.99, `cosine to float ${cos}`);
      const lines: string[] = [];
      checkModel(r.intModel, [{ shape: test.shape }], { march: March.BAYES, log: (l) => lines.push(l) });
      assertEquals(lines.at(-1), "HBDK model check PASS", lines.join("\n"));
      for (const opt of ["O0", "O1", "O2", "O3"] as const) {
        const { program } = compileProgram(r.intModel, [{ shape: test.shape }], { opt, log: () => {} });
        assertEquals(runIntModel(program, x, test.shape).raw, int.raw, opt);
        if (opt === "O3" && gpu) {
          const device = await WebGpuDevice.create();
          try {
            const g = await runIntModelGpu(program, x, test.shape, { device });
            assertEquals(g.raw, int.raw, "WebGPU");
          } finally {
            device.destroy();
          }
        }
      }
    },
  });
}
