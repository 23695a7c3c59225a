import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { apply1, fromArray, padMode } from "@hqat/tensor";
import { type Instr, INSTR_TABLE, type Program, verifyProgram } from "@hqat/program";
import { prng, ProgramBuilder, randomInput } from "../../testdata/build.ts";
import {
  assertBits,
  assertEveryLevel,
  assertGpuEqualsCpu,
  dequantized,
  HAS_GPU,
  intValue,
  qvalues,
  runInstruction,
  scaleArb,
} from "../../testdata/check_kind.ts";

const fail = (m: string): never => {
  throw new Error(m);
};
const frameShape = fc.tuple(
  fc.integer({ min: 1, max: 3 }),
  fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
).map(([n, rest]) => [n, ...rest]);
const dtype = fc.constantFrom("qint8" as const, "qint16" as const);

/** Runs a movement on random integers and the float op on their dequantized values; both must agree. */
function agree(
  instr: Instr,
  shape: number[],
  outShape: number[],
  d: "qint8" | "qint16",
  s: number,
  seed: number,
  float: (x: ReturnType<typeof fromArray>) => ReturnType<typeof fromArray>,
) {
  const x = intValue(qvalues(d, shape.reduce((a, b) => a * b, 1), seed), shape, d, s);
  const y = runInstruction(instr, [x], { name: "y", shape: outShape, dtype: d, scale: Float32Array.of(s) });
  assertBits(float(fromArray(dequantized(x), shape)).data as Float32Array, dequantized(y), instr.op);
}

Deno.test("transpose, slice and pad equal the float ops on the dequantized integers (no twin needed)", () => {
  fc.assert(
    fc.property(
      frameShape,
      dtype,
      scaleArb(fc),
      fc.integer(),
      fc.array(fc.integer(), { minLength: 16, maxLength: 16 }),
      (shape, d, s, seed, r) => {
        const rank = shape.length, u = (k: number, m: number) => ((r[k] % m) + m) % m;
        // transpose: a permutation of the axes after the batch.
        const rest = shape.slice(1).map((_, i) => i + 1).sort((a, b) => u(a, 7) - u(b, 7) || a - b);
        const perm = [0, ...rest];
        agree(
          { op: "transpose", name: "y", inputs: [0], output: 1, epilogue: [], perm },
          shape,
          perm.map((p) => shape[p]),
          d,
          s,
          seed,
          (x) => apply1("transpose", [x], { perm }),
        );
        // slice: per axis a start, an end and a step (negative included); the batch axis whole.
        const spec = { starts: [0], ends: [shape[0]], steps: [1] };
        for (let a = 1; a < rank; a++) {
          const size = shape[a], step = [1, 2, -1, -2, 3][u(a, 5)], b = u(a + 3, size);
          spec.steps.push(step);
          spec.starts.push(step > 0 ? b : size - 1 - b);
          spec.ends.push(step > 0 ? b + 1 + u(a + 6, size - b) : u(a + 6, size - b) - 1);
        }
        const sliced = shape.map((_, a) => Math.ceil((spec.ends[a] - spec.starts[a]) / spec.steps[a]));
        agree(
          { op: "slice", name: "y", inputs: [0], output: 1, epilogue: [], ...spec },
          shape,
          sliced,
          d,
          s,
          seed,
          (x) => apply1("slice", [x], spec),
        );
        // pad: each mode, crops included.
        for (const mode of ["constant", "edge", "reflect"] as const) {
          const pads = shape.map((size, a): [number, number] => {
            if (a === 0) return [0, 0];
            const lo = u(a + 9, 4) - 1, hi = u(a + 2, 4) - 1;
            const [l, h] = [Math.max(lo, -(size - 1)), Math.max(hi, lo < 0 ? -(size - 1 + lo) : -(size - 1))];
            const kept = size - Math.max(0, -l) - Math.max(0, -h);
            return mode === "reflect" ? [Math.min(l, kept - 1), Math.min(h, kept - 1)] : [l, h];
          });
          const value = mode === "constant" ? qvalues(d, 1, seed + 5)[0] : 0;
          const out = shape.map((size, a) => size + pads[a][0] + pads[a][1]);
          agree(
            { op: "pad", name: "y", inputs: [0], output: 1, epilogue: [], pads, mode, value },
            shape,
            out,
            d,
            s,
            seed,
            (x) => padMode(x, pads, { mode, value: Math.fround(value * Math.fround(s)) }),
          );
        }
      },
    ),
    { seed: 61, numRuns: 200 },
  );
});

