/* tunsend.c - the C reference for a TCP sender on a plain TUN device: the mirror of the ACK-only reader
 * (../shared/bench tunbench -m tcpack), so that the stack's sending side has a same-run figure of what one
 * write system call per segment allows.
 *
 *   tunsend -i IF [-p PORT] [-d SECONDS] [-M MSS]
 *
 * Creates the TUN device IF (IFF_TUN | IFF_NO_PI; the caller gives it an address and brings it up), answers the
 * first SYN to PORT (19 unless told) with SYN|ACK (MSS, window scale 7 when the peer offers scaling; no SACK, no
 * timestamps), then sends MSS-sized segments of a fixed text as fast as the peer's window allows, one write(2) per
 * segment, reading the ACKs between writes. Its recovery is go-back-N: three duplicate ACKs, or 200 ms without
 * progress, send again from the first unacknowledged byte. It is as little TCP as a sender can be: no congestion
 * control, no timestamps, the payload's checksum summed once (only the headers are summed per segment).
 * Stops after SECONDS (10) from the handshake, or when the peer closes, with a RST; prints one RESULT line:
 * bytes acknowledged, their rate, segments written and sent again.
 * Build: gcc -O2 -Wall -o tunsend tunsend.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define ISS 1000u
#define WINDOW_CAP (4u << 20) /* bytes in flight at most, whatever the peer offers */

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static uint32_t sum16(uint32_t s, const uint8_t *b, size_t n) {
    for (; n > 1; b += 2, n -= 2) s += (uint32_t)b[0] << 8 | b[1];
    if (n) s += (uint32_t)b[0] << 8;
    return s;
}
static uint16_t fold(uint32_t s) { while (s >> 16) s = (s & 0xffff) + (s >> 16); return (uint16_t)~s; }
static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

/* the connection, from the sender's side; addresses and ports in network order as they came */
static uint8_t local_addr[4], peer_addr[4], local_port[2], peer_port[2];
static uint32_t rcv_nxt, snd_una, snd_nxt, peer_wnd;
static int peer_ws = -1, mss = 1460, adv_mss = 1460;
static uint16_t ip_id;

/* Writes a TCP segment (flags, options opt/optlen, len payload bytes whose sum is psum) into pkt; returns its length. */
static int segment(uint8_t *pkt, uint32_t seq, uint8_t flags, const uint8_t *opt, int optlen, int len, uint32_t psum) {
    int tl = 20 + optlen, total = 20 + tl + len;
    uint8_t *ip = pkt, *t = pkt + 20;
    memset(ip, 0, 20);
    ip[0] = 0x45; put16(ip + 2, total); put16(ip + 4, ip_id++); ip[6] = 0x40; ip[8] = 64; ip[9] = 6;
    memcpy(ip + 12, local_addr, 4); memcpy(ip + 16, peer_addr, 4);
    put16(ip + 10, fold(sum16(0, ip, 20)));
    memset(t, 0, 20);
    memcpy(t, local_port, 2); memcpy(t + 2, peer_port, 2);
    put32(t + 4, seq); put32(t + 8, rcv_nxt);
    t[12] = (uint8_t)(tl / 4 << 4); t[13] = flags; put16(t + 14, 0xffff);
    if (optlen) memcpy(t + 20, opt, optlen);
    uint32_t s = sum16(0, ip + 12, 8) + 6 + tl + len; /* pseudo-header */
    s = sum16(s, t, tl) + psum;
    put16(t + 16, fold(s));
    return total;
}

