import { assertEquals, assertThrows } from "@std/assert";
import { clearMarch, getMarch, isMarch, March, parseMarch, resolveMarch, setMarch } from "./march.ts";

Deno.test("setMarch() sets the march getMarch() returns, and clearMarch() forgets it", () => {
  clearMarch();
  assertEquals(getMarch(), undefined);
  setMarch(March.BAYES);
  assertEquals(getMarch(), "bayes");
  setMarch(March.BERNOULLI2);
  assertEquals(getMarch(), "bernoulli2");
  clearMarch();
  assertEquals(getMarch(), undefined);
});

Deno.test("setMarch() rejects an unknown march with a message naming it and the known ones", () => {
  clearMarch();
  assertThrows(
    () => setMarch("nash" as March),
    RangeError,
    'setMarch: unknown march "nash"; expected one of bernoulli2, bayes, bayes-e',
  );
  assertEquals(getMarch(), undefined);
});

Deno.test("isMarch() and parseMarch() accept exactly the March values", () => {
  for (const m of Object.values(March)) {
    assertEquals(isMarch(m), true);
    assertEquals(parseMarch(m), m);
  }
  for (const bad of ["BAYES", "", 1, null, undefined]) {
    assertEquals(isMarch(bad), false);
    assertThrows(() => parseMarch(bad, "ctx"), RangeError, "ctx: unknown march");
  }
});

Deno.test("resolveMarch() prefers the explicit march, falls back to the set one, and throws when neither", () => {
  clearMarch();
  assertThrows(
    () => resolveMarch(undefined, "checkLayer"),
    RangeError,
    "checkLayer: no march given and none set",
  );
  setMarch(March.BAYES_E);
  assertEquals(resolveMarch(undefined, "x"), "bayes-e");
  assertEquals(resolveMarch(March.BAYES, "x"), "bayes");
  clearMarch();
});
