// The AVX-512 VNNI level of whet_quant_matmul: 512-bit vectors over a token-tiled activation
// layout, so one decoded weight row serves up to 16 tokens and every activation load has a
// constant displacement.
//
// Activations for this level (whet_act_prepare with level 2) are grouped in tiles of 16 tokens.
// Inside a tile, for each pair of 32-value blocks P and each token k there are 192 bytes:
//   int8  q[64]     the two blocks' 8-bit values (second half zero for an odd last block)
//   int32 bias[16]  lane 8h+l = -offset·Σq[4l..4l+3] of block h. vpdpbusd starts from this
//                   instead of zero, so the weights' offset (Q4_0 8, Q5_0 16, Q6_K 32, Q8_0 128
//                   after flipping its sign bit) is removed in exact integers lane by lane, and
//                   every lane holds the canonical Σ v·q (quant_dot.c, "Canonical order").
//   float da[16]    the activation scale of block h, repeated in lanes 8h..8h+7
// followed (K-quants with mins) by, per super-block of 256 values and token, 8 floats
// da_j·Σq_j: the activation sums the Q4_K/Q5_K minimums multiply.
// The int8 values and scales are exactly those of whet_quantize_q8_row, and the float operations
// follow the canonical order of quant_dot.c, so this level's results are bit-identical to the
// portable and AVX2 levels'.
#include "whet_quant.h"
#include "quant_internal.h"
#include <string.h>

enum { TILE = WHET_ACT_TILE, PAIR_BYTES = 192, SB_BYTES = 32 };

static inline int64_t pair_count(int64_t n) { return (n / 32 + 1) / 2; }
static inline int64_t superblock_count(int64_t n) { return n / 256; }

size_t whet_act_tile_bytes(int64_t n) {
    return (size_t)pair_count(n) * TILE * PAIR_BYTES + (size_t)superblock_count(n) * TILE * SB_BYTES;
}

static inline int32_t act_offset(uint32_t type) {
    switch (type) {
    case WHET_TYPE_Q8_0: return 128;
    case WHET_TYPE_Q4_0: return 8;
    case WHET_TYPE_Q5_0: return 16;
    case WHET_TYPE_Q6_K: return 32;
    default: return 0;
    }
}

