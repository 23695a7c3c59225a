import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  applyRandAugmentOp,
  type Image,
  image,
  linspaceF32,
  RAND_AUGMENT_OPS,
  randAugment,
  type RandAugmentOp,
  randAugmentSpace,
  Rng,
} from "../mod.ts";

const decodeBase64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

interface Golden {
  torchvision: string;
  images: Record<string, { shape: [number, number, number]; data: string }>;
  cases: {
    image: string;
    op: RandAugmentOp;
    bin: number | null;
    sign: number;
    magnitude: number;
    output: string;
  }[];
  random: {
    op: RandAugmentOp;
    shape: [number, number, number];
    magnitude: number;
    input: string;
    output: string;
  }[];
}

const golden: Golden = JSON.parse(
  await Deno.readTextFile(new URL("../testdata/rand_augment_golden.json", import.meta.url)),
);

const inputs: Record<string, Image> = Object.fromEntries(
  Object.entries(golden.images).map(([k, v]) => [k, image(decodeBase64(v.data), v.shape)]),
);

Deno.test("randAugmentSpace() gives torchvision 0.14's float32 magnitudes", () => {
  for (const c of golden.cases) {
    if (c.bin === null) continue;
    const img = inputs[c.image];
    const entry = randAugmentSpace({ numBins: 31, height: img.height, width: img.width })[c.op];
    assert(entry.magnitudes);
    assertEquals(entry.magnitudes[c.bin] * c.sign, c.magnitude, `${c.op} bin ${c.bin} on ${c.image}`);
  }
});

Deno.test("randAugmentSpace() has torchvision's table at the default magnitude 9 of 31", () => {
  const s = randAugmentSpace({ height: 32, width: 32 });
  assertEquals(s.ShearX.magnitudes![9], Math.fround(0.09000000357627869));
  assertEquals(s.TranslateX.magnitudes![9], Math.fround(4.3504533767700195)); // int() → 4 pixels
  assertEquals(s.Rotate.magnitudes![9], 9);
  assertEquals(s.Brightness.magnitudes![9], Math.fround(0.26999998092651367));
  assertEquals(s.Posterize.magnitudes, [
    8,
    8,
    8,
    8,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    6,
    6,
    6,
    6,
    6,
    6,
    6,
    5,
    5,
    5,
    5,
    5,
    5,
    5,
    5,
    4,
    4,
    4,
    4,
  ]);
  assertEquals(s.Solarize.magnitudes![9], 178.5);
  assertEquals(s.Identity.magnitudes, null);
  assertEquals(Object.keys(s), [...RAND_AUGMENT_OPS]);
});

Deno.test("linspaceF32() matches torch.linspace values computed by torch's CPU kernel", () => {
  // printed by torch 1.13: torch.linspace(0, 0.9, 31)[20], and [15] of linspace(0, 150/331*9, 31)
  assertEquals(linspaceF32([0, 0.9], 31)[20], Math.fround(0.5999999642372131));
  assertEquals(linspaceF32([0, 150 / 331 * 9], 31)[15], Math.fround(2.0392751693725586));
  assertEquals(linspaceF32([3, 5], 1), [3]);
});

Deno.test("applyRandAugmentOp() equals torchvision 0.14's _apply_op on every golden case", () => {
  let checked = 0;
  for (const c of golden.cases) {
    const out = applyRandAugmentOp(inputs[c.image], { op: c.op, magnitude: c.magnitude });
    const want = decodeBase64(c.output);
    const diff = out.data.findIndex((v, i) => v !== want[i]);
    assertEquals(diff, -1, `${c.op} magnitude ${c.magnitude} on ${c.image}: first difference at ${diff}`);
    checked++;
  }
  assert(checked === golden.cases.length && checked > 150);
});

Deno.test("applyRandAugmentOp() equals _apply_op with arbitrary magnitudes on odd sizes and value ranges", () => {
  for (const c of golden.random) {
    const out = applyRandAugmentOp(image(decodeBase64(c.input), c.shape), {
      op: c.op,
      magnitude: c.magnitude,
    });
    assertEquals(out.data, decodeBase64(c.output), `${c.op} ${c.magnitude} on [${c.shape}]`);
  }
  assertEquals(new Set(golden.random.map((c) => c.op)).size, 13);
});

