/**
 * @hqat/qtensor — the quantization arithmetic of SPEC.md as pure functions on typed arrays:
 * quantized types and `QTensor`, rounding, quantize / dequantize / fake quantize with their gradient
 * kernels, the scale rule and observers, requantization, the integer reference kernels, qconfig presets
 * and `FakeQuantState`.
 * @module
 */

export * from "./src/dtypes.ts";
export * from "./src/layout.ts";
export * from "./src/rounding.ts";
export * from "./src/quantize.ts";
export * from "./src/fake_quant_grad.ts";
export * from "./src/scale.ts";
export * from "./src/observer.ts";
export * from "./src/observer_minmax.ts";
export * from "./src/observer_histogram.ts";
export * from "./src/observer_sq_error.ts";
export * from "./src/observer_batch_stats.ts";
export * from "./src/observer_percentile.ts";
export * from "./src/observer_mse.ts";
export * from "./src/observer_kl.ts";
export * from "./src/observer_config.ts";
export * from "./src/requantize.ts";
export * from "./src/int_output.ts";
export * from "./src/int_accumulate.ts";
export * from "./src/int_conv.ts";
export * from "./src/int_add.ts";
export * from "./src/int_mul.ts";
export * from "./src/int_broadcast.ts";
export * from "./src/int_movement.ts";
export * from "./src/int_lut.ts";
export * from "./src/int_resize.ts";
export * from "./src/int_reduce.ts";
export * from "./src/int_matmul.ts";
export * from "./src/int_conv_transpose.ts";
export * from "./src/int_softmax.ts";
export * from "./src/int_pool.ts";
export * from "./src/int_pool_window.ts";
export * from "./src/int_activation.ts";
export * from "./src/int_cat.ts";
export * from "./src/stubs.ts";
export * from "./src/fake_quant_state.ts";
export * from "./src/qconfig.ts";
export * from "./src/calib_method.ts";
