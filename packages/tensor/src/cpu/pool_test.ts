import { assertEquals } from "@std/assert";
import { avgPool2d, mul, sum, type Tensor, tensor, valueAndGrad } from "@hqat/tensor";

Deno.test("avgPool2d() with a 1×1 window over 1×1 planes keeps every value (−0 becomes +0, as a window sum does)", () => {
  const x = tensor([[[[-0]], [[2.5]], [[NaN]]]]);
  const y = avgPool2d(x, 1);
  assertEquals(y.toArray().flat(3).map(String), ["0", "2.5", "NaN"]);
  assertEquals(Object.is(y.data[0], 0), true);
  const g = valueAndGrad((t: Tensor) => sum(mul(avgPool2d(t, 1), tensor([[[[3]], [[-1]], [[2]]]]))))(x).grad;
  assertEquals(Array.from(g.data), [3, -1, 2]);
});

Deno.test("avgPool2d() with a 1×1 window and stride 1 on larger planes is the identity", () => {
  const x = tensor([[[[1, -2], [3, 4]]]]);
  assertEquals(avgPool2d(x, 1).toArray(), x.toArray());
});
