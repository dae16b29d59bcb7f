// Body of the AVX2 quantized matmul, included by quant_dot.c (DP is maddubs + madd). Each weight
// chunk of 32 values is decoded to unsigned bytes once and multiplied with up to NT_MAX tokens'
// activations.
//
// The result is the canonical sum every level computes (quant_dot.c, "Canonical order"): 16 float
// lanes, lanes 0-7 for even 32-value blocks (acc_even) and 8-15 for odd ones (acc_odd); lane l of a
// block holds the exact integer Σ value·q over the block's bytes 4l..4l+3 with the weights' signed
// values (offsets removed in integers), multiplied once by its scale with one fused multiply-add;
// K-quant minimums are subtracted from lanes 0-7 once per super-block; then a fixed tree.
// No include guard on purpose.

#ifndef NT_MAX
#define NT_MAX 4
#endif

KTARGET static inline float KFN(hsum_tree)(__m256 even, __m256 odd) {
    const __m256 v = _mm256_add_ps(even, odd);  // lane l + lane l+8
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

KTARGET static inline float KFN(half)(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/// Byte j of the result is 0x10 where bit j of `bits` is set.
KTARGET static inline __m256i KFN(bits_to_0x10)(uint32_t bits) {
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i select = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    const __m256i x = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), spread), select);
    return _mm256_and_si256(_mm256_cmpeq_epi8(x, select), _mm256_set1_epi8(0x10));
}

KTARGET static inline __m256i KFN(nibbles32)(const uint8_t *q16) {
    const __m128i raw = _mm_loadu_si128((const __m128i *)q16);
    const __m128i mask = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), mask), _mm_and_si128(raw, mask));
}

KTARGET static inline __m256i KFN(load_act)(const act_row *a, int64_t blk) {
    return _mm256_loadu_si256((const __m256i *)(a->q + blk * 32));
}

/// Lane l: Σ u·q over bytes 4l..4l+3, minus `shift`-scaled Σ q over the same bytes (the weights'
/// offset 2^shift removed exactly). u unsigned ≤ 63, so maddubs cannot saturate.
KTARGET static inline __m256i KFN(lane_dot)(__m256i u, __m256i q, const int shift) {
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(u, q), ones16);
    if (shift) {
        const __m256i qsum = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), ones16);
        p = _mm256_sub_epi32(p, _mm256_slli_epi32(qsum, shift));
    }
    return p;
}

/// The activation sums K-quant minimums multiply: lane j = da_j · Σq over block sb*8+j.
KTARGET static inline __m256 KFN(min_sums)(const act_row *a, int64_t sb) {
    const __m256i s16 = _mm256_loadu_si256((const __m256i *)(a->s + sb * 16));
    const __m256i s32 = _mm256_madd_epi16(s16, _mm256_set1_epi16(1));
    return _mm256_mul_ps(_mm256_loadu_ps(a->d + sb * 8), _mm256_cvtepi32_ps(s32));
}

/// Q8_0: |w| times the activation with w's sign moved onto it (exact Σ w·q per lane).
KTARGET static inline __attribute__((always_inline)) void KFN(tile_q8_0)(int64_t n, const uint8_t *w, const act_row *a, const int nt, float *out) {
    __m256 acc[2][NT_MAX];
    for (int k = 0; k < nt; k++) acc[0][k] = acc[1][k] = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / 32; b++, w += 34) {
        const __m256i wq = _mm256_loadu_si256((const __m256i *)(w + 2));
        const __m256i u = _mm256_sign_epi8(wq, wq);
        const float dw = KFN(half)(w);
        const int h = (int)(b & 1);
        for (int k = 0; k < nt; k++) {
            const __m256i p = DP(_mm256_setzero_si256(), u, _mm256_sign_epi8(KFN(load_act)(&a[k], b), wq));
            acc[h][k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * a[k].d[b]), acc[h][k]);
        }
    }
    for (int k = 0; k < nt; k++) out[k] = KFN(hsum_tree)(acc[0][k], acc[1][k]);
}

