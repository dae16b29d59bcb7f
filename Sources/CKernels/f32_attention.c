// fp32 dot products and weighted sums for attention, with one canonical order on every level, so a
// CPU's choice of level never changes a result (the same rule as the quantized kernels):
// - dot(a, b) over n values: 16 lanes start at +0, value i goes into lane i mod 16 as
//   lane = fma(a[i], b[i], lane) in increasing i, and the lanes are summed as a tree
//   (l + l+8, l + l+4, l + l+2, 0 + 1).
// - weighted sum: out[c] = fma(p[j], v[j][c], out[c]) for j in increasing order, per element.
// OpenBLAS was used here before; its kernel (and so its summation order) depends on the CPU.
#include "ckernels.h"
#include <math.h>
#include <string.h>

static float dot_portable(const float *a, const float *b, int64_t n) {
    float acc[16] = {0};
    for (int64_t i = 0; i < n; i++) acc[i & 15] = fmaf(a[i], b[i], acc[i & 15]);
    float r8[8], r4[4];
    for (int l = 0; l < 8; l++) r8[l] = acc[l] + acc[l + 8];
    for (int l = 0; l < 4; l++) r4[l] = r8[l] + r8[l + 4];
    return (r4[0] + r4[2]) + (r4[1] + r4[3]);
}

static void weighted_sum_portable(const float *p, const float *v, size_t vstride, int64_t count, int64_t n, float *out, int accumulate) {
    if (!accumulate) memset(out, 0, (size_t)n * sizeof(float));
    for (int64_t j = 0; j < count; j++) {
        const float pj = p[j], *vj = v + (size_t)j * vstride;
        for (int64_t c = 0; c < n; c++) out[c] = fmaf(pj, vj[c], out[c]);
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define T2 __attribute__((target("avx2,fma")))
#define T512 __attribute__((target("avx2,fma,avx512f,avx512dq")))

T2 static inline float tree8x2(__m256 lo, __m256 hi) {
    const __m256 v = _mm256_add_ps(lo, hi);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// Lanes i < left of an 8-lane mask set (for maskload and blends).
T2 static inline __m256i mask8(int64_t left) {
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(left < 8 ? (left < 0 ? 0 : left) : 8)), index);
}

/// acc = fma(a, b, acc) in the lanes of `mask`, acc unchanged elsewhere.
T2 static inline __m256 masked_fma8(__m256 a, __m256 b, __m256 acc, __m256i mask) {
    return _mm256_blendv_ps(acc, _mm256_fmadd_ps(a, b, acc), _mm256_castsi256_ps(mask));
}

T2 static void dots_avx2(const float *q, const float *k, size_t kstride, int64_t count, int64_t n, float *out) {
    const int64_t full = n / 16 * 16;
    int64_t j = 0;
    for (; j + 4 <= count; j += 4) {
        const float *k0 = k + (size_t)j * kstride, *k1 = k0 + kstride, *k2 = k1 + kstride, *k3 = k2 + kstride;
        __m256 lo[4], hi[4];
        for (int r = 0; r < 4; r++) lo[r] = hi[r] = _mm256_setzero_ps();
        for (int64_t i = 0; i < full; i += 16) {
            const __m256 ql = _mm256_loadu_ps(q + i), qh = _mm256_loadu_ps(q + i + 8);
            lo[0] = _mm256_fmadd_ps(ql, _mm256_loadu_ps(k0 + i), lo[0]); hi[0] = _mm256_fmadd_ps(qh, _mm256_loadu_ps(k0 + i + 8), hi[0]);
            lo[1] = _mm256_fmadd_ps(ql, _mm256_loadu_ps(k1 + i), lo[1]); hi[1] = _mm256_fmadd_ps(qh, _mm256_loadu_ps(k1 + i + 8), hi[1]);
            lo[2] = _mm256_fmadd_ps(ql, _mm256_loadu_ps(k2 + i), lo[2]); hi[2] = _mm256_fmadd_ps(qh, _mm256_loadu_ps(k2 + i + 8), hi[2]);
            lo[3] = _mm256_fmadd_ps(ql, _mm256_loadu_ps(k3 + i), lo[3]); hi[3] = _mm256_fmadd_ps(qh, _mm256_loadu_ps(k3 + i + 8), hi[3]);
        }
        if (full < n) {
            const __m256i m0 = mask8(n - full), m1 = mask8(n - full - 8);
            const __m256 ql = _mm256_maskload_ps(q + full, m0), qh = _mm256_maskload_ps(q + full + 8, m1);
            const float *rows[4] = {k0, k1, k2, k3};
            for (int r = 0; r < 4; r++) {
                lo[r] = masked_fma8(ql, _mm256_maskload_ps(rows[r] + full, m0), lo[r], m0);
                hi[r] = masked_fma8(qh, _mm256_maskload_ps(rows[r] + full + 8, m1), hi[r], m1);
            }
        }
        for (int r = 0; r < 4; r++) out[j + r] = tree8x2(lo[r], hi[r]);
    }
    for (; j < count; j++) {
        const float *kj = k + (size_t)j * kstride;
        __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
        for (int64_t i = 0; i < full; i += 16) {
            lo = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(kj + i), lo);
            hi = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), _mm256_loadu_ps(kj + i + 8), hi);
        }
        if (full < n) {
            const __m256i m0 = mask8(n - full), m1 = mask8(n - full - 8);
            lo = masked_fma8(_mm256_maskload_ps(q + full, m0), _mm256_maskload_ps(kj + full, m0), lo, m0);
            hi = masked_fma8(_mm256_maskload_ps(q + full + 8, m1), _mm256_maskload_ps(kj + full + 8, m1), hi, m1);
        }
        out[j] = tree8x2(lo, hi);
    }
}

