import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { fromArray, resize, resizeFake, WebGpuDevice } from "@hqat/tensor";
import { centreAligned, type Program, requantOf, type ResizeInstr } from "@hqat/program";
import { prng, ProgramBuilder, randomInput } from "../../testdata/build.ts";
import {
  assertBits,
  assertEveryLevel,
  assertGpuEqualsCpu,
  assertTwinGpuEqualsCpu,
  dequantized,
  HAS_GPU,
  intValue,
  qvalues,
  runInstruction,
  scaleArb,
} from "../../testdata/check_kind.ts";

const rule = fc.record({
  coordinateTransformation: fc.constantFrom(
    "half_pixel",
    "pytorch_half_pixel",
    "align_corners",
    "asymmetric",
  ) as fc.Arbitrary<
    "half_pixel" | "pytorch_half_pixel" | "align_corners" | "asymmetric"
  >,
  nearestMode: fc.constantFrom("round_prefer_floor", "round_prefer_ceil", "floor", "ceil") as fc.Arbitrary<
    "round_prefer_floor" | "round_prefer_ceil" | "floor" | "ceil"
  >,
});
const dtype = fc.constantFrom("qint8" as const, "qint16" as const);

/** A random resize case: input integers, the instruction (nearest or linear, requantized to `so`). */
const resizeCase = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  c: fc.integer({ min: 1, max: 3 }),
  h: fc.integer({ min: 1, max: 6 }),
  w: fc.integer({ min: 1, max: 6 }),
  oh: fc.integer({ min: 1, max: 9 }),
  ow: fc.integer({ min: 1, max: 9 }),
  mode: fc.constantFrom("nearest" as const, "linear" as const),
  rule,
  withScales: fc.boolean(),
  si: scaleArb(fc),
  so: scaleArb(fc),
  din: dtype,
  dout: dtype,
  seed: fc.integer(),
});

Deno.test("resize equals resizeFake on the dequantized integers, nearest and linear, every rule", () => {
  fc.assert(
    fc.property(resizeCase, (k) => {
      const shape = [k.n, k.c, k.h, k.w], out = [k.n, k.c, k.oh, k.ow];
      const x = intValue(qvalues(k.din, k.n * k.c * k.h * k.w, k.seed), shape, k.din, k.si);
      const scales = k.withScales ? [Math.fround(k.oh / k.h), Math.fround(k.ow / k.w)] as const : undefined;
      const numerator = [k.si], divisor = k.mode === "linear" ? 65536 : 1;
      const instr: ResizeInstr = {
        op: "resize",
        name: "y",
        inputs: [0],
        output: 1,
        size: [k.oh, k.ow],
        mode: k.mode,
        ...k.rule,
        ...(scales ? { scales } : {}),
        epilogue: [{
          kind: "requant",
          ...requantOf(numerator, divisor, { dtype: k.dout, scale: k.so }, "none", "y"),
        }],
      };
      const y = runInstruction(instr, [x], {
        name: "y",
        shape: out,
        dtype: k.dout,
        scale: Float32Array.of(k.so),
      });
      const twin = resizeFake(fromArray(dequantized(x), shape), {
        size: [k.oh, k.ow],
        mode: k.mode,
        ...k.rule,
        scales: scales ?? null,
        scaleIn: k.si,
        dtypeIn: k.din,
        outScale: k.so,
        dtype: k.dout,
      });
      assertBits(twin.data as Float32Array, dequantized(y), `${k.mode} ${k.rule.coordinateTransformation}`);
      if (k.mode === "nearest") {
        // Without a requantization, nearest moves the integers: the float resize of their values is exact.
        const moved = runInstruction({ ...instr, epilogue: [] }, [x], {
          name: "y",
          shape: out,
          dtype: k.din,
          scale: Float32Array.of(k.si),
        });
        const float = resize(fromArray(dequantized(x), shape), {
          size: [k.oh, k.ow],
          mode: "nearest",
          ...k.rule,
          scales,
        });
        assertBits(float.data as Float32Array, dequantized(moved), "float nearest");
      }
    }),
    { seed: 81, numRuns: 250 },
  );
});

/** quant → nearest ×2 (PyTorch's rule), linear half_pixel up, linear align_corners down, nearest-exact down. */
function resizeModel(seed: number, din: "qint8" | "qint16"): Program {
  const r = prng(seed);
  const b = new ProgramBuilder(r, [2, 3, 5, 6]);
  const q = b.quantize("quant", 1 / 64, din);
  const up = b.resize("up", q, [10, 12], {
    mode: "nearest",
    coordinateTransformation: "asymmetric",
    nearestMode: "floor",
  });
  const lin = b.resize("lin", up, [13, 7], { mode: "linear", coordinateTransformation: "half_pixel" }, {
    dtype: din,
    scale: din === "qint8" ? 1 / 50 : 1 / 9000,
  });
  const down = b.resize("down", lin, [4, 5], { mode: "linear", coordinateTransformation: "align_corners" }, {
    dtype: "qint8",
    scale: 0.02 + r() / 100,
  });
  const exact = b.resize("exact", down, [3, 2], {
    mode: "nearest",
    coordinateTransformation: "half_pixel",
    nearestMode: "round_prefer_ceil",
  });
  b.dequantize("dequant", exact);
  return b.build();
}

Deno.test("resize runs the same at every opt level and through the container", () => {
  for (const din of ["qint8", "qint16"] as const) {
    assertEveryLevel(resizeModel(1, din), randomInput([3, 3, 5, 6], 2), [3, 3, 5, 6]);
  }
});

Deno.test("centreAligned() says which nearest resizes read the cells of centre alignment", () => {
  const pytorch = { mode: "nearest", coordinateTransformation: "asymmetric", nearestMode: "floor" } as const;
  assert(centreAligned({ ...pytorch, size: [10, 12] }, [5, 6]), "integer upscaling reads the same cells");
  assert(!centreAligned({ ...pytorch, size: [2, 3] }, [4, 6]), "downscaling by 2 reads other cells");
  assert(!centreAligned({ ...pytorch, size: [7, 6] }, [5, 6]), "a non-integer ratio reads other cells");
  const exact = {
    mode: "nearest",
    coordinateTransformation: "half_pixel",
    nearestMode: "round_prefer_ceil",
  } as const;
  assert(centreAligned({ ...exact, size: [7, 3] }, [5, 6]));
});

Deno.test({
  name: "resize and resizeFake() on WebGPU equal the CPU bit for bit",
  ignore: !HAS_GPU,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await assertGpuEqualsCpu((["qint8", "qint16"] as const).map((din, k) => ({
      model: resizeModel(k + 3, din),
      x: randomInput([2, 3, 5, 6], k),
      shape: [2, 3, 5, 6],
    })));
    const device = await WebGpuDevice.create();
    try {
      for (const mode of ["nearest", "linear"] as const) {
        const x = fromArray(randomInput([2, 3, 5, 6], 9).map((v) => Math.round(v * 100) / 32), [2, 3, 5, 6]);
        const y = await assertTwinGpuEqualsCpu(device, "resizeFake", [x], {
          size: [7, 9],
          mode,
          coordinateTransformation: "half_pixel",
          nearestMode: "round_prefer_floor",
          scales: null,
          scaleIn: 1 / 32,
          dtypeIn: "qint16",
          outScale: 1 / 40,
          dtype: "qint8",
        });
        assertEquals(y.length, 2 * 3 * 7 * 9);
      }
    } finally {
      device.destroy();
    }
  },
});
