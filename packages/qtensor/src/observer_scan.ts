/**
 * The min/max scan of the observers on WebAssembly SIMD128: the float32 minimum and maximum of a run
 * of values as the sequential scan of `observedMinMax` finds them, at a fraction of its time. Where
 * only the sequential scan can tell the answer (a non-finite value, whose error names its element, or
 * an extreme of zero with zeros of both signs in the run, where the first one wins) it declines.
 * The module is assembled from the WebAssembly text at the end of this file
 * (`wat2wasm scan.wat -o - | base64 -w 96`); observer_scan_test.ts checks that the two agree.
 * @module
 */

/** The module bytes, base64-encoded. */
const MIN_MAX_SCAN_BASE64: string = [
  "AGFzbQEAAAABBgFgAn9/AAMCAQAFAwEAAQcUAgZtZW1vcnkCAAdtaW5fbWF4AAAK5gIB4wIDBH8DfQZ7QwAAgH/9EyEKQwAA",
  "gP/9EyELIAAgAUECdGohAiAAIAFBfHFBAnRqIQMCQCAAIANPDQADQCAA/QACACEJIAogCf3qASEKIAsgCf3rASELIAwgCSAJ",
  "/eUB/VAhDCANIAn9DAAAAAAAAAAAAAAAAAAAAAD9N/1QIQ0gDiAJ/QwAAACAAAAAgAAAAIAAAACA/Tf9UCEOIABBEGohACAA",
  "IANJDQALCyAK/R8AIAr9HwGWIAr9HwIgCv0fA5aWIQcgC/0fACAL/R8BlyAL/R8CIAv9HwOXlyEIIAz9UyAN/VNBAXQgDv1T",
  "QQJ0cnIhBQJAIAAgAk8NAANAIAAqAgAhBiAAKAIAIQQgByAGliEHIAggBpchCCAFIAYgBpNDAAAAAFwgBEVBAXQgBEGAgICA",
  "eEZBAnRycnIhBSAAQQRqIQAgACACSQ0ACwtBACAHOAIAQQQgCDgCAEEIIAU2AgAL",
].join("");

/** Runs of values whose float32 minimum and maximum the observers need. */
export interface MinMaxScanner {
  /**
   * `[min, max]` of `count` (at least 1) values from `start`, or undefined where the sequential scan
   * must decide (see the module doc).
   */
  scan(start: number, count: number): [number, number] | undefined;
}

interface ScanRuntime {
  readonly memory: WebAssembly.Memory;
  readonly minMax: (x: number, n: number) => void;
}

const PAGE = 65536;
/** Below this many values the sequential scan is as fast as a copy. */
const MIN_LENGTH = 64;
/** Addresses stay far below 2^32, where the kernel's unsigned pointer compares would wrap. */
const MAX_BYTES = 2 ** 31;
/** Where the data starts; the results are written below it. */
const DATA = 16;

let runtime: ScanRuntime | null | undefined;

function createRuntime(): ScanRuntime | null {
  try {
    const bytes = Uint8Array.from(atob(MIN_MAX_SCAN_BASE64), (ch) => ch.charCodeAt(0));
    const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
    return { memory: exports.memory as WebAssembly.Memory, minMax: exports.min_max as ScanRuntime["minMax"] };
  } catch {
    return null;
  }
}

/**
 * A scanner over a copy of `x`, or undefined where the sequential scan is the better choice (no
 * WebAssembly SIMD in this engine, a short array, or more than 2 GiB). The copy lives in memory that
 * the next call reuses: use a scanner before making another.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { minMaxScanner } from "./observer_scan.ts";
 * const x = Float32Array.from({ length: 100 }, (_, i) => i - 10);
 * const r = minMaxScanner(x)?.scan(5, 90);
 * assert(r === undefined || (r[0] === -5 && r[1] === 84));
 * ```
 */
