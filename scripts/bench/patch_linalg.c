// Per-patch CPU time of the extraction's patch linear algebra, the dense way it was done before issue 16's band
// solve and the band way (Sources/LinearAlgebra/LAPACK+Band.swift), plus the unchanged eigen-decompositions, on
// a random SPD band matrix of the real r0 patch's shape (7 fibers x 73 wavelengths, half-bandwidth 81), one
// OpenBLAS thread, 200 repetitions each. Usage:
//   gcc -O2 -o /tmp/patch_linalg scripts/bench/patch_linalg.c -lopenblas -llapacke && /tmp/patch_linalg
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cblas.h>
#include <lapacke.h>
int main(void) {
  openblas_set_num_threads(1);
  int nw = 73, n = 7 * nw, kd = 81, reps = 200;
  double *A = calloc((size_t)n * n, 8), *D = malloc((size_t)n * n * 8), *B = malloc((size_t)(kd + 1) * n * 8),
         *Bs = malloc((size_t)(kd + 1) * n * 8), *Z = malloc((size_t)n * n * 8), *C = malloc((size_t)nw * nw * 8);
  srand(1);
  for (int j = 0; j < n; j++) for (int d = 0; d <= kd && j + d < n; d++) {
    double v = d == 0 ? 2 * kd + 1 : (rand() / (double)RAND_MAX - 0.5);
    A[j * n + j + d] = v; A[(j + d) * n + j] = v; Bs[j * (kd + 1) + d] = v;
  }
  clock_t t0 = clock();
  for (int r = 0; r < reps; r++) {
    memcpy(D, A, (size_t)n * n * 8);
    LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', n, D, n);
    LAPACKE_dtrtri_work(LAPACK_COL_MAJOR, 'U', 'N', n, D, n);
    for (int s = 1; s < 6; s++)
      cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, nw, n - s * nw, 1.0, D + (s * nw * n + s * nw), n, 0.0, C, nw);
  }
  double dense = (double)(clock() - t0) / CLOCKS_PER_SEC / reps;
  t0 = clock();
  for (int r = 0; r < reps; r++) {
    memcpy(B, Bs, (size_t)(kd + 1) * n * 8);
    LAPACKE_dpbtrf_work(LAPACK_COL_MAJOR, 'L', n, kd, B, kd + 1);
    for (int j = n - 1; j >= nw; j--) {
      double l = B[j * (kd + 1)]; int k = kd < n - 1 - j ? kd : n - 1 - j; double *z = Z + (size_t)j * n + j;
      if (k > 0) {
        cblas_dsymv(CblasColMajor, CblasLower, k, -1 / l, z + n + 1, n, B + j * (kd + 1) + 1, 1, 0, z + 1, 1);
        z[0] = 1 / (l * l) - cblas_ddot(k, B + j * (kd + 1) + 1, 1, z + 1, 1) / l;
      } else z[0] = 1 / (l * l);
    }
    for (int s = 1; s < 6; s++) for (int j = 0; j < nw; j++) for (int i = j; i < nw; i++) {
      double v = Z[(size_t)(s * nw + j) * n + s * nw + i]; C[j * nw + i] = v; C[i * nw + j] = v; }
  }
  double band = (double)(clock() - t0) / CLOCKS_PER_SEC / reps;
  // the unchanged part: eigen-decomposition (dsyevd) and V f V^T (dgemm) of the 5 core fibers' blocks
  double *V = malloc((size_t)nw * nw * 8), *W = malloc(nw * 8), *Q = malloc((size_t)nw * nw * 8);
  t0 = clock();
  for (int r = 0; r < reps; r++) for (int s = 1; s < 6; s++) {
    for (int j = 0; j < nw; j++) for (int i = 0; i < nw; i++) V[j * nw + i] = Z[(size_t)(s * nw + (i > j ? j : i)) * n + s * nw + (i > j ? i : j)];
    LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', nw, V, nw, W);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, nw, nw, nw, 1.0, V, nw, V, nw, 0.0, Q, nw);
  }
  double eig = (double)(clock() - t0) / CLOCKS_PER_SEC / reps;
  printf("per patch CPU: 5 x (dsyevd + dgemm) of the core blocks %.2f ms (unchanged)\n", eig * 1e3);
  // check: band inverse vs dense inverse (covariance) at a diagonal element of fiber 3
  memcpy(D, A, (size_t)n * n * 8); LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', n, D, n); LAPACKE_dpotri_work(LAPACK_COL_MAJOR, 'U', n, D, n);
  int i0 = 3 * nw + 10;
  printf("per patch CPU: dense potrf+trtri+5 syrk %.2f ms, band pbtrf+selected inverse+blocks %.2f ms, ratio %.1fx; Z check %.3e vs %.3e\n",
         dense * 1e3, band * 1e3, dense / band, Z[(size_t)i0 * n + i0], D[(size_t)i0 * n + i0]);
  return 0;
}
