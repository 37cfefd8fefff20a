/*
 * The kernels of kan_jet.c for one floating type T (names FN(name) carry its suffix).
 * Included twice by kan_jet.c; see there and kanpde/models/kan/fused_jet.py.
 *
 *   N points, I inputs, S = k + 1 local slots, F spline functions per input, O outputs,
 *   C first-derivative coordinates, P second-derivative pairs, H = 1 + C + P channels.
 *   start (N, I) int64 and values (N, I, 4, S): the first local B-spline of each input and
 *   the values and first three derivatives of the S local ones; act (N, I, 4): b, b', b'',
 *   b''' of the base activation (evaluated at x (N, I) by the forward pass when kind >= 0,
 *   see activation_point; else given).  d1 (N, C, I) and d2 (N, P, I)
 *   with point strides sd1, sd2 (C I and P I, or 0 when every point has the same channels,
 *   as for the seed jet of the input); pair p = (pa[p], pb[p]) multiplies
 *   outer_p = d1_pa d1_pb; w (I, F, O); wb (I, O); outputs y0 (N, O), y1 (N, C, O), y2
 *   (N, P, O) (value, first and second derivatives).  Slot s of input i is B_{start + s},
 *   used only when 0 <= start + s < F.
 */

/* One input value: interval, start and the local values (see bspline_uniform_local). */
INLINE void FN(bspline_point)(int64_t K, int64_t G, T xv, const T *RS t, T ih,
                              const T *RS pc, int64_t *RS start, T *RS out)
{
    const int64_t M = G + 2 * K + 1, n_int = M - 1, W = 4 * (K + 1);
    T u = (xv - t[0]) * ih;
    if (u != u) u = -1; /* NaN */
    int64_t j = u < 1 ? 0 : (u >= (T)(n_int - 1) ? n_int - 1 : (int64_t)u);
    j = j - (xv < t[j]) + (xv >= t[j + 1]);
    if (xv == t[K + G]) j = K + G - 1;
    const int valid = j >= 0 && j < n_int;
    const int64_t jc = j < 0 ? 0 : (j >= n_int ? n_int - 1 : j);
    const T s = valid ? (xv - t[jc]) * ih : 0;
    *start = valid ? j - K : -(G + 2 * K + 1);
    /* Horner over the powers of s, vectorized across the 4 (K + 1) columns */
    _Pragma("omp simd")
    for (int64_t c = 0; c < W; ++c) out[c] = pc[K * W + c];
    for (int64_t p = K - 1; p >= 0; --p) {
        _Pragma("omp simd")
        for (int64_t c = 0; c < W; ++c) out[c] = out[c] * s + pc[p * W + c];
    }
}

/* d^q b / dx^q, q = 0..3, of the base activation `kind` at x (in T arithmetic). */
INLINE void FN(activation_point)(int kind, T x, T *RS out)
{
    switch (kind) {
    case ACT_SILU: {
        const T s = 1 / (1 + MATH(exp)(-x)), sp = s * (1 - s);
        out[0] = x * s;
        out[1] = s * (1 + x * (1 - s));
        out[2] = sp * (2 + x * (1 - 2 * s));
        out[3] = sp * (x * (1 - 6 * sp) + 3 * (1 - 2 * s));
        break;
    }
    case ACT_TANH: {
        const T f = MATH(tanh)(x), d = 1 - f * f;
        out[0] = f;
        out[1] = d;
        out[2] = -2 * f * d;
        out[3] = -2 * d * (1 - 3 * f * f);
        break;
    }
    case ACT_GELU: {
        const T cdf = (T)0.5 * (1 + MATH(erf)(x * (T)0.70710678118654752440));
        const T pdf = MATH(exp)((T)-0.5 * x * x) * (T)0.39894228040143267794;
        out[0] = x * cdf;
        out[1] = cdf + x * pdf;
        out[2] = pdf * (2 - x * x);
        out[3] = x * pdf * (x * x - 4);
        break;
    }
    case ACT_SIN: {
        const T s = MATH(sin)(x), c = MATH(cos)(x);
        out[0] = s;
        out[1] = c;
        out[2] = -s;
        out[3] = -c;
        break;
    }
    default:
        out[0] = x;
        out[1] = 1;
        out[2] = 0;
        out[3] = 0;
    }
}

