// Integer dot products between GGML weight blocks and 8-bit activations, as llama.cpp does them:
// the activations are rounded once per matrix product to blocks of 32 int8 values with an fp32
// scale, and each weight block is multiplied in integers, scaled once per block (per 16 values for
// Q6_K). A portable C path is the reference; the AVX2 (quant_simd_body.h) and AVX-512 VNNI
// (quant_vnni512.c) paths are chosen at run time and give bit-identical results (canonical order
// below).
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

// ---- Canonical order ----
// Every level computes the same float operations in the same order, so the kernel level a CPU
// picks never changes a result (QuantizedMatrixTests.levelsAreBitIdentical):
// - 16 fp32 lanes per token start at +0. Blocks of 32 values go in pairs: block 2P feeds lanes
//   0-7, block 2P+1 lanes 8-15 (an odd last block leaves lanes 8-15 alone).
// - Lane l of a block gets the exact integer i = Σ v·q over the block's values 4l..4l+3, where v is
//   the weight's signed value (Q8_0 as stored, Q4_0 nibble-8, Q5_0 5-bit-16, Q6_K 6-bit-32; Q4_K and
//   Q5_K their unsigned values), then lane = fma((float)i, scale, lane) with scale = dw·da for
//   Q8_0/Q4_0/Q5_0 (dw the block's fp16 scale, da the activation block's), (d·sc_j)·da for Q4_K/Q5_K
//   (sc_j the 6-bit scale of 32-value chunk j) and (d·sc_g)·da for Q6_K (sc_g the int8 scale of the
//   16 values lane l belongs to).
// - Q4_K/Q5_K: after a super-block's 8 chunks, lane j (0-7) -= (dmin·m_j)·(da_j·Σq_j).
// - The lanes are summed as a tree: l + l+8, then l + l+4, then l + l+2, then 0 + 1.
// Products are never contracted into fused operations other than the stated fma (-ffp-contract=off).

/// Signed (or for Q4_K/Q5_K unsigned) values of 32-value block `j` of a weight row.
static void decode_block(uint32_t type, const uint8_t *row, int64_t blk, int8_t v[32]) {
    switch (type) {
    case WHET_TYPE_Q8_0:
        memcpy(v, row + blk * 34 + 2, 32);
        return;
    case WHET_TYPE_Q4_0: {
        const uint8_t *w = row + blk * 18;
        for (int j = 0; j < 16; j++) {
            v[j] = (int8_t)((w[2 + j] & 0x0F) - 8);
            v[j + 16] = (int8_t)((w[2 + j] >> 4) - 8);
        }
        return;
    }
    case WHET_TYPE_Q5_0: {
        const uint8_t *w = row + blk * 22;
        uint32_t qh;
        memcpy(&qh, w + 2, 4);
        for (int j = 0; j < 16; j++) {
            v[j] = (int8_t)(((w[6 + j] & 0x0F) | (((qh >> j) & 1u) << 4)) - 16);
            v[j + 16] = (int8_t)(((w[6 + j] >> 4) | (((qh >> (j + 16)) & 1u) << 4)) - 16);
        }
        return;
    }
    case WHET_TYPE_Q4_K: case WHET_TYPE_Q5_K: {
        const int five = type == WHET_TYPE_Q5_K;
        const uint8_t *w = row + (blk / 8) * (five ? 176 : 144);
        const int j = (int)(blk % 8);
        const uint8_t *qq = w + (five ? 48 : 16) + (j / 2) * 32;
        for (int l = 0; l < 32; l++) {
            int u = (j & 1) ? (qq[l] >> 4) : (qq[l] & 0x0F);
            if (five) u |= ((w[16 + l] >> j) & 1) << 4;
            v[l] = (int8_t)u;
        }
        return;
    }
    case WHET_TYPE_Q6_K: {
        const uint8_t *w = row + (blk / 8) * 210;
        const int h = (int)(blk % 8) / 4, c = (int)(blk % 4);
        const uint8_t *ql = w + 64 * h, *qh = w + 128 + 32 * h;
        for (int l = 0; l < 32; l++) {
            const int lo = (c >> 1) ? (ql[l + 32 * (c & 1)] >> 4) : (ql[l + 32 * (c & 1)] & 0x0F);
            v[l] = (int8_t)((lo | (((qh[l] >> (2 * c)) & 3) << 4)) - 32);
        }
        return;
    }
    default:
        memset(v, 0, 32);
    }
}

