import { assertEquals } from "@std/assert";
import type { DType } from "../dtype.ts";
import { runElem, stridedOffsets, stridedValues } from "./elem_kernel.ts";
import { readTensor, releaseTensor } from "./gpu_tensor.ts";
import { GPU_TEST, testDevice } from "./gpu_test_util.ts";

Deno.test("stridedOffsets() decodes every dimension once and offsets each operand by its strides", () => {
  const s = stridedOffsets(3, ["a"]);
  assertEquals(s.code.match(/u_shape\(/g)?.length, 3);
  assertEquals(s.uniforms.map((u) => u.name), ["shape", "base_a", "st_a"]);
  assertEquals(stridedValues([], [{ name: "a", base: 2, strides: [] }]), {
    shape: [1],
    base_a: 2,
    st_a: [0],
  });
});

Deno.test({
  name: "runElem() writes exactly n elements of every dtype, packing 8- and 16-bit values into words",
  ...GPU_TEST,
  async fn() {
    const dev = await testDevice();
    for (const dtype of ["float32", "int32", "int16", "int8", "uint8"] as DType[]) {
      for (const n of [0, 1, 3, 4, 5, 257, 1031]) {
        const value = dtype === "float32" ? "f32(i) * 0.5" : "i32(i) * 37 - 1000";
        const y = runElem(dev, { name: "fill", inputs: [], out: dtype, elem: `  return ${value};` }, [], [n]);
        const got = await readTensor(dev, y);
        releaseTensor(dev, y);
        const want = Array.from({ length: n }, (_, i) => (dtype === "float32" ? i * 0.5 : i * 37 - 1000));
        const typed = new (got.constructor as new (v: number[]) => ArrayLike<number>)(want);
        assertEquals(Array.from(got), Array.from(typed), `${dtype} × ${n}`);
      }
    }
  },
});
