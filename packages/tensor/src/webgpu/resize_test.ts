import fc from "fast-check";
import type { ResizeAttrs } from "../ops.ts";
import {
  assertClose,
  assertExact,
  GPU_FC,
  GPU_TEST,
  magnitudeOf,
  randomTensor,
  runBoth,
} from "./gpu_test_util.ts";

const resizing = fc.record({
  h: fc.integer({ min: 1, max: 6 }),
  w: fc.integer({ min: 1, max: 6 }),
  oh: fc.integer({ min: 1, max: 11 }),
  ow: fc.integer({ min: 1, max: 11 }),
  mode: fc.constantFrom("nearest" as const, "linear" as const),
  coordinateTransformation: fc.constantFrom(
    "half_pixel" as const,
    "pytorch_half_pixel" as const,
    "align_corners" as const,
    "asymmetric" as const,
  ),
  nearestMode: fc.constantFrom(
    "round_prefer_floor" as const,
    "round_prefer_ceil" as const,
    "floor" as const,
    "ceil" as const,
  ),
  scaled: fc.boolean(),
}).map(({ h, w, oh, ow, scaled, ...o }): { x: number[]; attrs: ResizeAttrs } => ({
  x: [2, 3, h, w],
  attrs: { ...o, size: [oh, ow], scales: scaled ? [oh / h + 0.25, ow / w - 0.05] : null },
}));

Deno.test({
  name: "resizeGpu() and resizeBackwardGpu() agree with the CPU in every mode and coordinate transformation",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(resizing, fc.nat(), async ({ x, attrs }, seed) => {
        const xt = randomTensor("float32", x, seed);
        const f = await runBoth("resize", [xt], attrs);
        if (attrs.mode === "nearest") assertExact(f.gpu[0], f.cpu[0], "resize");
        else assertClose(f.gpu[0], f.cpu[0], { magnitude: magnitudeOf("resize", [xt], attrs) }, "resize");
        const dy = randomTensor("float32", [x[0], x[1], ...attrs.size], seed + 1);
        const b = await runBoth("resizeBackward", [dy], { ...attrs, xShape: x });
        const magnitude = magnitudeOf("resizeBackward", [dy], { ...attrs, xShape: x });
        assertClose(b.gpu[0], b.cpu[0], { magnitude }, "resizeBackward");
      }),
      { ...GPU_FC, numRuns: 24 },
    );
  },
});

Deno.test({
  name: "resizeGpu() copies nearest cells of int8 and int16 tensors like the CPU",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(resizing, fc.nat(), async ({ x, attrs }, seed) => {
        for (const dtype of ["int8", "int16"] as const) {
          const xt = randomTensor(dtype, x, seed, -100, 100);
          const f = await runBoth("resize", [xt], { ...attrs, mode: "nearest" });
          assertExact(f.gpu[0], f.cpu[0], `resize ${dtype}`);
        }
      }),
      GPU_FC,
    );
  },
});
