/*
 * A hybrid MPI x OpenMP program whose speed depends on how it is split: the midpoint-rule
 * integral of 4/(1+x^2) over [0,1] (pi), a fixed amount of work divided between the MPI ranks,
 * and within each rank between its OpenMP threads (OMP_NUM_THREADS). Strong scaling: the total
 * work stays the same whatever the split, so throughput shows what the split is worth.
 *
 *   mpicc -fopenmp -O2 -o hybrid hybrid.c
 *   OMP_NUM_THREADS=2 mpirun -np 2 --bind-to none ./hybrid --work 200
 *
 * Prints, from rank 0, the ranks and threads it ran with, the integral's error, and
 *   throughput: <million intervals per second>
 * timed between two barriers, so that mpirun's start-up is not part of the number.
 */
#include <math.h>
#include <mpi.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double integrate(long long first, long long count, double width) {
  double sum = 0.0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
  for (long long i = first; i < first + count; i++) {
    double x = (i + 0.5) * width;
    sum += 4.0 / (1.0 + x * x);
  }
  return sum * width;
}

int main(int argc, char **argv) {
  long long millions = 200;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--work") == 0 && i + 1 < argc) millions = atoll(argv[++i]);
  }
  MPI_Init(&argc, &argv);
  int rank, ranks;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  if (millions < 1) {
    if (rank == 0) fprintf(stderr, "--work must be a positive number of million intervals\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  long long total = millions * 1000000LL;
  long long share = total / ranks;
  long long first = share * rank;
  if (rank == ranks - 1) share = total - first;
  double width = 1.0 / (double)total;

  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  double part = integrate(first, share, width);
  double pi = 0.0;
  MPI_Reduce(&part, &pi, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  MPI_Barrier(MPI_COMM_WORLD);
  double seconds = MPI_Wtime() - t0;

  if (rank == 0) {
    printf("ranks=%d threads=%d error=%.2e seconds=%.3f\n", ranks, omp_get_max_threads(), fabs(pi - M_PI), seconds);
    printf("throughput: %.1f\n", (double)total / seconds / 1e6);
  }
  MPI_Finalize();
  return 0;
}
