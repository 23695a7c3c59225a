/*
 * The float kernels that other kernels call: their descriptors and entry points (chain_groups.c runs a chain's
 * layers through them).
 */
#ifndef HQAT_KERNELS_H
#define HQAT_KERNELS_H

#include "affine.h"
#include "common.h"

/* One dimension of a GEMM operand: offset(i) = (i / seg) * seg_stride + (i % seg) * stride, in floats. */
typedef struct {
  int seg, seg_stride, stride;
} dmap;

/* A GEMM C (+)= A · B as gemm.ts writes it. */
typedef struct {
  int m, n, k, accumulate;
  const float *a;
  dmap a_row, a_col;
  const float *b;
  dmap b_row, b_col;
  float *c;
  dmap c_row, c_col;
  /* when not null, C's row i is finished with scale[i], shift[i], the clamp (and the residual) after the last
   * k panel */
  const affine_ep *ep;
  /* when not null, A (row-major, rows k floats apart) as gemm_pack_rows packed it */
  const float *packed_a;
} gemm_desc;

/* The block [m0, m1) × [n0, n1) of C (gemm.c). */
void gemm_run(const gemm_desc *d, int m0, int m1, int n0, int n1, float *scratch);

/* Planes [q0, q1) (image · channels + channel) of a 3×3 depthwise convolution (depthwise3.c). */
void depthwise3_forward(const conv_geo *g, const float *x, const float *w, float *y, int q0, int q1,
                        const affine_ep *ep, float *scratch);

/* Channels [c0, c1) of images [n0, n1) of a 3×3 depthwise convolution on small planes (depthwise_small.c). */
void depthwise_small_forward(const conv_geo *g, const float *x, const float *w, float *y, int c0, int c1, int n0,
                             int n1, const affine_ep *ep);

#endif
