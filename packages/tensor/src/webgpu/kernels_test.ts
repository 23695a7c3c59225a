import { assertEquals } from "@std/assert";
import { CPU_KERNELS } from "../cpu/backend.ts";
import { SHAPE_RULES } from "../shape_rules.ts";
import { GPU_KERNELS } from "./kernels.ts";

Deno.test("GPU_KERNELS has a kernel for exactly the ops of the CPU table and the shape rules", () => {
  const names = (t: object) => Object.keys(t).sort();
  assertEquals(names(GPU_KERNELS), names(CPU_KERNELS));
  assertEquals(names(GPU_KERNELS), names(SHAPE_RULES));
  for (const k of Object.values(GPU_KERNELS)) assertEquals(typeof k, "function");
});
