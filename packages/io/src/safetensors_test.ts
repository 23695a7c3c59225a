import { assert, assertEquals, assertRejects, assertStrictEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { encodeSafetensors, parseSafetensors } from "./safetensors.ts";
import { readSafetensors, writeSafetensors } from "./safetensors_file.ts";
import { STORED_DTYPES, type StoredDType, type StoredTensor, toFloat32 } from "./stored_tensor.ts";

const testdata = (name: string) => new URL(`../testdata/${name}`, import.meta.url);
const FIXTURE = await Deno.readFile(testdata("mixed.safetensors"));
const EXPECTED: {
  metadata: Record<string, string>;
  tensors: Record<
    string,
    { dtype: StoredDType; shape: number[]; bits: (number | string)[]; float32_bits: number[] }
  >;
} = JSON.parse(await Deno.readTextFile(testdata("mixed.json")));

/** Element bits in the fixture's notation: 64-bit values as decimal strings, others as numbers. */
function bitsOf({ dtype, data }: StoredTensor): (number | string)[] {
  if (dtype === "I64") return [...(data as BigInt64Array)].map(String);
  if (dtype === "F64") return [...new BigInt64Array((data as Float64Array).slice().buffer)].map(String);
  if (dtype === "F32") return [...new Uint32Array((data as Float32Array).slice().buffer)];
  return Array.from(data as ArrayLike<number>);
}

/** A safetensors file from header text (or a header object) and data bytes. */
function makeFile(header: string | object, data: ArrayLike<number> = []): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

Deno.test("parseSafetensors() reads every dtype of a file in the reference layout, in header order", () => {
  const { tensors, metadata } = parseSafetensors(FIXTURE, { fileName: "mixed.safetensors" });
  assertEquals(metadata, EXPECTED.metadata);
  const headerText = new TextDecoder().decode(FIXTURE.subarray(8, 8 + Number(FIXTURE[0] + 256 * FIXTURE[1])));
  const headerOrder = Object.keys(JSON.parse(headerText)).filter((k) => k !== "__metadata__");
  assertEquals([...tensors.keys()], headerOrder);
  assertEquals(new Set(tensors.keys()), new Set(Object.keys(EXPECTED.tensors)));
  for (const [name, want] of Object.entries(EXPECTED.tensors)) {
    const got = tensors.get(name)!;
    assertEquals(got.dtype, want.dtype, name);
    assertEquals(got.shape, want.shape, name);
    assertEquals(bitsOf(got), want.bits, name);
    assertEquals([...new Uint32Array(toFloat32(got).buffer)], want.float32_bits, `toFloat32 of ${name}`);
  }
});

Deno.test("encodeSafetensors() writes the reference layout byte for byte", () => {
  const { tensors, metadata } = parseSafetensors(FIXTURE);
  const reversed = [...tensors].reverse(); // the input order does not matter
  assertEquals(encodeSafetensors(reversed, { metadata }), FIXTURE);
  // Worked by hand from the format: 65 bytes of JSON padded to 72, then 6 float32 values.
  const data = new Float32Array([0, 1, 2, 3, 4, 5]);
  const out = encodeSafetensors([["attn0", { dtype: "F32", shape: [1, 1, 2, 3], data }]]);
  const json = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
  assertEquals(out, makeFile(json + " ".repeat(7), new Uint8Array(data.buffer)));
  assertEquals(encodeSafetensors([]), makeFile("{}      "));
  assertEquals(
    encodeSafetensors([], { metadata: { framework: "pt" } }),
    makeFile('{"__metadata__":{"framework":"pt"}}     '),
  );
});

const storedArb: fc.Arbitrary<StoredTensor> = fc
  .tuple(
    fc.constantFrom(...(Object.keys(STORED_DTYPES) as StoredDType[])),
    fc.array(fc.nat(4), { maxLength: 3 }),
  )
  .chain(([dtype, shape]) => {
    const { itemSize, array } = STORED_DTYPES[dtype];
    const n = shape.reduce((a, b) => a * b, 1) * itemSize;
    return fc.uint8Array({ minLength: n, maxLength: n }).map((bytes) => {
      if (dtype === "BOOL") bytes = bytes.map((b) => b & 1);
      return { dtype, shape, data: new array(bytes.buffer) } as StoredTensor;
    });
  });

Deno.test("encodeSafetensors() and parseSafetensors() round-trip every dtype with aligned data", () => {
  const nameArb = fc.string({ unit: "binary", maxLength: 6 }).filter((s) => s !== "__metadata__");
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.tuple(nameArb, storedArb), { selector: ([name]) => name, maxLength: 6 }),
      fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 3 }),
      (entries, metadata) => {
        const bytes = encodeSafetensors(entries, { metadata });
        const parsed = parseSafetensors(bytes);
        assertEquals(parsed.metadata, { ...metadata });
        assertEquals(parsed.tensors.size, entries.length);
        for (const [name, stored] of entries) {
          const got = parsed.tensors.get(name)!;
          assertEquals({ ...got, data: new Uint8Array(got.data.buffer) }, {
            ...stored,
            data: new Uint8Array(stored.data.buffer),
          });
        }
        const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
        assertStrictEquals(n % 8, 0);
        const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
        for (const [name, { dtype }] of entries) {
          assertStrictEquals(header[name].data_offsets[0] % STORED_DTYPES[dtype].itemSize, 0, name);
        }
        assertEquals(encodeSafetensors(parsed.tensors, { metadata: parsed.metadata }), bytes);
      },
    ),
    { seed: 42, numRuns: 300 },
  );
});