/** quant → channel shuffle (reshape, transpose, reshape) → slice → reflect, edge and constant pads. */
function moveModel(seed: number, din: "qint8" | "qint16"): Program {
  const b = new ProgramBuilder(prng(seed), [2, 4, 5, 6]);
  const q = b.quantize("quant", 1 / 64, din);
  const g = b.move("groups", q, [2, 2, 2, 5, 6]);
  const t = b.transpose("shuffle", g, [0, 2, 1, 3, 4]);
  const m = b.move("merge", t, [2, 4, 5, 6]);
  const s = b.slice("crop", m, [0, 1, 4, 0], [2, 4, -1, 6], [1, 2, -2, 1]);
  const r = b.pad("reflect", s, [[0, 0], [0, 0], [1, 2], [2, 1]], "reflect");
  const e = b.pad("edge", r, [[0, 0], [0, 0], [2, -1], [0, 1]], "edge");
  const c = b.pad("const", e, [[0, 0], [0, 0], [-1, 1], [1, 0]], "constant", -7);
  b.dequantize("dequant", c);
  return b.build();
}

Deno.test("transpose, slice and pad run the same at every opt level and through the container", () => {
  for (const din of ["qint8", "qint16"] as const) {
    const m = moveModel(1, din);
    assertEquals(m.buffers.find((b) => b.name === "const")!.shape, [2, 2, 7, 11]);
    assertEveryLevel(m, randomInput([3, 4, 5, 6], 3), [3, 4, 5, 6]);
  }
});

Deno.test("transpose, slice and pad keep the batch axis and a per-channel scale where it is", () => {
  const m = moveModel(1, "qint8");
  const edit = (name: string, patch: Record<string, unknown>) => ({
    ...m,
    instructions: m.instructions.map((i) => (i.name === name ? { ...i, ...patch } as Instr : i)),
  });
  assertThrows(
    () => verifyProgram(edit("shuffle", { perm: [1, 0, 2, 3, 4] }), { fail }),
    Error,
    "batch axis",
  );
  assertThrows(
    () => verifyProgram(edit("shuffle", { perm: [0, 1, 1, 3, 4] }), { fail }),
    Error,
    "not a permutation",
  );
  assertThrows(() => verifyProgram(edit("crop", { starts: [1, 1, 4, 0] }), { fail }), Error, "batch axis");
  assertThrows(() => verifyProgram(edit("crop", { steps: [1, 0, -2, 1] }), { fail }), Error, "out of range");
  assertThrows(
    () => verifyProgram(edit("reflect", { pads: [[0, 0], [0, 0], [3, 2], [2, 1]] }), { fail }),
    Error,
    "below its length",
  );
  assertThrows(() => verifyProgram(edit("const", { value: 128 }), { fail }), Error, "not a qint8 integer");
  // A per-channel value moves only with its channel axis in place.
  const x = { dtype: "qint8" as const, shape: [1, 2, 3], scale: Float32Array.of(1, 2) };
  const ctx = { where: "t", fail, inputShape: [1], out: { name: "t", ...x } };
  const t = { op: "transpose", name: "t", inputs: [0], output: 1, epilogue: [] } as const;
  assertThrows(
    () => INSTR_TABLE.transpose.infer({ ...t, perm: [0, 2, 1] }, [x], ctx),
    Error,
    "off its channel axis",
  );
  assertEquals(INSTR_TABLE.transpose.infer({ ...t, perm: [0, 1, 2] }, [x], ctx).scale, x.scale);
  const p = { op: "pad", name: "p", inputs: [0], output: 1, epilogue: [], mode: "edge", value: 0 } as const;
  assertThrows(
    () => INSTR_TABLE.pad.infer({ ...p, pads: [[0, 0], [1, 0], [0, 0]] }, [x], ctx),
    Error,
    "off its channel axis",
  );
});

Deno.test({
  name: "transpose, slice and pad on WebGPU equal the CPU bit for bit",
  ignore: !HAS_GPU,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await assertGpuEqualsCpu((["qint8", "qint16"] as const).map((din, k) => ({
      model: moveModel(k, din),
      x: randomInput([3, 4, 5, 6], k),
      shape: [3, 4, 5, 6],
    })));
  },
});