/* Phi_q, Phi_{q+1}, Phi_{q+2} of the edges (i, .) of one point, q = q0:
 * Phi_q[o] = act_q wb[i, o] + sum_{s in lo..hi-1} values[q, s] w[i, start + s, o]. */
INLINE void FN(edge_phi)(int64_t S, int64_t O, int64_t q0, const T *RS v, const T *RS a,
                         const T *RS base, const T *RS w_i, int64_t st, int64_t lo,
                         int64_t hi, T *RS p0, T *RS p1, T *RS p2)
{
    const T c0 = a[q0], c1 = a[q0 + 1], c2 = a[q0 + 2];
    _Pragma("omp simd")
    for (int64_t o = 0; o < O; ++o) {
        p0[o] = c0 * base[o];
        p1[o] = c1 * base[o];
        p2[o] = c2 * base[o];
    }
    for (int64_t s = lo; s < hi; ++s) {
        const T *row = w_i + (st + s) * O;
        const T v0 = v[q0 * S + s], v1 = v[(q0 + 1) * S + s], v2 = v[(q0 + 2) * S + s];
        _Pragma("omp simd")
        for (int64_t o = 0; o < O; ++o) {
            p0[o] += v0 * row[o];
            p1[o] += v1 * row[o];
            p2[o] += v2 * row[o];
        }
    }
}

/* One point: Phi_q = act_q wb[i] + sum_s values[q, s] w[i, start + s]; y_0 += Phi_0,
 * y_c += d1_c Phi_1, y_p += d2_p Phi_1 + outer_p Phi_2.  phi: scratch of 3 O. */
INLINE void FN(forward_point)(int64_t I, int64_t S, int64_t F, int64_t O, int64_t C,
                              int64_t P, const int64_t *RS st_n, const T *RS v_n,
                              const T *RS a_n, const T *RS d1_n, const T *RS d2_n,
                              const int64_t *RS pa, const int64_t *RS pb, const T *RS w,
                              const T *RS wb, T *RS yn, T *RS y1n, T *RS y2n, T *RS phi)
{
    const int64_t H = 1 + C + P;
    T *RS phi0 = phi, *RS phi1 = phi + O, *RS phi2 = phi + 2 * O;
    for (int64_t o = 0; o < O; ++o) yn[o] = 0;
    for (int64_t o = 0; o < C * O; ++o) y1n[o] = 0;
    for (int64_t o = 0; o < P * O; ++o) y2n[o] = 0;
    for (int64_t i = 0; i < I; ++i) {
        const int64_t st = st_n[i];
        const T *v = v_n + i * 4 * S;
        const T *a = a_n + i * 4;
        const T *base = wb + i * O;
        const int64_t lo = max64(0, -st), hi = min64(S, F - st);
        if (H == 1) { /* values only: accumulate straight into y */
            const T a0 = a[0];
            _Pragma("omp simd")
            for (int64_t o = 0; o < O; ++o) yn[o] += a0 * base[o];
            for (int64_t s = lo; s < hi; ++s) {
                const T *row = w + (i * F + st + s) * O;
                const T v0 = v[s];
                _Pragma("omp simd")
                for (int64_t o = 0; o < O; ++o) yn[o] += v0 * row[o];
            }
            continue;
        }
        FN(edge_phi)(S, O, 0, v, a, base, w + i * F * O, st, lo, hi, phi0, phi1, phi2);
        _Pragma("omp simd")
        for (int64_t o = 0; o < O; ++o) yn[o] += phi0[o];
        for (int64_t c = 0; c < C; ++c) {
            const T e = d1_n[c * I + i];
            T *RS yc = y1n + c * O;
            _Pragma("omp simd")
            for (int64_t o = 0; o < O; ++o) yc[o] += e * phi1[o];
        }
        for (int64_t p = 0; p < P; ++p) {
            const T e = d2_n[p * I + i], f = d1_n[pa[p] * I + i] * d1_n[pb[p] * I + i];
            T *RS yp = y2n + p * O;
            _Pragma("omp simd")
            for (int64_t o = 0; o < O; ++o) yp[o] += e * phi1[o] + f * phi2[o];
        }
    }
}