T2 static void weighted_sum_avx2(const float *p, const float *v, size_t vstride, int64_t count, int64_t n, float *out, int accumulate) {
    int64_t c = 0;
    for (; c + 64 <= n; c += 64) {
        __m256 acc[8];
        for (int u = 0; u < 8; u++) acc[u] = accumulate ? _mm256_loadu_ps(out + c + 8 * u) : _mm256_setzero_ps();
        for (int64_t j = 0; j < count; j++) {
            const __m256 pj = _mm256_set1_ps(p[j]);
            const float *vj = v + (size_t)j * vstride + c;
            for (int u = 0; u < 8; u++) acc[u] = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 8 * u), acc[u]);
        }
        for (int u = 0; u < 8; u++) _mm256_storeu_ps(out + c + 8 * u, acc[u]);
    }
    for (; c + 8 <= n; c += 8) {
        __m256 acc = accumulate ? _mm256_loadu_ps(out + c) : _mm256_setzero_ps();
        for (int64_t j = 0; j < count; j++) acc = _mm256_fmadd_ps(_mm256_set1_ps(p[j]), _mm256_loadu_ps(v + (size_t)j * vstride + c), acc);
        _mm256_storeu_ps(out + c, acc);
    }
    for (; c < n; c++) {
        float acc = accumulate ? out[c] : 0.0f;
        for (int64_t j = 0; j < count; j++) acc = fmaf(p[j], v[(size_t)j * vstride + c], acc);
        out[c] = acc;
    }
}

