// Shared by the quantized-kernel sources only (not a public header).
#ifndef WHET_QUANT_INTERNAL_H
#define WHET_QUANT_INTERNAL_H
#include <math.h>
#include <stdint.h>
#include <stddef.h>

#include "ckernels.h"
#include "whet_quant.h"

/// Values rounded together with one activation scale for weights of `type`: 256 for the
/// K-quants (llama.cpp's Q8_K), 32 otherwise (llama.cpp's Q8_0).
static inline int whet_act_block(uint32_t type) {
    return type == WHET_TYPE_Q4_K || type == WHET_TYPE_Q5_K || type == WHET_TYPE_Q6_K ? 256 : 32;
}

/// Rounds `whet_act_block(type)` floats to int8 exactly as llama.cpp's CPU backend rounds the
/// activations it multiplies with weights of `type`, so our integer dot products see the same
/// int8 values and scales:
/// - 32-value blocks (Q8_0, Q4_0, Q5_0 weights; quantize_row_q8_0): d = max|x|/127, q =
///   round-half-even(x·127/max|x|), and d is stored in fp16, so the product uses fp16(d).
/// - 256-value blocks (K-quant weights; quantize_row_q8_K_ref): with m the value of largest
///   magnitude, iscale = -127/m, q = min(127, round-half-even(iscale·x)), d = 1/iscale.
/// Writes q, the scale of every 32-value block (repeated for a 256-value block) and the sums of q
/// over every 16 values.
static inline void whet_quantize_act_block(uint32_t type, const float *x, int8_t *q, float *d, int *sums) {
    const int count = whet_act_block(type);
    if (count == 256) {
        float max = 0, amax = 0;
        for (int j = 0; j < 256; j++) {
            const float ax = fabsf(x[j]);
            if (ax > amax) { amax = ax; max = x[j]; }
        }
        if (amax == 0) {
            for (int j = 0; j < 256; j++) q[j] = 0;
            for (int b = 0; b < 8; b++) d[b] = 0;
        } else {
            const float iscale = -127.f / max;
            for (int j = 0; j < 256; j++) {
                const float v = nearbyintf(iscale * x[j]);
                q[j] = (int8_t)(v > 127.f ? 127.f : v);
            }
            for (int b = 0; b < 8; b++) d[b] = 1 / iscale;
        }
    } else {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float scale = amax / 127.0f;
        const float inverse = scale > 0 ? 127.0f / amax : 0.0f;
        for (int j = 0; j < 32; j++) {
            float v = nearbyintf(x[j] * inverse);
            v = fminf(127.0f, fmaxf(-127.0f, v));
            q[j] = (int8_t)v;
        }
        d[0] = whet_fp16_to_fp32(whet_fp32_to_fp16(scale));
    }
    for (int g = 0; g < count / 16; g++) {
        int sum = 0;
        for (int j = 0; j < 16; j++) sum += q[16 * g + j];
        sums[g] = sum;
    }
}

/// The token-tiled layout of the AVX-512 level (quant_vnni512.c).
size_t whet_act_tile_bytes(int64_t n);
void whet_act_prepare_tiled(uint32_t type, const float *x, int64_t n, int64_t t0, int64_t t1, void *dst);
int whet_quant_matmul_vnni512(uint32_t type, int64_t n, const uint8_t *w, size_t ws, int64_t nrows,
                              const void *act, int64_t ntok, float *y, size_t ys);
#endif
