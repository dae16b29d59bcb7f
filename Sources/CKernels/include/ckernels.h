#ifndef WHET_CKERNELS_H
#define WHET_CKERNELS_H
// Small C kernels that need intrinsics or bit tricks Swift makes awkward.
// Everything here is pure: no allocation, no global state beyond cached CPU feature flags.
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// IEEE 754 half precision <-> single precision (round to nearest even, NaN and Inf preserved).
float whet_fp16_to_fp32(uint16_t h);
uint16_t whet_fp32_to_fp16(float f);
void whet_fp16_to_fp32_row(const uint16_t *src, float *dst, size_t n);
void whet_fp32_to_fp16_row(const float *src, uint16_t *dst, size_t n);

/// bfloat16 <-> single precision (round to nearest even; NaN stays NaN).
float whet_bf16_to_fp32(uint16_t h);
uint16_t whet_fp32_to_bf16(float f);
void whet_bf16_to_fp32_row(const uint16_t *src, float *dst, size_t n);
void whet_fp32_to_bf16_row(const float *src, uint16_t *dst, size_t n);

/// x[i] = fp32(fp16(x[i])) in place (round to nearest even): what storing into an fp16 tensor and
/// reading back does (llama.cpp's fp16 KV cache).
void whet_round_to_fp16_row(float *x, size_t n);
/// out[i] = gelu_tanh(gate[i]) · up[i] through ggml's fp16 GELU table: for -10 < x < 10 the input is
/// rounded to fp16 and the table holds fp16(gelu_tanh(x)); x ≤ -10 gives 0, x ≥ 10 gives x.
/// `out` may alias `gate`.
void whet_gelu_fp16_table_product(const float *gate, const float *up, float *out, size_t n);

/// Training's GELU-tanh gate: out[i] = gelu_tanh(gate[i]) · up[i], and its backward accumulating
/// dgate[i] += dy[i]·up[i]·gelu'(gate[i]), dup[i] += dy[i]·gelu(gate[i]) (either may be NULL).
/// AVX-512 when the CPU has it (tanh through a polynomial exp, ~1e-7 relative), else tanhf.
void whet_gelu_tanh_product(const float *gate, const float *up, float *out, size_t n);
void whet_gelu_tanh_product_backward(const float *gate, const float *up, const float *dy, float *dgate, float *dup, size_t n);

/// fp32 kernels for attention with one canonical order on every level (f32_attention.c), so results
/// never depend on which level a CPU runs. Levels: 0 portable C, 1 AVX2+FMA, 2 AVX-512F.
int whet_f32_best_level(void);
/// out[j] = Σ_i q[i]·k[j·kstride + i] over n values, for j in 0..<count.
void whet_f32_dots(int level, const float *q, const float *k, size_t kstride, int64_t count, int64_t n, float *out);
/// out[c] = (accumulate ? out[c] : 0) + Σ_j p[j]·v[j·vstride + c] for c in 0..<n (one fma per term, j ascending).
void whet_f32_weighted_sum(int level, const float *p, const float *v, size_t vstride, int64_t count, int64_t n, float *out, int accumulate);

/// A hint to the CPU inside spin-wait loops (PAUSE on x86, YIELD on ARM).
static inline void whet_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#ifdef __cplusplus
}
#endif
#endif
