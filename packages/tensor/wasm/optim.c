/*
 * Optimizer updates over float32 arrays, in place: Adam / AdamW (with AMSGrad) and SGD (momentum, dampening,
 * Nesterov, L2 weight decay), bit for bit the plain-TypeScript loops of src/cpu/optim_reference.ts.
 *
 * Those loops round each step to float32 as PyTorch's float32 kernels do. A float32 operation on float32
 * operands (+, −, ×, ÷, √) is one f32x4 instruction: rounding the exact result to float64 and then to float32
 * gives the same float as rounding it to float32 once. A step `a + b·c` that the loops compute in float64
 * (the product of two float32 values is exact there, the sum is rounded to float64, then the result to
 * float32) is done the same way on two f64x2 halves here. Nothing is fused: contraction is off.
 *
 * Each call updates `n` elements rounded up to a multiple of 4, so every buffer must have room for that many
 * (the TypeScript side allocates 64-byte multiples); the extra lanes hold garbage that no one reads.
 */
#include "common.h"

#pragma clang fp contract(off)

/* Bits of the `flags` argument. */
#define ADAM_DECAY 1   /* multiply the parameter by k[0] first (AdamW's decoupled weight decay) */
#define ADAM_L2 2      /* add k[1] · p to the gradient (Adam's weight decay) */
#define ADAM_AMSGRAD 4 /* keep and use the maximum of the second moments */
#define SGD_DECAY 1    /* add k[1] · p to the gradient */
#define SGD_MOMENTUM 2 /* keep a momentum buffer */
#define SGD_FIRST 4    /* the buffer starts as the gradient (the first step) */
#define SGD_NESTEROV 8 /* step along d + momentum · buffer */

/* round32(a + b · c) with the product and the sum in float64, on four lanes of float32 values. */
static inline v128_t madd64(v128_t a, v128_t b, v128_t c) {
  const v128_t ah = wasm_i32x4_shuffle(a, a, 2, 3, 0, 1), bh = wasm_i32x4_shuffle(b, b, 2, 3, 0, 1);
  const v128_t ch = wasm_i32x4_shuffle(c, c, 2, 3, 0, 1);
  const v128_t lo = wasm_f64x2_add(wasm_f64x2_promote_low_f32x4(a),
                                   wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(b), wasm_f64x2_promote_low_f32x4(c)));
  const v128_t hi = wasm_f64x2_add(wasm_f64x2_promote_low_f32x4(ah),
                                   wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(bh), wasm_f64x2_promote_low_f32x4(ch)));
  return wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(lo), wasm_f32x4_demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/*
 * One Adam step over elements [0, n) of the parameter p, gradient g, first moment m, second moment v and (with
 * ADAM_AMSGRAD) the maximum second moment vmax, all updated in place. k holds the float32 constants
 * [decay, l2, β1, 1 − β1, β2, 1 − β2, √(1 − β2^t), eps, −lr / (1 − β1^t)].
 */
void EXPORT(adam_update)(float *p, const float *g, float *m, float *v, float *vmax, int n, const float *k,
                         int flags) {
  const v128_t decay = wasm_v128_load32_splat(k), l2 = wasm_v128_load32_splat(k + 1);
  const v128_t b1 = wasm_v128_load32_splat(k + 2), c1 = wasm_v128_load32_splat(k + 3);
  const v128_t b2 = wasm_v128_load32_splat(k + 4), c2 = wasm_v128_load32_splat(k + 5);
  const v128_t bc2 = wasm_v128_load32_splat(k + 6), eps = wasm_v128_load32_splat(k + 7);
  const v128_t neg_step = wasm_v128_load32_splat(k + 8);
  const int decayed = flags & ADAM_DECAY, l2ed = flags & ADAM_L2, ams = flags & ADAM_AMSGRAD;
  for (int i = 0; i < n; i += 4) {
    v128_t pi = wasm_v128_load(p + i), gi = wasm_v128_load(g + i);
    if (decayed) pi = wasm_f32x4_mul(pi, decay);
    if (l2ed) gi = madd64(gi, l2, pi);
    const v128_t mi = madd64(wasm_f32x4_mul(wasm_v128_load(m + i), b1), c1, gi);
    const v128_t vi = madd64(wasm_f32x4_mul(wasm_v128_load(v + i), b2), wasm_f32x4_mul(c2, gi), gi);
    wasm_v128_store(m + i, mi);
    wasm_v128_store(v + i, vi);
    v128_t second = vi;
    if (ams) {
      second = wasm_f32x4_max(wasm_v128_load(vmax + i), vi);
      wasm_v128_store(vmax + i, second);
    }
    const v128_t denom = wasm_f32x4_add(wasm_f32x4_div(wasm_f32x4_sqrt(second), bc2), eps);
    wasm_v128_store(p + i, wasm_f32x4_add(pi, wasm_f32x4_div(wasm_f32x4_mul(neg_step, mi), denom)));
  }
}

/*
 * One SGD step over elements [0, n) of the parameter p, gradient g and (with SGD_MOMENTUM) the momentum buffer
 * buf, updated in place. k holds the float32 constants [−lr, weight decay, momentum, 1 − dampening].
 */
void EXPORT(sgd_update)(float *p, const float *g, float *buf, int n, const float *k, int flags) {
  const v128_t neg_lr = wasm_v128_load32_splat(k), wd = wasm_v128_load32_splat(k + 1);
  const v128_t mom = wasm_v128_load32_splat(k + 2), keep = wasm_v128_load32_splat(k + 3);
  const int decayed = flags & SGD_DECAY, momentum = flags & SGD_MOMENTUM, first = flags & SGD_FIRST;
  const int nesterov = flags & SGD_NESTEROV;
  for (int i = 0; i < n; i += 4) {
    const v128_t pi = wasm_v128_load(p + i);
    v128_t d = wasm_v128_load(g + i);
    if (decayed) d = madd64(d, wd, pi);
    if (momentum) {
      const v128_t b = first ? d : madd64(wasm_f32x4_mul(wasm_v128_load(buf + i), mom), keep, d);
      wasm_v128_store(buf + i, b);
      d = nesterov ? madd64(d, mom, b) : b;
    }
    wasm_v128_store(p + i, madd64(pi, neg_lr, d));
  }
}