Deno.test("parseSafetensors() keeps the header order, integer-like names included", () => {
  const entry = (i: number) => ({ dtype: "U8", shape: [1], data_offsets: [i, i + 1] });
  const text = `{"b":${JSON.stringify(entry(0))},"10":${JSON.stringify(entry(1))},"a\\"{":${
    JSON.stringify(entry(2))
  },"2":${JSON.stringify(entry(3))}}`;
  const { tensors } = parseSafetensors(makeFile(text, [5, 6, 7, 8]));
  assertEquals([...tensors.keys()], ["b", "10", 'a"{', "2"]);
  assertEquals([...tensors.values()].map((t) => t.data[0]), [5, 6, 7, 8]);
});

Deno.test("parseSafetensors() copies unaligned data into aligned arrays", () => {
  const floats = new Uint8Array(new Float32Array([1.5, -2]).buffer);
  const header = {
    a: { dtype: "U8", shape: [3], data_offsets: [0, 3] },
    b: { dtype: "F32", shape: [2], data_offsets: [3, 11] },
    c: { dtype: "I64", shape: [], data_offsets: [11, 19] },
  };
  const longBytes = new Uint8Array(new BigInt64Array([-3n]).buffer);
  const { tensors } = parseSafetensors(makeFile(header, [1, 2, 3, ...floats, ...longBytes]));
  assertEquals(tensors.get("b")!.data, new Float32Array([1.5, -2]));
  assertEquals(tensors.get("c")!.data, new BigInt64Array([-3n]));
});

