/*
 * A run of a chain's layers by groups of images: a thread takes the next few images and runs every layer of the
 * run on them, so that a layer reads its input while the previous layer's writes are still in this core's cache,
 * and the threads meet once per run instead of once per layer. Each layer's kernel computes the same sums for an
 * image whatever images it is given, so the results are the layer-at-a-time ones bit for bit.
 *
 * The program (int32): [steps, images, group, lanes], then per step STEP_INTS ints: [kind, unit, args...], where
 * `unit` is the kernel's range per image (a GEMM's columns, a 3×3 depthwise kernel's planes, one for the
 * small-plane kernel). Each thread has a lane of its own for a convolution's im2col columns of one group and the
 * GEMM that reads them.
 */
#include "kernels.h"

#define STEP_INTS 8
#define STEP_GEMM 0       /* args: desc, m */
#define STEP_DEPTHWISE3 1 /* args: geo, x, w, y, ep */
#define STEP_SMALL 2      /* args: geo, x, w, y, ep, channels */
#define STEP_IM2COL 3     /* args: geo, x, desc (the GEMM over the whole batch; B is set to the lane's columns), rows */

void im2col(const conv_geo *g, const float *x, int c0, int n0, int n1, float *col, int r0, int r1);

/* A thread's lane (LANE_HEADER floats, then the im2col columns, 64-byte aligned as the lane is). */
#define LANE_HEADER 32
typedef struct {
  union {
    gemm_desc desc;
    float header[LANE_HEADER];
  };
  float col[];
} lane;
_Static_assert(sizeof(gemm_desc) <= LANE_HEADER * sizeof(float), "the descriptor fits the lane's header");

typedef struct {
  int kind, unit, a[STEP_INTS - 2];
} step;

typedef struct {
  int steps, images, group, lanes;
  step s[];
} program;

#define PTR(type, v) ((type)(long)(v))

/* Every step of `p` on images [i0, i1). */
static void run_group(const program *p, int i0, int i1, float *gemm_scratch, float *dw_scratch, lane *ln) {
  for (int k = 0; k < p->steps; k++) {
    const step *s = &p->s[k];
    const int *a = s->a;
    if (s->kind == STEP_GEMM) {
      gemm_run(PTR(const gemm_desc *, a[0]), 0, a[1], i0 * s->unit, i1 * s->unit, gemm_scratch);
    } else if (s->kind == STEP_DEPTHWISE3) {
      depthwise3_forward(PTR(const conv_geo *, a[0]), PTR(const float *, a[1]), PTR(const float *, a[2]),
                         PTR(float *, a[3]), i0 * s->unit, i1 * s->unit, PTR(const affine_ep *, a[4]), dw_scratch);
    } else if (s->kind == STEP_IM2COL) {
      /* the group's columns in the lane, then the whole batch's GEMM on them: C from image i0 on */
      const gemm_desc *t = PTR(const gemm_desc *, a[2]);
      const int np = (i1 - i0) * s->unit;
      im2col(PTR(const conv_geo *, a[0]), PTR(const float *, a[1]), 0, i0, i1, ln->col, 0, a[3]);
      ln->desc = *t;
      ln->desc.n = np;
      ln->desc.b = ln->col;
      ln->desc.b_row.stride = np;
      ln->desc.c = t->c + (long)i0 * t->c_col.seg_stride;
      gemm_run(&ln->desc, 0, t->m, 0, np, gemm_scratch);
    } else {
      depthwise_small_forward(PTR(const conv_geo *, a[0]), PTR(const float *, a[1]), PTR(const float *, a[2]),
                              PTR(float *, a[3]), 0, a[5], i0 * s->unit, i1 * s->unit, PTR(const affine_ep *, a[4]));
    }
  }
}

/*
 * Takes images from the shared counter `*next` (zero at the start) until none is left and runs the program on them,
 * with this thread's GEMM scratch, 3×3 depthwise scratch and lane: `group` images at a time, fewer towards the end
 * (a quarter of what is left per thread, at least one image), so that the threads finish close together.
 */
void EXPORT(chain_groups_run)(const program *p, int *next, float *gemm_scratch, float *dw_scratch, lane *ln) {
  for (;;) {
    int i0 = __atomic_load_n(next, __ATOMIC_SEQ_CST), take;
    do {
      if (i0 >= p->images) return;
      take = (p->images - i0) / (2 * p->lanes);
      take = take < 1 ? 1 : take > p->group ? p->group : take;
    } while (!__atomic_compare_exchange_n(next, &i0, i0 + take, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    run_group(p, i0, i0 + take, gemm_scratch, dw_scratch, ln);
  }
}