// Hand-checked small cases, one per operation.
const px = (data: number[], shape: [number, number, number]) => image(new Uint8Array(data), shape);
const run = (
  img: Image,
  op: RandAugmentOp,
  magnitude: number,
) => [...applyRandAugmentOp(img, { op, magnitude }).data];

Deno.test("applyRandAugmentOp() Identity returns the image", () => {
  assertEquals(run(px([1, 2, 3, 4], [1, 2, 2]), "Identity", 0), [1, 2, 3, 4]);
});

Deno.test("applyRandAugmentOp() ShearX shifts row y by -tan·y about the top-left corner", () => {
  // source column = x + m·(y + 0.5) (shear about the top-left corner, pixel centers at +0.5),
  // rounded to nearest: with m = 0.5, row 0: +0.25 → same; row 1: +0.75 → +1; row 2: +1.25 → +1
  const img = px([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3]);
  assertEquals(run(img, "ShearX", 0.5), [1, 2, 3, 5, 6, 0, 8, 9, 0]);
  assertEquals(run(img, "ShearX", -0.5), [1, 2, 3, 0, 4, 5, 0, 7, 8]);
});

Deno.test("applyRandAugmentOp() ShearY shifts column x by -tan·x about the top-left corner", () => {
  const img = px([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3]);
  assertEquals(run(img, "ShearY", 0.5), [1, 5, 6, 4, 8, 9, 7, 0, 0]);
});

Deno.test("applyRandAugmentOp() TranslateX/Y move by the truncated magnitude, filling 0", () => {
  const img = px([1, 2, 3, 4, 5, 6], [1, 2, 3]);
  assertEquals(run(img, "TranslateX", 1.9), [0, 1, 2, 0, 4, 5]);
  assertEquals(run(img, "TranslateX", -1.9), [2, 3, 0, 5, 6, 0]);
  assertEquals(run(img, "TranslateY", 1.2), [0, 0, 0, 1, 2, 3]);
  assertEquals(run(img, "TranslateY", -0.9), [1, 2, 3, 4, 5, 6]);
});

Deno.test("applyRandAugmentOp() Rotate turns counter-clockwise about the center", () => {
  const img = px([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3]);
  assertEquals(run(img, "Rotate", 90), [3, 6, 9, 2, 5, 8, 1, 4, 7]);
  assertEquals(run(img, "Rotate", -90), [7, 4, 1, 8, 5, 2, 9, 6, 3]);
});

Deno.test("applyRandAugmentOp() Brightness scales by 1 + magnitude, truncating and clamping", () => {
  // 1.27f · 100 = 126.999998 rounds to 127.0f; 1.27f · 201 = 255.27 → 255; 1.27f · 99 = 125.73 → 125
  assertEquals(run(px([100, 201, 99], [1, 1, 3]), "Brightness", 0.27), [127, 255, 125]);
  // 0.73f · 100 = 73.000002 → 73, 0.73f · 201 = 146.73 → 146, 0.73f · 99 = 72.27 → 72
  assertEquals(run(px([100, 201, 99], [1, 1, 3]), "Brightness", -0.27), [73, 146, 72]);
});

Deno.test("applyRandAugmentOp() Color blends with the grayscale image", () => {
  // gray of (200, 100, 0) = trunc(59.78 + 58.7) = 118; factor 1.5: 1.5·c − 0.5·118
  assertEquals(run(px([200, 100, 0], [3, 1, 1]), "Color", 0.5), [241, 91, 0]);
  // one channel: unchanged
  assertEquals(run(px([200, 100], [1, 1, 2]), "Color", 0.5), [200, 100]);
});

Deno.test("applyRandAugmentOp() Contrast blends with the mean gray level", () => {
  // mean of (40, 60, 80, 100) = 70; factor 0.5: 0.5·v + 35
  assertEquals(run(px([40, 60, 80, 100], [1, 2, 2]), "Contrast", -0.5), [55, 65, 75, 85]);
});

Deno.test("applyRandAugmentOp() Sharpness blends the interior with the 3×3 smoothed image", () => {
  // center: blurred round((8·10 + 5·140)/13) = round(60) = 60; factor 2: 2·140 − 60 = 220; border kept
  const img = px([10, 10, 10, 10, 140, 10, 10, 10, 10], [1, 3, 3]);
  assertEquals(run(img, "Sharpness", 1), [10, 10, 10, 10, 220, 10, 10, 10, 10]);
});