int main(int argc, char **argv) {
    const char *ifn = NULL; int port = 19; double dur = 10; int o;
    while ((o = getopt(argc, argv, "i:p:d:M:")) != -1) switch (o) {
        case 'i': ifn = optarg; break; case 'p': port = atoi(optarg); break;
        case 'd': dur = atof(optarg); break; case 'M': adv_mss = atoi(optarg); break;
        default: fprintf(stderr, "usage: %s -i IF [-p PORT] [-d SECONDS] [-M MSS]\n", argv[0]); return 2;
    }
    if (!ifn) { fprintf(stderr, "usage: %s -i IF [-p PORT] [-d SECONDS] [-M MSS]\n", argv[0]); return 2; }
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    struct ifreq ifr; memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI; strncpy(ifr.ifr_name, ifn, IFNAMSIZ - 1);
    if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("tunsend: /dev/net/tun"); return 1; }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    fprintf(stderr, "tunsend: %s port %d ready\n", ifr.ifr_name, port);

    static uint8_t in[65536], out[65536 + 64];
    uint8_t *payload = out + 40; /* a segment's payload sits here for good: only its headers are written again */
    for (int i = 0; i < (int)sizeof out - 40; i++) payload[i] = (uint8_t)(' ' + i % 95);
    uint32_t psum = 0;
    int established = 0, done = 0, dupacks = 0;
    unsigned long long segs = 0, rexmit = 0, wfail = 0, acked = 0;
    double start = 0, last_progress = 0, end_wait = now() + 60;
    while (!done) {
        double t = now();
        if (!established && t > end_wait) { fprintf(stderr, "tunsend: no connection in 60 s\n"); return 1; }
        if (established && t - start >= dur) break;
        int progressed = 0;
        ssize_t n;
        while ((n = read(fd, in, sizeof in)) > 0) { /* every packet that waits: ACKs, the SYN */
            if (n < 40 || in[0] >> 4 != 4 || in[9] != 6) continue;
            int ihl = (in[0] & 15) * 4; uint8_t *tcp = in + ihl;
            if (n < ihl + 20 || get16(tcp + 2) != port) continue;
            uint8_t fl = tcp[13];
            if (!established && (fl & 0x02) && !(fl & 0x10)) { /* the SYN */
                memcpy(local_addr, in + 16, 4); memcpy(peer_addr, in + 12, 4);
                memcpy(local_port, tcp + 2, 2); memcpy(peer_port, tcp, 2);
                rcv_nxt = get32(tcp + 4) + 1;
                int doff = (tcp[12] >> 4) * 4;
                for (int i = 20; i < doff && tcp[i] != 0;) { /* its MSS and window scale */
                    if (tcp[i] == 1) { i++; continue; }
                    if (i + 1 >= doff || tcp[i + 1] < 2) break;
                    if (tcp[i] == 2 && tcp[i + 1] == 4) mss = get16(tcp + i + 2);
                    if (tcp[i] == 3 && tcp[i + 1] == 3) peer_ws = tcp[i + 2] > 14 ? 14 : tcp[i + 2];
                    i += tcp[i + 1];
                }
                if (mss > adv_mss) mss = adv_mss;
                uint8_t opt[8] = {2, 4, adv_mss >> 8, adv_mss & 0xff, 1, 3, 3, 7};
                int l = segment(out, ISS, 0x12, opt, peer_ws >= 0 ? 8 : 4, 0, 0);
                if (write(fd, out, l) != l) wfail++;
                psum = sum16(0, payload, mss);
                continue;
            }
            if (!(fl & 0x10) || memcmp(tcp, peer_port, 2) != 0) continue;
            if (fl & 0x05) { done = 1; break; } /* RST or FIN: the reader has gone */
            uint32_t ack = get32(tcp + 8), wnd = (uint32_t)get16(tcp + 14) << (peer_ws > 0 ? peer_ws : 0);
            if (!established) {
                if (ack != ISS + 1) continue;
                established = 1; snd_una = snd_nxt = ISS + 1; start = last_progress = now();
            }
            if ((int32_t)(ack - snd_una) > 0 && (int32_t)(ack - snd_nxt) <= 0) {
                acked += ack - snd_una; snd_una = ack; dupacks = 0; progressed = 1; last_progress = t;
            } else if (ack == snd_una && snd_nxt != snd_una && ++dupacks == 3) {
                rexmit += (snd_nxt - snd_una + mss - 1) / mss; snd_nxt = snd_una; /* go back N */
            }
            peer_wnd = wnd;
        }
        if (!established) { struct pollfd p = {fd, POLLIN, 0}; poll(&p, 1, 100); continue; }
        if (snd_nxt != snd_una && t - last_progress > 0.2) { /* nothing acknowledged for 200 ms: from SND.UNA again */
            rexmit += (snd_nxt - snd_una + mss - 1) / mss; snd_nxt = snd_una; last_progress = t;
        }
        uint32_t limit = peer_wnd < WINDOW_CAP ? peer_wnd : WINDOW_CAP;
        int sent = 0;
        while (snd_nxt - snd_una + (uint32_t)mss <= limit && sent < 64) { /* a burst, then read ACKs again */
            int l = segment(out, snd_nxt, 0x10, NULL, 0, mss, psum);
            if (write(fd, out, l) != l) { wfail++; break; }
            snd_nxt += mss; segs++; sent++;
        }
        if (!sent && !progressed) { struct pollfd p = {fd, POLLIN, 0}; poll(&p, 1, 10); }
    }
    double el = now() - start;
    if (established) { int l = segment(out, snd_nxt, 0x14, NULL, 0, 0, 0); if (write(fd, out, l) != l) wfail++; }
    printf("RESULT tunsend if=%s mss=%d acked_bytes=%llu active_s=%.3f acked_Gbps=%.3f segs_out=%llu rexmit_segs=%llu write_fail=%llu\n",
           ifr.ifr_name, mss, acked, el, el > 0 ? acked * 8 / el / 1e9 : 0, segs, rexmit, wfail);
    return 0;
}
