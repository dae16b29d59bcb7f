#ifndef WHET_QUANT_H
#define WHET_QUANT_H
// GGML block formats: dequantization and dot products on the blocks themselves.
// Type numbers are ggml's (`GGMLType` in Swift). Pure functions; the only state is the CPU
// feature level, which callers pass in explicitly (see whet_quant_best_level).
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    WHET_TYPE_F32 = 0, WHET_TYPE_F16 = 1, WHET_TYPE_Q4_0 = 2, WHET_TYPE_Q5_0 = 6, WHET_TYPE_Q8_0 = 8,
    WHET_TYPE_Q4_K = 12, WHET_TYPE_Q5_K = 13, WHET_TYPE_Q6_K = 14, WHET_TYPE_BF16 = 30,
};

/// 1 if this file's dequantizer and dot kernels handle `type`.
int whet_quant_supported(uint32_t type);

/// Dequantizes `n` values (a whole number of blocks) starting at the block `src` points to.
/// Returns 0, or -1 for an unsupported type. The arithmetic is ggml's, operation for operation
/// (no fused multiply-add), so results are bit-identical to ggml and the gguf Python package.
int whet_dequantize(uint32_t type, const void *src, float *dst, int64_t n);

/// Kernel levels: 0 portable C, 1 AVX2+FMA+F16C, 2 AVX-512 F/VL/BW/DQ + VNNI (512-bit vectors).
enum { WHET_QUANT_PORTABLE = 0, WHET_QUANT_AVX2 = 1, WHET_QUANT_AVX512VNNI = 2 };

/// The best level this CPU runs (checked once with __builtin_cpu_supports).
int whet_quant_best_level(void);

/// Activations quantized to 8 bits for the integer dot products, one row of `n` values (n a
/// multiple of 32; of 256 for K-quant weights) laid out as: int8 q[n]; float d[n/32] (x ≈ d·q per
/// block of 32); int16 sum16[n/16] (sums of q over each 16 values, for the formats with an offset
/// or minimum). The rounding is llama.cpp's for weights of `type` (see whet_quantize_act_block).
size_t whet_q8_row_bytes(int64_t n);
void whet_quantize_q8_row(uint32_t type, const float *x, void *dst, int64_t n);

/// Tokens per activation tile of level 2.
enum { WHET_ACT_TILE = 16 };

/// Bytes of the activations of `ntok` rows of `n` values in the layout kernel `level` reads:
/// levels 0 and 1 use whet_quantize_q8_row rows back to back; level 2 groups 16 tokens in a tile
/// interleaved by block pair with per-type integer offsets (see quant_vnni512.c).
size_t whet_act_bytes(int level, int64_t n, int64_t ntok);
/// Quantizes rows t0..<t1 of x ([ntok, n] row-major, x points to row 0) into `dst` for a product
/// with weights of `type` at `level`. Disjoint token ranges may be prepared in parallel.
void whet_act_prepare(uint32_t type, int level, const float *x, int64_t n, int64_t t0, int64_t t1, void *dst);

/// y[t*y_stride + r] = Σ_c W[r, c] · x_t[c] for r in 0..<nrows, t in 0..<ntok, where row r of W is
/// at w + r*w_stride (type `type`, n values) and `act` holds x prepared by whet_act_prepare for
/// the same type and level. Returns 0, or -1 for a type without an integer kernel (float types).
/// `level` must not exceed whet_quant_best_level().
int whet_quant_matmul(uint32_t type, int level, int64_t n, const void *w, size_t w_stride, int64_t nrows,
                      const void *act, int64_t ntok, float *y, size_t y_stride);

#ifdef __cplusplus
}
#endif
#endif
