;; Fake quantization kernels (SPEC.md "Rounding, quantize, dequantize") in WebAssembly SIMD128, the
;; source of quant_wasm_module.ts (see there for the command that assembles it).
;;
;; Every value is a float32 and every step is one IEEE float32 operation, which is what the reference
;; in @hqat/qtensor computes in float64 and rounds: `float32(x / s)` is f32.div (the float64 quotient
;; of two float32 values rounds to the same float32), round half to even is f32.nearest, the clamp
;; bounds are integers of at most 2^24 in magnitude (exact in float32), and `q * s` with such a `q` is
;; exact in float64, so rounding it once gives f32.mul. `+ 0` turns a -0 into +0 as the reference does.
;;
;; The data is `outer` blocks of `channels` runs of `inner` floats; run `c` uses scale `scales[c]`.
;; Both kernels return 1 when a quotient was NaN (the caller then reports it), else 0.
(module
  (memory (export "memory") 1)

  ;; out = clamp(nearest(x / s), qmin, qmax) * s; `out` may equal `x`.
  (func (export "fake_quantize")
    (param $x i32) (param $out i32) (param $outer i32) (param $channels i32) (param $inner i32)
    (param $scales i32) (param $qmin f32) (param $qmax f32) (result i32)
    (local $o i32) (local $c i32) (local $vend i32) (local $end i32) (local $nan_s i32)
    (local $s f32) (local $q f32)
    (local $sv v128) (local $lo v128) (local $hi v128) (local $v v128) (local $nan v128)
    (local.set $lo (f32x4.splat (local.get $qmin)))
    (local.set $hi (f32x4.splat (local.get $qmax)))
    (block $done
      (br_if $done (i32.or (i32.eqz (local.get $outer))
        (i32.or (i32.eqz (local.get $channels)) (i32.eqz (local.get $inner)))))
      (loop $outer_loop
        (local.set $c (i32.const 0))
        (loop $channel_loop
          (local.set $s (f32.load (i32.add (local.get $scales) (i32.shl (local.get $c) (i32.const 2)))))
          (local.set $sv (f32x4.splat (local.get $s)))
          (local.set $end (i32.add (local.get $x) (i32.shl (local.get $inner) (i32.const 2))))
          (local.set $vend (i32.add (local.get $x)
            (i32.shl (i32.and (local.get $inner) (i32.const -4)) (i32.const 2))))
          (block $vector_done
            (br_if $vector_done (i32.ge_u (local.get $x) (local.get $vend)))
            (loop $vector_loop
              (local.set $v (f32x4.div (v128.load align=4 (local.get $x)) (local.get $sv)))
              (local.set $nan (v128.or (local.get $nan) (f32x4.ne (local.get $v) (local.get $v))))
              (v128.store align=4 (local.get $out)
                (f32x4.mul
                  (f32x4.add
                    (f32x4.pmax (f32x4.pmin (f32x4.nearest (local.get $v)) (local.get $hi)) (local.get $lo))
                    (v128.const f32x4 0 0 0 0))
                  (local.get $sv)))
              (local.set $x (i32.add (local.get $x) (i32.const 16)))
              (local.set $out (i32.add (local.get $out) (i32.const 16)))
              (br_if $vector_loop (i32.lt_u (local.get $x) (local.get $vend)))))
          (block $tail_done
            (br_if $tail_done (i32.ge_u (local.get $x) (local.get $end)))
            (loop $tail_loop
              (local.set $q (f32.div (f32.load (local.get $x)) (local.get $s)))
              (local.set $nan_s (i32.or (local.get $nan_s) (f32.ne (local.get $q) (local.get $q))))
              (f32.store (local.get $out)
                (f32.mul
                  (f32.add
                    (f32.max (f32.min (f32.nearest (local.get $q)) (local.get $qmax)) (local.get $qmin))
                    (f32.const 0))
                  (local.get $s)))
              (local.set $x (i32.add (local.get $x) (i32.const 4)))
              (local.set $out (i32.add (local.get $out) (i32.const 4)))
              (br_if $tail_loop (i32.lt_u (local.get $x) (local.get $end)))))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br_if $channel_loop (i32.lt_u (local.get $c) (local.get $channels))))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br_if $outer_loop (i32.lt_u (local.get $o) (local.get $outer)))))
    (i32.or (local.get $nan_s) (v128.any_true (local.get $nan))))

  ;; out = dy where qmin <= nearest(x / s) <= qmax, else +0 (the saturating straight-through
  ;; gradient); `out` may equal `dy`.
  (func (export "fake_quantize_grad")
    (param $x i32) (param $dy i32) (param $out i32) (param $outer i32) (param $channels i32)
    (param $inner i32) (param $scales i32) (param $qmin f32) (param $qmax f32) (result i32)
    (local $o i32) (local $c i32) (local $vend i32) (local $end i32) (local $nan_s i32)
    (local $s f32) (local $q f32)
    (local $sv v128) (local $lo v128) (local $hi v128) (local $v v128) (local $r v128) (local $nan v128)
    (local.set $lo (f32x4.splat (local.get $qmin)))
    (local.set $hi (f32x4.splat (local.get $qmax)))
    (block $done
      (br_if $done (i32.or (i32.eqz (local.get $outer))
        (i32.or (i32.eqz (local.get $channels)) (i32.eqz (local.get $inner)))))
      (loop $outer_loop
        (local.set $c (i32.const 0))
        (loop $channel_loop
          (local.set $s (f32.load (i32.add (local.get $scales) (i32.shl (local.get $c) (i32.const 2)))))
          (local.set $sv (f32x4.splat (local.get $s)))
          (local.set $end (i32.add (local.get $x) (i32.shl (local.get $inner) (i32.const 2))))
          (local.set $vend (i32.add (local.get $x)
            (i32.shl (i32.and (local.get $inner) (i32.const -4)) (i32.const 2))))
          (block $vector_done
            (br_if $vector_done (i32.ge_u (local.get $x) (local.get $vend)))
            (loop $vector_loop
              (local.set $v (f32x4.div (v128.load align=4 (local.get $x)) (local.get $sv)))
              (local.set $nan (v128.or (local.get $nan) (f32x4.ne (local.get $v) (local.get $v))))
              (local.set $r (f32x4.nearest (local.get $v)))
              (v128.store align=4 (local.get $out)
                (v128.and (v128.load align=4 (local.get $dy))
                  (v128.and (f32x4.ge (local.get $r) (local.get $lo)) (f32x4.le (local.get $r) (local.get $hi)))))
              (local.set $x (i32.add (local.get $x) (i32.const 16)))
              (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
              (local.set $out (i32.add (local.get $out) (i32.const 16)))
              (br_if $vector_loop (i32.lt_u (local.get $x) (local.get $vend)))))
          (block $tail_done
            (br_if $tail_done (i32.ge_u (local.get $x) (local.get $end)))
            (loop $tail_loop
              (local.set $q (f32.div (f32.load (local.get $x)) (local.get $s)))
              (local.set $nan_s (i32.or (local.get $nan_s) (f32.ne (local.get $q) (local.get $q))))
              (local.set $q (f32.nearest (local.get $q)))
              (i32.store (local.get $out)
                (select (i32.load (local.get $dy)) (i32.const 0)
                  (i32.and (f32.ge (local.get $q) (local.get $qmin)) (f32.le (local.get $q) (local.get $qmax)))))
              (local.set $x (i32.add (local.get $x) (i32.const 4)))
              (local.set $dy (i32.add (local.get $dy) (i32.const 4)))
              (local.set $out (i32.add (local.get $out) (i32.const 4)))
              (br_if $tail_loop (i32.lt_u (local.get $x) (local.get $end)))))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br_if $channel_loop (i32.lt_u (local.get $c) (local.get $channels))))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br_if $outer_loop (i32.lt_u (local.get $o) (local.get $outer)))))
    (i32.or (local.get $nan_s) (v128.any_true (local.get $nan)))))