/* Phi_q, Phi_{q+1}, Phi_{q+2} (q = q0) of the edges (i, 0) of one point for every input i,
 * one output: p0[i] = act_q wb[i] + sum_s values[i, q, s] w[i, start + s] (independent
 * iterations over the inputs). */
INLINE void FN(edge_phi_o1)(int64_t I, int64_t S, int64_t F, int64_t q0,
                            const int64_t *RS st_n, const T *RS v_n, const T *RS a_n,
                            const T *RS w, const T *RS wb, T *RS p0, T *RS p1, T *RS p2)
{
    for (int64_t i = 0; i < I; ++i) {
        const int64_t st = st_n[i];
        const T *v = v_n + i * 4 * S + q0 * S, *a = a_n + i * 4 + q0, *w_i = w + i * F;
        const int64_t lo = max64(0, -st), hi = min64(S, F - st);
        T f0 = a[0] * wb[i], f1 = a[1] * wb[i], f2 = a[2] * wb[i];
        for (int64_t s = lo; s < hi; ++s) {
            const T r = w_i[st + s];
            f0 += v[s] * r;
            f1 += v[S + s] * r;
            f2 += v[2 * S + s] * r;
        }
        p0[i] = f0;
        p1[i] = f1;
        p2[i] = f2;
    }
}

/* forward_point for one output (the usual last layer), in two passes: Phi_q of every input
 * (independent iterations), then y as dot products over the inputs (vectorized; no chain of
 * dependent additions into one accumulator).  phi: scratch of 3 I. */
INLINE void FN(forward_point_o1)(int64_t I, int64_t S, int64_t F, int64_t C, int64_t P,
                                 const int64_t *RS st_n, const T *RS v_n, const T *RS a_n,
                                 const T *RS d1_n, const T *RS d2_n, const int64_t *RS pa,
                                 const int64_t *RS pb, const T *RS w, const T *RS wb,
                                 T *RS yn, T *RS y1n, T *RS y2n, T *RS phi)
{
    T *RS phi0 = phi, *RS phi1 = phi + I, *RS phi2 = phi + 2 * I;
    FN(edge_phi_o1)(I, S, F, 0, st_n, v_n, a_n, w, wb, phi0, phi1, phi2);
    T y = 0;
    _Pragma("omp simd reduction(+:y)")
    for (int64_t i = 0; i < I; ++i) y += phi0[i];
    *yn = y;
    if (C + P == 0) return;
    for (int64_t c = 0; c < C; ++c) {
        const T *RS e = d1_n + c * I;
        T yc = 0;
        _Pragma("omp simd reduction(+:yc)")
        for (int64_t i = 0; i < I; ++i) yc += e[i] * phi1[i];
        y1n[c] = yc;
    }
    for (int64_t p = 0; p < P; ++p) {
        const T *RS e = d2_n + p * I, *RS da = d1_n + pa[p] * I, *RS db = d1_n + pb[p] * I;
        T yp = 0;
        _Pragma("omp simd reduction(+:yp)")
        for (int64_t i = 0; i < I; ++i) yp += e[i] * phi1[i] + da[i] * db[i] * phi2[i];
        y2n[p] = yp;
    }
}

