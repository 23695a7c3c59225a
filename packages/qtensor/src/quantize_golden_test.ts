import { assert, assertEquals, assertThrows } from "@std/assert";
import goldenJson from "../testdata/fake_quant_golden.json" with { type: "json" };
import { fakeQuantizeMask, lsqFakeQuantizeGrad } from "./fake_quant_grad.ts";
import { fakeQuantize } from "./quantize.ts";

/** Decodes float32 bit patterns written as 8 hex digits. */
function floats(hex: readonly string[]): Float32Array {
  return new Float32Array(Uint32Array.from(hex, (h) => parseInt(h, 16)).buffer);
}
const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

interface Case {
  qmin: number;
  qmax: number;
  scale: string | string[];
  x: string[];
  torch: string[];
  spec: string[];
  differs: number[];
  shape?: number[];
  axis?: number;
}

interface LsqCase {
  qmin: number;
  qmax: number;
  shape: number[];
  axis: number | null;
  scale: string[];
  gradFactor: number;
  x: string[];
  dy: string[];
  dx: string[];
  dscale: number[];
}

interface Golden {
  perTensor: (Case & { scale: string; torchGrad: string[]; dtype: string })[];
  perChannel: (Case & { scale: string[]; dtype: string })[];
  nonFinite: { qmin: number; qmax: number; scale: string; x: string[]; torch: string[] };
  lsq: LsqCase[];
}

const golden = goldenJson as unknown as Golden;

function runCase(c: Case, label: string): number[] {
  const x = floats(c.x);
  const scale = typeof c.scale === "string" ? floats([c.scale]) : floats(c.scale);
  const opts = { qmin: c.qmin, qmax: c.qmax, axis: c.axis, shape: c.shape };
  const spec = fakeQuantize(x, scale, opts);
  const torch = fakeQuantize(x, scale, { ...opts, pytorchCompatible: true });
  assertEquals(bitsOf(spec), bitsOf(floats(c.spec)), `${label}: SPEC.md mode`);
  assertEquals(bitsOf(torch), bitsOf(floats(c.torch)), `${label}: pytorchCompatible mode`);
  const differs: number[] = [];
  for (let i = 0; i < x.length; i++) if (!Object.is(spec[i], torch[i])) differs.push(i);
  assertEquals(differs, c.differs, `${label}: where PyTorch and SPEC.md differ`);
  return differs;
}

Deno.test("fakeQuantize() matches torch.fake_quantize_per_tensor_affine bit for bit", () => {
  let total = 0;
  for (const [i, c] of golden.perTensor.entries()) {
    runCase(c, `per-tensor case ${i} (${c.dtype}, scale ${c.scale})`);
    // PyTorch's gradient mask is the straight-through mask of the PyTorch-compatible mode.
    const mask = fakeQuantizeMask(floats(c.x), floats([c.scale]), {
      qmin: c.qmin,
      qmax: c.qmax,
      pytorchCompatible: true,
    });
    assertEquals(Array.from(mask), Array.from(floats(c.torchGrad)));
    total += c.x.length;
  }
  assert(total > 1000);
});

Deno.test("fakeQuantize() matches torch.fake_quantize_per_channel_affine bit for bit", () => {
  for (const [i, c] of golden.perChannel.entries()) runCase(c, `per-channel case ${i} (${c.dtype})`);
});

Deno.test("fakeQuantize() differs from PyTorch only on near ties and overflowing quotients", () => {
  for (const c of [...golden.perTensor, ...golden.perChannel]) {
    const x = floats(c.x);
    const scales = typeof c.scale === "string" ? floats([c.scale]) : floats(c.scale);
    const inner = c.shape === undefined
      ? x.length
      : c.shape.slice((c.axis ?? 0) + 1).reduce((p, d) => p * d, 1);
    for (const i of c.differs) {
      const s = scales.length === 1 ? scales[0] : scales[Math.floor(i / inner) % scales.length];
      const bySpec = Math.fround(x[i] / s), byTorch = Math.fround(x[i] * Math.fround(1 / s));
      const nearTie = Math.abs(Math.abs(bySpec % 1) - 0.5) < 1e-3;
      const overflow = !(Math.abs(byTorch) < 2 ** 63);
      assert(nearTie || overflow, `x ${x[i]}, s ${s}: ${bySpec} vs ${byTorch}`);
    }
  }
});

Deno.test("fakeQuantize() maps non-finite input as SPEC.md says, and like PyTorch in pytorchCompatible mode", () => {
  const c = golden.nonFinite;
  const x = floats(c.x), s = floats([c.scale])[0];
  const range = { qmin: c.qmin, qmax: c.qmax };
  assertEquals(bitsOf(fakeQuantize(x, s, { ...range, pytorchCompatible: true })), bitsOf(floats(c.torch)));
  // SPEC.md: ±Infinity saturates, NaN is an error.
  assertEquals(Array.from(fakeQuantize([Infinity, -Infinity, 1e30], s, range)), [63.5, -64, 63.5]);
  assertThrows(() => fakeQuantize(x, s, range), RangeError, "NaN");
});

Deno.test("lsqFakeQuantizeGrad() matches PyTorch's learnable fake quantization backward", () => {
  for (const c of golden.lsq) {
    const opts = {
      qmin: c.qmin,
      qmax: c.qmax,
      axis: c.axis ?? undefined,
      shape: c.shape,
      dy: floats(c.dy),
      gradScale: "lsq" as const,
    };
    const { dx, dscale } = lsqFakeQuantizeGrad(floats(c.x), floats(c.scale), opts);
    // PyTorch writes dy · 0, a -0 where dy < 0; compare values.
    assertEquals(Array.from(dx, (v) => v + 0), Array.from(floats(c.dx), (v) => v + 0));
    assertEquals(dscale.length, c.dscale.length);
    for (let k = 0; k < dscale.length; k++) {
      // PyTorch sums float32 terms; ours sums in float64.
      assert(
        Math.abs(dscale[k] - c.dscale[k]) <= 1e-4 * Math.max(1, Math.abs(c.dscale[k])),
        `${dscale[k]} vs ${c.dscale[k]}`,
      );
    }
    const n = c.x.length;
    assert(Math.abs(c.gradFactor - 1 / Math.sqrt(n * c.qmax)) < 1e-12);
  }
});
