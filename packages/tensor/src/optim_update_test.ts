import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { type AdamConstants, adamUpdate, type SgdConstants, sgdUpdate } from "./optim_update.ts";
import { adamUpdateReference, sgdUpdateReference } from "./cpu/optim_reference.ts";
import { adamUpdateWasm, PART_ELEMENTS, sgdUpdateWasm } from "./cpu/optim_wasm.ts";
import { kernelRuntime } from "./cpu/wasm_runtime.ts";

const rt = kernelRuntime();

/** The bits of each element, every NaN as one pattern. */
const bits = (a: Float32Array): number[] =>
  Array.from(new Int32Array(Float32Array.from(a).buffer), (b, i) => (Number.isNaN(a[i]) ? 0x7fc00000 : b));

const f32 = fc.float();
/** Gradients and states as training makes them, and every float32 class: ±0, denormals, huge, ±∞, NaN. */
const value = fc.oneof(
  f32,
  fc.float({ min: -1, max: 1, noNaN: true }),
  fc.float({ min: Math.fround(-1e-3), max: Math.fround(1e-3), noNaN: true }),
  fc.constantFrom(0, -0, 1e-45, -1e-45, 1.1754942e-38, 3.4028235e38, -3.4028235e38, Infinity, -Infinity, NaN),
);
const arrayOf = (n: number) =>
  fc.array(value, { minLength: n, maxLength: n }).map((v) => Float32Array.from(v));
const unit = fc.float({ min: 0, max: 1, noNaN: true });
const constant = fc.oneof(unit, f32);

const adamConstants: fc.Arbitrary<AdamConstants> = fc.record({
  decay: fc.oneof(fc.constant(1), unit),
  l2: fc.oneof(fc.constant(0), unit, f32),
  beta1: constant,
  oneMinusBeta1: constant,
  beta2: constant,
  oneMinusBeta2: constant,
  bias2Sqrt: constant,
  eps: fc.oneof(fc.constant(Math.fround(1e-8)), constant),
  negStepSize: fc.oneof(fc.float({ min: -1, max: 0, noNaN: true }), f32),
  amsgrad: fc.boolean(),
});

const adamTensors = fc.array(
  fc.integer({ min: 0, max: 70 }).chain((n) =>
    fc.record({
      param: arrayOf(n),
      grad: arrayOf(n),
      expAvg: arrayOf(n),
      expAvgSq: arrayOf(n),
      maxExpAvgSq: arrayOf(n),
    })
  ),
  { minLength: 1, maxLength: 5 },
);

const sgdConstants: fc.Arbitrary<SgdConstants> = fc.record({
  negLr: fc.oneof(fc.float({ min: -1, max: 0, noNaN: true }), f32),
  weightDecay: fc.oneof(fc.constant(0), unit, f32),
  momentum: fc.oneof(fc.constant(0), unit, f32),
  keep: fc.oneof(fc.constant(1), unit, f32),
  nesterov: fc.boolean(),
  first: fc.boolean(),
});

const sgdTensors = fc.array(
  fc.integer({ min: 0, max: 70 }).chain((n) =>
    fc.record({ param: arrayOf(n), grad: arrayOf(n), momentumBuffer: arrayOf(n) })
  ),
  { minLength: 1, maxLength: 5 },
);

function assertSameArrays(a: Record<string, Float32Array | undefined>, b: typeof a, what: string): void {
  assertEquals(Object.keys(a).sort(), Object.keys(b).sort(), what);
  for (const k of Object.keys(a)) assertEquals(bits(a[k]!), bits(b[k]!), `${what}: ${k}`);
}

Deno.test({
  name: "adamUpdateWasm() gives adamUpdateReference()'s bits for every float32, Adam, AdamW and AMSGrad",
  ignore: !rt,
  fn() {
    fc.assert(
      fc.property(adamTensors, adamConstants, (tensors, c) => {
        const before = tensors.map((t) => [t.param, t.grad, t.expAvg, t.expAvgSq, t.maxExpAvgSq].map(bits));
        const want = adamUpdateReference(tensors, c);
        const got = adamUpdateWasm(rt!, tensors, c);
        want.forEach((w, i) => assertSameArrays({ ...got[i] }, { ...w }, `tensor ${i}`));
        assertEquals(
          tensors.map((t) => [t.param, t.grad, t.expAvg, t.expAvgSq, t.maxExpAvgSq].map(bits)),
          before,
          "the inputs are left as they were",
        );
      }),
      { seed: 7, numRuns: 300 },
    );
  },
});

Deno.test({
  name:
    "sgdUpdateWasm() gives sgdUpdateReference()'s bits for every float32, momentum, dampening and Nesterov",
  ignore: !rt,
  fn() {
    fc.assert(
      fc.property(sgdTensors, sgdConstants, (tensors, c) => {
        const want = sgdUpdateReference(tensors, c);
        const got = sgdUpdateWasm(rt!, tensors, c);
        want.forEach((w, i) => assertSameArrays({ ...got[i] }, { ...w }, `tensor ${i}`));
      }),
      { seed: 11, numRuns: 300 },
    );
  },
});

