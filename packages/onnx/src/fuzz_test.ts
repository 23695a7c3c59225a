/**
 * A fuzz of the reader: fixture files mutated at random (bit flips, truncation, inserted bytes, large
 * varints, duplicated spans) either load or fail with one clear error naming the file; nothing else
 * escapes (no crash, no unnamed error, no hang). Fixed seed, bounded number of cases.
 * @module
 */
import { assert } from "@std/assert";
import fc from "fast-check";
import { fixtureData } from "./fixture_util.ts";
import { loadOnnx } from "./load.ts";
import { onnxType } from "./proto.ts";

const SEED = 20240611;
const RUNS = 3000;
const NAMES = [
  "resnet_block",
  "mobilenetv3_block_opset12",
  "shufflenet_block",
  "seg_head",
  "ops_classifier",
  "unet",
];
const FILES = await Promise.all(NAMES.map(async (n) => (await fixtureData(n)).bytes));

type Mutation =
  | { kind: "flip"; at: number; bits: number }
  | { kind: "cut"; at: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "varint"; at: number }
  | { kind: "copy"; at: number; from: number; length: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant("varint" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("copy" as const),
    at: fc.nat(),
    from: fc.nat(),
    length: fc.integer({ min: 1, max: 64 }),
  }),
);

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const at = bytes.length ? m.at % bytes.length : 0;
  switch (m.kind) {
    case "flip": {
      const out = bytes.slice();
      out[at] ^= m.bits;
      return out;
    }
    case "cut":
      return bytes.slice(0, at);
    case "insert":
      return new Uint8Array([...bytes.subarray(0, at), ...m.bytes, ...bytes.subarray(at)]);
    case "varint": {
      // A length or count of 2^35 - 1 where a small one was.
      const out = bytes.slice();
      out.set([0xff, 0xff, 0xff, 0xff, 0x7f].slice(0, out.length - at), at);
      return out;
    }
    case "copy": {
      const from = bytes.length ? m.from % bytes.length : 0;
      return new Uint8Array([
        ...bytes.subarray(0, at),
        ...bytes.subarray(from, from + m.length),
        ...bytes.subarray(at),
      ]);
    }
  }
}

Deno.test("loadOnnx() on mutated files: a model or one clear error, never anything else", () => {
  let cases = 0, loaded = 0, refused = 0;
  const kinds = new Map<string, number>();
  fc.assert(
    fc.property(fc.nat(FILES.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), (f, ms) => {
      const bytes = ms.reduce(mutate, FILES[f]);
      cases++;
      try {
        loadOnnx(bytes, { source: "fuzz.onnx" });
        loaded++;
      } catch (e) {
        const ok = (e instanceof SyntaxError || e instanceof RangeError || e instanceof TypeError) &&
          e.message.startsWith("fuzz.onnx") && !e.message.includes("\n");
        if (!ok) throw new Error(`${NAMES[f]} ${JSON.stringify(ms)}: ${(e as Error).stack}`);
        refused++;
        kinds.set(e.constructor.name, (kinds.get(e.constructor.name) ?? 0) + 1);
      }
    }),
    { seed: SEED, numRuns: RUNS },
  );
  console.log(
    `fuzz: ${cases} mutated files, ${loaded} loaded, ${refused} refused (${
      [...kinds].map(([k, v]) => `${v} ${k}`).join(", ")
    }), 0 crashes`,
  );
  assert(cases === RUNS && refused > 0);
});

/** Every number and string leaf of a decoded message, as [holder, key] pairs. */
function leaves(o: unknown, out: [Record<string | number, unknown>, string | number][] = []) {
  if (o && typeof o === "object" && !(o instanceof Uint8Array)) {
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === "number" || typeof v === "string") {
        out.push([o as Record<string, unknown>, Array.isArray(o) ? Number(k) : k]);
      } else leaves(v, out);
    }
  }
  return out;
}

Deno.test("loadOnnx() on files with altered field values (valid protobuf): a model or one clear error", () => {
  const T = onnxType("ModelProto");
  const objects = FILES.map((b) => T.toObject(T.decode(b), { longs: Number }));
  let cases = 0, loaded = 0, refused = 0;
  fc.assert(
    fc.property(
      fc.nat(FILES.length - 1),
      fc.array(
        fc.tuple(fc.nat(), fc.oneof(fc.integer({ min: -3, max: 70 }), fc.constantFrom(2 ** 31, 1e12, -1e12))),
        {
          minLength: 1,
          maxLength: 3,
        },
      ),
      (f, edits) => {
        const obj = structuredClone(objects[f]);
        const ls = leaves(obj);
        const names = ls.map(([o, k]) => o[k]).filter((v): v is string => typeof v === "string");
        for (const [at, v] of edits) {
          const [o, k] = ls[at % ls.length];
          o[k] = typeof o[k] === "string" ? names[Math.abs(v) % names.length] : v;
        }
        cases++;
        try {
          loadOnnx(T.encode(T.fromObject(obj)).finish(), { source: "fuzz.onnx" });
          loaded++;
        } catch (e) {
          const ok = (e instanceof SyntaxError || e instanceof RangeError || e instanceof TypeError) &&
            e.message.startsWith("fuzz.onnx") && !e.message.includes("\n");
          if (!ok) throw new Error(`${NAMES[f]} ${JSON.stringify(edits)}: ${(e as Error).stack}`);
          refused++;
        }
      },
    ),
    { seed: SEED, numRuns: 1500 },
  );
  console.log(`fuzz (field values): ${cases} altered files, ${loaded} loaded, ${refused} refused, 0 crashes`);
  assert(refused > 0 && loaded > 0);
});