export function minMaxScanner(x: Float32Array): MinMaxScanner | undefined {
  if (x.length < MIN_LENGTH || DATA + x.length * 4 > MAX_BYTES) return undefined;
  if (runtime === undefined) runtime = createRuntime();
  if (runtime === null) return undefined;
  const rt = runtime;
  const need = DATA + x.length * 4, have = rt.memory.buffer.byteLength;
  if (need > have) {
    try {
      rt.memory.grow(Math.ceil((need - have) / PAGE));
    } catch {
      return undefined;
    }
  }
  new Float32Array(rt.memory.buffer, DATA, x.length).set(x);
  const results = new Float32Array(rt.memory.buffer, 0, 2), flags = new Int32Array(rt.memory.buffer, 8, 1);
  return {
    scan(start: number, count: number) {
      rt.minMax(DATA + start * 4, count);
      const f = flags[0], lo = results[0], hi = results[1];
      // 1: a non-finite value; 2 | 4: zeros of both signs, which matter where an extreme is zero.
      if ((f & 1) !== 0 || ((f & 6) === 6 && (lo === 0 || hi === 0))) return undefined;
      return [lo, hi];
    },
  };
}

/* The module, in the WebAssembly text format:

(module
  (memory (export "memory") 1)
  ;; Scans n float32 values at x; writes min (f32) at 0, max (f32) at 4, and flags (i32) at 8:
  ;; 1 a non-finite value, 2 a +0, 4 a -0.
  (func (export "min_max") (param $x i32) (param $n i32)
    (local $end i32) (local $vend i32) (local $bits i32) (local $flags i32)
    (local $s f32) (local $lo f32) (local $hi f32)
    (local $v v128) (local $vlo v128) (local $vhi v128) (local $bad v128) (local $pz v128) (local $nz v128)
    (local.set $vlo (f32x4.splat (f32.const inf)))
    (local.set $vhi (f32x4.splat (f32.const -inf)))
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $vend (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $vector_done
      (br_if $vector_done (i32.ge_u (local.get $x) (local.get $vend)))
      (loop $vector_loop
        (local.set $v (v128.load align=4 (local.get $x)))
        (local.set $vlo (f32x4.pmin (local.get $vlo) (local.get $v)))
        (local.set $vhi (f32x4.pmax (local.get $vhi) (local.get $v)))
        ;; v - v is +0 for a finite v and NaN otherwise.
        (local.set $bad (v128.or (local.get $bad) (f32x4.sub (local.get $v) (local.get $v))))
        (local.set $pz (v128.or (local.get $pz) (i32x4.eq (local.get $v) (v128.const i32x4 0 0 0 0))))
        (local.set $nz (v128.or (local.get $nz)
          (i32x4.eq (local.get $v) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (br_if $vector_loop (i32.lt_u (local.get $x) (local.get $vend)))))
    (local.set $lo (f32.min
      (f32.min (f32x4.extract_lane 0 (local.get $vlo)) (f32x4.extract_lane 1 (local.get $vlo)))
      (f32.min (f32x4.extract_lane 2 (local.get $vlo)) (f32x4.extract_lane 3 (local.get $vlo)))))
    (local.set $hi (f32.max
      (f32.max (f32x4.extract_lane 0 (local.get $vhi)) (f32x4.extract_lane 1 (local.get $vhi)))
      (f32.max (f32x4.extract_lane 2 (local.get $vhi)) (f32x4.extract_lane 3 (local.get $vhi)))))
    (local.set $flags (i32.or
      (v128.any_true (local.get $bad))
      (i32.or (i32.shl (v128.any_true (local.get $pz)) (i32.const 1))
        (i32.shl (v128.any_true (local.get $nz)) (i32.const 2)))))
    (block $tail_done
      (br_if $tail_done (i32.ge_u (local.get $x) (local.get $end)))
      (loop $tail_loop
        (local.set $s (f32.load (local.get $x)))
        (local.set $bits (i32.load (local.get $x)))
        (local.set $lo (f32.min (local.get $lo) (local.get $s)))
        (local.set $hi (f32.max (local.get $hi) (local.get $s)))
        (local.set $flags (i32.or (local.get $flags)
          (i32.or (f32.ne (f32.sub (local.get $s) (local.get $s)) (f32.const 0))
            (i32.or (i32.shl (i32.eqz (local.get $bits)) (i32.const 1))
              (i32.shl (i32.eq (local.get $bits) (i32.const 0x80000000)) (i32.const 2))))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (br_if $tail_loop (i32.lt_u (local.get $x) (local.get $end)))))
    (f32.store (i32.const 0) (local.get $lo))
    (f32.store (i32.const 4) (local.get $hi))
    (i32.store (i32.const 8) (local.get $flags))))
*/