Deno.test("adamUpdate() and sgdUpdate() split large tensors into parts and keep their bits", () => {
  const n = 2 * PART_ELEMENTS + 7;
  const wave = (k: number) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) * 10 ** ((i % 13) - 6));
  const tensors = [{
    param: wave(1),
    grad: wave(2),
    expAvg: wave(3),
    expAvgSq: wave(4).map(Math.abs),
    maxExpAvgSq: wave(5).map(Math.abs),
  }, {
    param: wave(6).subarray(0, 9),
    grad: wave(7).subarray(0, 9),
    expAvg: wave(8).subarray(0, 9),
    expAvgSq: wave(9).subarray(0, 9),
    maxExpAvgSq: wave(10).subarray(0, 9),
  }];
  const fround = Math.fround;
  const c: AdamConstants = {
    decay: fround(1 - 1e-3 * 1e-2),
    l2: 0,
    beta1: fround(0.9),
    oneMinusBeta1: fround(0.1),
    beta2: fround(0.999),
    oneMinusBeta2: fround(1 - 0.999),
    bias2Sqrt: fround(Math.sqrt(1 - 0.999 ** 5)),
    eps: fround(1e-8),
    negStepSize: fround(-1e-3 / (1 - 0.9 ** 5)),
    amsgrad: true,
  };
  const want = adamUpdateReference(tensors, c), got = adamUpdate(tensors, c);
  want.forEach((w, i) => assertSameArrays({ ...got[i] }, { ...w }, `adam tensor ${i}`));
  const sc: SgdConstants = {
    negLr: -0.05,
    weightDecay: 4e-5,
    momentum: 0.9,
    keep: 1,
    nesterov: true,
    first: false,
  };
  const sgdIn = tensors.map((t) => ({ param: t.param, grad: t.grad, momentumBuffer: t.expAvg }));
  const sWant = sgdUpdateReference(sgdIn, sc), sGot = sgdUpdate(sgdIn, sc);
  sWant.forEach((w, i) => assertSameArrays({ ...sGot[i] }, { ...w }, `sgd tensor ${i}`));
});

Deno.test("adamUpdate() and sgdUpdate() with inPlace write into the inputs after reading every input", () => {
  for (const size of [5, 3 * PART_ELEMENTS + 1]) {
    const make = (k: number) => Float32Array.from({ length: size }, (_, i) => Math.cos(i + k));
    // The second tensor's gradient is the first tensor's parameter: it must be read before that is written.
    const p0 = make(1), p1 = make(2);
    const tensors = [
      { param: p0, grad: make(3), expAvg: make(4), expAvgSq: make(5).map(Math.abs) },
      { param: p1, grad: p0, expAvg: make(6), expAvgSq: make(7).map(Math.abs) },
    ];
    const c: AdamConstants = {
      decay: 1,
      l2: Math.fround(1e-3),
      beta1: Math.fround(0.9),
      oneMinusBeta1: Math.fround(0.1),
      beta2: Math.fround(0.999),
      oneMinusBeta2: Math.fround(1 - 0.999),
      bias2Sqrt: Math.fround(Math.sqrt(1 - 0.999)),
      eps: Math.fround(1e-8),
      negStepSize: Math.fround(-1e-3 / 0.1),
      amsgrad: false,
    };
    const fresh = adamUpdate(tensors, c);
    const kept = tensors[1].expAvg.slice();
    const inPlace = adamUpdate([{ ...tensors[0], inPlace: true }, tensors[1]], c);
    assert(inPlace[0].param === p0 && inPlace[0].expAvg === tensors[0].expAvg && inPlace[1].param !== p1);
    fresh.forEach((f, i) => assertSameArrays({ ...inPlace[i] }, { ...f }, `size ${size} tensor ${i}`));
    assertEquals(bits(tensors[1].expAvg), bits(kept), "a tensor not in place is left as it was");

    const q = make(8), buf = make(9), g = make(10);
    const sc: SgdConstants = {
      negLr: -0.1,
      weightDecay: 0,
      momentum: 0.9,
      keep: 1,
      nesterov: false,
      first: false,
    };
    const [sFresh] = sgdUpdate([{ param: q, grad: g, momentumBuffer: buf }], sc);
    const [sIn] = sgdUpdate([{ param: q, grad: g, momentumBuffer: buf, inPlace: true }], sc);
    assert(sIn.param === q && sIn.momentumBuffer === buf);
    assertSameArrays({ ...sIn }, { ...sFresh }, `sgd size ${size}`);
  }
});

Deno.test("adamUpdate() and sgdUpdate() reject arrays of different lengths and missing buffers", () => {
  const a = new Float32Array(3), b = new Float32Array(4);
  const c: AdamConstants = {
    decay: 1,
    l2: 0,
    beta1: 0.9,
    oneMinusBeta1: 0.1,
    beta2: 0.999,
    oneMinusBeta2: 0.001,
    bias2Sqrt: 1,
    eps: 1e-8,
    negStepSize: -1,
    amsgrad: true,
  };
  assertThrows(
    () => adamUpdate([{ param: a, grad: b, expAvg: a, expAvgSq: a, maxExpAvgSq: a }], c),
    RangeError,
    "tensor 0's grad has 4 elements but its param has 3",
  );
  assertThrows(
    () => adamUpdate([{ param: a, grad: a, expAvg: a, expAvgSq: a }], c),
    TypeError,
    "no maxExpAvgSq",
  );
  const sc: SgdConstants = {
    negLr: -1,
    weightDecay: 0,
    momentum: 0.5,
    keep: 1,
    nesterov: false,
    first: true,
  };
  assertThrows(() => sgdUpdate([{ param: a, grad: a }], sc), TypeError, "no momentumBuffer");
  assertEquals(sgdUpdate([{ param: a, grad: a }], { ...sc, momentum: 1e-50 })[0].momentumBuffer, undefined);
});
