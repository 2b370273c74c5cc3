/* tundelay.c - a delay line between two TUN devices, for a Linux-to-Linux reference with delay on a kernel
 * without netem: what Linux routes into device A comes out of device B MS_AB milliseconds later, and B to A after
 * MS_BA. Packets are kept in order; when a direction's queue is full the packet is dropped and counted.
 *
 *   tundelay DEV_A DEV_B MS_AB MS_BA SECS
 *
 * It creates both devices (IFF_TUN|IFF_NO_PI) and runs for SECS, then prints one RESULT line.
 * Build: gcc -O2 -Wall -o tundelay tundelay.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 32768 /* per direction: 20 ms at 1.6 Mpps */
#define SLOT 2048

struct line { int in, out; double delay; unsigned head, tail; double due[SLOTS]; uint16_t len[SLOTS]; uint8_t *buf;
              unsigned long passed, dropped; };

static volatile sig_atomic_t stop;
static void on_sig(int s) { (void)s; stop = 1; }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static int tun(const char *name) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) { perror(name); exit(1); }
    return fd;
}

static void take(struct line *l, double t) { /* read everything waiting on l->in */
    for (;;) {
        unsigned i = l->tail % SLOTS;
        if (l->tail - l->head == SLOTS) { /* full: read into a scratch slot and drop */
            uint8_t scratch[SLOT];
            if (read(l->in, scratch, SLOT) <= 0) return;
            l->dropped++;
            continue;
        }
        ssize_t n = read(l->in, l->buf + (size_t)i * SLOT, SLOT);
        if (n <= 0) return;
        l->len[i] = (uint16_t)n;
        l->due[i] = t + l->delay;
        l->tail++;
    }
}

static double give(struct line *l, double t) { /* write what is due; returns the next due time or 0 */
    while (l->head != l->tail) {
        unsigned i = l->head % SLOTS;
        if (l->due[i] > t) return l->due[i];
        if (write(l->out, l->buf + (size_t)i * SLOT, l->len[i]) < 0 && errno != EAGAIN) l->dropped++;
        else l->passed++;
        l->head++;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 6) { fprintf(stderr, "usage: tundelay DEV_A DEV_B MS_AB MS_BA SECS\n"); return 2; }
    signal(SIGINT, on_sig);
    signal(SIGTERM, on_sig);
    int a = tun(argv[1]), b = tun(argv[2]);
    static struct line ab, ba;
    ab.in = a; ab.out = b; ab.delay = atof(argv[3]) / 1e3; ab.buf = malloc((size_t)SLOTS * SLOT);
    ba.in = b; ba.out = a; ba.delay = atof(argv[4]) / 1e3; ba.buf = malloc((size_t)SLOTS * SLOT);
    double end = now() + atof(argv[5]);
    printf("READY\n");
    fflush(stdout);
    while (!stop && now() < end) {
        double t = now();
        take(&ab, t);
        take(&ba, t);
        t = now();
        double n1 = give(&ab, t), n2 = give(&ba, t), next = end;
        if (n1 && n1 < next) next = n1;
        if (n2 && n2 < next) next = n2;
        double w = next - now();
        if (w < 0) w = 0;
        if (w > 0.1) w = 0.1;
        struct timespec ts = {0, (long)(w * 1e9)};
        struct pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
        ppoll(p, 2, &ts, NULL);
    }
    printf("RESULT tundelay ab_passed=%lu ab_dropped=%lu ba_passed=%lu ba_dropped=%lu\n", ab.passed, ab.dropped,
           ba.passed, ba.dropped);
    return 0;
}