CLONES int FN(kan_jet_forward)(int64_t N, int64_t I, int64_t S, int64_t F, int64_t O,
                               int64_t C, int64_t P, int64_t sd1, int64_t sd2,
                               int64_t kind, const T *RS x, const int64_t *RS start,
                               const T *RS values, T *RS act, const T *RS d1,
                               const T *RS d2, const int64_t *RS pa,
                               const int64_t *RS pb, const T *RS w, const T *RS wb,
                               T *RS y0, T *RS y1, T *RS y2, int nthreads)
{
    int failed = 0;
    _Pragma("omp parallel num_threads(nthreads)")
    {
        T *phi = (T *)calloc(3 * (size_t)(O > I ? O : I), sizeof(T));
        if (!phi) {
            _Pragma("omp atomic write")
            failed = 1;
        }
        _Pragma("omp for schedule(static)")
        for (int64_t n = 0; n < N; ++n) {
            if (!phi) continue;
            const int64_t *st_n = start + n * I;
            const T *v_n = values + n * I * 4 * S;
            T *a_n = act + n * I * 4;
            if (kind >= 0)
                for (int64_t i = 0; i < I; ++i)
                    FN(activation_point)((int)kind, x[n * I + i], a_n + i * 4);
            const T *d1_n = d1 + n * sd1, *d2_n = d2 + n * sd2;
            T *yn = y0 + n * O, *y1n = y1 + n * C * O, *y2n = y2 + n * P * O;
            if (O == 1) /* the usual output layer */
                FN(forward_point_o1)(I, S, F, C, P, st_n, v_n, a_n, d1_n, d2_n, pa, pb, w, wb,
                                     yn, y1n, y2n, phi);
            else
                FN(forward_point)(I, S, F, O, C, P, st_n, v_n, a_n, d1_n, d2_n, pa, pb, w, wb,
                                  yn, y1n, y2n, phi);
        }
        free(phi);
    }
    return failed;
}

/* One point of the backward pass.  gPhi_0 = gy_0, gPhi_1 = sum_c d1_c gy_c + sum_p d2_p gy_p,
 * gPhi_2 = sum_p outer_p gy_p; g d1_c = <gy_c, Phi_1> + sum_{p = (c, b)} <gy_p, Phi_2> d1_b
 * + sum_{p = (a, c)} <gy_p, Phi_2> d1_a (outer_p = d1_a d1_b), g d2_p = <gy_p, Phi_1>;
 * g x = <gPhi_0, Phi_1> + <gPhi_1, Phi_2> + <gPhi_2, Phi_3>;
 * acc (this thread's g w, then g wb) += values_q gPhi_q, act_q gPhi_q.  scratch: 5 O. */
