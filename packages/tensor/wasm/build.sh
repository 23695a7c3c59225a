#!/usr/bin/env bash
# Rebuilds src/cpu/wasm_module.ts (the WebAssembly kernels as base64) from the C sources here.
#
#   bash packages/tensor/wasm/build.sh [OUTPUT.ts]
#
# Needs clang 14 with wasm-ld (the committed module comes from it) and wabt (wasm2wat, wat2wasm).
# The module is compiled for SIMD128 on a shared, imported memory; the calls of the `hqat_fmadd` and
# `hqat_dot_i8i7_add` imports are then rewritten into the relaxed-SIMD instructions f32x4.relaxed_madd
# and i32x4.relaxed_dot_i8x16_i7x16_add_s (clang 14 knows only older encodings of them).
set -euo pipefail
# Debian installs clang 14 and wasm-ld under their unversioned names here.
if [ -x /usr/lib/llvm-14/bin/clang ]; then PATH="/usr/lib/llvm-14/bin:$PATH"; fi
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../src/cpu/wasm_module.ts}"
extra_cflags="${HQAT_WASM_CFLAGS:-}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# shellcheck disable=SC2086
clang --target=wasm32 -O3 -msimd128 -matomics -mbulk-memory -nostdlib -ffreestanding $extra_cflags \
  -Wl,--no-entry -Wl,--import-memory -Wl,--shared-memory -Wl,--max-memory=4294967296 \
  -Wl,--export=__heap_base \
  -o "$tmp/raw.wasm" "$here/gemm.c" "$here/im2col.c" "$here/depthwise.c" "$here/depthwise_cl.c" "$here/depthwise3.c" "$here/depthwise3_direct.c" "$here/depthwise_small.c" "$here/chain_groups.c" \
  "$here/int_gemm.c" "$here/int_im2col.c" "$here/int_depthwise.c" "$here/int_depthwise_small.c" "$here/int_depthwise_rows.c" "$here/int_depthwise_lanes.c" \
  "$here/int_requant.c" "$here/quantize.c" "$here/int_conv_s2.c" \
  "$here/batch_norm.c" "$here/optim.c"
wasm2wat --enable-threads --enable-relaxed-simd "$tmp/raw.wasm" -o "$tmp/raw.wat"
if grep -q 'global.get \$__stack_pointer' "$tmp/raw.wat"; then
  echo "build.sh: a kernel uses the linear-memory stack, which two threads would share" >&2
  exit 1
fi
# wabt 1.0.32 names the relaxed dot product i32x4.dot_i8x16_i7x16_add_s (opcode 0xfd 0x113, its final one).
sed -e '/(import "env" "hqat_fmadd"/d' -e 's/call \$hqat_fmadd$/f32x4.relaxed_madd/' \
  -e '/(import "env" "hqat_dot_i8i7_add"/d' -e 's/call \$hqat_dot_i8i7_add$/i32x4.dot_i8x16_i7x16_add_s/' \
  "$tmp/raw.wat" >"$tmp/k.wat"
if grep -q 'hqat_fmadd\|hqat_dot_i8i7_add' "$tmp/k.wat"; then
  echo "build.sh: a call of hqat_fmadd was left in the module" >&2
  exit 1
fi
wat2wasm --enable-threads --enable-relaxed-simd "$tmp/k.wat" -o "$tmp/k.wasm"

{
  echo "/**"
  echo " * The WebAssembly kernels (float32 and exact integer; SIMD128, relaxed fused multiply-add, shared memory)"
  echo " * as base64."
  echo " * Written by packages/tensor/wasm/build.sh from the C sources beside it: rerun that script rather"
  echo " * than editing this file."
  echo " * @module"
  echo " */"
  echo ""
  echo "/** The module bytes, base64-encoded. */"
  echo "export const WASM_KERNELS_BASE64: string = ["
  base64 -w 96 "$tmp/k.wasm" | sed -e 's/^/  "/' -e 's/$/",/'
  echo '].join("");'
} >"$out"
