import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  bgr2centeredYuv,
  grayToRgb32,
  rgb2centeredGray,
  rgb2centeredYuv,
  rgb2gray,
  rgb2yuv,
  writeCenteredYuvFloat,
} from "../mod.ts";

/** [R, G, B] → [Y, U, V], worked by hand from SPEC.md's formulas (⌊(c·rgb + 128) / 256⌋ + offset). */
const STUDIO: [number[], number[]][] = [
  [[0, 0, 0], [16, 128, 128]],
  [[255, 255, 255], [235, 128, 128]], // Y: ⌊(220·255 + 128)/256⌋ = ⌊219.64⌋ = 219, + 16
  [[255, 0, 0], [82, 90, 240]], // U: ⌊(−9690 + 128)/256⌋ = ⌊−37.35⌋ = −38
  [[0, 255, 0], [144, 54, 34]], // Y: ⌊33023/256⌋ = 128; V: ⌊−23842/256⌋ = −94
  [[0, 0, 255], [41, 240, 110]], // V: ⌊−4462/256⌋ = ⌊−17.43⌋ = −18
  [[128, 128, 128], [126, 128, 128]], // Y: ⌊28288/256⌋ = ⌊110.5⌋ = 110
  [[0, 255, 255], [169, 166, 16]], // V: ⌊(−112·255 + 128)/256⌋ = ⌊−111.06⌋ = −112
  [[10, 200, 30], [122, 82, 57]], // Y: ⌊27338/256⌋ = 106; U: ⌊−11692/256⌋ = −46; V: ⌊−18092/256⌋ = −71
];

const FULL: [number[], number[]][] = [
  [[0, 0, 0], [0, 128, 128]],
  [[255, 255, 255], [255, 128, 128]], // Y: ⌊65408/256⌋ = ⌊255.5⌋ = 255
  [[255, 0, 0], [77, 85, 255]], // V: ⌊32513/256⌋ = 127
  [[0, 255, 0], [149, 44, 22]], // U: ⌊−21292/256⌋ = −84; V: ⌊−26902/256⌋ = −106
  [[0, 0, 255], [29, 255, 107]], // V: ⌊−5227/256⌋ = −21
  [[128, 128, 128], [128, 128, 128]], // Y: ⌊32896/256⌋ = ⌊128.5⌋ = 128
  [[0, 255, 255], [178, 171, 1]], // V: ⌊−32257/256⌋ = ⌊−126.004⌋ = −127
  [[10, 200, 30], [124, 76, 48]], // U: ⌊−13292/256⌋ = −52; V: ⌊−20432/256⌋ = −80
];

const chw = (pixels: number[][]) => {
  const n = pixels.length;
  const out = new Uint8Array(3 * n);
  pixels.forEach((p, i) => p.forEach((v, c) => (out[c * n + i] = v)));
  return out;
};
const pixelsOf = (data: ArrayLike<number>, n: number) =>
  Array.from({ length: n }, (_, i) => [data[i], data[n + i], data[2 * n + i]]);

for (const [swing, table] of [["studio", STUDIO], ["full", FULL]] as const) {
  Deno.test(`rgb2yuv() gives the hand-worked ${swing}-swing pixels`, () => {
    const n = table.length;
    const yuv = rgb2yuv(chw(table.map((t) => t[0])), [3, 1, n], { swing });
    assertEquals(pixelsOf(yuv, n), table.map((t) => t[1]));
  });

  Deno.test(`rgb2centeredYuv() and bgr2centeredYuv() give the ${swing}-swing pixels minus 128`, () => {
    const n = table.length;
    const want = table.map((t) => t[1].map((v) => v - 128));
    const c = rgb2centeredYuv(chw(table.map((t) => t[0])), [1, 3, 1, n], { swing });
    assertEquals(c instanceof Int8Array, true);
    assertEquals(pixelsOf(c, n), want);
    const b = bgr2centeredYuv(chw(table.map((t) => [t[0][2], t[0][1], t[0][0]])), [3, n, 1], { swing });
    assertEquals(pixelsOf(b, n), want);
  });

  Deno.test(`rgb2gray() and rgb2centeredGray() give the ${swing}-swing Y row`, () => {
    const n = table.length;
    const rgb = chw(table.map((t) => t[0]));
    assertEquals([...rgb2gray(rgb, [3, 1, n], { swing })], table.map((t) => t[1][0]));
    assertEquals([...rgb2centeredGray(rgb, [3, 1, n], { swing })], table.map((t) => t[1][0] - 128));
  });
}

