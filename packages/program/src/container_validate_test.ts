import { assert, assertRejects, assertThrows } from "@std/assert";
import {
  decodeProgram,
  encodeProgram,
  FRAME_LIMITS,
  loadIntModel,
  type Program,
  ProgramFormatError,
  saveIntModel,
} from "@hqat/program";
import { FileReadError } from "@hqat/io";
import { prng, ProgramBuilder } from "../testdata/build.ts";
import { tinyIntModel } from "../testdata/programs.ts";

/** `program` with instruction `index` changed by `edit` (the file is written without verification). */
function edited(program: Program, index: number, edit: Record<string, unknown>): Program {
  return {
    ...program,
    instructions: program.instructions.map((i, k) => (k === index ? { ...i, ...edit } as typeof i : i)),
  };
}

const FIRST_CONV = 1;

Deno.test("decodeProgram() refuses a convolution stride of 65536 in an int model", () => {
  const bytes = encodeProgram(edited(tinyIntModel(3), FIRST_CONV, { stride: [65536, 65536] }));
  assertThrows(
    () => decodeProgram(bytes, { fileName: "int_model" }),
    ProgramFormatError,
    'Cannot load "int_model": instruction 1 (conv2d "c1"): stride [65536,65536] is not in 1..65535',
  );
});

Deno.test("decodeProgram() refuses a convolution padding of 65536 in an int model", () => {
  const bytes = encodeProgram(edited(tinyIntModel(3), FIRST_CONV, { padding: [65536, 65536] }));
  assertThrows(
    () => decodeProgram(bytes, { fileName: "int_model" }),
    ProgramFormatError,
    "padding [65536,65536]",
  );
});

Deno.test("decodeProgram() refuses a padding whose output does not match the next layer's buffer", () => {
  const bytes = encodeProgram(edited(tinyIntModel(3), FIRST_CONV, { padding: [1000, 1000] }));
  assertThrows(() => decodeProgram(bytes, { fileName: "m" }), ProgramFormatError, "computes [1,8,2006,2006]");
});

/** A 452-byte model whose one convolution pads an 8×8 image by `p` on every side, shapes consistent. */
function paddedConv(p: number): Program {
  const b = new ProgramBuilder(prng(1), [1, 1, 8, 8]);
  const q = b.quantize("quant", 1 / 128);
  const c = b.conv("c", q, { cout: 1, k: 1, p: 1 }, { dtype: "qint8", scale: 0.05 });
  b.dequantize("dq", c);
  const small = b.build();
  const side = 8 + 2 * p;
  return {
    ...small,
    buffers: small.buffers.map((buf, i) => (i === 0 ? buf : { ...buf, shape: [1, 1, side, side] })),
    instructions: small.instructions.map((
      i,
    ) => (i.op === "conv2d" ? { ...i, padding: [p, p], tileRows: side } : i)),
  };
}

Deno.test("decodeProgram() bounds the buffers a small file may describe (FRAME_LIMITS)", () => {
  const bytes = encodeProgram(paddedConv(16000));
  assert(bytes.length < 1000);
  assertThrows(
    () => decodeProgram(bytes, { fileName: "big" }),
    ProgramFormatError,
    `has more than ${FRAME_LIMITS.bufferElements} elements per frame`,
  );
  // Within the bound the same structure loads.
  assert(decodeProgram(encodeProgram(paddedConv(100)), { fileName: "ok" }).buffers.length === 3);
});

Deno.test("loadIntModel() refuses a FIFO, a device and a folder before reading them", async () => {
  await assertRejects(() => loadIntModel("/dev/zero"), FileReadError, 'Cannot read "/dev/zero": a device');
  const dir = await Deno.makeTempDir();
  try {
    await assertRejects(() => loadIntModel(dir), FileReadError, "a folder");
    const fifo = `${dir}/fifo`;
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output().catch(() => undefined);
    if (made?.success) await assertRejects(() => loadIntModel(fifo), FileReadError, "a FIFO");
    const path = `${dir}/int_model`;
    await saveIntModel(path, tinyIntModel(1));
    assert((await loadIntModel(path)).instructions.length === 17);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
