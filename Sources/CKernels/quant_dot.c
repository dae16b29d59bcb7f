// Integer dot products between GGML weight blocks and 8-bit activations, as llama.cpp does them:
// the activations are rounded once per matrix product to blocks of 32 int8 values with an fp32
// scale, and each weight block is multiplied in integers, scaled once per block (per 16 values for
// Q6_K). A portable C path is the reference; AVX2 and AVX-512 VNNI paths (quant_simd_body.h,
// compiled twice with different target attributes) are chosen at run time.
#include "whet_quant.h"
#include "ckernels.h"
#include "quant_internal.h"
#include <math.h>
#include <string.h>

size_t whet_q8_row_bytes(int64_t n) { return (size_t)n + (size_t)(n / 32) * 4 + (size_t)(n / 16) * 2; }

void whet_quantize_q8_row(uint32_t type, const float *x, void *dst, int64_t n) {
    int8_t *q = (int8_t *)dst;
    float *d = (float *)((uint8_t *)dst + n);
    int16_t *s = (int16_t *)((uint8_t *)dst + n + n / 32 * 4);
    const int64_t block = whet_act_block(type);
    int sums[16];
    for (int64_t c = 0; c + block <= n; c += block) {
        whet_quantize_act_block(type, x + c, q + c, d + c / 32, sums);
        for (int g = 0; g < block / 16; g++) s[c / 16 + g] = (int16_t)sums[g];
    }
}

size_t whet_act_bytes(int level, int64_t n, int64_t ntok) {
    if (level >= WHET_QUANT_AVX512VNNI) return (size_t)((ntok + WHET_ACT_TILE - 1) / WHET_ACT_TILE) * whet_act_tile_bytes(n);
    return (size_t)ntok * whet_q8_row_bytes(n);
}

void whet_act_prepare(uint32_t type, int level, const float *x, int64_t n, int64_t t0, int64_t t1, void *dst) {
    if (level >= WHET_QUANT_AVX512VNNI) {
        whet_act_prepare_tiled(type, x, n, t0, t1, dst);
        return;
    }
    const size_t stride = whet_q8_row_bytes(n);
    for (int64_t t = t0; t < t1; t++) whet_quantize_q8_row(type, x + (size_t)t * (size_t)n, (uint8_t *)dst + (size_t)t * stride, n);
}

typedef struct {
    const int8_t *q;
    const float *d;
    const int16_t *s;
} act_row;

static inline act_row act_at(const void *act, size_t stride, int64_t t, int64_t n) {
    const uint8_t *base = (const uint8_t *)act + (size_t)t * stride;
    act_row a = {(const int8_t *)base, (const float *)(base + n), (const int16_t *)(base + n + n / 32 * 4)};
    return a;
}

static inline float half_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return whet_fp16_to_fp32(h);
}