Deno.test("rgb2centeredYuv() is studio swing by default", () => {
  assertEquals([...rgb2centeredYuv(new Uint8Array([255, 0, 0]), [3, 1, 1])], [-46, -38, 112]);
});

/** SPEC.md's formula, written independently with Math.floor. */
function reference(r: number, g: number, b: number, full: boolean): number[] {
  const fl = (x: number) => Math.floor((x + 128) / 256);
  return full
    ? [
      fl(77 * r + 150 * g + 29 * b),
      fl(-43 * r - 84 * g + 127 * b) + 128,
      fl(127 * r - 106 * g - 21 * b) + 128,
    ]
    : [
      fl(66 * r + 129 * g + 25 * b) + 16,
      fl(-38 * r - 74 * g + 112 * b) + 128,
      fl(112 * r - 94 * g - 18 * b) + 128,
    ];
}

Deno.test("rgb2centeredYuv() equals SPEC.md's formula on sampled uint8 triples, both swings, batched", () => {
  const byte = fc.integer({ min: 0, max: 255 });
  fc.assert(
    fc.property(
      fc.array(fc.tuple(byte, byte, byte), { minLength: 1, maxLength: 12 }),
      fc.boolean(),
      (pix, full) => {
        const n = pix.length;
        const swing = full ? "full" : "studio";
        // two images in a batch: the pixels and their reverse
        const img = new Uint8Array(6 * n);
        img.set(chw(pix), 0);
        img.set(chw([...pix].reverse()), 3 * n);
        const out = rgb2centeredYuv(img, [2, 3, 1, n], { swing });
        const gray = rgb2centeredGray(img, [2, 3, 1, n], { swing });
        for (let k = 0; k < 2; k++) {
          const src = k === 0 ? pix : [...pix].reverse();
          for (let i = 0; i < n; i++) {
            const want = reference(src[i][0], src[i][1], src[i][2], full).map((v) => v - 128);
            const got = [out[k * 3 * n + i], out[k * 3 * n + n + i], out[k * 3 * n + 2 * n + i]];
            if (got.join() !== want.join() || gray[k * n + i] !== want[0]) return false;
            if (want.some((v) => v < -128 || v > 127)) return false;
          }
        }
        return true;
      },
    ),
    { seed: 42, numRuns: 2000 },
  );
});

Deno.test("writeCenteredYuvFloat() equals rgb2centeredYuv() / 128 at an offset", () => {
  const byte = fc.integer({ min: 0, max: 255 });
  fc.assert(
    fc.property(fc.array(byte, { minLength: 12, maxLength: 12 }), fc.boolean(), (bytes, full) => {
      const swing = full ? "full" : "studio";
      const src = new Uint8Array(bytes);
      const dst = new Float32Array(20);
      writeCenteredYuvFloat(src, dst, { plane: 4, dstOffset: 5, swing });
      const want = rgb2centeredYuv(src, [3, 2, 2], { swing });
      return [...want].every((v, i) => dst[5 + i] === v / 128) && dst[4] === 0 && dst[17] === 0;
    }),
    { seed: 42, numRuns: 300 },
  );
  assertThrows(
    () => writeCenteredYuvFloat(new Uint8Array(3), new Float32Array(3), { plane: 1, dstOffset: 1 }),
    RangeError,
  );
});

Deno.test("grayToRgb32() pads 28×28 by 2 zero pixels per side and replicates three channels", () => {
  const img = new Uint8Array(2 * 28 * 28);
  for (let i = 0; i < img.length; i++) img[i] = 1 + (i % 250);
  const out = grayToRgb32(img, [2, 1, 28, 28]);
  assertEquals(out.length, 2 * 3 * 32 * 32);
  for (let n = 0; n < 2; n++) {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const inside = y >= 2 && y < 30 && x >= 2 && x < 30;
          const want = inside ? img[n * 784 + (y - 2) * 28 + (x - 2)] : 0;
          if (out[n * 3072 + c * 1024 + y * 32 + x] !== want) {
            throw new Error(`mismatch at ${n},${c},${y},${x}`);
          }
        }
      }
    }
  }
});

Deno.test("color conversions reject shapes that do not match the data", () => {
  assertThrows(() => rgb2centeredYuv(new Uint8Array(6), [2, 1, 3]), RangeError, "[..., 3, H, W]");
  assertThrows(() => rgb2yuv(new Uint8Array(5), [3, 1, 2]), RangeError, "needs 6 values");
  assertThrows(() => grayToRgb32(new Uint8Array(33 * 33), [1, 33, 33]), RangeError, "at most 32x32");
  assertThrows(() => rgb2yuv(new Uint8Array(3), [3, 1, 1], { swing: "wide" as "full" }), TypeError, "swing");
});
