// GELU-tanh gate of the gated MLP for training (forward and backward), 16 floats at a time with
// AVX-512 when the CPU has it. Swift's SIMD types compile to SSE2 on the baseline x86-64 target,
// which left this at a tenth of a Gemma LoRA step.
#include "ckernels.h"
#include <math.h>

#define GELU_C 0.7978845608028654f   // sqrt(2/pi)
#define GELU_A 0.044715f

static inline float gelu_tanh_scalar(float x, float *tanh_out) {
    const float t = tanhf(GELU_C * (x + GELU_A * x * x * x));
    if (tanh_out) *tanh_out = t;
    return 0.5f * x * (1.0f + t);
}

static void gelu_forward_portable(const float *gate, const float *up, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = gelu_tanh_scalar(gate[i], NULL) * up[i];
}

static void gelu_backward_portable(const float *gate, const float *up, const float *dy, float *dgate, float *dup, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const float x = gate[i];
        float t;
        const float g = gelu_tanh_scalar(x, &t);
        if (dgate) dgate[i] += dy[i] * up[i] * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GELU_C * (1.0f + 3.0f * GELU_A * x * x));
        if (dup) dup[i] += dy[i] * g;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512dq,fma")))

// e^x: x = n·ln2 + r, Cephes' degree-6 polynomial for e^r, 2^n through the exponent bits.
AVX512 static inline __m512 exp512(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

// tanh(v) = 1 − 2/(e^{2v} + 1): saturates to ±1 at the exp clamp.
AVX512 static inline __m512 gelu_tanh512(__m512 x) {
    const __m512 inner = _mm512_mul_ps(_mm512_set1_ps(2.0f * GELU_C),
                                       _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(GELU_A), x), _mm512_mul_ps(x, x), x));
    return _mm512_sub_ps(_mm512_set1_ps(1.0f), _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(exp512(inner), _mm512_set1_ps(1.0f))));
}

// Every element goes through the same vector arithmetic (the tail with a lane mask), so a value
// does not depend on where it sits in the buffer: DPO's policy and reference passes see the same
// activations at different offsets and must agree bit for bit.
AVX512 static void gelu_forward_avx512(const float *gate, const float *up, float *out, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        const __m512 x = _mm512_maskz_loadu_ps(m, gate + i);
        const __m512 t = gelu_tanh512(x);
        const __m512 g = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), t));
        _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(g, _mm512_maskz_loadu_ps(m, up + i)));
    }
}

AVX512 static void gelu_backward_avx512(const float *gate, const float *up, const float *dy, float *dgate, float *dup, size_t n) {
    const __m512 one = _mm512_set1_ps(1.0f), half = _mm512_set1_ps(0.5f);
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        const __m512 x = _mm512_maskz_loadu_ps(m, gate + i), d = _mm512_maskz_loadu_ps(m, dy + i);
        const __m512 t = gelu_tanh512(x);
        const __m512 halfX = _mm512_mul_ps(half, x);
        if (dgate) {
            const __m512 slope = _mm512_mul_ps(_mm512_set1_ps(GELU_C),
                                               _mm512_fmadd_ps(_mm512_set1_ps(3.0f * GELU_A), _mm512_mul_ps(x, x), one));
            const __m512 derivative = _mm512_fmadd_ps(_mm512_mul_ps(halfX, _mm512_fnmadd_ps(t, t, one)), slope,
                                                      _mm512_mul_ps(half, _mm512_add_ps(one, t)));
            const __m512 u = _mm512_maskz_loadu_ps(m, up + i);
            _mm512_mask_storeu_ps(dgate + i, m, _mm512_fmadd_ps(_mm512_mul_ps(d, u), derivative, _mm512_maskz_loadu_ps(m, dgate + i)));
        }
        if (dup) {
            const __m512 g = _mm512_mul_ps(halfX, _mm512_add_ps(one, t));
            _mm512_mask_storeu_ps(dup + i, m, _mm512_fmadd_ps(d, g, _mm512_maskz_loadu_ps(m, dup + i)));
        }
    }
}

static int has_avx512(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
    }
    return cached;
}
#endif

void whet_gelu_tanh_product(const float *gate, const float *up, float *out, size_t n) {
#if defined(__x86_64__)
    if (has_avx512()) { gelu_forward_avx512(gate, up, out, n); return; }
#endif
    gelu_forward_portable(gate, up, out, n);
}

void whet_gelu_tanh_product_backward(const float *gate, const float *up, const float *dy, float *dgate, float *dup, size_t n) {
#if defined(__x86_64__)
    if (has_avx512()) { gelu_backward_avx512(gate, up, dy, dgate, dup, n); return; }
#endif
    gelu_backward_portable(gate, up, dy, dgate, dup, n);
}