Deno.test("applyRandAugmentOp() Posterize keeps int(magnitude) top bits", () => {
  assertEquals(run(px([255, 129, 3], [1, 1, 3]), "Posterize", 7), [254, 128, 2]);
  assertEquals(run(px([255, 129, 3], [1, 1, 3]), "Posterize", 4), [240, 128, 0]);
});

Deno.test("applyRandAugmentOp() Solarize inverts values at or above the threshold", () => {
  assertEquals(run(px([178, 179, 255, 0], [1, 2, 2]), "Solarize", 178.5), [178, 76, 0, 0]);
});

Deno.test("applyRandAugmentOp() AutoContrast stretches each channel to 0..255", () => {
  // channel 0: 10..60, scale 255/50 = 5.1f: 35 → 25·5.1 = 127.49 → 127; channel 1 constant: unchanged
  assertEquals(run(px([10, 35, 60, 7, 7, 7], [2, 1, 3]), "AutoContrast", 0), [0, 127, 255, 7, 7, 7]);
});

Deno.test("applyRandAugmentOp() Equalize maps through the PIL lookup table", () => {
  // 255 pixels of 0, 255 of 1, 2 of 5: step = ⌊(512 − 2)/255⌋ = 2; lut[1] = ⌊(255 + 1)/2⌋ = 128, lut[5] = 255
  const data = [...new Array(255).fill(0), ...new Array(255).fill(1), 5, 5];
  const out = run(px(data, [1, 16, 32]), "Equalize", 0);
  assertEquals([out[0], out[255], out[511]], [0, 128, 255]);
  // a channel with too few levels (step 0) is unchanged
  assertEquals(run(px([3, 9, 9, 9], [1, 2, 2]), "Equalize", 0), [3, 9, 9, 9]);
});

Deno.test("randAugment() is deterministic under a seed and varies across seeds", () => {
  const img = inputs.D;
  const a = randAugment(img, Rng.seeded(11));
  const b = randAugment(img, Rng.seeded(11));
  assertEquals(a.data, b.data);
  let differing = 0;
  for (let s = 0; s < 20; s++) {
    const c = randAugment(img, Rng.seeded(100 + s));
    if (c.data.some((v, i) => v !== a.data[i])) differing++;
  }
  assert(differing >= 15, `only ${differing} of 20 seeds changed the result`);
});

Deno.test("randAugment() draws every operation and both signs with numOps draws per image", () => {
  // Re-create the draws: for each image, numOps × (op index, then a sign when signed).
  const rng = Rng.seeded(5);
  const counts = new Map<string, number>();
  const space = randAugmentSpace({ height: 16, width: 16 });
  for (let i = 0; i < 2000; i++) {
    const op = RAND_AUGMENT_OPS[rng.nextInt(14)];
    const sign = space[op].signed ? (rng.nextInt(2) ? "-" : "+") : "";
    counts.set(op + sign, (counts.get(op + sign) ?? 0) + 1);
  }
  assertEquals(counts.size, 5 + 9 * 2);
  // and randAugment consumes the generator exactly that way
  const r1 = Rng.seeded(8), r2 = Rng.seeded(8);
  const img = inputs.A;
  let expected: Image = img;
  for (let k = 0; k < 2; k++) {
    const op = RAND_AUGMENT_OPS[r2.nextInt(14)];
    let m = space[op].magnitudes ? space[op].magnitudes![9] : 0;
    if (space[op].signed && r2.nextInt(2) === 1) m = -m;
    expected = applyRandAugmentOp(expected, { op, magnitude: m });
  }
  assertEquals(randAugment(img, r1).data, expected.data);
  assertEquals(r1.nextUint32(), r2.nextUint32());
});

Deno.test("randAugment() rejects a magnitude bin outside the table", () => {
  assertThrows(() => randAugment(inputs.A, Rng.seeded(1), { magnitude: 31 }), RangeError, "magnitude 31");
  assertEquals(randAugment(inputs.A, Rng.seeded(1), { numOps: 0 }).data, inputs.A.data);
});
