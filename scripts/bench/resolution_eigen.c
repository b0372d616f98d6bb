// CPU time per block of the extraction's resolution step, Q = C^(-1/2) of a 73 x 73 covariance block (Sources/
// LinearAlgebra/LAPACK+ColumnMajor.swift, inverseSquareRoot: dsyevd, then V diag(w^-1/2) V^T by dgemm), against
// the alternatives issue 16 asked about, on real blocks (scripts/bench/resolution_blocks.py), one OpenBLAS thread,
// the methods interleaved block by block so that a changing machine load hits them alike. Prints us per block and
// each method's largest |Q - Q_dsyevd| / max|Q_dsyevd|. Usage:
//   $REFENV/bin/python scripts/bench/resolution_blocks.py PSF PREPROC /tmp/blocks.bin
//   gcc -O2 -o /tmp/resolution_eigen scripts/bench/resolution_eigen.c -lopenblas -llapacke -lm
//   /tmp/resolution_eigen /tmp/blocks.bin
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define M 73
#define NMETHOD 6
static double cpu(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }

// V diag(f(w)) V^T, f = 1 / sqrt(max(w, floor)) as specter's eigen_compose(invert, sqr)
static void compose(const double *v, const double *w, double *q) {
  double vs[M * M], wmax = 0;
  for (int k = 0; k < M; k++) if (w[k] > wmax) wmax = w[k];
  double floor = sqrt(wmax) * 10 * 2.220446049250313e-16;
  for (int k = 0; k < M; k++) {
    double s = w[k] > 0 ? sqrt(w[k]) : 0, x = s > floor ? s : floor;
    for (int i = 0; i < M; i++) vs[k * M + i] = v[k * M + i] / x;
  }
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, M, M, M, 1.0, vs, M, v, M, 0.0, q, M);
}

// coupled Newton-Schulz iteration Y -> A^(1/2), Z -> A^(-1/2) after scaling A by its Frobenius norm
static int newtonSchulz(const double *a, double *z) {
  static double y[M * M], t[M * M], tmp[M * M];
  double c = 0;
  for (int i = 0; i < M * M; i++) c += a[i] * a[i];
  c = sqrt(c);
  for (int i = 0; i < M * M; i++) { y[i] = a[i] / c; z[i] = i % (M + 1) == 0; }
  int it;
  for (it = 1; it < 100; it++) {
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, M, M, M, -0.5, z, M, y, M, 0.0, t, M);
    double err = 0;
    for (int i = 0; i < M; i++) t[i * (M + 1)] += 1.5;
    for (int i = 0; i < M * M; i++) { double d = t[i] - (i % (M + 1) == 0); err += d * d; }
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, M, M, M, 1.0, y, M, t, M, 0.0, tmp, M);
    memcpy(y, tmp, sizeof tmp);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, M, M, M, 1.0, t, M, z, M, 0.0, tmp, M);
    memcpy(z, tmp, sizeof tmp);
    if (sqrt(err) < 1e-13) break;
  }
  for (int i = 0; i < M * M; i++) z[i] /= sqrt(c);
  return it;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: %s BLOCKS.bin\n", argv[0]); return 1; }
  FILE *f = fopen(argv[1], "rb");
  if (!f) { fprintf(stderr, "%s: cannot open\n", argv[1]); return 1; }
  static double blocks[64 * M * M];
  int nb = (int)(fread(blocks, sizeof(double), 64 * M * M, f) / (M * M));
  fclose(f);
  openblas_set_num_threads(1);
  const char *names[NMETHOD] = {"dsyevd U + dgemm (now)", "dsyevd L + dgemm", "dsyevr (MRRR) + dgemm",
                                "dsyev (QR) + dgemm", "dsyevx + dgemm", "Newton-Schulz (dgemm only)"};
  double t[NMETHOD] = {0}, err[NMETHOD] = {0}, v[M * M], z[M * M], w[M], q[M * M], ref[M * M];
  int isuppz[2 * M], ifail[M], nfound, reps = 20, nsmax = 0;
  for (int r = 0; r < reps; r++) for (int b = 0; b < nb; b++) {
    const double *a = blocks + (size_t)b * M * M;
    memcpy(v, a, sizeof v);   // untimed warm-up: the first method timed would otherwise pay for cold caches
    LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', M, v, M, w);
    compose(v, w, q);
    for (int m = 0; m < NMETHOD; m++) {
      double t0 = cpu();
      memcpy(v, a, sizeof v);
      if (m == 0 || m == 1) LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', m == 0 ? 'U' : 'L', M, v, M, w);
      else if (m == 2) { LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'V', 'A', 'U', M, v, M, 0, 0, 0, 0, 0, &nfound, w, z, M, isuppz); memcpy(v, z, sizeof z); }
      else if (m == 3) LAPACKE_dsyev(LAPACK_COL_MAJOR, 'V', 'U', M, v, M, w);
      else if (m == 4) { LAPACKE_dsyevx(LAPACK_COL_MAJOR, 'V', 'A', 'U', M, v, M, 0, 0, 0, 0, 0, &nfound, w, z, M, ifail); memcpy(v, z, sizeof z); }
      if (m < 5) compose(v, w, q);
      else { int it = newtonSchulz(a, q); if (it > nsmax) nsmax = it; }
      t[m] += cpu() - t0;
      if (m == 0) memcpy(ref, q, sizeof q);
      double qmax = 0, d = 0;
      for (int i = 0; i < M * M; i++) { if (fabs(ref[i]) > qmax) qmax = fabs(ref[i]); if (fabs(q[i] - ref[i]) > d) d = fabs(q[i] - ref[i]); }
      if (d / qmax > err[m]) err[m] = d / qmax;
    }
  }
  printf("%d real blocks %dx%d, %d repetitions, CPU per block:\n", nb, M, M, reps);
  for (int m = 0; m < NMETHOD; m++)
    printf("  %-28s %7.1f us  (%.2fx the current)  max|dQ|/max|Q| %.1e\n", names[m], t[m] / (reps * nb) * 1e6, t[m] / t[0], err[m]);
  printf("  Newton-Schulz iterations to |I - ZY|_F < 1e-13: up to %d\n", nsmax);
  return 0;
}
