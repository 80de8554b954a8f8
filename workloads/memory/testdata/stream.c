/*
 * A C reference for the memory workload's kernels, written after John
 * McCalpin's STREAM: the same four loops over arrays of double, as STREAM
 * writes them, split among OpenMP threads as STREAM splits them, counted
 * as STREAM counts them (2 arrays for copy and scale, 3 for add and
 * triad). BenchmarkStreamReference builds it with cc -O3 -fopenmp and runs
 * it beside the Go kernels.
 *
 * The arrays are allocated as the workload allocates its own: on 2 MiB
 * boundaries, advised to use transparent huge pages, and touched before
 * timing, so that the two differ in their loops only.
 *
 * usage: stream copy|scale|add|triad BYTES-PER-ARRAY SECONDS
 * prints bytes per second. OMP_NUM_THREADS sets the threads.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static double *array(size_t n) {
	size_t huge = 2 << 20, bytes = (n * sizeof(double) + huge - 1) / huge * huge;
	double *a = aligned_alloc(huge, bytes);
	if (a == NULL) {
		perror("aligned_alloc");
		exit(1);
	}
	madvise(a, bytes, MADV_HUGEPAGE);
	return a;
}

int main(int argc, char **argv) {
	if (argc != 4) {
		fprintf(stderr, "usage: stream copy|scale|add|triad BYTES-PER-ARRAY SECONDS\n");
		return 2;
	}
	const char *op = argv[1];
	size_t n = strtoull(argv[2], NULL, 10) / sizeof(double);
	double seconds = atof(argv[3]), q = 3.0;
	double *a = array(n), *b = array(n), *c = array(n);
#pragma omp parallel for
	for (size_t j = 0; j < n; j++) {
		a[j] = 1.0;
		b[j] = 2.0;
		c[j] = 0.0;
	}
	int kind = strcmp(op, "copy") == 0 ? 0 : strcmp(op, "scale") == 0 ? 1 : strcmp(op, "add") == 0 ? 2 : strcmp(op, "triad") == 0 ? 3 : -1;
	if (kind < 0) {
		fprintf(stderr, "stream: op %s is unknown\n", op);
		return 2;
	}
	long passes = 0;
	double start = now(), took;
	do {
		switch (kind) {
		case 0:
#pragma omp parallel for
			for (size_t j = 0; j < n; j++)
				c[j] = a[j];
			break;
		case 1:
#pragma omp parallel for
			for (size_t j = 0; j < n; j++)
				b[j] = q * c[j];
			break;
		case 2:
#pragma omp parallel for
			for (size_t j = 0; j < n; j++)
				c[j] = a[j] + b[j];
			break;
		case 3:
#pragma omp parallel for
			for (size_t j = 0; j < n; j++)
				a[j] = b[j] + q * c[j];
			break;
		}
		passes++;
		took = now() - start;
	} while (took < seconds);
	int arrays = kind < 2 ? 2 : 3;
	printf("%.6e\n", (double)passes * arrays * n * sizeof(double) / took);
	return 0;
}
