import { assert, assertEquals, assertGreater } from "@std/assert";
import fc from "fast-check";
import {
  bufferBytes,
  crc32,
  decodeProgram,
  encodeProgram,
  FRAME_LIMITS,
  type Program,
  ProgramFormatError,
  ProgramRunError,
  runIntModel,
} from "@hqat/program";
import { randomInput } from "../testdata/build.ts";
import { everyOpModel, tinyIntModel } from "../testdata/programs.ts";

const CASES = 3000;

/** Real int model files: two structures, two seeds each. */
const FILES = [tinyIntModel(1), tinyIntModel(2), everyOpModel(3), everyOpModel(4)].map(encodeProgram);

const INTERESTING = [0, 1, 2, 3, 7, 8, 64, 255, 256, 65535, 65536, 0x7fffffff, 0x80000000, 0xffffffff];

/** A mutation: which file, how (0 byte flips, 1 truncation, 2 word edits, 3 parameter flips), where, and whether CRCs are repaired. */
const mutation = fc.noBias(fc.record({
  file: fc.nat({ max: FILES.length - 1 }),
  kind: fc.nat({ max: 3 }),
  edits: fc.array(
    fc.record({ at: fc.integer({ min: 0, max: 2 ** 24 - 1 }).map((n) => n / 2 ** 24), value: fc.nat() }),
    { minLength: 1, maxLength: 4 },
  ),
  repair: fc.boolean(),
}));

function apply(m: typeof mutation extends fc.Arbitrary<infer T> ? T : never): Uint8Array {
  const good = FILES[m.file];
  if (m.kind === 1) return good.slice(0, Math.floor(m.edits[0].at * good.length));
  const bytes = good.slice();
  const v = new DataView(bytes.buffer);
  const modelEnd = 64 + v.getUint32(24, true);
  for (const e of m.edits) {
    if (m.kind === 0) bytes[Math.floor(e.at * bytes.length)] ^= 1 + (e.value % 255);
    else if (m.kind === 3) {
      const [po, pl] = [v.getUint32(28, true), v.getUint32(32, true)];
      bytes[po + Math.floor(e.at * pl)] ^= 1 + (e.value % 255);
    } else {
      const at = 16 + 4 * Math.floor(e.at * ((modelEnd - 20) / 4));
      const old = v.getUint32(at, true);
      const value = e.value % 2 === 0
        ? INTERESTING[e.value % INTERESTING.length]
        : (old + (e.value % 9) - 4) >>> 0;
      v.setUint32(at, value, true);
    }
  }
  if ((m.repair || m.kind === 3) && bytes.length >= 64) {
    const [mo, ml, po, pl] = [20, 24, 28, 32].map((o) => v.getUint32(o, true));
    if (mo + ml <= bytes.length) v.setUint32(36, crc32(bytes.subarray(mo, mo + ml)), true);
    if (po + pl <= bytes.length) v.setUint32(40, crc32(bytes.subarray(po, po + pl)), true);
    v.setUint32(44, crc32(bytes.subarray(0, 44)), true);
  }
  return bytes;
}

Deno.test(`decodeProgram() and runIntModel() on ${CASES} mutated int model files: only their own errors, bounded buffers, no hang`, () => {
  const counts = { rejected: 0, ran: 0, runRefused: 0 };
  let slowest = 0, largestFrame = 0;
  fc.assert(
    fc.property(mutation, (m) => {
      const bytes = apply(m);
      const t0 = performance.now();
      let program: Program;
      try {
        program = decodeProgram(bytes, { fileName: "int_model" });
      } catch (e) {
        if (!(e instanceof ProgramFormatError)) throw e;
        assert(e.message.startsWith('Cannot load "int_model": '));
        counts.rejected++;
        return;
      }
      const frame = program.buffers.reduce((s, b) => s + bufferBytes(b), 0) / program.inputShape[0];
      largestFrame = Math.max(largestFrame, frame);
      assert(frame <= FRAME_LIMITS.totalBytes);
      try {
        runIntModel(program, randomInput(program.inputShape, 1), program.inputShape);
        counts.ran++;
      } catch (e) {
        if (!(e instanceof ProgramRunError)) throw e;
        counts.runRefused++;
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }),
    { seed: 17, numRuns: CASES },
  );
  console.log(`int model fuzz: ${JSON.stringify(counts)}, slowest accepted case ${slowest.toFixed(1)} ms`);
  assertEquals(counts.rejected + counts.ran + counts.runRefused, CASES);
  assertGreater(counts.rejected, CASES / 2);
  assertGreater(counts.ran, CASES / 20);
  // No accepted file describes more than the original models' buffers (the shapes follow the input).
  assert(largestFrame <= 64 * 1024, `${largestFrame} bytes per frame`);
  assert(slowest < 2000, `a case took ${slowest} ms`);
});
