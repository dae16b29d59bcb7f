// Rounding through fp16, as llama.cpp's fp16 tensors do (its KV cache, its GELU table).
#include "ckernels.h"
#include <math.h>
#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("avx2,f16c"))) static void round_fp16_f16c(float *x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm256_storeu_ps(x + i, _mm256_cvtph_ps(h));
    }
    for (; i < n; i++) x[i] = whet_fp16_to_fp32(whet_fp32_to_fp16(x[i]));
}

static int has_f16c(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
}
#endif

void whet_round_to_fp16_row(float *x, size_t n) {
#if defined(__x86_64__)
    if (has_f16c()) {
        round_fp16_f16c(x, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) x[i] = whet_fp16_to_fp32(whet_fp32_to_fp16(x[i]));
}

// ggml's GELU table: gelu_tanh of every fp16 value, stored as fp16 (ggml_table_gelu_f16).
static uint16_t gelu_table[1 << 16];
static pthread_once_t gelu_once = PTHREAD_ONCE_INIT;

static void fill_gelu_table(void) {
    for (uint32_t i = 0; i < (1u << 16); i++) {
        const float x = whet_fp16_to_fp32((uint16_t)i);
        const float y = 0.5f * x * (1.0f + tanhf(0.79788456080286535587989211986876f * x * (1.0f + 0.044715f * x * x)));
        gelu_table[i] = whet_fp32_to_fp16(y);
    }
}

static inline float gelu_from_table(float x) {
    if (x <= -10.0f) return 0.0f;
    if (x >= 10.0f) return x;
    return whet_fp16_to_fp32(gelu_table[whet_fp32_to_fp16(x)]);
}

#if defined(__x86_64__)
__attribute__((target("avx2,f16c"))) static void gelu_product_f16c(const float *gate, const float *up, float *out, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(gate + i);
        uint16_t index[8], value[8];
        _mm_storeu_si128((__m128i *)index, _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
        for (int j = 0; j < 8; j++) value[j] = gelu_table[index[j]];
        __m256 y = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)value));
        y = _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, _mm256_set1_ps(10.0f), _CMP_GE_OQ));
        y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, _mm256_set1_ps(-10.0f), _CMP_LE_OQ));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(y, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) out[i] = gelu_from_table(gate[i]) * up[i];
}
#endif

void whet_gelu_fp16_table_product(const float *gate, const float *up, float *out, size_t n) {
    pthread_once(&gelu_once, fill_gelu_table);
#if defined(__x86_64__)
    if (has_f16c()) {
        gelu_product_f16c(gate, up, out, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) {
        out[i] = gelu_from_table(gate[i]) * up[i];
    }
}
