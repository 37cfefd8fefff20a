/*
 * Native CPU kernels of the fused B-spline KAN-layer jet (OpenMP over points), built and
 * loaded at run time by kanpde/native/library.py (ctypes).  The mathematics and the tensor
 * shapes are documented in kanpde/models/kan/fused_jet.py; the code is written once in
 * kan_jet_impl.h and instantiated here for float (suffix _f32) and double (_f64).
 *
 *   kan_jet_forward_*        the jet of a layer: value, d/dx_c, d2/dx_a dx_b (three arrays);
 *                            evaluates the base activation itself when given its id
 *   kan_jet_backward_*       gradients of x, the input jet channels and the weights
 *                            (second-derivative pairs multiply d1_a d1_b, formed in place)
 *   bspline_uniform_local_*  first local B-spline and the k + 1 local values, orders 0..3,
 *                            on a uniform grid (the conventions of kanpde/models/bases/bspline.py)
 *
 * All arrays are C-contiguous (d1, d2 may repeat one point's channels: stride 0); the arrays
 * of one call never overlap.
 */
#include <math.h>
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

#define RS restrict
#define INLINE static inline __attribute__((always_inline))

/* x86-64 with GCC: an AVX2/FMA clone of each kernel next to the baseline one, picked at load
 * time, so one cached library serves every node of a cluster. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#define CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* base activations (ids shared with kanpde/models/kan/fused_jet.py) */
enum { ACT_IDENTITY = 0, ACT_SILU = 1, ACT_TANH = 2, ACT_GELU = 3, ACT_SIN = 4 };

#define T float
#define FN(name) name##_f32
#define MATH(name) name##f /* expf, tanhf, ... */
#include "kan_jet_impl.h"
#undef T
#undef FN
#undef MATH

#define T double
#define FN(name) name##_f64
#define MATH(name) name
#include "kan_jet_impl.h"
#undef T
#undef FN
#undef MATH

/* Checked by the loader: the calling convention of this file. */
int kan_jet_abi_version(void) { return 6; }