T512 static inline float tree16(__m512 v) {
    const __m256 r8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(r8), _mm256_extractf128_ps(r8, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

T512 static void dots_avx512(const float *q, const float *k, size_t kstride, int64_t count, int64_t n, float *out) {
    const int64_t full = n / 16 * 16;
    const __mmask16 tail = (__mmask16)((1u << (n - full)) - 1u);
    int64_t j = 0;
    for (; j + 4 <= count; j += 4) {
        const float *k0 = k + (size_t)j * kstride, *k1 = k0 + kstride, *k2 = k1 + kstride, *k3 = k2 + kstride;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int64_t i = 0; i < full; i += 16) {
            const __m512 qv = _mm512_loadu_ps(q + i);
            a0 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k0 + i), a0);
            a1 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k1 + i), a1);
            a2 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k2 + i), a2);
            a3 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k3 + i), a3);
        }
        if (tail) {
            const __m512 qv = _mm512_maskz_loadu_ps(tail, q + full);
            a0 = _mm512_mask3_fmadd_ps(qv, _mm512_maskz_loadu_ps(tail, k0 + full), a0, tail);
            a1 = _mm512_mask3_fmadd_ps(qv, _mm512_maskz_loadu_ps(tail, k1 + full), a1, tail);
            a2 = _mm512_mask3_fmadd_ps(qv, _mm512_maskz_loadu_ps(tail, k2 + full), a2, tail);
            a3 = _mm512_mask3_fmadd_ps(qv, _mm512_maskz_loadu_ps(tail, k3 + full), a3, tail);
        }
        out[j] = tree16(a0); out[j + 1] = tree16(a1); out[j + 2] = tree16(a2); out[j + 3] = tree16(a3);
    }
    for (; j < count; j++) {
        const float *kj = k + (size_t)j * kstride;
        __m512 a = _mm512_setzero_ps();
        for (int64_t i = 0; i < full; i += 16) a = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), _mm512_loadu_ps(kj + i), a);
        if (tail) a = _mm512_mask3_fmadd_ps(_mm512_maskz_loadu_ps(tail, q + full), _mm512_maskz_loadu_ps(tail, kj + full), a, tail);
        out[j] = tree16(a);
    }
}

T512 static void weighted_sum_avx512(const float *p, const float *v, size_t vstride, int64_t count, int64_t n, float *out, int accumulate) {
    int64_t c = 0;
    for (; c + 128 <= n; c += 128) {
        __m512 acc[8];
        for (int u = 0; u < 8; u++) acc[u] = accumulate ? _mm512_loadu_ps(out + c + 16 * u) : _mm512_setzero_ps();
        for (int64_t j = 0; j < count; j++) {
            const __m512 pj = _mm512_set1_ps(p[j]);
            const float *vj = v + (size_t)j * vstride + c;
            for (int u = 0; u < 8; u++) acc[u] = _mm512_fmadd_ps(pj, _mm512_loadu_ps(vj + 16 * u), acc[u]);
        }
        for (int u = 0; u < 8; u++) _mm512_storeu_ps(out + c + 16 * u, acc[u]);
    }
    for (; c < n; c += 16) {
        const __mmask16 m = n - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - c)) - 1u);
        __m512 acc = accumulate ? _mm512_maskz_loadu_ps(m, out + c) : _mm512_setzero_ps();
        for (int64_t j = 0; j < count; j++)
            acc = _mm512_fmadd_ps(_mm512_set1_ps(p[j]), _mm512_maskz_loadu_ps(m, v + (size_t)j * vstride + c), acc);
        _mm512_mask_storeu_ps(out + c, m, acc);
    }
}

int whet_f32_best_level(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma")) return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
    return 0;
}
#else
int whet_f32_best_level(void) { return 0; }
#endif

void whet_f32_dots(int level, const float *q, const float *k, size_t kstride, int64_t count, int64_t n, float *out) {
#if defined(__x86_64__)
    if (level >= 2) { dots_avx512(q, k, kstride, count, n, out); return; }
    if (level == 1) { dots_avx2(q, k, kstride, count, n, out); return; }
#endif
    (void)level;
    for (int64_t j = 0; j < count; j++) out[j] = dot_portable(q, k + (size_t)j * kstride, n);
}

void whet_f32_weighted_sum(int level, const float *p, const float *v, size_t vstride, int64_t count, int64_t n, float *out, int accumulate) {
#if defined(__x86_64__)
    if (level >= 2) { weighted_sum_avx512(p, v, vstride, count, n, out, accumulate); return; }
    if (level == 1) { weighted_sum_avx2(p, v, vstride, count, n, out, accumulate); return; }
#endif
    (void)level;
    weighted_sum_portable(p, v, vstride, count, n, out, accumulate);
}
