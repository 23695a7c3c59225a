/**
 * Fixed-seed fuzzing of `loadTrainCheckpoint` on mutated real training checkpoints (a convolution, batch
 * norm and a linear layer after two Adam steps, so parameters, buffers, optimizer moments and
 * metadata are all there): each file loads or is refused with a SyntaxError, RangeError or TypeError
 * naming it; no tensor it returns is larger than the file.
 * @module
 */
import { assert, assertEquals, assertGreater } from "@std/assert";
import fc from "fast-check";
import {
  adam,
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  createTrainState,
  Flatten,
  initState,
  Linear,
  loadTrainCheckpoint,
  makeTrainStep,
  saveTrainCheckpoint,
  Sequential,
} from "@hqat/nn";
import { fromArray, randomKey, randomNormal } from "@hqat/tensor";

const CASES = 600;

Deno.test(`loadTrainCheckpoint() on ${CASES} mutated checkpoints: loads or names the file, never more than the file`, async () => {
  const model = new Sequential(
    new Conv2d(2, 4, 3),
    new BatchNorm2d(4),
    new AdaptiveAvgPool2d(1),
    new Flatten(),
    new Linear(4, 4),
  );
  const opt = adam({ lr: 1e-3 });
  const step = makeTrainStep(model, opt);
  let ts = createTrainState(model, initState(model, randomKey(1)), opt);
  const x = randomNormal(randomKey(2), [8, 2, 5, 5]);
  const y = fromArray(Int32Array.from({ length: 8 }, (_, i) => i % 4), [8]);
  for (let i = 0; i < 2; i++) ts = step(ts, x, y, { key: randomKey(i) }).state;
  const dir = await Deno.makeTempDir();
  try {
    await saveTrainCheckpoint(`${dir}/good.safetensors`, model, ts, {
      epoch: 1,
      bestTop1: 50,
      extra: { arch: "toy" },
    });
    const good = await Deno.readFile(`${dir}/good.safetensors`);
    assertEquals((await loadTrainCheckpoint(`${dir}/good.safetensors`, model, opt)).info.epoch, 1);
    const headerEnd = 8 + Number(new DataView(good.buffer).getBigUint64(0, true));
    const counts = { loaded: 0, refused: 0 };
    const mutation = fc.noBias(fc.record({
      how: fc.constantFrom("flip", "header", "truncate", "length"),
      at: fc.nat({ max: 2 ** 24 }),
      value: fc.nat({ max: 255 }),
    }));
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        let bytes = good.slice();
        if (m.how === "flip") bytes[m.at % bytes.length] ^= 1 + m.value;
        else if (m.how === "header") bytes[8 + (m.at % (headerEnd - 8))] = 32 + (m.value % 95); // printable
        else if (m.how === "truncate") bytes = good.slice(0, m.at % good.length);
        else new DataView(bytes.buffer).setBigUint64(0, BigInt(m.at) * BigInt(1 + m.value), true);
        const path = `${dir}/case.safetensors`;
        await Deno.writeFile(path, bytes);
        try {
          const back = await loadTrainCheckpoint(path, model, opt);
          for (const t of Object.values(back.model)) assert(t.size * 4 <= bytes.length);
          counts.loaded++;
        } catch (e) {
          if (!(e instanceof SyntaxError || e instanceof RangeError || e instanceof TypeError)) throw e;
          assert(e.message.includes(path), e.message);
          counts.refused++;
        }
      }),
      { seed: 17, numRuns: CASES },
    );
    assertEquals(counts.loaded + counts.refused, CASES);
    assertGreater(counts.refused, CASES / 4);
    assertGreater(counts.loaded, 0);
    console.log(`checkpoint fuzz: ${JSON.stringify(counts)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