/// Q4_0 (offset 8, no high bits) and Q5_0 (offset 16, high bits at byte 2).
KTARGET static inline __attribute__((always_inline)) void KFN(tile_q4_5_0)(int64_t n, const uint8_t *w, const act_row *a, const int nt,
                                                                           float *out, const int five) {
    const size_t block = five ? 22 : 18;
    const int qoff = five ? 6 : 2;
    __m256 acc[2][NT_MAX];
    for (int k = 0; k < nt; k++) acc[0][k] = acc[1][k] = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / 32; b++, w += block) {
        __m256i u = KFN(nibbles32)(w + qoff);
        if (five) {
            uint32_t qh;
            memcpy(&qh, w + 2, 4);
            u = _mm256_or_si256(u, KFN(bits_to_0x10)(qh));
        }
        const float dw = KFN(half)(w);
        const int h = (int)(b & 1);
        for (int k = 0; k < nt; k++) {
            const __m256i p = KFN(lane_dot)(u, KFN(load_act)(&a[k], b), five ? 4 : 3);
            acc[h][k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * a[k].d[b]), acc[h][k]);
        }
    }
    for (int k = 0; k < nt; k++) out[k] = KFN(hsum_tree)(acc[0][k], acc[1][k]);
}

/// Q4_K and Q5_K: 8 chunks of 32 per super-block, each with a 6-bit scale and minimum.
KTARGET static inline __attribute__((always_inline)) void KFN(tile_q45_k)(int64_t n, const uint8_t *w, const act_row *a, const int nt,
                                                                          float *out, const int five) {
    const size_t block = five ? 176 : 144;
    const __m256i low = _mm256_set1_epi8(0x0F), bit4 = _mm256_set1_epi8(0x10);
    __m256 acc[2][NT_MAX];
    for (int k = 0; k < nt; k++) acc[0][k] = acc[1][k] = _mm256_setzero_ps();
    for (int64_t sb = 0; sb < n / 256; sb++, w += block) {
        const float d = KFN(half)(w), dmin = KFN(half)(w + 2);
        float dsc[8], dm[8];
        for (int j = 0; j < 8; j++) {
            int sc, m;
            k_scale_min(j, w + 4, &sc, &m);
            dsc[j] = d * (float)sc;
            dm[j] = dmin * (float)m;
        }
        const __m256 dmv = _mm256_loadu_ps(dm);
        const uint8_t *q = w + (five ? 48 : 16);
        __m256i high = five ? _mm256_loadu_si256((const __m256i *)(w + 16)) : _mm256_setzero_si256();
        for (int pair = 0; pair < 4; pair++) {
            const __m256i raw = _mm256_loadu_si256((const __m256i *)(q + 32 * pair));
            __m256i u0 = _mm256_and_si256(raw, low);
            __m256i u1 = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low);
            if (five) {
                u0 = _mm256_or_si256(u0, _mm256_and_si256(_mm256_slli_epi16(high, 4), bit4));
                u1 = _mm256_or_si256(u1, _mm256_and_si256(_mm256_slli_epi16(high, 3), bit4));
                high = _mm256_srli_epi16(high, 2);
            }
            const int64_t b0 = sb * 8 + 2 * pair;
            for (int k = 0; k < nt; k++) {
                const __m256i p0 = DP(_mm256_setzero_si256(), u0, KFN(load_act)(&a[k], b0));
                const __m256i p1 = DP(_mm256_setzero_si256(), u1, KFN(load_act)(&a[k], b0 + 1));
                acc[0][k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(dsc[2 * pair] * a[k].d[b0]), acc[0][k]);
                acc[1][k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_set1_ps(dsc[2 * pair + 1] * a[k].d[b0 + 1]), acc[1][k]);
            }
        }
        for (int k = 0; k < nt; k++) acc[0][k] = _mm256_sub_ps(acc[0][k], _mm256_mul_ps(dmv, KFN(min_sums)(&a[k], sb)));
    }
    for (int k = 0; k < nt; k++) out[k] = KFN(hsum_tree)(acc[0][k], acc[1][k]);
}

