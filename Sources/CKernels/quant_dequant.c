// Scalar dequantizers for the GGML block formats. These are the reference every SIMD dot kernel
// is tested against, so they follow ggml's arithmetic order exactly and contraction is off.
#pragma STDC FP_CONTRACT OFF
#include "whet_quant.h"
#include "ckernels.h"
#include <string.h>

static inline float load_half(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return whet_fp16_to_fp32(h);
}

int whet_quant_supported(uint32_t type) {
    switch (type) {
    case WHET_TYPE_F32: case WHET_TYPE_F16: case WHET_TYPE_BF16: case WHET_TYPE_Q8_0: case WHET_TYPE_Q4_0:
    case WHET_TYPE_Q5_0: case WHET_TYPE_Q4_K: case WHET_TYPE_Q5_K: case WHET_TYPE_Q6_K:
        return 1;
    default:
        return 0;
    }
}

// Q8_0: fp16 d, int8 q[32]; x = d * q.
static void dequant_q8_0(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 34, y += 32) {
        const float d = load_half(b);
        const int8_t *q = (const int8_t *)(b + 2);
        for (int j = 0; j < 32; j++) y[j] = (float)q[j] * d;
    }
}

// Q4_0: fp16 d, 16 bytes of nibbles; value j is the low nibble of byte j, value j+16 the high one; x = d * (q - 8).
static void dequant_q4_0(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 18, y += 32) {
        const float d = load_half(b);
        const uint8_t *q = b + 2;
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((int)(q[j] & 0x0F) - 8) * d;
            y[j + 16] = (float)((int)(q[j] >> 4) - 8) * d;
        }
    }
}

// Q5_0: fp16 d, 32 high bits (little-endian uint32, bit j for value j), 16 bytes of low nibbles; x = d * (q - 16).
static void dequant_q5_0(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 22, y += 32) {
        const float d = load_half(b);
        uint32_t qh;
        memcpy(&qh, b + 2, 4);
        const uint8_t *q = b + 6;
        for (int j = 0; j < 16; j++) {
            const int h0 = (int)((qh >> j) & 1u) << 4;
            const int h1 = (int)((qh >> (j + 16)) & 1u) << 4;
            y[j] = (float)(((int)(q[j] & 0x0F) | h0) - 16) * d;
            y[j + 16] = (float)(((int)(q[j] >> 4) | h1) - 16) * d;
        }
    }
}

// The 12 scale bytes of Q4_K / Q5_K hold eight 6-bit scales and eight 6-bit mins.
static inline void k_scale_min(int j, const uint8_t *s, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (uint8_t)((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4));
        *m = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

// Q4_K: fp16 d, fp16 dmin, 12 scale bytes, 128 bytes of nibbles. Each 64 values: 32 low nibbles
// (sub-block 2k) then 32 high nibbles (sub-block 2k+1); x = d*sc * q - dmin*m.
static void dequant_q4_k(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 144) {
        const float d = load_half(b), dmin = load_half(b + 2);
        const uint8_t *scales = b + 4, *q = b + 16;
        for (int k = 0; k < 4; k++, q += 32) {
            uint8_t sc, m;
            k_scale_min(2 * k, scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            k_scale_min(2 * k + 1, scales, &sc, &m);
            const float d2 = d * (float)sc, m2 = dmin * (float)m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] & 0x0F) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

// Q5_K: as Q4_K plus 32 bytes of high bits (bit 2k of byte l for value l of sub-block 2k).
static void dequant_q5_k(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 176) {
        const float d = load_half(b), dmin = load_half(b + 2);
        const uint8_t *scales = b + 4, *qh = b + 16, *q = b + 48;
        uint8_t u1 = 1, u2 = 2;
        for (int k = 0; k < 4; k++, q += 32, u1 <<= 2, u2 <<= 2) {
            uint8_t sc, m;
            k_scale_min(2 * k, scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            k_scale_min(2 * k + 1, scales, &sc, &m);
            const float d2 = d * (float)sc, m2 = dmin * (float)m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)((q[l] & 0x0F) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)((q[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        }
    }
}

// Q6_K: 128 bytes low nibbles, 64 bytes of 2-bit highs, 16 int8 scales, fp16 d; x = d*sc * (q - 32).
static void dequant_q6_k(const uint8_t *b, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, b += 210) {
        const uint8_t *ql = b, *qh = b + 128;
        const int8_t *sc = (const int8_t *)(b + 192);
        const float d = load_half(b + 208);
        for (int half = 0; half < 2; half++, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = (int)((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) - 32;
                const int q2 = (int)((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * (float)sc[is] * (float)q1;
                y[l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
        }
    }
}

int whet_dequantize(uint32_t type, const void *src, float *dst, int64_t n) {
    const uint8_t *b = (const uint8_t *)src;
    switch (type) {
    case WHET_TYPE_F32: memcpy(dst, src, (size_t)n * 4); return 0;
    case WHET_TYPE_F16: whet_fp16_to_fp32_row((const uint16_t *)src, dst, (size_t)n); return 0;
    case WHET_TYPE_BF16: whet_bf16_to_fp32_row((const uint16_t *)src, dst, (size_t)n); return 0;
    case WHET_TYPE_Q8_0: dequant_q8_0(b, dst, n / 32); return 0;
    case WHET_TYPE_Q4_0: dequant_q4_0(b, dst, n / 32); return 0;
    case WHET_TYPE_Q5_0: dequant_q5_0(b, dst, n / 32); return 0;
    case WHET_TYPE_Q4_K: dequant_q4_k(b, dst, n / 256); return 0;
    case WHET_TYPE_Q5_K: dequant_q5_k(b, dst, n / 256); return 0;
    case WHET_TYPE_Q6_K: dequant_q6_k(b, dst, n / 256); return 0;
    default: return -1;
    }
}