const f32 = (shape: number[], begin: number, end: number) => ({
  dtype: "F32",
  shape,
  data_offsets: [begin, end],
});
const u64 = (n: bigint) => new Uint8Array(new BigUint64Array([n]).buffer);
const MALFORMED: [string, Uint8Array, typeof Error, string][] = [
  [
    "truncated length",
    new Uint8Array(5),
    RangeError,
    "the file has 5 bytes, too few for the 8-byte header length",
  ],
  [
    "truncated data",
    FIXTURE.slice(0, -10),
    RangeError,
    'tensor "short" has data_offsets [604, 610] beyond the 609-byte data buffer',
  ],
  ["header past end", new Uint8Array([...u64(1000n), 123, 125]), RangeError, "header length 1000 runs past"],
  [
    "huge header",
    new Uint8Array([...u64(2n ** 63n), 123, 125]),
    RangeError,
    "exceeds the limit of 100000000",
  ],
  ["bad JSON", makeFile('{"a":'), SyntaxError, "header is not valid JSON"],
  ["bad UTF-8", new Uint8Array([...u64(3n), 0x22, 0xff, 0x22]), SyntaxError, "header is not valid UTF-8"],
  ["array header", makeFile("[]"), SyntaxError, "header must be a JSON object, not an array"],
  [
    "duplicate",
    makeFile(`{"a":${JSON.stringify(f32([], 0, 4))},"a":${JSON.stringify(f32([], 0, 4))}}`, [0, 0, 0, 0]),
    SyntaxError,
    'header lists "a" twice',
  ],
  ["not an object", makeFile({ a: 3 }), TypeError, 'tensor "a" must be described by an object'],
  [
    "unknown dtype",
    makeFile({ a: { dtype: "F33", shape: [], data_offsets: [0, 4] } }),
    TypeError,
    'tensor "a" has unknown dtype "F33"',
  ],
  [
    "U32",
    makeFile({ a: { dtype: "U32", shape: [], data_offsets: [0, 4] } }),
    TypeError,
    'tensor "a" has dtype U32, which is not supported',
  ],
  [
    "negative shape",
    makeFile({ a: f32([2, -1], 0, 8) }),
    RangeError,
    'tensor "a" has shape [2,-1] with a negative dimension',
  ],
  [
    "fractional shape",
    makeFile({ a: f32([1.5], 0, 8) }),
    TypeError,
    "shape [1.5]; dimensions must be integers",
  ],
  [
    "shape string",
    makeFile({ a: f32(["3"] as unknown as number[], 0, 8) }),
    TypeError,
    'shape ["3"]; dimensions must be integers',
  ],
  [
    "huge shape",
    makeFile({ a: f32([2 ** 30, 2 ** 30, 2 ** 30], 0, 8) }),
    RangeError,
    "shape [1073741824,1073741824,1073741824] whose size overflows",
  ],
  [
    "size mismatch",
    makeFile({ "features.0.0.weight": f32([32, 3, 3, 3], 0, 100) }, new Uint8Array(100)),
    RangeError,
    'tensor "features.0.0.weight" has data_offsets [0, 100] but shape [32,3,3,3] of F32 needs 3456 bytes',
  ],
  [
    "out of range",
    makeFile({ a: f32([4], 0, 16) }, new Uint8Array(8)),
    RangeError,
    'tensor "a" has data_offsets [0, 16] beyond the 8-byte data buffer',
  ],
  [
    "reversed offsets",
    makeFile({ a: f32([], 8, 4) }, new Uint8Array(8)),
    RangeError,
    'tensor "a" has data_offsets [8,4]; need [begin, end]',
  ],
  ["missing offsets", makeFile({ a: { dtype: "F32", shape: [] } }), RangeError, "has data_offsets (none)"],
  [
    "overlap",
    makeFile({ a: f32([2], 0, 8), b: f32([2], 4, 12) }, new Uint8Array(12)),
    RangeError,
    'tensors "a" and "b" overlap',
  ],
  [
    "gap",
    makeFile({ a: f32([1], 0, 4), b: f32([1], 8, 12) }, new Uint8Array(12)),
    RangeError,
    "bytes [4, 8) of the data buffer belong to no tensor",
  ],
  [
    "trailing bytes",
    makeFile({ a: f32([1], 0, 4) }, new Uint8Array(8)),
    RangeError,
    "the data buffer has 8 bytes but the tensors end at byte 4",
  ],
  [
    "metadata value",
    makeFile({ __metadata__: { epoch: 3 } }),
    TypeError,
    '__metadata__ must map keys to strings, but "epoch" holds number',
  ],
  ["metadata array", makeFile({ __metadata__: ["x"] }), TypeError, "__metadata__ must be a JSON object"],
];

Deno.test("parseSafetensors() rejects malformed files with messages naming the file and the fault", () => {
  for (const [what, bytes, ErrorClass, fragment] of MALFORMED) {
    const error = assertThrows(
      () => parseSafetensors(bytes, { fileName: "bad.safetensors" }),
      ErrorClass,
      fragment,
      what,
    );
    assert(error.message.startsWith('Cannot read "bad.safetensors": '), error.message);
  }
});

