import { assertEquals, assertThrows } from "@std/assert";
import { deployMarch } from "@hqat/hbdk";

Deno.test("deployMarch() names a model's unknown march instead of asking for setMarch", () => {
  assertThrows(
    () => deployMarch({ march: "nash" }, { tool: "compileModel" }),
    RangeError,
    'compileModel: the model\'s march "nash" is not one hqat knows (bayes, bayes-e)',
  );
  assertEquals(deployMarch({ march: "nash" }, { march: "bayes", tool: "compileModel" }), "bayes");
  assertEquals(deployMarch({ march: "bayes-e" }, { tool: "checkModel" }), "bayes-e");
});