/// The scale of lane `lane` (0-7) of block `blk` before the activation scale.
static float weight_scale(uint32_t type, const uint8_t *row, int64_t blk, int lane) {
    switch (type) {
    case WHET_TYPE_Q8_0: return half_at(row + blk * 34);
    case WHET_TYPE_Q4_0: return half_at(row + blk * 18);
    case WHET_TYPE_Q5_0: return half_at(row + blk * 22);
    case WHET_TYPE_Q4_K: case WHET_TYPE_Q5_K: {
        const uint8_t *w = row + (blk / 8) * (type == WHET_TYPE_Q5_K ? 176 : 144);
        int sc, m;
        k_scale_min((int)(blk % 8), w + 4, &sc, &m);
        return half_at(w) * (float)sc;
    }
    case WHET_TYPE_Q6_K: {
        const uint8_t *w = row + (blk / 8) * 210;
        const int8_t *sc = (const int8_t *)(w + 192);
        return half_at(w + 208) * (float)sc[2 * (blk % 8) + lane / 4];
    }
    default: return 0;
    }
}

static float canonical_dot(uint32_t type, int64_t n, const uint8_t *row, act_row a) {
    float acc[16] = {0};
    const int64_t nb = n / 32;
    const int mins = type == WHET_TYPE_Q4_K || type == WHET_TYPE_Q5_K;
    int8_t v[32];
    for (int64_t b = 0; b < nb; b++) {
        decode_block(type, row, b, v);
        const int8_t *q = a.q + b * 32;
        float *lanes = acc + 8 * (b & 1);
        for (int l = 0; l < 8; l++) {
            int i = 0;
            for (int j = 4 * l; j < 4 * l + 4; j++) i += (int)v[j] * (int)q[j];
            lanes[l] = fmaf((float)i, weight_scale(type, row, b, l) * a.d[b], lanes[l]);
        }
        if (mins && b % 8 == 7) {
            const int64_t sb = b / 8;
            const uint8_t *w = row + sb * (type == WHET_TYPE_Q5_K ? 176 : 144);
            const float dmin = half_at(w + 2);
            for (int j = 0; j < 8; j++) {
                int sc, m;
                k_scale_min(j, w + 4, &sc, &m);
                const int64_t blk = sb * 8 + j;
                const float dsum = a.d[blk] * (float)(a.s[2 * blk] + a.s[2 * blk + 1]);
                acc[j] = acc[j] - (dmin * (float)m) * dsum;
            }
        }
    }
    float r8[8], r4[4];
    for (int l = 0; l < 8; l++) r8[l] = acc[l] + acc[l + 8];
    for (int l = 0; l < 4; l++) r4[l] = r8[l] + r8[l + 4];
    return (r4[0] + r4[2]) + (r4[1] + r4[3]);
}

// ---- portable path ----

static int portable_matmul(uint32_t type, int64_t n, const uint8_t *w, size_t ws, int64_t nrows,
                           const void *act, size_t as, int64_t ntok, float *y, size_t ys) {
    switch (type) {
    case WHET_TYPE_Q8_0: case WHET_TYPE_Q4_0: case WHET_TYPE_Q5_0: case WHET_TYPE_Q4_K: case WHET_TYPE_Q5_K: case WHET_TYPE_Q6_K: break;
    default: return -1;
    }
    for (int64_t r = 0; r < nrows; r++) {
        for (int64_t t = 0; t < ntok; t++) y[(size_t)t * ys + r] = canonical_dot(type, n, w + (size_t)r * ws, act_at(act, as, t, n));
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
