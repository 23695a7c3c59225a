import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  adjustBrightness,
  adjustContrast,
  adjustSaturation,
  adjustSharpness,
  autocontrast,
  equalize,
  grayscale,
  image,
  invert,
  posterize,
  solarize,
} from "../mod.ts";

Deno.test("grayscale() truncates torchvision's float32 weighted sum", () => {
  // 0.2989·10 + 0.587·20 + 0.114·30 = 2.989 + 11.74 + 3.42 = 18.149 → 18
  assertEquals([...grayscale(image(new Uint8Array([10, 20, 30]), [3, 1, 1])).data], [18]);
  assertThrows(() => grayscale(image(new Uint8Array(2), [2, 1, 1])), RangeError, "1 or 3 channels");
});

Deno.test("adjust*() with factor 1 return the image unchanged", () => {
  const byte = fc.integer({ min: 0, max: 255 });
  fc.assert(
    fc.property(fc.array(byte, { minLength: 3 * 16, maxLength: 3 * 16 }), (px) => {
      const img = image(new Uint8Array(px), [3, 4, 4]);
      return [adjustBrightness, adjustSaturation, adjustContrast, adjustSharpness].every((op) =>
        op(img, 1).data.every((v, i) => v === img.data[i])
      );
    }),
    { seed: 42, numRuns: 100 },
  );
});

Deno.test("adjust*() reject negative factors", () => {
  const img = image(new Uint8Array(3), [3, 1, 1]);
  for (const op of [adjustBrightness, adjustSaturation, adjustContrast, adjustSharpness]) {
    assertThrows(() => op(img, -0.1), RangeError, "non-negative");
  }
});

Deno.test("invert() and solarize(0) invert every value; solarize(255.5) is rejected", () => {
  const img = image(new Uint8Array([0, 1, 128, 255]), [1, 2, 2]);
  assertEquals([...invert(img).data], [255, 254, 127, 0]);
  assertEquals(solarize(img, 0).data, invert(img).data);
  assertThrows(() => solarize(img, 255.5), RangeError);
});

Deno.test("posterize() with 8 bits keeps the image, with 0 bits blanks it", () => {
  const img = image(new Uint8Array([7, 200]), [1, 1, 2]);
  assertEquals(posterize(img, 8).data, img.data);
  assertEquals([...posterize(img, 0).data], [0, 0]);
  assertThrows(() => posterize(img, 9), RangeError);
});

Deno.test("autocontrast() maps each channel's minimum to 0 and its maximum to 254 or 255", () => {
  const byte = fc.integer({ min: 0, max: 255 });
  fc.assert(
    fc.property(fc.array(byte, { minLength: 8, maxLength: 8 }), (px) => {
      const out = autocontrast(image(new Uint8Array(px), [2, 2, 2])).data;
      for (let c = 0; c < 2; c++) {
        const ch = px.slice(4 * c, 4 * c + 4), o = [...out.subarray(4 * c, 4 * c + 4)];
        const lo = Math.min(...ch), hi = Math.max(...ch);
        if (lo === hi ? o.join() !== ch.join() : o[ch.indexOf(lo)] !== 0 || o[ch.indexOf(hi)] < 254) {
          return false;
        }
      }
      return true;
    }),
    { seed: 42, numRuns: 200 },
  );
});

Deno.test("autocontrast() truncates like torch where 255/(max − min) rounds down in float32", () => {
  // torchvision 0.14 maps [0, d] to [0, 254] for exactly these d in 1..255
  const low = [
    41,
    61,
    67,
    71,
    82,
    83,
    101,
    109,
    113,
    121,
    122,
    123,
    134,
    141,
    142,
    143,
    159,
    163,
    164,
    166,
    179,
    197,
    202,
    207,
    209,
    218,
    226,
    233,
    237,
    239,
    242,
    244,
    246,
  ];
  for (let d = 1; d < 256; d++) {
    const top = autocontrast(image(new Uint8Array([0, d]), [1, 1, 2])).data[1];
    assertEquals(top, low.includes(d) ? 254 : 255, `d = ${d}`);
  }
});

Deno.test("equalize() keeps the order of values", () => {
  const byte = fc.integer({ min: 0, max: 255 });
  fc.assert(
    fc.property(fc.array(byte, { minLength: 600, maxLength: 600 }), (px) => {
      const out = equalize(image(new Uint8Array(px), [1, 20, 30])).data;
      return px.every((v, i) => px.every((w, j) => v > w ? out[i] >= out[j] : true));
    }),
    { seed: 42, numRuns: 5 },
  );
});