INLINE void FN(backward_point)(int64_t I, int64_t S, int64_t F, int64_t O, int64_t C,
                               int64_t P, const int64_t *RS st_n, const T *RS v_n,
                               const T *RS a_n, const T *RS d1_n, const T *RS d2_n,
                               const int64_t *RS pa, const int64_t *RS pb, const T *RS w,
                               const T *RS wb, const T *RS gn, const T *RS g1n,
                               const T *RS g2n, T *RS gx_n, T *RS gd1_n, T *RS gd2_n,
                               T *RS acc, int need_phi, T *RS scratch)
{
    T *RS phi1 = scratch, *RS phi2 = scratch + O, *RS phi3 = scratch + 2 * O;
    T *RS gp1 = scratch + 3 * O, *RS gp2 = scratch + 4 * O;
    for (int64_t i = 0; i < I; ++i) {
        const int64_t st = st_n[i];
        const T *v = v_n + i * 4 * S;
        const T *a = a_n + i * 4;
        const T *base = wb + i * O;
        const int64_t lo = max64(0, -st), hi = min64(S, F - st);
        if (C == 0 && P == 0) { /* values only: g x = <gy_0, Phi_1>, acc += values_0 gy_0 */
            if (gx_n) {
                const T a1 = a[1];
                _Pragma("omp simd")
                for (int64_t o = 0; o < O; ++o) phi1[o] = a1 * base[o];
                for (int64_t s = lo; s < hi; ++s) {
                    const T *row = w + (i * F + st + s) * O;
                    const T v1 = v[S + s];
                    _Pragma("omp simd")
                    for (int64_t o = 0; o < O; ++o) phi1[o] += v1 * row[o];
                }
                T gx = 0;
                _Pragma("omp simd reduction(+:gx)")
                for (int64_t o = 0; o < O; ++o) gx += gn[o] * phi1[o];
                gx_n[i] = gx;
            }
            if (acc) {
                for (int64_t s = lo; s < hi; ++s) {
                    T *RS ar = acc + (i * F + st + s) * O;
                    const T v0 = v[s];
                    _Pragma("omp simd")
                    for (int64_t o = 0; o < O; ++o) ar[o] += v0 * gn[o];
                }
                T *RS ab = acc + I * F * O + i * O;
                const T a0 = a[0];
                _Pragma("omp simd")
                for (int64_t o = 0; o < O; ++o) ab[o] += a0 * gn[o];
            }
            continue;
        }
        if (need_phi)
            FN(edge_phi)(S, O, 1, v, a, base, w + i * F * O, st, lo, hi, phi1, phi2, phi3);
        _Pragma("omp simd")
        for (int64_t o = 0; o < O; ++o) gp1[o] = gp2[o] = 0;
        for (int64_t c = 0; c < C; ++c) {
            const T *gc = g1n + c * O;
            const T e = d1_n[c * I + i];
            _Pragma("omp simd")
            for (int64_t o = 0; o < O; ++o) gp1[o] += e * gc[o];
            if (gd1_n) {
                T dot = 0;
                _Pragma("omp simd reduction(+:dot)")
                for (int64_t o = 0; o < O; ++o) dot += gc[o] * phi1[o];
                gd1_n[c * I + i] = dot;
            }
        }
        for (int64_t p = 0; p < P; ++p) {
            const T *gq = g2n + p * O;
            const int64_t ia = pa[p] * I + i, ib = pb[p] * I + i;
            const T e = d2_n[p * I + i], f = d1_n[ia] * d1_n[ib];
            _Pragma("omp simd")
            for (int64_t o = 0; o < O; ++o) {
                gp1[o] += e * gq[o];
                gp2[o] += f * gq[o];
            }
            if (gd2_n || gd1_n) {
                T dot1 = 0, dot2 = 0;
                _Pragma("omp simd reduction(+:dot1, dot2)")
                for (int64_t o = 0; o < O; ++o) {
                    dot1 += gq[o] * phi1[o];
                    dot2 += gq[o] * phi2[o];
                }
                if (gd2_n) gd2_n[p * I + i] = dot1;
                if (gd1_n) { /* outer_p = d1_a d1_b */
                    gd1_n[ia] += dot2 * d1_n[ib];
                    gd1_n[ib] += dot2 * d1_n[ia];
                }
            }
        }
        if (gx_n) {
            T gx = 0;
            _Pragma("omp simd reduction(+:gx)")
            for (int64_t o = 0; o < O; ++o)
                gx += gn[o] * phi1[o] + gp1[o] * phi2[o] + gp2[o] * phi3[o];
            gx_n[i] = gx;
        }
        if (acc) {
            for (int64_t s = lo; s < hi; ++s) {
                T *RS ar = acc + (i * F + st + s) * O;
                const T v0 = v[s], v1 = v[S + s], v2 = v[2 * S + s];
                _Pragma("omp simd")
                for (int64_t o = 0; o < O; ++o) ar[o] += v0 * gn[o] + v1 * gp1[o] + v2 * gp2[o];
            }
            T *RS ab = acc + I * F * O + i * O;
            const T a0 = a[0], a1 = a[1], a2 = a[2];
            _Pragma("omp simd")
            for (int64_t o = 0; o < O; ++o) ab[o] += a0 * gn[o] + a1 * gp1[o] + a2 * gp2[o];
        }
    }
}

/* backward_point for one output, in three passes: Phi_1..3 of every input (independent
 * iterations); gPhi_1, gPhi_2 and the input gradients as vector operations over the inputs;
 * the weight accumulators.  scratch: 5 I. */
