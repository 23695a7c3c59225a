import { assert, assertEquals, assertThrows } from "@std/assert";
import { compileProgram, loadHbm } from "@hqat/hbdk";
import {
  crc32,
  encodeProgram,
  type Instr,
  OPT_LEVELS,
  type Program,
  PROGRAM_FORMAT,
  ProgramFormatError,
} from "@hqat/program";
import { mobileNetV2IntModel, tinyIntModel } from "../testdata/mobilenet_v2.ts";

const quiet = { log: () => {} };
const tiny = (opt: (typeof OPT_LEVELS)[number] = "O1") =>
  compileProgram(tinyIntModel(5), [{ shape: [2, 3, 8, 8] }], { opt, ...quiet });

/** Plain data of a program (typed arrays as number lists) for deep comparison. */
const plain = (p: Program) =>
  JSON.parse(JSON.stringify(p, (_k, v) => ArrayBuffer.isView(v) ? Array.from(v as Int8Array) : v));

Deno.test("crc32() is the IEEE CRC-32 (zlib, PNG)", () => {
  assertEquals(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assertEquals(crc32(new Uint8Array(0)), 0);
  assertEquals(crc32(new TextEncoder().encode("The quick brown fox jumps over the lazy dog")), 0x414fa339);
});

Deno.test("loadHbm() reads back exactly what encodeProgram() wrote, at every opt level", () => {
  for (const opt of OPT_LEVELS) {
    const { program, bytes } = tiny(opt);
    assertEquals(plain(loadHbm(bytes)), plain(program));
  }
  // MobileNetV2: writing the loaded program again gives the same bytes.
  const { bytes } = compileProgram(mobileNetV2IntModel(), [{ shape: [1, 3, 32, 32] }], {
    opt: "O3",
    name: "mnv2",
    ...quiet,
  });
  assertEquals(encodeProgram(loadHbm(bytes)), bytes);
  assertEquals(new TextDecoder().decode(bytes.subarray(0, 8)), PROGRAM_FORMAT.magic);
});

/** `bytes` with a field rewritten and every CRC made right again. */
function edit(bytes: Uint8Array, write: (v: DataView) => void): Uint8Array {
  const b = bytes.slice();
  const v = new DataView(b.buffer);
  write(v);
  const [mo, ml, po, pl] = [20, 24, 28, 32].map((o) => v.getUint32(o, true));
  v.setUint32(36, crc32(b.subarray(mo, mo + ml)), true);
  v.setUint32(40, crc32(b.subarray(po, po + pl)), true);
  v.setUint32(44, crc32(b.subarray(0, 44)), true);
  return b;
}

Deno.test("loadHbm() rejects damaged containers with an error naming the file and the problem", () => {
  const { bytes } = tiny();
  const bad = (b: Uint8Array, text: string) => {
    const e = assertThrows(() => loadHbm(b, { fileName: "m.hbm" }), ProgramFormatError);
    assert(e.message.startsWith('Cannot load "m.hbm": '), e.message);
    assert(e.message.includes(text), `"${e.message}" should mention "${text}"`);
  };
  bad(bytes.slice(0, 40), "less than the 64-byte header");
  bad(
    new Uint8Array([...new TextEncoder().encode("PK\x03\x04"), ...bytes.slice(4)]),
    "not an hqat program file",
  );
  bad(bytes.slice(0, bytes.length - 1), "header says");
  const flipped = bytes.slice();
  flipped[100] ^= 0x10;
  bad(flipped, "CRC-32 of the model section does not match");
  const paramFlip = bytes.slice();
  paramFlip[bytes.length - 3] ^= 1;
  bad(paramFlip, "CRC-32 of the parameter section");
  const header = bytes.slice();
  header[17] ^= 1;
  bad(header, "header CRC");
  bad(
    edit(bytes, (v) => v.setUint16(8, 4, true)),
    "format version 4.0 is not supported (this reader knows 3.x",
  );
  bad(
    edit(bytes, (v) => v.setUint16(8, 1, true)),
    "format version 1.0 is not supported (this reader knows 3.x",
  );
  bad(edit(bytes, (v) => v.setUint32(32, 1 << 30, true)), "parameter section");
  // The buffer count sits after the march/opt/source bytes, the name, the input shape, the output id and the arena size.
  const nameLen = new DataView(bytes.buffer).getUint16(68, true);
  const countAt = 64 + 4 + 2 + nameLen + 1 + 4 * 4 + 4 + 4;
  bad(
    edit(bytes, (v) => v.setUint32(countAt, 0x7fffffff, true)),
    "the buffer count says 2147483647",
  );
});

/** Re-encodes `program` changed by `change` and expects loadHbm to name `text`. */
function rejects(program: Program, change: (p: Program) => Program, text: string): void {
  const e = assertThrows(
    () => loadHbm(encodeProgram(change(program)), { fileName: "v.hbm" }),
    ProgramFormatError,
  );
  assert(e.message.includes(text), `"${e.message}" should mention "${text}"`);
}

const withInstr = (p: Program, i: number, f: (x: Instr) => Instr): Program => ({
  ...p,
  instructions: p.instructions.map((x, j) => j === i ? f(x) : x),
});

Deno.test("loadHbm() checks every instruction: operands, shapes, parameters, liveness", () => {
  const { program } = tiny("O2");
  const conv = program.instructions.findIndex((i) => i.op === "conv2d");
  rejects(
    program,
    (p) => withInstr(p, conv, (x) => ({ ...x, inputs: [999] })),
    "reads buffer 999, which does not exist",
  );
  rejects(
    program,
    (p) => withInstr(p, conv, (x) => ({ ...x, inputs: [x.output] })),
    "before any instruction writes it",
  );
  rejects(
    program,
    (p) => withInstr(p, conv, (x) => x.op === "conv2d" ? { ...x, stride: [2, 2], tileRows: 4 } : x),
    "computes [2,8,4,4]",
  );
  rejects(
    program,
    (p) => withInstr(p, conv, (x) => x.op === "conv2d" ? { ...x, weight: x.weight.subarray(1) } : x),
    "weights",
  );
  rejects(
    program,
    (p) => withInstr(p, conv, (x) => x.op === "conv2d" ? { ...x, tileRows: 0 } : x),
    "rows per tile",
  );
  rejects(
    program,
    (p) =>
      withInstr(
        p,
        conv,
        (x) => x.op === "conv2d" ? { ...x, bias: new Int32Array(x.weightShape[0]).fill(2 ** 31 - 1) } : x,
      ),
    "outside int32",
  );
  rejects(
    program,
    (p) =>
      withInstr(
        p,
        conv,
        (x) => ({
          ...x,
          epilogue: x.epilogue.map((s) => s.kind === "requant" ? { ...s, n: Uint8Array.of(63) } : s),
        }),
      ),
    "multipliers and 1 shifts",
  );
  const place = (
    p: Program,
    f: (pl: NonNullable<Program["placement"]>) => NonNullable<Program["placement"]>,
  ) => ({
    ...p,
    placement: f(p.placement!),
  });
  rejects(
    program,
    (p) =>
      place(
        p,
        (pl) => ({
          ...pl,
          buffers: pl.buffers.map((b, i) => i === 1 ? { ...b, offset: pl.buffers[0].offset } : b),
        }),
      ),
    "share arena bytes",
  );
  rejects(program, (p) => place(p, (pl) => ({ ...pl, arenaBytes: pl.arenaBytes + 64 })), "buffers end at");
  rejects(
    program,
    (p) => ({
      ...p,
      buffers: p.buffers.map((b, i) => i === 0 ? { ...b, shape: [3, ...b.shape.slice(1)] } : b),
    }),
    "dimension 0 the batch 2",
  );
  rejects(
    program,
    (p) => ({ ...p, instructions: p.instructions.slice(0, -1) }),
    "one input transfer (quantize) and one output (dequantize)",
  );
  rejects(
    program,
    (p) => ({ ...p, buffers: p.buffers.map((b, i) => i === 0 ? { ...b, scale: Float32Array.of(-1) } : b) }),
    "scales",
  );
  const add = tiny("O0").program;
  const a = add.instructions.findIndex((i) => i.op === "add");
  rejects(add, (p) => withInstr(p, a, (x) => x.op === "add" ? { ...x, k: 30 } : x), "k 30");
  rejects(
    add,
    (p) => withInstr(p, a, (x) => x.op === "add" ? { ...x, shiftSecond: !x.shiftSecond } : x),
    "larger scale",
  );
});