/// Q6_K: 6-bit values (offset 32) with an int8 scale per 16.
KTARGET static inline __attribute__((always_inline)) void KFN(tile_q6_k)(int64_t n, const uint8_t *w, const act_row *a, const int nt, float *out) {
    const __m256i low = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(0x30);
    __m256 acc[2][NT_MAX];
    for (int k = 0; k < nt; k++) acc[0][k] = acc[1][k] = _mm256_setzero_ps();
    for (int64_t sb = 0; sb < n / 256; sb++, w += 210) {
        const float d = KFN(half)(w + 208);
        const int8_t *sc = (const int8_t *)(w + 192);
        for (int h = 0; h < 2; h++) {
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)(w + 64 * h));
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(w + 64 * h + 32));
            __m256i high = _mm256_loadu_si256((const __m256i *)(w + 128 + 32 * h));
            for (int c = 0; c < 4; c++) {
                const __m256i lv = (c & 1) ? l1 : l0;
                const __m256i lo = (c >> 1) ? _mm256_and_si256(_mm256_srli_epi16(lv, 4), low) : _mm256_and_si256(lv, low);
                const __m256i u = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(high, 4), two));
                high = _mm256_srli_epi16(high, 2);
                const float s0 = d * (float)sc[8 * h + 2 * c], s1 = d * (float)sc[8 * h + 2 * c + 1];
                const __m256 scales = _mm256_set_m128(_mm_set1_ps(s1), _mm_set1_ps(s0));
                const int64_t blk = sb * 8 + h * 4 + c;
                const int odd = c & 1;
                for (int k = 0; k < nt; k++) {
                    const __m256i p = KFN(lane_dot)(u, KFN(load_act)(&a[k], blk), 5);
                    acc[odd][k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(scales, _mm256_set1_ps(a[k].d[blk])), acc[odd][k]);
                }
            }
        }
    }
    for (int k = 0; k < nt; k++) out[k] = KFN(hsum_tree)(acc[0][k], acc[1][k]);
}

KTARGET static inline __attribute__((always_inline)) void KFN(tile)(uint32_t type, int64_t n, const uint8_t *w, const act_row *a,
                                                                    const int nt, float *out) {
    switch (type) {
    case WHET_TYPE_Q8_0: KFN(tile_q8_0)(n, w, a, nt, out); break;
    case WHET_TYPE_Q4_0: KFN(tile_q4_5_0)(n, w, a, nt, out, 0); break;
    case WHET_TYPE_Q5_0: KFN(tile_q4_5_0)(n, w, a, nt, out, 1); break;
    case WHET_TYPE_Q4_K: KFN(tile_q45_k)(n, w, a, nt, out, 0); break;
    case WHET_TYPE_Q5_K: KFN(tile_q45_k)(n, w, a, nt, out, 1); break;
    case WHET_TYPE_Q6_K: KFN(tile_q6_k)(n, w, a, nt, out); break;
    default: break;
    }
}

KTARGET static void KFN(tile4)(uint32_t type, int64_t n, const uint8_t *w, const act_row *a, float *out) { KFN(tile)(type, n, w, a, 4, out); }
KTARGET static void KFN(tile1)(uint32_t type, int64_t n, const uint8_t *w, const act_row *a, float *out) { KFN(tile)(type, n, w, a, 1, out); }

KTARGET static int KFN(simd_matmul)(uint32_t type, int64_t n, const uint8_t *w, size_t ws, int64_t nrows,
                                    const void *act, size_t as, int64_t ntok, float *y, size_t ys) {
    switch (type) {
    case WHET_TYPE_Q8_0: case WHET_TYPE_Q4_0: case WHET_TYPE_Q5_0: case WHET_TYPE_Q4_K: case WHET_TYPE_Q5_K: case WHET_TYPE_Q6_K: break;
    default: return -1;
    }
    for (int64_t r = 0; r < nrows; r++) {
        const uint8_t *row = w + (size_t)r * ws;
        int64_t t = 0;
        for (; t + 4 <= ntok; t += 4) {
            act_row a[4];
            float out[4];
            for (int k = 0; k < 4; k++) a[k] = act_at(act, as, t + k, n);
            KFN(tile4)(type, n, row, a, out);
            for (int k = 0; k < 4; k++) y[(size_t)(t + k) * ys + r] = out[k];
        }
        for (; t < ntok; t++) {
            act_row a = act_at(act, as, t, n);
            float out;
            KFN(tile1)(type, n, row, &a, &out);
            y[(size_t)t * ys + r] = out;
        }
    }
    return 0;
}