INLINE void FN(backward_point_o1)(int64_t I, int64_t S, int64_t F, int64_t C, int64_t P,
                                  const int64_t *RS st_n, const T *RS v_n, const T *RS a_n,
                                  const T *RS d1_n, const T *RS d2_n, const int64_t *RS pa,
                                  const int64_t *RS pb, const T *RS w, const T *RS wb, T gn,
                                  const T *RS g1n, const T *RS g2n, T *RS gx_n, T *RS gd1_n,
                                  T *RS gd2_n, T *RS acc, int need_phi, T *RS scratch)
{
    T *RS phi1 = scratch, *RS phi2 = scratch + I, *RS phi3 = scratch + 2 * I;
    T *RS gp1 = scratch + 3 * I, *RS gp2 = scratch + 4 * I;
    if (need_phi) FN(edge_phi_o1)(I, S, F, 1, st_n, v_n, a_n, w, wb, phi1, phi2, phi3);
    _Pragma("omp simd")
    for (int64_t i = 0; i < I; ++i) gp1[i] = gp2[i] = 0;
    for (int64_t c = 0; c < C; ++c) {
        const T gc = g1n[c], *RS e = d1_n + c * I;
        _Pragma("omp simd")
        for (int64_t i = 0; i < I; ++i) gp1[i] += e[i] * gc;
        if (gd1_n) {
            T *RS gd = gd1_n + c * I;
            _Pragma("omp simd")
            for (int64_t i = 0; i < I; ++i) gd[i] = gc * phi1[i];
        }
    }
    for (int64_t p = 0; p < P; ++p) {
        const T gq = g2n[p];
        const T *RS e = d2_n + p * I, *RS da = d1_n + pa[p] * I, *RS db = d1_n + pb[p] * I;
        _Pragma("omp simd")
        for (int64_t i = 0; i < I; ++i) {
            gp1[i] += e[i] * gq;
            gp2[i] += da[i] * db[i] * gq;
        }
        if (gd2_n) {
            T *RS gd = gd2_n + p * I;
            _Pragma("omp simd")
            for (int64_t i = 0; i < I; ++i) gd[i] = gq * phi1[i];
        }
        if (gd1_n) { /* outer_p = d1_a d1_b (a == b: both terms, 2 d1_a) */
            T *ga = gd1_n + pa[p] * I, *gb = gd1_n + pb[p] * I;
            for (int64_t i = 0; i < I; ++i) {
                const T t = gq * phi2[i];
                ga[i] += t * db[i];
                gb[i] += t * da[i];
            }
        }
    }
    if (gx_n && C + P == 0) { /* values only: Phi_2, Phi_3 are not needed */
        _Pragma("omp simd")
        for (int64_t i = 0; i < I; ++i) gx_n[i] = gn * phi1[i];
    } else if (gx_n) {
        _Pragma("omp simd")
        for (int64_t i = 0; i < I; ++i)
            gx_n[i] = gn * phi1[i] + gp1[i] * phi2[i] + gp2[i] * phi3[i];
    }
    if (acc) {
        T *RS ab = acc + I * F;
        for (int64_t i = 0; i < I; ++i) {
            const int64_t st = st_n[i];
            const T *v = v_n + i * 4 * S, *a = a_n + i * 4;
            const int64_t lo = max64(0, -st), hi = min64(S, F - st);
            T *RS ar = acc + i * F;
            for (int64_t s = lo; s < hi; ++s)
                ar[st + s] += v[s] * gn + v[S + s] * gp1[i] + v[2 * S + s] * gp2[i];
            ab[i] += a[0] * gn + a[1] * gp1[i] + a[2] * gp2[i];
        }
    }
}