void whet_act_prepare_tiled(uint32_t type, const float *x, int64_t n, int64_t t0, int64_t t1, void *dst) {
    const int64_t nb = n / 32, np = pair_count(n);
    const size_t tile_bytes = whet_act_tile_bytes(n);
    const int32_t offset = act_offset(type);
    const int64_t block = whet_act_block(type);
    int8_t q[256];
    float d[8];
    int sums[16];
    for (int64_t t = t0; t < t1; t++) {
        uint8_t *tile = (uint8_t *)dst + (size_t)(t / TILE) * tile_bytes;
        const int64_t k = t % TILE;
        const float *xt = x + (size_t)t * (size_t)n;
        for (int64_t b = 0; b < 2 * np; b++) {
            uint8_t *slot = tile + (size_t)(b / 2) * TILE * PAIR_BYTES + (size_t)k * PAIR_BYTES;
            const int h = (int)(b & 1);
            int32_t bias[8] = {0};
            float da[8];
            if (b < nb) {
                const int64_t within = b % (block / 32);  // 32-value block inside the rounding block
                if (within == 0) whet_quantize_act_block(type, xt + b * 32, q, d, sums);
                const int s0 = sums[2 * within], s1 = sums[2 * within + 1];
                const int8_t *qb = q + 32 * within;
                memcpy(slot + 32 * h, qb, 32);
                for (int l = 0; l < 8; l++) bias[l] = -offset * ((int32_t)qb[4 * l] + qb[4 * l + 1] + qb[4 * l + 2] + qb[4 * l + 3]);
                for (int j = 0; j < 8; j++) da[j] = d[within];
                if (superblock_count(n) > 0 && b < superblock_count(n) * 8) {
                    float *dsum = (float *)(tile + (size_t)np * TILE * PAIR_BYTES + (size_t)(b / 8) * TILE * SB_BYTES
                                            + (size_t)k * SB_BYTES);
                    dsum[b % 8] = d[within] * (float)(s0 + s1);
                }
            } else {
                memset(slot + 32 * h, 0, 32);
                for (int j = 0; j < 8; j++) da[j] = 0;
            }
            memcpy(slot + 64 + 32 * h, bias, 32);
            memcpy(slot + 128 + 32 * h, da, 32);
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define T512 __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq,avx512vnni")))
#define INLINE static inline __attribute__((always_inline))

T512 INLINE float h2f(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/// The canonical lane tree: l + l+8, l + l+4, l + l+2, 0 + 1.
T512 INLINE float reduce_tree(__m512 v) {
    const __m256 r8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(r8), _mm256_extractf128_ps(r8, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

T512 INLINE __m256i nibbles32_512(const uint8_t *q16) {
    const __m128i raw = _mm_loadu_si128((const __m128i *)q16);
    const __m128i mask = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), mask), _mm_and_si128(raw, mask));
}

/// One 32-value block of Q8_0 / Q4_0 / Q5_0 as unsigned bytes (value + offset).
T512 INLINE __m256i decode_b32(uint32_t type, const uint8_t *w) {
    if (type == WHET_TYPE_Q8_0) return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(w + 2)), _mm256_set1_epi8((char)0x80));
    if (type == WHET_TYPE_Q4_0) return nibbles32_512(w + 2);
    uint32_t qh;
    memcpy(&qh, w + 2, 4);
    const __m256i u = nibbles32_512(w + 6);
    return _mm256_mask_add_epi8(u, (__mmask32)qh, u, _mm256_set1_epi8(0x10));
}

T512 INLINE __m512i act_q(const uint8_t *slot) { return _mm512_loadu_si512((const void *)slot); }
T512 INLINE __m512i act_bias(const uint8_t *slot) { return _mm512_loadu_si512((const void *)(slot + 64)); }
T512 INLINE __m512 act_da(const uint8_t *slot) { return _mm512_loadu_ps((const float *)(slot + 128)); }

/// Q8_0, Q4_0, Q5_0 for `nt` tokens of one tile (slots `k * PAIR_BYTES` apart).
T512 INLINE void tile_b32(uint32_t type, int64_t n, const uint8_t *w, const uint8_t *act, const int nt, float *out) {
    const size_t bs = type == WHET_TYPE_Q8_0 ? 34 : type == WHET_TYPE_Q5_0 ? 22 : 18;
    const int64_t nb = n / 32;
    __m512 acc[TILE];
    for (int k = 0; k < nt; k++) acc[k] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b += 2, w += 2 * bs, act += TILE * PAIR_BYTES) {
        const int two = b + 1 < nb;
        const __m256i u0 = decode_b32(type, w);
        const __m256i u1 = two ? decode_b32(type, w + bs) : _mm256_setzero_si256();
        const __m512i u = _mm512_inserti64x4(_mm512_castsi256_si512(u0), u1, 1);
        const float d0 = h2f(w), d1 = two ? h2f(w + bs) : 0.0f;
        const __m512 dw = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(d0)), _mm256_set1_ps(d1), 1);
        for (int k = 0; k < nt; k++) {
            const uint8_t *slot = act + k * PAIR_BYTES;
            const __m512i p = _mm512_dpbusd_epi32(act_bias(slot), u, act_q(slot));
            acc[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(dw, act_da(slot)), acc[k]);
        }
    }
    for (int k = 0; k < nt; k++) out[k] = reduce_tree(acc[k]);
}

