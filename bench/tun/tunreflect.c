/*
 * tunreflect.c - the C reference reflector of kextnet's TUN echo benchmark.
 *
 *   tunreflect DEV SECS [QUEUES]
 *
 * Creates TUN device DEV (IFF_TUN | IFF_NO_PI; IFF_MULTI_QUEUE with one thread per queue when
 * QUEUES > 1) in the caller's network namespace and, for SECS seconds, turns packets around in place:
 * an ICMP echo request becomes a reply (type patched, checksum adjusted incrementally), a UDP datagram
 * goes back with addresses and ports swapped (neither checksum changes under a swap). Other packets are
 * dropped. One read(2) and one write(2) per packet on a non-blocking descriptor, poll(2) when empty:
 * the leanest loop a user-space responder can run without batching. Prints packets read and written
 * per second at the end.
 *
 * Build: gcc -O2 -Wall -pthread -o tunreflect tunreflect.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAXQ 16

static double deadline;
static int fds[MAXQ];
static uint64_t reads[MAXQ], writes[MAXQ];

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Turns one IPv4 packet around in place; returns its length, or 0 to drop it. */
static size_t reflect(uint8_t *p, size_t n) {
    if (n < 20 || (p[0] >> 4) != 4) return 0;
    size_t hl = (size_t)(p[0] & 15) * 4;
    if (hl < 20 || n < hl + 8) return 0;
    uint8_t *l4 = p + hl;
    if (p[9] == 1) {                        /* ICMP */
        if (l4[0] != 8) return 0;           /* echo request only */
        l4[0] = 0;
        /* RFC 1624: the type word lost 0x0800, so the one's complement sum gains it back. */
        uint32_t sum = ((uint32_t)l4[2] << 8 | l4[3]) + 0x0800;
        sum = (sum & 0xffff) + (sum >> 16);
        l4[2] = sum >> 8;
        l4[3] = sum & 0xff;
    } else if (p[9] == 17) {                /* UDP */
        uint8_t port[2];
        memcpy(port, l4, 2);
        memcpy(l4, l4 + 2, 2);
        memcpy(l4 + 2, port, 2);
    } else {
        return 0;
    }
    uint8_t addr[4];
    memcpy(addr, p + 12, 4);
    memcpy(p + 12, p + 16, 4);
    memcpy(p + 16, addr, 4);
    return n;
}

static void *queue_loop(void *arg) {
    int q = (int)(intptr_t)arg;
    int fd = fds[q];
    uint8_t buf[65536];
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    while (now() < deadline) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EAGAIN) poll(&pfd, 1, 100);
            else if (errno != EINTR) { perror("read"); break; }
            continue;
        }
        reads[q]++;
        size_t len = reflect(buf, (size_t)n);
        if (len > 0 && write(fd, buf, len) == (ssize_t)len) writes[q]++;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: tunreflect DEV SECS [QUEUES]\n");
        return 2;
    }
    double secs = atof(argv[2]);
    int queues = argc > 3 ? atoi(argv[3]) : 1;
    if (queues < 1 || queues > MAXQ || secs <= 0 || secs > 3600) {
        fprintf(stderr, "tunreflect: bad arguments\n");
        return 2;
    }
    for (int q = 0; q < queues; q++) {
        fds[q] = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fds[q] < 0) { perror("open /dev/net/tun"); return 1; }
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        snprintf(ifr.ifr_name, IFNAMSIZ, "%s", argv[1]);
        ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (queues > 1 ? IFF_MULTI_QUEUE : 0);
        if (ioctl(fds[q], TUNSETIFF, &ifr) < 0) { perror("TUNSETIFF"); return 1; }
    }
    printf("READY %s queues=%d\n", argv[1], queues);
    fflush(stdout);
    double t0 = now();
    deadline = t0 + secs;
    pthread_t th[MAXQ];
    for (int q = 0; q < queues; q++) pthread_create(&th[q], NULL, queue_loop, (void *)(intptr_t)q);
    for (int q = 0; q < queues; q++) pthread_join(th[q], NULL);
    double el = now() - t0;
    uint64_t r = 0, w = 0;
    for (int q = 0; q < queues; q++) { r += reads[q]; w += writes[q]; }
    printf("RESULT c-reflector secs=%.3f in_pkts=%llu out_pkts=%llu in_pps=%.0f out_pps=%.0f\n",
           el, (unsigned long long)r, (unsigned long long)w, r / el, w / el);
    return 0;
}
