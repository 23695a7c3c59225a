import { assert, assertEquals, assertRejects, assertStrictEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { encodeNpy, parseNpy } from "./npy.ts";
import { readNpy, writeNpy } from "./npy_file.ts";
import { STORED_DTYPES, type StoredDType, type StoredTensor } from "./stored_tensor.ts";

const testdata = (name: string) => new URL(`../testdata/${name}`, import.meta.url);
const EXPECTED: Record<string, { descr: string; shape: number[]; bytes: number[] }> = JSON.parse(
  await Deno.readTextFile(testdata("npy.json")),
);
const DTYPE_OF_DESCR: Record<string, StoredDType> = {
  "<f4": "F32",
  "<f8": "F64",
  "<f2": "F16",
  "<i8": "I64",
  "<i4": "I32",
  "<i2": "I16",
  "|i1": "I8",
  "|u1": "U8",
  "|b1": "BOOL",
};

const bytesOf = (t: StoredTensor) => [...new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)];

/** A .npy file from header text and data bytes (no padding). */
function makeNpy(header: string, data: ArrayLike<number> = [], major = 1): Uint8Array {
  const text = new TextEncoder().encode(header);
  const start = major === 1 ? 10 : 12;
  const out = new Uint8Array(start + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  out.set(text, start);
  out.set(data, start + text.length);
  return out;
}

Deno.test("parseNpy() reads every file np.save wrote, and encodeNpy() writes the same bytes", async () => {
  for (const [name, want] of Object.entries(EXPECTED)) {
    const file = await Deno.readFile(testdata(`${name}.npy`));
    const got = parseNpy(file, { fileName: `${name}.npy` });
    assertEquals(got.dtype, DTYPE_OF_DESCR[want.descr], name);
    assertEquals(got.shape, want.shape, name);
    assertEquals(bytesOf(got), want.bytes, name);
    assertEquals(encodeNpy(got), file, `encodeNpy of ${name}`);
  }
});

Deno.test("parseNpy() reads format versions 2.0 and 3.0", async () => {
  const v1 = parseNpy(await Deno.readFile(testdata("f4.npy")));
  for (const name of ["f4_v2.npy", "f4_v3.npy"]) {
    const file = await Deno.readFile(testdata(name));
    assertStrictEquals(file[6], name === "f4_v2.npy" ? 2 : 3);
    assertEquals(parseNpy(file), v1, name);
  }
});

Deno.test("parseNpy() rejects Fortran order, big-endian data and unsupported dtypes from NumPy", async () => {
  const cases: [string, typeof Error, string][] = [
    ["fortran.npy", TypeError, "the array is stored in Fortran order; only C order is supported"],
    ["big_endian.npy", TypeError, "dtype '>f4' is big-endian; only little-endian data is supported"],
    ["uint16.npy", TypeError, "dtype '<u2' (uint16) is not supported; supported: <f4, <f8, <f2"],
  ];
  for (const [name, ErrorClass, fragment] of cases) {
    const file = await Deno.readFile(testdata(name));
    assertThrows(() => parseNpy(file, { fileName: name }), ErrorClass, `Cannot read "${name}": ${fragment}`);
  }
});

Deno.test("parseNpy() accepts Fortran order where it equals C order (one non-unit axis)", () => {
  const t = parseNpy(
    makeNpy("{'descr': '<i2', 'fortran_order': True, 'shape': (1, 3, 1), }\n", [1, 0, 2, 0, 3, 0]),
  );
  assertEquals(t, { dtype: "I16", shape: [1, 3, 1], data: new Int16Array([1, 2, 3]) });
});

Deno.test("parseNpy() accepts double quotes, no trailing comma and any key order", () => {
  const t = parseNpy(makeNpy(`{"shape": (2,), "fortran_order": False, "descr": "|u1"}`, [7, 8]));
  assertEquals(t, { dtype: "U8", shape: [2], data: new Uint8Array([7, 8]) });
});

const storedArb: fc.Arbitrary<StoredTensor> = fc
  .tuple(
    fc.constantFrom(...(Object.keys(STORED_DTYPES) as StoredDType[]).filter((d) => d !== "BF16")),
    fc.array(fc.nat(4), { maxLength: 4 }),
  )
  .chain(([dtype, shape]) => {
    const { itemSize, array } = STORED_DTYPES[dtype];
    const n = shape.reduce((a, b) => a * b, 1) * itemSize;
    return fc.uint8Array({ minLength: n, maxLength: n }).map((bytes) => {
      if (dtype === "BOOL") bytes = bytes.map((b) => b & 1);
      return { dtype, shape, data: new array(bytes.buffer) } as StoredTensor;
    });
  });

Deno.test("encodeNpy() and parseNpy() round-trip every dtype with a 64-byte aligned header", () => {
  fc.assert(
    fc.property(storedArb, (stored) => {
      const bytes = encodeNpy(stored);
      const headerEnd = 10 + new DataView(bytes.buffer).getUint16(8, true);
      assertStrictEquals(headerEnd % 64, 0);
      assertStrictEquals(bytes[headerEnd - 1], 0x0a);
      const back = parseNpy(bytes);
      assertEquals({ ...back, data: bytesOf(back) }, { ...stored, data: bytesOf(stored) });
    }),
    { seed: 42, numRuns: 500 },
  );
});

Deno.test("encodeNpy() switches to version 2.0 when the header outgrows 65535 bytes", () => {
  const shape = Array.from({ length: 30000 }, () => 1);
  const bytes = encodeNpy({ dtype: "I8", shape, data: new Int8Array([5]) });
  assertStrictEquals(bytes[6], 2);
  assertStrictEquals((12 + new DataView(bytes.buffer).getUint32(8, true)) % 64, 0);
  assertStrictEquals(bytes[bytes.length - 1], 5);
});

Deno.test("encodeNpy() rejects bfloat16 and malformed tensors", () => {
  assertThrows(
    () => encodeNpy({ dtype: "BF16", shape: [1], data: new Uint16Array(1) }),
    TypeError,
    "NumPy has no bfloat16 dtype",
  );
  assertThrows(
    () => encodeNpy({ dtype: "F32", shape: [2], data: new Float32Array(1) }),
    RangeError,
    "shape [2]",
  );
});

const f4 = (shape: string) => `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
const MALFORMED: [string, Uint8Array, typeof Error, string][] = [
  [
    "truncated",
    new Uint8Array([0x93, 0x4e, 0x55]),
    RangeError,
    "the file has 3 bytes, too few for a .npy header",
  ],
  ["bad magic", new Uint8Array(64), SyntaxError, "the file does not start with '\\x93NUMPY'"],
  ["version 4.0", makeNpy(f4("()"), [], 4), RangeError, "format version 4.0 is not supported"],
  [
    "header past end",
    makeNpy(f4("()")).slice(0, 30),
    RangeError,
    "header length 55 runs past the end of the file (30 bytes)",
  ],
  [
    "huge header",
    (() => {
      const b = makeNpy(f4("()"), [0, 0, 0, 0], 2);
      new DataView(b.buffer).setUint32(8, 2 ** 31, true);
      return b;
    })(),
    RangeError,
    "header length 2147483648 exceeds the limit of 10000 bytes",
  ],
  ["no colon", makeNpy("{'descr' '<f4'}"), SyntaxError, "header is not a valid dict literal: expected ':'"],
  ["no dict", makeNpy("descr"), SyntaxError, "expected '{'"],
  ["unterminated", makeNpy("{'descr: 1}"), SyntaxError, "unterminated string"],
  ["escape", makeNpy("{'de\\scr': 1}"), SyntaxError, "escape sequences are not supported"],
  ["duplicate key", makeNpy("{'shape': (), 'shape': ()}"), SyntaxError, "duplicate key 'shape'"],
  ["trailing text", makeNpy(f4("()") + " x"), SyntaxError, "unexpected text after the dict"],
  [
    "missing key",
    makeNpy("{'descr': '<f4', 'shape': ()}"),
    SyntaxError,
    "exactly the keys 'descr', 'fortran_order' and 'shape', not descr,shape",
  ],
  ["extra key", makeNpy(f4("()").replace("}", "'x': 1}")), SyntaxError, "not descr,fortran_order,shape,x"],
  [
    "shape int",
    makeNpy(f4("(3)"), new Uint8Array(12)),
    TypeError,
    "header 'shape' must be a tuple of integers",
  ],
  ["shape text", makeNpy(f4("(3, 'a')")), SyntaxError, "expected an integer"],
  ["negative shape", makeNpy(f4("(2, -1)")), RangeError, "shape (2, -1) has a negative dimension"],
  [
    "huge shape",
    makeNpy(f4("(4294967296, 4294967296)")),
    RangeError,
    "shape (4294967296, 4294967296) is too large",
  ],
  [
    "huge integer",
    makeNpy(f4("(99999999999999999999,)")),
    RangeError,
    "the integer 99999999999999999999, which is too large",
  ],
  [
    "descr type",
    makeNpy("{'descr': 4, 'fortran_order': False, 'shape': ()}"),
    TypeError,
    "header 'descr' must be a string",
  ],
  [
    "fortran type",
    makeNpy("{'descr': '<f4', 'fortran_order': 0, 'shape': ()}"),
    TypeError,
    "'fortran_order' must be True or False",
  ],
  [
    "structured",
    makeNpy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': ()}"),
    TypeError,
    "structured dtypes",
  ],
  [
    "native order",
    makeNpy("{'descr': '=f4', 'fortran_order': False, 'shape': ()}", [0, 0, 0, 0]),
    TypeError,
    "dtype '=f4' does not say little-endian",
  ],
  [
    "object",
    makeNpy("{'descr': '|O', 'fortran_order': False, 'shape': ()}"),
    TypeError,
    "dtype '|O' (object) is not supported",
  ],
  [
    "short data",
    makeNpy(f4("(2, 3)"), new Uint8Array(20)),
    RangeError,
    "shape (2, 3) of '<f4' needs 24 bytes of data but the file has 20",
  ],
  [
    "long data",
    makeNpy(f4("(1,)"), new Uint8Array(5)),
    RangeError,
    "shape (1,) of '<f4' needs 4 bytes of data but the file has 5",
  ],
  [
    "bad UTF-8",
    (() => {
      const b = makeNpy(f4("()") + "  ", [0, 0, 0, 0], 3);
      b[b.length - 5] = 0xff;
      return b;
    })(),
    SyntaxError,
    "header is not valid UTF-8",
  ],
];

Deno.test("parseNpy() rejects malformed files with messages naming the file and the fault", () => {
  for (const [what, bytes, ErrorClass, fragment] of MALFORMED) {
    const error = assertThrows(() => parseNpy(bytes, { fileName: "bad.npy" }), ErrorClass, fragment, what);
    assert(error.message.startsWith('Cannot read "bad.npy": '), error.message);
  }
});

Deno.test("parseNpy() either parses a mutated file or throws SyntaxError, RangeError or TypeError", async () => {
  const file = await Deno.readFile(testdata("i4.npy"));
  const headerEnd = 10 + new DataView(file.buffer).getUint16(8, true);
  const where = fc.oneof(
    { arbitrary: fc.integer({ min: 6, max: headerEnd - 1 }), weight: 6 },
    { arbitrary: fc.integer({ min: 0, max: file.length - 1 }), weight: 1 },
  );
  const what = fc.oneof(
    {
      arbitrary: fc.constantFrom(...new TextEncoder().encode("0123456789-,:()'{}<|fiub TrueFalse")),
      weight: 4,
    },
    { arbitrary: fc.nat(255), weight: 1 },
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(where, what), { minLength: 1, maxLength: 4 }),
      fc.nat(file.length),
      (edits, cut) => {
        const bytes = file.slice();
        for (const [at, value] of edits) bytes[at] = value;
        try {
          const t = parseNpy(cut % 8 === 0 ? bytes.slice(0, cut) : bytes, { fileName: "fuzz.npy" });
          assert(t.data.byteLength <= bytes.length);
        } catch (error) {
          assert(
            error instanceof SyntaxError || error instanceof RangeError || error instanceof TypeError,
            String(error),
          );
          assert(error.message.startsWith('Cannot read "fuzz.npy": '), error.message);
        }
      },
    ),
    { seed: 42, numRuns: 2000 },
  );
});

Deno.test("writeNpy() and readNpy() round-trip a file, and errors name its path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/x.npy`;
    const stored: StoredTensor = { dtype: "I64", shape: [2], data: new BigInt64Array([-(2n ** 63n), 5n]) };
    await writeNpy(path, stored);
    assertEquals(await readNpy(path), stored);
    assertEquals((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["x.npy"]);
    await Deno.writeFile(path, (await Deno.readFile(path)).slice(0, 130));
    await assertRejects(
      () => readNpy(path),
      RangeError,
      `Cannot read "${path}": shape (2,) of '<i8' needs 16 bytes`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