/// Q4_K and Q5_K: per 32-value sub-block a scale d·sc_j and a minimum dmin·m_j.
T512 INLINE void tile_q45_k(int64_t n, const uint8_t *w, const uint8_t *act, const uint8_t *dsums, const int nt,
                            float *out, const int five) {
    const size_t bs = five ? 176 : 144;
    const __m256i low = _mm256_set1_epi8(0x0F);
    __m512 acc[TILE];
    for (int k = 0; k < nt; k++) acc[k] = _mm512_setzero_ps();
    for (int64_t sb = 0; sb < n / 256; sb++, w += bs, dsums += TILE * SB_BYTES) {
        const float d = h2f(w), dmin = h2f(w + 2);
        uint32_t u32[4];
        memcpy(u32, w + 4, 12);
        // ggml's unpacking of the eight 6-bit scales (u32[0..1]) and mins (u32[2..3]).
        u32[3] = ((u32[2] >> 4) & 0x0f0f0f0fu) | (((u32[1] >> 6) & 0x03030303u) << 4);
        const uint32_t mins_low = u32[1] & 0x3f3f3f3fu;
        u32[1] = (u32[2] & 0x0f0f0f0fu) | (((u32[0] >> 6) & 0x03030303u) << 4);
        u32[2] = mins_low;
        u32[0] &= 0x3f3f3f3fu;
        const __m256 dsc = _mm256_mul_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)&u32[0]))));
        const __m256 dm = _mm256_mul_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)&u32[2]))));
        const __m512 dsc16 = _mm512_castps256_ps512(dsc);
        const uint8_t *q = w + (five ? 48 : 16);
        const __m512i high = five ? _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(w + 16))) : _mm512_setzero_si512();
        for (int p = 0; p < 4; p++, act += TILE * PAIR_BYTES) {
            const __m256i raw = _mm256_loadu_si256((const __m256i *)(q + 32 * p));
            __m512i u = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(raw, low)),
                                           _mm256_and_si256(_mm256_srli_epi16(raw, 4), low), 1);
            if (five) {
                const __m512i select = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << (2 * p))), _mm256_set1_epi8((char)(1 << (2 * p + 1))), 1);
                u = _mm512_mask_add_epi8(u, _mm512_test_epi8_mask(high, select), u, _mm512_set1_epi8(0x10));
            }
            const __m512 sc = _mm512_permutexvar_ps(_mm512_inserti64x4(_mm512_set1_epi32(2 * p), _mm256_set1_epi32(2 * p + 1), 1), dsc16);
            for (int k = 0; k < nt; k++) {
                const uint8_t *slot = act + k * PAIR_BYTES;
                const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, act_q(slot));
                acc[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(sc, act_da(slot)), acc[k]);
            }
        }
        for (int k = 0; k < nt; k++) {
            const __m256 m = _mm256_mul_ps(dm, _mm256_loadu_ps((const float *)(dsums + k * SB_BYTES)));
            acc[k] = _mm512_sub_ps(acc[k], _mm512_zextps256_ps512(m));
        }
    }
    for (int k = 0; k < nt; k++) out[k] = reduce_tree(acc[k]);
}

/// Q6_K: 6-bit values (offset 32, through the bias lanes) with an int8 scale per 16 values.
T512 INLINE void tile_q6_k(int64_t n, const uint8_t *w, const uint8_t *act, const int nt, float *out) {
    const __m512i low = _mm512_set1_epi8(0x0F), two = _mm512_set1_epi8(0x30);
    const __m512i shiftFirst = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i shiftSecond = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    __m512 acc[TILE];
    for (int k = 0; k < nt; k++) acc[k] = _mm512_setzero_ps();
    for (int64_t sb = 0; sb < n / 256; sb++, w += 210) {
        const __m512 scales = _mm512_mul_ps(_mm512_set1_ps(h2f(w + 208)),
                                            _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(w + 192)))));
        for (int h = 0; h < 2; h++) {
            const __m512i lq = _mm512_loadu_si512((const void *)(w + 64 * h));
            const __m512i hq = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(w + 128 + 32 * h)));
            for (int half = 0; half < 2; half++, act += TILE * PAIR_BYTES) {
                const __m512i lo = half ? _mm512_and_si512(_mm512_srli_epi16(lq, 4), low) : _mm512_and_si512(lq, low);
                const __m512i hi = half ? _mm512_srlv_epi16(hq, shiftSecond) : _mm512_sllv_epi16(hq, shiftFirst);
                const __m512i u = _mm512_or_si512(lo, _mm512_and_si512(hi, two));
                const int g = 4 * (2 * h + half);  // first of the four 16-value groups in this pair
                const __m512i index = _mm512_setr_epi32(g, g, g, g, g + 1, g + 1, g + 1, g + 1,
                                                        g + 2, g + 2, g + 2, g + 2, g + 3, g + 3, g + 3, g + 3);
                const __m512 sc = _mm512_permutexvar_ps(index, scales);
                for (int k = 0; k < nt; k++) {
                    const uint8_t *slot = act + k * PAIR_BYTES;
                    const __m512i dot = _mm512_dpbusd_epi32(act_bias(slot), u, act_q(slot));
                    acc[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(sc, act_da(slot)), acc[k]);
                }
            }
        }
    }
    for (int k = 0; k < nt; k++) out[k] = reduce_tree(acc[k]);
}

