/* tcpcps.c - connections per second: open, one request, close; and a plain echo server for the Linux reference.
 *
 *   tcpcps server IP PORT SECS           one thread: accept, echo what comes until the client's FIN, close; SECS bound
 *   tcpcps sink IP PORT SECS             connect and read for SECS what the server sends (chargen); prints Gbit/s
 *   tcpcps client IP PORT SECS SIZE [THREADS] [MAX]
 *       each of THREADS (1) threads, for SECS: connect, write SIZE bytes, read SIZE back, close; at most MAX (1e6)
 *       connections in all. Prints one RESULT line: connections completed, per second, failures, mean time of one.
 * Every wait is bounded (SO_RCVTIMEO/SO_SNDTIMEO 2 s). Build: gcc -O2 -Wall -pthread -o tcpcps tcpcps.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static struct sockaddr_in dst;
static double deadline;
static int size;
static long max_conns;
static atomic_long done, failed, started;

static void timeouts(int fd) {
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int one(char *buf) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    timeouts(fd);
    int one = 1, ok = -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&dst, sizeof dst) == 0 && write(fd, buf, size) == size) {
        int got = 0, n;
        while (got < size && (n = read(fd, buf + got, size - got)) > 0) got += n;
        if (got == size) ok = 0;
    }
    close(fd);
    return ok;
}

static void *client(void *arg) {
    (void)arg;
    char *buf = calloc(1, size);
    while (now() < deadline && atomic_fetch_add(&started, 1) < max_conns) {
        if (one(buf) == 0) atomic_fetch_add(&done, 1);
        else atomic_fetch_add(&failed, 1);
    }
    free(buf);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 5) goto usage;
    memset(&dst, 0, sizeof dst);
    dst.sin_family = AF_INET;
    dst.sin_port = htons(atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1) goto usage;
    double secs = atof(argv[4]);
    deadline = now() + secs;
    if (!strcmp(argv[1], "server")) {
        int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(l, (struct sockaddr *)&dst, sizeof dst) || listen(l, 512)) { perror("bind/listen"); return 1; }
        struct timeval tv = {1, 0};
        setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv); /* accept wakes up to see the deadline */
        char buf[65536];
        long served = 0;
        while (now() < deadline) {
            int c = accept(l, NULL, NULL);
            if (c < 0) continue;
            timeouts(c);
            int n;
            while ((n = read(c, buf, sizeof buf)) > 0) if (write(c, buf, n) != n) break;
            close(c);
            served++;
        }
        printf("RESULT server served=%ld\n", served);
        return 0;
    }
    if (!strcmp(argv[1], "sink")) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), n;
        timeouts(fd);
        if (connect(fd, (struct sockaddr *)&dst, sizeof dst)) { perror("connect"); return 1; }
        static char buf[1 << 18];
        unsigned long long got = 0;
        double t0 = now();
        while (now() < deadline && (n = read(fd, buf, sizeof buf)) > 0) got += n;
        double el = now() - t0;
        close(fd);
        printf("RESULT sink secs=%.3f bytes=%llu read_Gbps=%.3f\n", el, got, got * 8 / el / 1e9);
        return 0;
    }
    if (strcmp(argv[1], "client") || argc < 6) goto usage;
    size = atoi(argv[5]);
    int threads = argc > 6 ? atoi(argv[6]) : 1;
    max_conns = argc > 7 ? atol(argv[7]) : 1000000;
    if (size < 1 || size > 65536 || threads < 1 || threads > 64) goto usage;
    pthread_t t[64];
    double t0 = now();
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, client, NULL);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    double el = now() - t0;
    long d = atomic_load(&done);
    printf("RESULT client secs=%.3f threads=%d conns=%ld cps=%.0f failed=%ld mean_us=%.1f\n", el, threads, d, d / el,
           atomic_load(&failed), d ? el * threads / d * 1e6 : 0);
    return 0;
usage:
    fprintf(stderr, "usage: tcpcps server IP PORT SECS | tcpcps sink IP PORT SECS | tcpcps client IP PORT SECS SIZE [THREADS] [MAX]\n");
    return 2;
}
