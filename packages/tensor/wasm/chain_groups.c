/*
 * A run of a chain's layers by groups of images: a thread takes the next group and runs every layer of the run on
 * it, so that a layer reads its input while the previous layer's writes are still in this core's cache, and the
 * threads meet once per run instead of once per layer. Each layer's kernel computes the same sums for an image
 * whatever images it is given, so the results are the layer-at-a-time ones bit for bit.
 *
 * The program (int32): [steps, images, group], then per step STEP_INTS ints: [kind, unit, args...], where `unit` is
 * the kernel's range per image (a GEMM's columns, a 3×3 depthwise kernel's planes, one for the small-plane kernel).
 */
#include "kernels.h"

#define STEP_INTS 8
#define STEP_GEMM 0       /* args: desc, m */
#define STEP_DEPTHWISE3 1 /* args: geo, x, w, y, ep */
#define STEP_SMALL 2      /* args: geo, x, w, y, ep, channels */

typedef struct {
  int kind, unit, a[STEP_INTS - 2];
} step;

typedef struct {
  int steps, images, group;
  step s[];
} program;

#define PTR(type, v) ((type)(long)(v))

/* Every step of `p` on images [i0, i1). */
static void run_group(const program *p, int i0, int i1, float *gemm_scratch, float *dw_scratch) {
  for (int k = 0; k < p->steps; k++) {
    const step *s = &p->s[k];
    const int *a = s->a;
    if (s->kind == STEP_GEMM) {
      gemm_run(PTR(const gemm_desc *, a[0]), 0, a[1], i0 * s->unit, i1 * s->unit, gemm_scratch);
    } else if (s->kind == STEP_DEPTHWISE3) {
      depthwise3_forward(PTR(const conv_geo *, a[0]), PTR(const float *, a[1]), PTR(const float *, a[2]),
                         PTR(float *, a[3]), i0 * s->unit, i1 * s->unit, PTR(const affine_ep *, a[4]), dw_scratch);
    } else {
      depthwise_small_forward(PTR(const conv_geo *, a[0]), PTR(const float *, a[1]), PTR(const float *, a[2]),
                              PTR(float *, a[3]), 0, a[5], i0 * s->unit, i1 * s->unit, PTR(const affine_ep *, a[4]));
    }
  }
}

/*
 * Takes groups from the shared counter `*next` (zero at the start) until none is left and runs the program on each,
 * with this thread's GEMM scratch and 3×3 depthwise scratch.
 */
void EXPORT(chain_groups_run)(const program *p, int *next, float *gemm_scratch, float *dw_scratch) {
  const int groups = (p->images + p->group - 1) / p->group;
  for (;;) {
    const int g = __atomic_fetch_add(next, 1, __ATOMIC_SEQ_CST);
    if (g >= groups) return;
    const int i0 = g * p->group, i1 = i0 + p->group < p->images ? i0 + p->group : p->images;
    run_group(p, i0, i1, gemm_scratch, dw_scratch);
  }
}
