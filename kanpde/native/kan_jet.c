/*
 * Fused jet of a B-spline KAN layer (CPU, OpenMP over points): forward and backward.
 * Built and loaded at run time by kanpde/native/library.py (ctypes); the mathematics and
 * the tensor shapes are documented in kanpde/models/fused_contraction.py.  All arrays are
 * C-contiguous.
 *
 *   N points, I inputs, S = k + 1 local slots, F spline functions per input, O outputs,
 *   C first-derivative coordinates, P second-derivative pairs, H = 1 + C + P channels.
 *
 *   start  (N, I)     int64  first local function; slot s is B_{start+s}, skipped unless
 *                            0 <= start + s < F (a point outside the knots has start << 0)
 *   values (N, I, 4, S)      d^q B_{start+s} / dx^q, q = 0..3
 *   act    (N, I, 4)         d^q b / dx^q of the base activation, q = 0..3
 *   d1     (N, C, I)         input first derivatives
 *   d2     (N, P, I)         input second derivatives
 *   outer  (N, P, I)         d1[a] * d1[b] of every pair (a, b)
 *   w      (I, F, O)         spline weights;  wb (I, O) base weights
 *   y      (N, H, O)         output channels: value, first, second derivatives
 *
 * Per point and input: Phi_q = act_q wb[i] + sum_s values[q, s] w[i, start + s]  (q = 0..2);
 * y_0 += Phi_0, y_c += d1_c Phi_1, y_p += d2_p Phi_1 + outer_p Phi_2.
 * Backward: gPhi_0 = gy_0, gPhi_1 = sum_c d1_c gy_c + sum_p d2_p gy_p,
 * gPhi_2 = sum_p outer_p gy_p; g d1_c = <gy_c, Phi_1>, g d2_p = <gy_p, Phi_1>,
 * g outer_p = <gy_p, Phi_2>; g x = sum_q <gPhi_q, act_{q+1} wb + sum_s values[q+1, s] w_s>;
 * g w[i, start + s] += sum_q values[q, s] gPhi_q;  g wb[i] += sum_q act_q gPhi_q
 * (per-thread accumulators in `work`, summed at the end).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#define THREAD_ID() omp_get_thread_num()
#define TEAM_SIZE() omp_get_num_threads()
#else
#define THREAD_ID() 0
#define TEAM_SIZE() 1
#endif

#define RS restrict /* the arrays of one call never overlap */

static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

