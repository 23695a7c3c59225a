/**
 * The machine's measured limits for the CPU kernels' inner loops, so that a kernel's GFLOP/s or GMAC/s can be
 * read as a share of what WebAssembly SIMD can reach here: a tight loop of eight independent accumulators
 * per instruction kind — f32x4.relaxed_madd (the float kernels), i32x4.dot_i16x8_s + i32x4.add (the integer
 * GEMM's int16 pairs) and i32x4.relaxed_dot_i8x16_i7x16_add_s (its int8 quads) — on one thread and on every
 * core at once (one worker per core).
 *
 *   deno run -A bench/peak.ts [--json]
 * @module
 */

type Kind = "f32_madd" | "i16_dot" | "i8_dot";

/** Work per loop iteration of one accumulator: flops (madd) or multiply-adds (dots). */
const WORK: Record<Kind, number> = { f32_madd: 8, i16_dot: 8, i8_dot: 16 };
const ACCS = 8;

const leb = (v: number): number[] => {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
};
const simd = (op: number) => [0xfd, ...leb(op)];

/** A module exporting `run(n)`: n iterations of ACCS independent accumulations of `kind`. */
function peakModule(kind: Kind): Uint8Array {
  const A = 1 + ACCS, B = 2 + ACCS; // locals: 0 = n, 1..ACCS accumulators, then a and b
  const body: number[] = [
    ...simd(0x0c),
    ...new Array(16).fill(3),
    0x21,
    A,
    ...simd(0x0c),
    ...new Array(16).fill(5),
    0x21,
    B,
    0x03,
    0x40, // loop
  ];
  for (let i = 1; i <= ACCS; i++) {
    if (kind === "f32_madd") body.push(0x20, A, 0x20, B, 0x20, i, ...simd(0x105), 0x21, i);
    if (kind === "i8_dot") body.push(0x20, A, 0x20, B, 0x20, i, ...simd(0x113), 0x21, i);
    if (kind === "i16_dot") body.push(0x20, i, 0x20, A, 0x20, B, ...simd(0xba), ...simd(0xae), 0x21, i);
  }
  // n -= 1; br_if (n != 0)
  body.push(0x20, 0, 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b);
  // the sum of the accumulators' first lanes, so that nothing is dead
  body.push(0x20, 1);
  for (let i = 2; i <= ACCS; i++) body.push(0x20, i, ...simd(0xae));
  body.push(...simd(0x1b), 0, 0x0b);
  const locals = [1, ACCS + 2, 0x7b]; // one group of v128 locals
  const code = [...locals, ...body];
  const func = [...leb(code.length), ...code];
  const section = (id: number, bytes: number[]) => [id, ...leb(bytes.length), ...bytes];
  const name = [...new TextEncoder().encode("run")];
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7f]), // type (i32) -> i32
    ...section(3, [1, 0]),
    ...section(7, [1, name.length, ...name, 0x00, 0]),
    ...section(10, [1, ...func]),
  ]);
}

/** Giga-operations per second of `kind` on this thread (the best of a few timed runs). */
export function peak(kind: Kind): number {
  const run = new WebAssembly.Instance(new WebAssembly.Module(peakModule(kind) as Uint8Array<ArrayBuffer>))
    .exports.run as (n: number) => number;
  const n = 20_000_000;
  run(1000);
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    run(n);
    best = Math.min(best, performance.now() - t0);
  }
  return (n * ACCS * WORK[kind]) / (best / 1000) / 1e9;
}

const KINDS: Kind[] = ["f32_madd", "i16_dot", "i8_dot"];

if (import.meta.main && (globalThis as { name?: string }).name === "peak-worker") {
  self.onmessage = (e: MessageEvent<Kind>) => self.postMessage(peak(e.data));
} else if (import.meta.main) {
  const cores = navigator.hardwareConcurrency;
  const results: Record<string, { oneThread: number; allCores: number }> = {};
  for (const kind of KINDS) {
    const one = peak(kind);
    const workers = Array.from(
      { length: cores },
      () => new Worker(import.meta.url, { type: "module", name: "peak-worker" }),
    );
    const each = await Promise.all(workers.map((w) =>
      new Promise<number>((resolve) => {
        w.onmessage = (e) => resolve(e.data);
        w.postMessage(kind);
      })
    ));
    workers.forEach((w) => w.terminate());
    results[kind] = { oneThread: one, allCores: each.reduce((a, b) => a + b, 0) };
  }
  if (Deno.args.includes("--json")) console.log(JSON.stringify(results));
  else {
    console.log(`WebAssembly SIMD limits on this machine (${cores} cores)`);
    const unit: Record<Kind, string> = { f32_madd: "GFLOP/s", i16_dot: "GMAC/s", i8_dot: "GMAC/s" };
    for (const k of KINDS) {
      console.log(
        `  ${k.padEnd(9)} one thread ${results[k].oneThread.toFixed(1).padStart(6)} ${unit[k]}, all cores ${
          results[k].allCores.toFixed(1).padStart(6)
        } ${unit[k]}`,
      );
    }
  }
}
