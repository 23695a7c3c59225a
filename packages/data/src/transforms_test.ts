import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  applyTransform,
  compose,
  crop,
  hflip,
  image,
  normalize,
  randAugment,
  rgb2centeredYuv,
  Rng,
  transformedSize,
  transforms,
} from "../mod.ts";

const img = image(Uint8Array.from({ length: 3 * 6 * 5 }, (_, i) => (i * 37) % 256), [3, 6, 5]);

Deno.test("transforms.randomHorizontalFlip() flips with probability p, reproducibly", () => {
  for (const p of [0, 0.5, 1]) {
    const spec = transforms.randomHorizontalFlip({ p });
    let flips = 0;
    for (let s = 0; s < 400; s++) {
      const out = applyTransform(img, { spec, rng: Rng.seeded(s) });
      const again = applyTransform(img, { spec, rng: Rng.seeded(s) });
      assertEquals(out.data, again.data);
      if (out.data.some((v, i) => v !== img.data[i])) {
        assertEquals(out.data, hflip(img).data);
        flips++;
      }
    }
    assertAlmostEquals(flips / 400, p, 0.08);
  }
  assertEquals(transforms.randomHorizontalFlip(), { kind: "randomHorizontalFlip", p: 0.5 });
  assertThrows(() => transforms.randomHorizontalFlip({ p: 1.5 }), RangeError);
});

Deno.test("transforms.randomCrop() takes every padded window position, each the zero-padded crop", () => {
  const spec = transforms.randomCrop([6, 5], { padding: 2 });
  const seen = new Set<string>();
  for (let s = 0; s < 600; s++) {
    const out = applyTransform(img, { spec, rng: Rng.seeded(s) });
    assertEquals([out.channels, out.height, out.width], [3, 6, 5]);
    const r = Rng.seeded(s);
    const i = r.nextInt(5), j = r.nextInt(5); // top then left, in [0, 2·padding]
    assertEquals(out.data, crop(img, { top: i - 2, left: j - 2, height: 6, width: 5 }).data);
    seen.add(`${i},${j}`);
  }
  assertEquals(seen.size, 25);
  // a crop of the padded size draws nothing and returns the padded image
  const full = applyTransform(img, {
    spec: transforms.randomCrop([10, 9], { padding: 2 }),
    rng: Rng.seeded(0),
  });
  assertEquals([full.height, full.width, full.data[0]], [10, 9, 0]);
  assertThrows(
    () => applyTransform(img, { spec: transforms.randomCrop(11), rng: Rng.seeded(0) }),
    RangeError,
    "does not fit",
  );
  assertThrows(() => transforms.randomCrop(0), RangeError);
});

Deno.test("compose() applies the transforms in order with one generator", () => {
  const specs = [
    transforms.randomHorizontalFlip(),
    transforms.randomCrop(4, { padding: 1 }),
    transforms.randAugment(),
  ];
  const t = compose(specs);
  const a = t(img, Rng.seeded(21)), b = t(img, Rng.seeded(21));
  assertEquals(a.data, b.data);
  // the same steps by hand
  const r = Rng.seeded(21);
  let want = r.nextFloat() < 0.5 ? hflip(img) : img;
  const i = r.nextInt(5), j = r.nextInt(4);
  want = crop(want, { top: i - 1, left: j - 1, height: 4, width: 4 });
  want = randAugment(want, r);
  assertEquals(a.data, want.data);
  assertEquals(transformedSize(specs, [6, 5]), [4, 4]);
});

Deno.test("normalize() subtracts the mean and divides by the std per channel in float32", () => {
  const out = normalize(new Uint8Array([10, 20, 30, 40, 50, 60]), [1, 3, 1, 2], {
    mean: [10, 20, 30],
    std: [1, 2, 0.5],
  });
  assertEquals([...out], [0, 10, 5, 10, 40, 60]);
  assertThrows(
    () => normalize(new Uint8Array(6), [3, 1, 2], { mean: [1, 2], std: 1 }),
    RangeError,
    "2 mean values",
  );
  assertThrows(() => normalize(new Uint8Array(6), [3, 1, 2], { mean: 0, std: 0 }), RangeError, "zero");
});

Deno.test("normalize(mean 0, std 128) of centered YUV is the seed's network input", () => {
  const byte = fc.integer({ min: 0, max: 255 });
  fc.assert(
    fc.property(fc.array(byte, { minLength: 12, maxLength: 12 }), (px) => {
      const yuv = rgb2centeredYuv(new Uint8Array(px), [3, 2, 2]);
      const x = normalize(yuv, [3, 2, 2], { mean: 0, std: 128 });
      return [...yuv].every((v, i) => x[i] === v / 128 && x[i] >= -1 && x[i] < 1);
    }),
    { seed: 42, numRuns: 200 },
  );
});