#define DEFINE_KAN_JET(T, SUF)                                                                \
int kan_jet_forward_##SUF(int64_t N, int64_t I, int64_t S, int64_t F, int64_t O, int64_t C,  \
                          int64_t P, const int64_t *RS start, const T *RS values,            \
                          const T *RS act, const T *RS d1, const T *RS d2, const T *RS outer, \
                          const T *RS w, const T *RS wb, T *RS y, int nthreads)              \
{                                                                                            \
    const int64_t H = 1 + C + P;                                                             \
    int failed = 0;                                                                          \
    _Pragma("omp parallel num_threads(nthreads)")                                            \
    {                                                                                        \
        T *phi = (T *)malloc(sizeof(T) * 3 * (size_t)O);                                     \
        if (!phi) {                                                                          \
            _Pragma("omp atomic write")                                                      \
            failed = 1;                                                                      \
        }                                                                                    \
        _Pragma("omp for schedule(static)")                                                  \
        for (int64_t n = 0; n < N; ++n) {                                                    \
            if (!phi) continue;                                                              \
            T *yn = y + n * H * O;                                                           \
            memset(yn, 0, sizeof(T) * (size_t)(H * O));                                      \
            T *RS phi0 = phi, *RS phi1 = phi + O, *RS phi2 = phi + 2 * O;                    \
            for (int64_t i = 0; i < I; ++i) {                                                \
                const int64_t st = start[n * I + i];                                         \
                const T *v = values + (n * I + i) * 4 * S;                                   \
                const T *a = act + (n * I + i) * 4;                                          \
                const T *base = wb + i * O;                                                  \
                _Pragma("omp simd")                                                          \
                for (int64_t o = 0; o < O; ++o) {                                            \
                    phi0[o] = a[0] * base[o];                                                \
                    phi1[o] = a[1] * base[o];                                                \
                    phi2[o] = a[2] * base[o];                                                \
                }                                                                            \
                const int64_t lo = max64(0, -st), hi = min64(S, F - st);                     \
                for (int64_t s = lo; s < hi; ++s) {                                          \
                    const T *row = w + (i * F + st + s) * O;                                 \
                    const T v0 = v[s], v1 = v[S + s], v2 = v[2 * S + s];                     \
                    _Pragma("omp simd")                                                      \
                    for (int64_t o = 0; o < O; ++o) {                                        \
                        phi0[o] += v0 * row[o];                                              \
                        phi1[o] += v1 * row[o];                                              \
                        phi2[o] += v2 * row[o];                                              \
                    }                                                                        \
                }                                                                            \
                for (int64_t o = 0; o < O; ++o) yn[o] += phi0[o];                            \
                for (int64_t c = 0; c < C; ++c) {                                            \
                    const T e = d1[(n * C + c) * I + i];                                     \
                    T *yc = yn + (1 + c) * O;                                                \
                    for (int64_t o = 0; o < O; ++o) yc[o] += e * phi1[o];                    \
                }                                                                            \
                for (int64_t p = 0; p < P; ++p) {                                            \
                    const T e = d2[(n * P + p) * I + i], f = outer[(n * P + p) * I + i];     \
                    T *yp = yn + (1 + C + p) * O;                                            \
                    for (int64_t o = 0; o < O; ++o) yp[o] += e * phi1[o] + f * phi2[o];      \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
        free(phi);                                                                           \
    }                                                                                        \
    return failed;                                                                           \
}                                                                                            \
                                                                                             \
int kan_jet_backward_##SUF(int64_t N, int64_t I, int64_t S, int64_t F, int64_t O, int64_t C, \
                           int64_t P, const int64_t *RS start, const T *RS values,           \
                           const T *RS act, const T *RS d1, const T *RS d2,                  \
                           const T *RS outer, const T *RS w, const T *RS wb,                 \
                           const T *RS gy, T *RS g_x, T *RS g_d1,                            \
                           T *RS g_d2, T *RS g_outer, T *RS g_w, T *RS g_wb, T *RS work,     \
                           int nthreads)                                                     \
{                                                                                            \
    const int64_t H = 1 + C + P;                                                             \
    const int64_t WS = I * F * O, TS = WS + I * O; /* one thread's accumulators */           \
    const int need_phi = (g_x || g_d1 || g_d2 || g_outer);                                   \
    const int need_acc = (g_w || g_wb);                                                      \
    int failed = 0, team = 1;                                                                \
    _Pragma("omp parallel num_threads(nthreads)")                                            \
    {                                                                                        \
        const int tid = THREAD_ID();                                                         \
        if (tid == 0) team = TEAM_SIZE();                                                    \
        T *scratch = (T *)calloc(5 * (size_t)O, sizeof(T));                                  \
        if (!scratch) {                                                                      \
            _Pragma("omp atomic write")                                                      \
            failed = 1;                                                                      \
        }                                                                                    \
        T *acc = need_acc ? work + (int64_t)tid * TS : NULL;                                 \
        if (acc) memset(acc, 0, sizeof(T) * (size_t)TS);                                     \
        _Pragma("omp for schedule(static)")                                                  \
        for (int64_t n = 0; n < N; ++n) {                                                    \
            if (!scratch) continue;                                                          \
            const T *gn = gy + n * H * O;                                                    \
            T *RS phi1 = scratch, *RS phi2 = scratch + O, *RS phi3 = scratch + 2 * O;        \
            T *RS gp1 = scratch + 3 * O, *RS gp2 = scratch + 4 * O;                          \
            for (int64_t i = 0; i < I; ++i) {                                                \
                const int64_t st = start[n * I + i];                                         \
                const T *v = values + (n * I + i) * 4 * S;                                   \
                const T *a = act + (n * I + i) * 4;                                          \
                const T *base = wb + i * O;                                                  \
                const int64_t lo = max64(0, -st), hi = min64(S, F - st);                     \
                if (need_phi) { /* Phi_1, Phi_2, Phi_3 of the edges (i, .) */                \
                    const T a1 = a[1], a2 = a[2], a3 = a[3];                                 \
                    _Pragma("omp simd")                                                      \
                    for (int64_t o = 0; o < O; ++o) {                                        \
                        phi1[o] = a1 * base[o];                                              \
                        phi2[o] = a2 * base[o];                                              \
                        phi3[o] = a3 * base[o];                                              \
                    }                                                                        \
                    for (int64_t s = lo; s < hi; ++s) {                                      \
                        const T *row = w + (i * F + st + s) * O;                             \
                        const T v1 = v[S + s], v2 = v[2 * S + s], v3 = v[3 * S + s];         \
                        _Pragma("omp simd")                                                  \
                        for (int64_t o = 0; o < O; ++o) {                                    \
                            phi1[o] += v1 * row[o];                                          \
                            phi2[o] += v2 * row[o];                                          \
                            phi3[o] += v3 * row[o];                                          \
                        }                                                                    \
                    }                                                                        \
                }                                                                            \
                _Pragma("omp simd")                                                          \
                for (int64_t o = 0; o < O; ++o) gp1[o] = gp2[o] = 0;                         \
                for (int64_t c = 0; c < C; ++c) {                                            \
                    const T *gc = gn + (1 + c) * O;                                          \
                    const T e = d1[(n * C + c) * I + i];                                     \
                    _Pragma("omp simd")                                                      \
                    for (int64_t o = 0; o < O; ++o) gp1[o] += e * gc[o];                     \
                    if (g_d1) {                                                              \
                        T dot = 0;                                                           \
                        _Pragma("omp simd reduction(+:dot)")                                 \
                        for (int64_t o = 0; o < O; ++o) dot += gc[o] * phi1[o];              \
                        g_d1[(n * C + c) * I + i] = dot;                                     \
                    }                                                                        \
                }                                                                            \
                for (int64_t p = 0; p < P; ++p) {                                            \
                    const T *gq = gn + (1 + C + p) * O;                                      \
                    const T e = d2[(n * P + p) * I + i], f = outer[(n * P + p) * I + i];     \
                    _Pragma("omp simd")                                                      \
                    for (int64_t o = 0; o < O; ++o) {                                        \
                        gp1[o] += e * gq[o];                                                 \
                        gp2[o] += f * gq[o];                                                 \
                    }                                                                        \
                    if (g_d2 || g_outer) {                                                   \
                        T dot1 = 0, dot2 = 0;                                                \
                        _Pragma("omp simd reduction(+:dot1, dot2)")                          \
                        for (int64_t o = 0; o < O; ++o) {                                    \
                            dot1 += gq[o] * phi1[o];                                         \
                            dot2 += gq[o] * phi2[o];                                         \
                        }                                                                    \
                        if (g_d2) g_d2[(n * P + p) * I + i] = dot1;                          \
                        if (g_outer) g_outer[(n * P + p) * I + i] = dot2;                    \
                    }                                                                        \
                }                                                                            \
                if (g_x) { /* <gPhi_0, Phi_1> + <gPhi_1, Phi_2> + <gPhi_2, Phi_3> */         \
                    T gx = 0;                                                                \
                    _Pragma("omp simd reduction(+:gx)")                                      \
                    for (int64_t o = 0; o < O; ++o)                                          \
                        gx += gn[o] * phi1[o] + gp1[o] * phi2[o] + gp2[o] * phi3[o];         \
                    g_x[n * I + i] = gx;                                                     \
                }                                                                            \
                if (acc) {                                                                   \
                    for (int64_t s = lo; s < hi; ++s) {                                      \
                        T *RS ar = acc + (i * F + st + s) * O;                               \
                        const T v0 = v[s], v1 = v[S + s], v2 = v[2 * S + s];                 \
                        _Pragma("omp simd")                                                  \
                        for (int64_t o = 0; o < O; ++o)                                      \
                            ar[o] += v0 * gn[o] + v1 * gp1[o] + v2 * gp2[o];                 \
                    }                                                                        \
                    T *RS ab = acc + WS + i * O;                                             \
                    const T a0 = a[0], a1 = a[1], a2 = a[2];                                 \
                    _Pragma("omp simd")                                                      \
                    for (int64_t o = 0; o < O; ++o)                                          \
                        ab[o] += a0 * gn[o] + a1 * gp1[o] + a2 * gp2[o];                     \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
        free(scratch);                                                                       \
    }                                                                                        \
    if (need_acc) {                                                                          \
        const int nt = team;                                                                 \
        _Pragma("omp parallel for schedule(static) num_threads(nthreads)")                   \
        for (int64_t e = 0; e < TS; ++e) {                                                   \
            T sum = 0;                                                                       \
            for (int t = 0; t < nt; ++t) sum += work[(int64_t)t * TS + e];                   \
            if (e < WS) {                                                                    \
                if (g_w) g_w[e] = sum;                                                       \
            } else if (g_wb) {                                                               \
                g_wb[e - WS] = sum;                                                          \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
    return failed;                                                                           \
}

DEFINE_KAN_JET(float, f32)
DEFINE_KAN_JET(double, f64)

/* Checked by the loader: the calling convention of this file. */
int kan_jet_abi_version(void) { return 1; }
