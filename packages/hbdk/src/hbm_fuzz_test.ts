import { assert, assertEquals, assertGreater } from "@std/assert";
import { compileProgram, loadHbm } from "@hqat/hbdk";
import { crc32, type Program, ProgramFormatError, ProgramRunError, runIntModel } from "@hqat/program";
import { prng, randomInput, tinyIntModel } from "../testdata/mobilenet_v2.ts";

const CASES = 10_000;

/** Recomputes the three CRCs when the header's section fields still lie inside the file. */
function repairCrcs(bytes: Uint8Array): void {
  if (bytes.length < 64) return;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [mo, ml, po, pl] = [20, 24, 28, 32].map((o) => v.getUint32(o, true));
  if (mo + ml <= bytes.length) v.setUint32(36, crc32(bytes.subarray(mo, mo + ml)), true);
  if (po + pl <= bytes.length) v.setUint32(40, crc32(bytes.subarray(po, po + pl)), true);
  v.setUint32(44, crc32(bytes.subarray(0, 44)), true);
}

const INTERESTING = [
  0,
  1,
  2,
  3,
  7,
  64,
  255,
  256,
  65535,
  65536,
  0x7fffffff,
  0x80000000,
  0xfffffffe,
  0xffffffff,
];

/** One seeded mutation of `good`: byte flips, a truncation, or edits of 32-bit length fields. */
function mutate(good: Uint8Array, rand: () => number, modelEnd: number): Uint8Array {
  const pick = (n: number) => Math.floor(rand() * n);
  const kind = pick(3);
  if (kind === 1) return good.slice(0, pick(good.length));
  const bytes = good.slice();
  const v = new DataView(bytes.buffer);
  const edits = 1 + pick(4);
  for (let e = 0; e < edits; e++) {
    if (kind === 0) bytes[pick(bytes.length)] ^= 1 + pick(255);
    else {
      // A header length/offset field, or any aligned word of the model section (counts, shapes, ids, refs).
      const at = rand() < 0.3 ? 16 + 4 * pick(5) : 64 + 4 * pick(Math.floor((modelEnd - 68) / 4));
      const old = v.getUint32(at, true);
      const value = rand() < 0.5 ? INTERESTING[pick(INTERESTING.length)] : (old + pick(9) - 4) >>> 0;
      v.setUint32(at, value, true);
    }
  }
  return bytes;
}

Deno.test("loadHbm() and runIntModel() survive 10,000 mutated files: each is rejected with ProgramFormatError or loads and runs", () => {
  const model = tinyIntModel(11);
  const good = compileProgram(model, [{ shape: [2, 3, 8, 8] }], { opt: "O2", log: () => {} }).bytes;
  const original = loadHbm(good);
  const modelEnd = 64 + new DataView(good.buffer).getUint32(24, true);
  const rand = prng(42);
  const counts = { rejected: 0, ran: 0, runtimeRejected: 0, repaired: 0 };
  const reasons = new Map<string, number>();
  let largestArena = 0;
  for (let c = 0; c < CASES; c++) {
    const bytes = mutate(good, rand, modelEnd);
    if (rand() < 0.5) {
      repairCrcs(bytes);
      counts.repaired++;
    }
    let program: Program;
    try {
      program = loadHbm(bytes, { fileName: `case${c}.hbm` });
    } catch (e) {
      if (!(e instanceof ProgramFormatError)) throw new Error(`case ${c}: loadHbm threw ${e}`, { cause: e });
      assert(e.message.startsWith(`Cannot load "case${c}.hbm": `));
      const reason = e.message.replace(/^[^:]*: /, "").replace(/[\d.]+/g, "#").slice(0, 48);
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      counts.rejected++;
      continue;
    }
    largestArena = Math.max(largestArena, program.placement!.arenaBytes);
    try {
      const shape = program.inputShape;
      runIntModel(program, randomInput(shape, c), shape);
      counts.ran++;
    } catch (e) {
      if (!(e instanceof ProgramRunError)) throw new Error(`case ${c}: runIntModel threw ${e}`, { cause: e });
      counts.runtimeRejected++;
    }
  }
  assertEquals(counts.rejected + counts.ran + counts.runtimeRejected, CASES);
  // CRC-repaired mutations of parameter bytes (weights, biases) still load and run; structural ones do not.
  assertGreater(counts.ran, 0);
  assertGreater(counts.rejected, CASES / 2);
  assertGreater(reasons.size, 30, "the rejections come from many different checks");
  // A loaded program's arena is fixed by its buffers, whose shapes follow from the input shape.
  assert(
    largestArena <= original.placement!.arenaBytes,
    `arena ${largestArena} > ${original.placement!.arenaBytes}`,
  );
  console.log(`fuzz: ${JSON.stringify(counts)}, ${reasons.size} distinct rejection reasons`);
});