T512 INLINE void tile_any(uint32_t type, int64_t n, const uint8_t *w, const uint8_t *act, const uint8_t *dsums,
                          const int nt, float *out) {
    switch (type) {
    case WHET_TYPE_Q8_0: tile_b32(WHET_TYPE_Q8_0, n, w, act, nt, out); break;
    case WHET_TYPE_Q4_0: tile_b32(WHET_TYPE_Q4_0, n, w, act, nt, out); break;
    case WHET_TYPE_Q5_0: tile_b32(WHET_TYPE_Q5_0, n, w, act, nt, out); break;
    case WHET_TYPE_Q4_K: tile_q45_k(n, w, act, dsums, nt, out, 0); break;
    case WHET_TYPE_Q5_K: tile_q45_k(n, w, act, dsums, nt, out, 1); break;
    case WHET_TYPE_Q6_K: tile_q6_k(n, w, act, nt, out); break;
    default: break;
    }
}

#define TILE_FN(NT)                                                                                                 \
    T512 static void tile_##NT(uint32_t type, int64_t n, const uint8_t *w, const uint8_t *act, const uint8_t *dsums, \
                               float *out) {                                                                         \
        tile_any(type, n, w, act, dsums, NT, out);                                                                   \
    }
TILE_FN(16)
TILE_FN(8)
TILE_FN(4)
TILE_FN(2)
TILE_FN(1)

T512 int whet_quant_matmul_vnni512(uint32_t type, int64_t n, const uint8_t *w, size_t ws, int64_t nrows,
                                   const void *act, int64_t ntok, float *y, size_t ys) {
    switch (type) {
    case WHET_TYPE_Q8_0: case WHET_TYPE_Q4_0: case WHET_TYPE_Q5_0: case WHET_TYPE_Q4_K: case WHET_TYPE_Q5_K: case WHET_TYPE_Q6_K: break;
    default: return -1;
    }
    const size_t tile_bytes = whet_act_tile_bytes(n);
    const size_t dsum_offset = (size_t)pair_count(n) * TILE * PAIR_BYTES;
    for (int64_t t0 = 0; t0 < ntok; t0 += TILE) {
        const int nt = (int)(ntok - t0 < TILE ? ntok - t0 : TILE);
        const uint8_t *tile = (const uint8_t *)act + (size_t)(t0 / TILE) * tile_bytes;
        for (int64_t r = 0; r < nrows; r++) {
            const uint8_t *row = w + (size_t)r * ws;
            float out[TILE];
            int k = 0;
            while (k < nt) {
                const uint8_t *a = tile + (size_t)k * PAIR_BYTES, *s = tile + dsum_offset + (size_t)k * SB_BYTES;
                const int left = nt - k;
                if (left >= 16) { tile_16(type, n, row, a, s, out + k); k += 16; }
                else if (left >= 8) { tile_8(type, n, row, a, s, out + k); k += 8; }
                else if (left >= 4) { tile_4(type, n, row, a, s, out + k); k += 4; }
                else if (left >= 2) { tile_2(type, n, row, a, s, out + k); k += 2; }
                else { tile_1(type, n, row, a, s, out + k); k += 1; }
            }
            for (int j = 0; j < nt; j++) y[(size_t)(t0 + j) * ys + r] = out[j];
        }
    }
    return 0;
}
#else
int whet_quant_matmul_vnni512(uint32_t type, int64_t n, const uint8_t *w, size_t ws, int64_t nrows,
                              const void *act, int64_t ntok, float *y, size_t ys) {
    (void)type; (void)n; (void)w; (void)ws; (void)nrows; (void)act; (void)ntok; (void)y; (void)ys;
    return -1;
}
#endif
