import { assert, assertEquals, assertGreater, assertThrows } from "@std/assert";
import { March } from "@hqat/march-bayes";
import { forward, loadNpy } from "@hqat/nn";
import { readOnnx } from "@hqat/onnx";
import { runIntModel } from "@hqat/program";
import { default_calib_8bit_fake_quant_qconfig as q8 } from "@hqat/qtensor";
import { randomKey, randomNormal, zeros } from "@hqat/tensor";
import { ptq, splitBatches } from "../mod.ts";

const ONNX = new URL("../../onnx/testdata/", import.meta.url).pathname;

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

Deno.test("splitBatches() splits rows and refuses a bad batch size", () => {
  const x = zeros([7, 2]);
  assertEquals([...splitBatches(x, 3)].map((t) => t.shape.join()), ["3,2", "3,2", "1,2"]);
  assertEquals([...splitBatches(x, 3, 2)].length, 2);
  assertThrows(() => [...splitBatches(x, 0)], RangeError, "positive integer");
});

// Fixtures whose operators all have integer kernels today; the others join as fx learns them.
for (const name of ["resnet_block", "resnet_block_folded", "regnet_block"]) {
  for (const inputScale of [null, 1 / 32]) {
    Deno.test(`ptq() quantizes ${name} (${inputScale ? "fixed" : "observed"} input scale) close to float`, async () => {
      const held = await loadNpy(`${ONNX}${name}.input.npy`, { dtype: "float32" });
      const model = await readOnnx(`${ONNX}${name}.onnx`, {
        inputShape: held.shape,
        quantStubScale: inputScale,
      });
      const calib = randomNormal(randomKey(3), [16, ...held.shape.slice(1)]);
      const r = ptq(model, model.initialState(), calib, {
        qconfig: { "": q8 },
        march: March.BAYES,
        batchSize: 4,
        warn: () => {},
      });
      assertEquals([r.batches, r.images], [4, 16]);
      const scale =
        r.prepared.scaleOf(r.state, `${r.prepared.graph.nodes[1].name}.activation_post_process`)[0];
      if (inputScale) assertEquals(scale, Math.fround(inputScale));
      else assert(scale !== 1 && scale > 0);
      const yi = runIntModel(r.intModel, held.data as Float32Array, held.shape).output;
      const yf = forward(model, model.initialState(), held).y.data;
      assertGreater(cosine(yi, yf), 0.999);
    });
  }
}