/** Random edits of a valid file: mostly JSON-significant characters written into the header. */
function mutationArb(file: Uint8Array): fc.Arbitrary<Uint8Array> {
  const headerEnd = 8 + Number(new DataView(file.buffer).getBigUint64(0, true));
  const where = fc.oneof(
    { arbitrary: fc.integer({ min: 8, max: headerEnd - 1 }), weight: 6 },
    { arbitrary: fc.integer({ min: 0, max: file.length - 1 }), weight: 1 },
  );
  const what = fc.oneof(
    { arbitrary: fc.constantFrom(...new TextEncoder().encode('0123456789-.,:[]{}"eE ')), weight: 4 },
    { arbitrary: fc.nat(255), weight: 1 },
  );
  const cut = fc.oneof(
    { arbitrary: fc.constant(file.length), weight: 9 },
    { arbitrary: fc.nat(file.length), weight: 1 },
  );
  return fc.tuple(fc.array(fc.tuple(where, what), { minLength: 1, maxLength: 4 }), cut).map(
    ([edits, end]) => {
      const bytes = file.slice();
      for (const [at, value] of edits) bytes[at] = value;
      return bytes.slice(0, end);
    },
  );
}

Deno.test("parseSafetensors() either parses a mutated file or throws SyntaxError, RangeError or TypeError", () => {
  fc.assert(
    fc.property(mutationArb(FIXTURE), (bytes) => {
      try {
        const { tensors } = parseSafetensors(bytes, { fileName: "fuzz.safetensors" });
        for (const t of tensors.values()) assertStrictEquals(t.data.byteLength <= bytes.length, true);
      } catch (error) {
        assert(
          error instanceof SyntaxError || error instanceof RangeError || error instanceof TypeError,
          String(error),
        );
        assert(error.message.startsWith('Cannot read "fuzz.safetensors": '), error.message);
      }
    }),
    { seed: 42, numRuns: 2000 },
  );
});

Deno.test("encodeSafetensors() rejects bad entries, naming the tensor", () => {
  const ok: StoredTensor = { dtype: "F32", shape: [1], data: new Float32Array(1) };
  assertThrows(
    () => encodeSafetensors([["a", ok], ["a", ok]]),
    TypeError,
    'tensor "a": the name appears twice',
  );
  assertThrows(() => encodeSafetensors([["__metadata__", ok]]), TypeError, "reserved for metadata");
  assertThrows(
    () => encodeSafetensors([["w", { dtype: "BF16", shape: [1], data: new Float32Array(1) }]]),
    TypeError,
    'Cannot encode tensor "w": it has dtype BF16, whose data must be a Uint16Array',
  );
  assertThrows(
    () => encodeSafetensors([["w", { ...ok, shape: [2] }]]),
    RangeError,
    'Cannot encode tensor "w": it has shape [2] of 2 elements but 1 values',
  );
  assertThrows(
    () => encodeSafetensors([], { metadata: { step: 3 as unknown as string } }),
    TypeError,
    'metadata "step": values must be strings',
  );
});

Deno.test("writeSafetensors() and readSafetensors() round-trip a file, and errors name its path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/model.safetensors`;
    const { tensors, metadata } = parseSafetensors(FIXTURE);
    await writeSafetensors(path, tensors, {
      metadata: Object.fromEntries([...Object.entries(metadata), ["__proto__", "kept"]]),
    });
    const back = await readSafetensors(new URL(`file://${path}`));
    assertEquals(back.metadata, Object.fromEntries([["format", "pt"], ["__proto__", "kept"]]));
    assertEquals([...back.tensors.keys()], [...tensors.keys()]);
    assertEquals((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["model.safetensors"]);
    await Deno.writeFile(path, FIXTURE.slice(0, 100));
    await assertRejects(() => readSafetensors(path), RangeError, `Cannot read "${path}": header length`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
