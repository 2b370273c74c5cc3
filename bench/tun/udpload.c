/*
 * udpload.c - the bounded UDP load of kextnet's TUN echo benchmark.
 *
 *   udpload SRC DST PORT SIZE SECS [FLOWS] [MAXPKTS]
 *
 * Opens FLOWS (default 1) UDP sockets bound to SRC (each its own ephemeral port, so each is a flow)
 * and connected to DST:PORT. A sender thread sends SIZE-byte datagrams with sendmmsg(2), 64 per call,
 * round robin over the flows, as fast as it can for SECS seconds or until MAXPKTS (default 100 million)
 * are sent; a receiver thread counts the datagrams that come back with recvmmsg(2). Prints the offered
 * rate and the echoed rate over the sending window (replies still arriving 0.3 s later are reported
 * apart).
 *
 * Build: gcc -O2 -Wall -pthread -o udpload udpload.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAXFLOWS 64

static int socks[MAXFLOWS], nflows = 1;
static volatile int rx_stop;
static uint64_t rx_pkts;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void *receiver(void *arg) {
    (void)arg;
    static char bufs[BATCH][2048];
    struct mmsghdr m[BATCH];
    struct iovec io[BATCH];
    struct pollfd pfd[MAXFLOWS];
    for (int i = 0; i < BATCH; i++) {
        io[i].iov_base = bufs[i];
        io[i].iov_len = sizeof bufs[i];
        memset(&m[i], 0, sizeof m[i]);
        m[i].msg_hdr.msg_iov = &io[i];
        m[i].msg_hdr.msg_iovlen = 1;
    }
    for (int f = 0; f < nflows; f++) pfd[f] = (struct pollfd){.fd = socks[f], .events = POLLIN};
    while (!rx_stop) {
        int got = 0;
        for (int f = 0; f < nflows; f++) {
            int n = recvmmsg(socks[f], m, BATCH, MSG_DONTWAIT, NULL);
            if (n > 0) {
                __atomic_add_fetch(&rx_pkts, (uint64_t)n, __ATOMIC_RELAXED);
                got = 1;
            }
        }
        if (!got) poll(pfd, nflows, 50);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: udpload SRC DST PORT SIZE SECS [FLOWS] [MAXPKTS]\n");
        return 2;
    }
    int port = atoi(argv[3]), size = atoi(argv[4]);
    double secs = atof(argv[5]);
    nflows = argc > 6 ? atoi(argv[6]) : 1;
    uint64_t maxpkts = argc > 7 ? strtoull(argv[7], NULL, 10) : 100000000ULL;
    if (size < 1 || size > 1472 || secs <= 0 || secs > 600 || nflows < 1 || nflows > MAXFLOWS) {
        fprintf(stderr, "udpload: bad arguments\n");
        return 2;
    }
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, argv[1], &src.sin_addr) != 1 || inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1) {
        fprintf(stderr, "udpload: bad address\n");
        return 2;
    }
    for (int f = 0; f < nflows; f++) {
        socks[f] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        int big = 8 << 20;
        setsockopt(socks[f], SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
        setsockopt(socks[f], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
        if (bind(socks[f], (struct sockaddr *)&src, sizeof src) || connect(socks[f], (struct sockaddr *)&dst, sizeof dst)) {
            perror("bind/connect");
            return 1;
        }
    }
    pthread_t rx;
    pthread_create(&rx, NULL, receiver, NULL);

    static char payload[2048];
    memset(payload, 'k', sizeof payload);
    struct mmsghdr m[BATCH];
    struct iovec io[BATCH];
    for (int i = 0; i < BATCH; i++) {
        io[i].iov_base = payload;
        io[i].iov_len = (size_t)size;
        memset(&m[i], 0, sizeof m[i]);
        m[i].msg_hdr.msg_iov = &io[i];
        m[i].msg_hdr.msg_iovlen = 1;
    }
    uint64_t tx = 0, errs = 0;
    double t0 = now(), end = t0 + secs;
    for (int f = 0; now() < end && tx < maxpkts; f = (f + 1) % nflows) {
        int n = sendmmsg(socks[f], m, BATCH, 0);
        if (n > 0) tx += (uint64_t)n;
        else if (errno == EAGAIN || errno == ENOBUFS) { errs++; sched_yield(); }
        else { perror("sendmmsg"); break; }
    }
    double el = now() - t0;
    uint64_t rx_window = __atomic_load_n(&rx_pkts, __ATOMIC_RELAXED);
    usleep(300000);
    rx_stop = 1;
    pthread_join(rx, NULL);
    printf("RESULT udpload size=%d flows=%d secs=%.3f tx_pkts=%llu rx_pkts=%llu tx_pps=%.0f rx_pps=%.0f late_rx=%llu send_full=%llu\n",
           size, nflows, el, (unsigned long long)tx, (unsigned long long)rx_window, tx / el, rx_window / el,
           (unsigned long long)(rx_pkts - rx_window), (unsigned long long)errs);
    return 0;
}