static inline void k_scale_min(int j, const uint8_t *s, int *sc, int *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

static inline int dot32(const int8_t *w, const int8_t *a) {
    int s = 0;
    for (int j = 0; j < 32; j++) s += (int)w[j] * (int)a[j];
    return s;
}

// ---- portable path: decode each 32-value chunk to signed int8, multiply in integers ----

static float dot_q8_0(int64_t n, const uint8_t *w, act_row a) {
    float sum = 0;
    for (int64_t b = 0; b < n / 32; b++, w += 34) {
        sum += (float)dot32((const int8_t *)(w + 2), a.q + b * 32) * (half_at(w) * a.d[b]);
    }
    return sum;
}

static float dot_q4_0(int64_t n, const uint8_t *w, act_row a) {
    float sum = 0;
    int8_t v[32];
    for (int64_t b = 0; b < n / 32; b++, w += 18) {
        for (int j = 0; j < 16; j++) {
            v[j] = (int8_t)((w[2 + j] & 0x0F) - 8);
            v[j + 16] = (int8_t)((w[2 + j] >> 4) - 8);
        }
        sum += (float)dot32(v, a.q + b * 32) * (half_at(w) * a.d[b]);
    }
    return sum;
}

static float dot_q5_0(int64_t n, const uint8_t *w, act_row a) {
    float sum = 0;
    int8_t v[32];
    for (int64_t b = 0; b < n / 32; b++, w += 22) {
        uint32_t qh;
        memcpy(&qh, w + 2, 4);
        for (int j = 0; j < 16; j++) {
            v[j] = (int8_t)(((w[6 + j] & 0x0F) | (((qh >> j) & 1u) << 4)) - 16);
            v[j + 16] = (int8_t)(((w[6 + j] >> 4) | (((qh >> (j + 16)) & 1u) << 4)) - 16);
        }
        sum += (float)dot32(v, a.q + b * 32) * (half_at(w) * a.d[b]);
    }
    return sum;
}

static float dot_q4_k(int64_t n, const uint8_t *w, act_row a) {
    float sum = 0;
    int8_t v[32];
    for (int64_t sb = 0; sb < n / 256; sb++, w += 144) {
        const float d = half_at(w), dmin = half_at(w + 2);
        const uint8_t *q = w + 16;
        for (int j = 0; j < 8; j++) {
            int sc, m;
            k_scale_min(j, w + 4, &sc, &m);
            const uint8_t *qq = q + (j / 2) * 32;
            for (int l = 0; l < 32; l++) v[l] = (int8_t)((j & 1) ? (qq[l] >> 4) : (qq[l] & 0x0F));
            const int64_t blk = sb * 8 + j;
            const int asum = a.s[2 * blk] + a.s[2 * blk + 1];
            sum += a.d[blk] * ((float)dot32(v, a.q + blk * 32) * (d * (float)sc) - (float)asum * (dmin * (float)m));
        }
    }
    return sum;
}

static float dot_q5_k(int64_t n, const uint8_t *w, act_row a) {
    float sum = 0;
    int8_t v[32];
    for (int64_t sb = 0; sb < n / 256; sb++, w += 176) {
        const float d = half_at(w), dmin = half_at(w + 2);
        const uint8_t *qh = w + 16, *q = w + 48;
        for (int j = 0; j < 8; j++) {
            int sc, m;
            k_scale_min(j, w + 4, &sc, &m);
            const uint8_t *qq = q + (j / 2) * 32;
            for (int l = 0; l < 32; l++) {
                const int lo = (j & 1) ? (qq[l] >> 4) : (qq[l] & 0x0F);
                v[l] = (int8_t)(lo | (((qh[l] >> j) & 1) << 4));
            }
            const int64_t blk = sb * 8 + j;
            const int asum = a.s[2 * blk] + a.s[2 * blk + 1];
            sum += a.d[blk] * ((float)dot32(v, a.q + blk * 32) * (d * (float)sc) - (float)asum * (dmin * (float)m));
        }
    }
    return sum;
}

static float dot_q6_k(int64_t n, const uint8_t *w, act_row a) {
    float sum = 0;
    for (int64_t sb = 0; sb < n / 256; sb++, w += 210) {
        const float d = half_at(w + 208);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = w + 64 * h, *qh = w + 128 + 32 * h;
            const int8_t *sc = (const int8_t *)(w + 192 + 8 * h);
            for (int c = 0; c < 4; c++) {
                const int64_t blk = sb * 8 + h * 4 + c;
                const int8_t *aq = a.q + blk * 32;
                int part[2] = {0, 0};
                for (int l = 0; l < 32; l++) {
                    const int lo = (c >> 1) ? (ql[l + 32 * (c & 1)] >> 4) : (ql[l + 32 * (c & 1)] & 0x0F);
                    const int v = (lo | (((qh[l] >> (2 * c)) & 3) << 4)) - 32;
                    part[l / 16] += v * aq[l];
                }
                sum += (d * a.d[blk]) * (float)(sc[2 * c] * part[0] + sc[2 * c + 1] * part[1]);
            }
        }
    }
    return sum;
}

typedef float (*row_dot_fn)(int64_t, const uint8_t *, act_row);

static int portable_matmul(uint32_t type, int64_t n, const uint8_t *w, size_t ws, int64_t nrows,
                           const void *act, size_t as, int64_t ntok, float *y, size_t ys) {
    row_dot_fn f;
    switch (type) {
    case WHET_TYPE_Q8_0: f = dot_q8_0; break;
    case WHET_TYPE_Q4_0: f = dot_q4_0; break;
    case WHET_TYPE_Q5_0: f = dot_q5_0; break;
    case WHET_TYPE_Q4_K: f = dot_q4_k; break;
    case WHET_TYPE_Q5_K: f = dot_q5_k; break;
    case WHET_TYPE_Q6_K: f = dot_q6_k; break;
    default: return -1;
    }
    for (int64_t r = 0; r < nrows; r++) {
        for (int64_t t = 0; t < ntok; t++) y[(size_t)t * ys + r] = f(n, w + (size_t)r * ws, act_at(act, as, t, n));
    }
    return 0;
}

// ---- SIMD paths ----
#if defined(__x86_64__)
#include <immintrin.h>

#define KFN(name) name##_avx2
#define KTARGET __attribute__((target("avx2,fma,f16c")))
#define DP(acc, u, s) _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1)))
#include "quant_simd_body.h"
#undef KFN
#undef KTARGET
#undef DP

int whet_quant_best_level(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma"))
        return WHET_QUANT_AVX512VNNI;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        return WHET_QUANT_AVX2;
    return WHET_QUANT_PORTABLE;
}
#else
int whet_quant_best_level(void) { return WHET_QUANT_PORTABLE; }
#endif

int whet_quant_matmul(uint32_t type, int level, int64_t n, const void *w, size_t w_stride, int64_t nrows,
                      const void *act, int64_t ntok, float *y, size_t y_stride) {
#if defined(__x86_64__)
    if (level >= WHET_QUANT_AVX512VNNI)
        return whet_quant_matmul_vnni512(type, n, (const uint8_t *)w, w_stride, nrows, act, ntok, y, y_stride);
    if (level == WHET_QUANT_AVX2)
        return simd_matmul_avx2(type, n, (const uint8_t *)w, w_stride, nrows, act, whet_q8_row_bytes(n), ntok, y, y_stride);
#endif
    (void)level;
    return portable_matmul(type, n, (const uint8_t *)w, w_stride, nrows, act, whet_q8_row_bytes(n), ntok, y, y_stride);
}
