import { assertEquals, assertThrows } from "@std/assert";
import { checkDataset, type Dataset, imageAt, takeFirst } from "../mod.ts";

const ds: Dataset = {
  images: Uint8Array.from({ length: 3 * 2 * 2 * 2 }, (_, i) => i),
  labels: new Uint8Array([0, 1, 1]),
  count: 3,
  channels: 2,
  height: 2,
  width: 2,
  classes: ["a", "b"],
};

Deno.test("checkDataset() accepts a consistent dataset and names each inconsistency", () => {
  assertEquals(checkDataset(ds), ds);
  assertThrows(() => checkDataset({ ...ds, count: 4 }), RangeError, "need 32 bytes, but images has 24");
  assertThrows(() => checkDataset({ ...ds, labels: new Uint8Array(2) }), RangeError, "3 images but 2 labels");
  assertThrows(
    () => checkDataset({ ...ds, labels: new Uint8Array([0, 2, 0]) }),
    RangeError,
    "label 2 of image 1",
  );
  assertThrows(() => checkDataset({ ...ds, width: -1 }), RangeError, "width is -1");
});

Deno.test("imageAt() and takeFirst() return views of the right images", () => {
  assertEquals([...imageAt(ds, 2)], [16, 17, 18, 19, 20, 21, 22, 23]);
  assertThrows(() => imageAt(ds, 3), RangeError, "out of range");
  const two = takeFirst(ds, 2);
  assertEquals([two.count, two.images.length, [...two.labels]], [2, 16, [0, 1]]);
  assertThrows(() => takeFirst(ds, 4), RangeError);
});
