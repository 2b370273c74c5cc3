/*
 * What a call into the shim costs, beside what a call into another process costs (docs/benchmarks.md,
 * "packetdrill shim"). Loads the shim as packetdrill does and times, in rounds:
 *   - gettimeofday right after gettimeofday (packetdrill's spin loop: each such read also moves the clock 1 µs),
 *   - usleep(0) (a driver operation with nothing to do),
 *   - a one-byte pipe round trip to a child process (what a shim talking to a Java process would pay at least).
 * Usage: call-cost SHIM.so CALLS ROUNDS
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "packetdrill.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct packetdrill_interface ifc;
	packetdrill_interface_init_t init;
	struct timeval tv;
	int a[2], b[2], n, rounds;
	char c = 'x';
	void *h;
	pid_t child;

	if (argc != 4) {
		fprintf(stderr, "usage: %s SHIM.so CALLS ROUNDS\n", argv[0]);
		return 2;
	}
	n = atoi(argv[2]);
	rounds = atoi(argv[3]);
	h = dlopen(argv[1], RTLD_NOW);
	if (!h) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	init = (packetdrill_interface_init_t)dlsym(h, "packetdrill_interface_init");
	init("", &ifc);
	if (pipe(a) || pipe(b))
		return 1;
	child = fork();
	if (child == 0) {
		close(a[1]);
		close(b[0]);
		while (read(a[0], &c, 1) == 1 && write(b[1], &c, 1) == 1)
			;
		_exit(0);
	}
	for (int r = 0; r < rounds; r++) {
		double t0 = now(), t1, t2, t3;

		for (int i = 0; i < n; i++)
			ifc.gettimeofday(ifc.userdata, &tv, NULL);
		t1 = now();
		for (int i = 0; i < n; i++)
			ifc.usleep(ifc.userdata, 0);
		t2 = now();
		for (int i = 0; i < n; i++)
			if (write(a[1], &c, 1) != 1 || read(b[0], &c, 1) != 1)
				return 1;
		t3 = now();
		printf("round %d: gettimeofday %.0f ns, usleep(0) %.0f ns, pipe round trip %.0f ns\n", r + 1,
		       (t1 - t0) / n * 1e9, (t2 - t1) / n * 1e9, (t3 - t2) / n * 1e9);
	}
	close(a[1]);
	waitpid(child, NULL, 0);
	return 0;
}
