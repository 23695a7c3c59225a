import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  cosineAnnealing,
  linearWarmup,
  multiStepLR,
  type Schedule,
  sequential,
  stepLR,
  warmupCosine,
} from "./schedule.ts";

interface GoldenSchedule {
  schedule: string;
  // deno-lint-ignore no-explicit-any
  options: any;
  baseLr: number;
  lrs: number[];
}

const golden: { schedules: GoldenSchedule[] } = JSON.parse(
  await Deno.readTextFile(new URL("../testdata/optim_golden.json", import.meta.url)),
);

// deno-lint-ignore no-explicit-any
const MAKERS: Record<string, (options: any) => Schedule> = {
  stepLR,
  multiStepLR,
  cosineAnnealing,
  linearWarmup,
  warmupCosine,
};

for (const g of golden.schedules) {
  Deno.test(`${g.schedule}() gives PyTorch 1.13's learning rates for ${JSON.stringify(g.options)}`, () => {
    const schedule = MAKERS[g.schedule](g.options);
    g.lrs.forEach((expected, step) => {
      const got = schedule(g.baseLr, step);
      assert(
        Math.abs(got - expected) <= 1e-12 * Math.max(g.baseLr, 1e-30),
        `step ${step}: ${got} vs ${expected}`,
      );
    });
  });
}

Deno.test("cosineAnnealing() stays within [etaMin, baseLr] and is symmetric about tMax", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1000 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.integer({ min: 0, max: 2000 }),
      (tMax, base, frac, step) => {
        const etaMin = base * frac;
        const s = cosineAnnealing({ tMax, etaMin });
        const lr = s(base, step);
        const tol = 1e-15;
        assert(lr >= etaMin - tol && lr <= base + tol, `${lr} outside [${etaMin}, ${base}]`);
        assert(Math.abs(s(base, tMax + (tMax - (step % tMax))) - s(base, step % tMax)) < 1e-12);
      },
    ),
    { seed: 42, numRuns: 200 },
  );
});

Deno.test("sequential() hands each schedule the steps since its milestone", () => {
  const a: Schedule = (base, step) => base + step;
  const b: Schedule = (base, step) => -(base + step);
  const c: Schedule = (base, step) => 100 * base + step;
  const s = sequential([a, b, c], [2, 5]);
  assertEquals([0, 1, 2, 3, 4, 5, 6].map((t) => s(1, t)), [1, 2, -1, -2, -3, 100, 101]);
  assertEquals(sequential([a], [])(1, 7), 8);
});

Deno.test("schedules reject bad options and steps", () => {
  assertThrows(() => stepLR({ stepSize: 0 }), RangeError, "stepSize must be a positive integer");
  assertThrows(() => multiStepLR({ milestones: [3, 3] }), RangeError, "milestones[1]");
  assertThrows(() => cosineAnnealing({ tMax: 0 }), RangeError, "tMax");
  assertThrows(() => linearWarmup({ warmupSteps: 3, startFactor: 0 }), RangeError, "startFactor");
  assertThrows(() => sequential([stepLR({ stepSize: 1 })], [2]), RangeError, "1 schedules need 0 milestones");
  assertThrows(() => warmupCosine({ warmupSteps: 10, totalSteps: 10 }), RangeError, "totalSteps");
  assertThrows(() => stepLR({ stepSize: 2 })(0.1, -1), RangeError, "step must be a non-negative");
  assertThrows(() => cosineAnnealing({ tMax: 2 })(NaN, 1), RangeError, "baseLr");
});

Deno.test("warmupCosine() without warmup is cosineAnnealing()", () => {
  const a = warmupCosine({ warmupSteps: 0, totalSteps: 20, etaMin: 0.01 });
  const b = cosineAnnealing({ tMax: 20, etaMin: 0.01 });
  for (let t = 0; t <= 25; t++) assertEquals(a(0.3, t), b(0.3, t));
});
