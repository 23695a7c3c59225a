import { assertEquals, assertThrows } from "@std/assert";
import { affine, crop, hflip, image, inverseAffineMatrix, rotate } from "../mod.ts";

const grid = image(Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i + 1), [2, 3, 4]);

Deno.test("image() checks the data length against the shape", () => {
  assertThrows(() => image(new Uint8Array(5), [1, 2, 3]), RangeError, "needs 6 bytes, got 5");
});

Deno.test("hflip() mirrors every row of every channel", () => {
  assertEquals([...hflip(grid).data.subarray(0, 8)], [4, 3, 2, 1, 8, 7, 6, 5]);
  assertEquals([...hflip(grid).data.subarray(12, 16)], [16, 15, 14, 13]);
  assertEquals(hflip(hflip(grid)).data, grid.data);
});

Deno.test("crop() takes a window and fills the part outside the image with 0", () => {
  const inside = crop(grid, { top: 1, left: 1, height: 2, width: 2 });
  assertEquals([...inside.data], [6, 7, 10, 11, 18, 19, 22, 23]);
  const outside = crop(grid, { top: -1, left: 3, height: 2, width: 3 });
  assertEquals([...outside.data], [0, 0, 0, 4, 0, 0, 0, 0, 0, 16, 0, 0]);
  const padded = crop(grid, { top: -1, left: -1, height: 5, width: 6 });
  assertEquals(padded.data.reduce((a, b) => a + b, 0), grid.data.reduce((a, b) => a + b, 0));
  assertThrows(() => crop(grid, { top: 0.5, left: 0, height: 1, width: 1 }), RangeError);
});

Deno.test("inverseAffineMatrix() inverts rotation, shear and translation about a center", () => {
  const m = inverseAffineMatrix([2, 3], { angle: 30, translate: [1, -2], scale: 1.5, shear: [10, 5] });
  // forward: x' = C·RSS·C⁻¹·x + t; check that the inverse maps a forward-mapped point back
  const rot = (30 * Math.PI) / 180, sx = (10 * Math.PI) / 180, sy = (5 * Math.PI) / 180;
  const a = Math.cos(rot - sy) / Math.cos(sy),
    b = -Math.cos(rot - sy) * Math.tan(sx) / Math.cos(sy) - Math.sin(rot);
  const c = Math.sin(rot - sy) / Math.cos(sy),
    d = -Math.sin(rot - sy) * Math.tan(sx) / Math.cos(sy) + Math.cos(rot);
  const [px, py] = [5, -1];
  const fx = 1.5 * (a * (px - 2) + b * (py - 3)) + 2 + 1, fy = 1.5 * (c * (px - 2) + d * (py - 3)) + 3 - 2;
  const bx = m[0] * fx + m[1] * fy + m[2], by = m[3] * fx + m[4] * fy + m[5];
  assertEquals([Math.round(bx * 1e9) / 1e9, Math.round(by * 1e9) / 1e9], [px, py]);
});

Deno.test("affine() with a center shears about that point", () => {
  // shear x by 45° about the top-left pixel corner: source column = x + (y + 0.5), rounded half to even
  const img = image(Uint8Array.from({ length: 9 }, (_, i) => i + 1), [1, 3, 3]);
  assertEquals([...affine(img, { shear: [45, 0], center: [0, 0] }).data], [1, 2, 3, 5, 6, 0, 9, 0, 0]);
  assertEquals(affine(img, {}).data, img.data);
});

Deno.test("rotate() by 180° reverses the image, by 360° keeps it", () => {
  const img = image(Uint8Array.from({ length: 12 }, (_, i) => i + 1), [1, 3, 4]);
  assertEquals([...rotate(img, { angle: 180 }).data], [...img.data].reverse());
  assertEquals(rotate(img, { angle: 360 }).data, img.data);
});