/* Gradients; any output pointer may be NULL (not needed).  work: nthreads * (I F O + I O). */
CLONES int FN(kan_jet_backward)(int64_t N, int64_t I, int64_t S, int64_t F, int64_t O,
                                int64_t C, int64_t P, int64_t sd1, int64_t sd2,
                                const int64_t *RS start, const T *RS values,
                                const T *RS act, const T *RS d1, const T *RS d2,
                                const int64_t *RS pa, const int64_t *RS pb, const T *RS w,
                                const T *RS wb, const T *RS gy0, const T *RS gy1,
                                const T *RS gy2, T *RS g_x, T *RS g_d1, T *RS g_d2,
                                T *RS g_w, T *RS g_wb, T *RS work, int nthreads)
{
    const int64_t WS = I * F * O, TS = WS + I * O; /* one thread's accumulators */
    const int need_phi = (g_x || g_d1 || g_d2);
    const int need_acc = (g_w || g_wb);
    int failed = 0, team = 1;
    _Pragma("omp parallel num_threads(nthreads)")
    {
        const int tid = THREAD_ID();
        if (tid == 0) team = TEAM_SIZE();
        T *scratch = (T *)calloc(5 * (size_t)(O > I ? O : I), sizeof(T));
        if (!scratch) {
            _Pragma("omp atomic write")
            failed = 1;
        }
        T *acc = need_acc ? work + (int64_t)tid * TS : NULL;
        if (acc) memset(acc, 0, sizeof(T) * (size_t)TS);
        _Pragma("omp for schedule(static)")
        for (int64_t n = 0; n < N; ++n) {
            if (!scratch) continue;
            const int64_t *st_n = start + n * I;
            const T *v_n = values + n * I * 4 * S, *a_n = act + n * I * 4;
            const T *d1_n = d1 + n * sd1, *d2_n = d2 + n * sd2;
            const T *gn = gy0 + n * O, *g1n = gy1 + n * C * O, *g2n = gy2 + n * P * O;
            T *gx_n = g_x ? g_x + n * I : NULL;
            T *gd1_n = g_d1 ? g_d1 + n * C * I : NULL;
            T *gd2_n = g_d2 ? g_d2 + n * P * I : NULL;
            if (O == 1) /* the usual output layer */
                FN(backward_point_o1)(I, S, F, C, P, st_n, v_n, a_n, d1_n, d2_n, pa, pb, w, wb,
                                      *gn, g1n, g2n, gx_n, gd1_n, gd2_n, acc, need_phi,
                                      scratch);
            else
                FN(backward_point)(I, S, F, O, C, P, st_n, v_n, a_n, d1_n, d2_n, pa, pb, w, wb,
                                   gn, g1n, g2n, gx_n, gd1_n, gd2_n, acc, need_phi, scratch);
        }
        free(scratch);
    }
    if (need_acc) {
        const int nt = team;
        _Pragma("omp parallel for schedule(static) num_threads(nthreads)")
        for (int64_t e = 0; e < TS; ++e) {
            T sum = 0;
            for (int t = 0; t < nt; ++t) sum += work[(int64_t)t * TS + e];
            if (e < WS) {
                if (g_w) g_w[e] = sum;
            } else if (g_wb) {
                g_wb[e - WS] = sum;
            }
        }
    }
    return failed;
}

/* The local B-splines on a uniform grid (BSplineBasis._locate and local_support):
 * grid (I, M) knots (M = G + 2K + 1), inv_h (I,) 1 / spacing, pieces (I, K + 1, 4 (K + 1))
 * the cardinal polynomial pieces of orders 0..3 scaled by inv_h^q.  Interval
 * j = floor((x - t_0) inv_h) clamped to 0..M-2, then moved by one against the stored knots
 * (so points at knots are placed as scipy places them); x == t_{K+G} uses interval K+G-1;
 * outside the knot vector start = -(G + 2K + 1), else start = j - K, and
 * values[q, r] = sum_p s^p pieces[p, q (K+1) + r], s = (x - t_j) inv_h. */
CLONES void FN(bspline_uniform_local)(int64_t N, int64_t I, int64_t K, int64_t G,
                                      const T *RS x, const T *RS grid, const T *RS inv_h,
                                      const T *RS pieces, int64_t *RS start, T *RS values,
                                      int nthreads)
{
    const int64_t M = G + 2 * K + 1, KP = K + 1, W = 4 * KP;
    _Pragma("omp parallel for schedule(static) num_threads(nthreads)")
    for (int64_t n = 0; n < N; ++n) {
        for (int64_t i = 0; i < I; ++i) {
            const int64_t e = n * I + i;
            if (K == 3) /* cubic, the default: constant trip counts */
                FN(bspline_point)(3, G, x[e], grid + i * M, inv_h[i], pieces + i * 16 * 4,
                                  start + e, values + e * 16);
            else
                FN(bspline_point)(K, G, x[e], grid + i * M, inv_h[i], pieces + i * KP * W,
                                  start + e, values + e * W);
        }
    }
}
