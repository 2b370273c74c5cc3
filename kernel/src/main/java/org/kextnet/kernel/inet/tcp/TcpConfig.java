package org.kextnet.kernel.inet.tcp;

import java.util.concurrent.TimeUnit;

/**
 * TCP's system-wide settings (the {@code net.inet.tcp} sysctls): defaults for new connections and limits.
 * Fields are volatile so an administrator may change them while the stack runs; a connection reads them
 * when it is created (or, for timers, when it arms them). Times are in nanoseconds.
 */
public final class TcpConfig {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1), S = TimeUnit.SECONDS.toNanos(1);

    /** RFC 6298 (2.1): the RTO before any RTT sample. */
    public volatile long initialRto = S;
    /**
     * RFC 6298 (2.4) asks for 1 s; Linux and FreeBSD use 200 ms and 30 ms: with RACK-TLP the RTO is the last
     * resort, and a 1 s floor makes every tail loss cost a second. 200 ms, like Linux.
     */
    public volatile long minRto = 200 * MS;
    /** RFC 6298 (2.5): at least 60 s. */
    public volatile long maxRto = 120 * S;
    /** RFC 6298 (5.7): the RTO once data flows after the SYN had to be retransmitted. */
    public volatile long rtoAfterSynLoss = 3 * S;
    /** The delayed-ACK timeout (RFC 9293 3.8.6.3: under 0.5 s). */
    public volatile long delayedAck = 40 * MS;
    /** The receiver's largest delayed-ACK time the sender assumes for TLP (RFC 8985 7.2, WCDelAckT). */
    public volatile long maxAckDelay = 200 * MS;
    /** TIME-WAIT lasts 2 * MSL (RFC 9293 3.4.2). 30 s each, as Linux's 60 s TIME-WAIT. */
    public volatile long msl = 30 * S;
    /** How long an orphaned connection (closed by its user) waits in FIN-WAIT-2 for the peer's FIN. */
    public volatile long finWait2Timeout = 60 * S;
    /** Retransmissions of a SYN (active open) before ETIMEDOUT; of a SYN-ACK before the half-open connection goes. */
    public volatile int synRetries = 6, synAckRetries = 5;
    /** Retransmissions of data (RFC 9293 R2; Linux's tcp_retries2) before the connection is dropped with ETIMEDOUT. */
    public volatile int maxRetransmits = 15;
    /** Keepalive (RFC 9293 3.8.4, RFC 1122 4.2.3.6): idle time, probe interval, unanswered probes before the drop. */
    public volatile long keepIdle = 2 * 3600 * S, keepInterval = 75 * S;
    public volatile int keepCount = 9;
    /** Default send and receive buffer sizes (SO_SNDBUF, SO_RCVBUF), in bytes. */
    public volatile int sendBuffer = 256 * 1024, receiveBuffer = 128 * 1024;
    /** The largest receive buffer auto-tuning grows to (and the window scale is chosen for). */
    public volatile int receiveBufferMax = 6 * 1024 * 1024;
    /** The largest send buffer, whether set by the user or grown for a large congestion window. */
    public volatile int sendBufferMax = 8 * 1024 * 1024;
    /** Initial window in segments (RFC 6928's 10; RFC 5681 allows 2-4). */
    public volatile int initialWindow = 10;
    /** The default congestion control: "cubic" (RFC 9438) or "newreno" (RFC 5681, 6582). */
    public volatile String congestionControl = "cubic";
    /** RFC 2018 SACK, RFC 7323 timestamps and window scaling: offered in every SYN when on. */
    public volatile boolean sack = true, timestamps = true, windowScaling = true;
    /** RFC 8985: RACK loss detection (else RFC 6675's DupThresh rule) and the tail loss probe. */
    public volatile boolean rack = true, tailLossProbe = true;
    /** RFC 6675 DupThresh. */
    public volatile int dupThresh = 3;
    /** SYN cookies when a listener's queue of half-open connections is full. */
    public volatile boolean synCookies = true;
    /**
     * RFC 5961 7: challenge ACKs a connection sends per second at most. Per connection, not global: a global
     * budget is a side channel that tells an off-path attacker when he hit the window (CVE-2016-5696).
     */
    public volatile int challengeAckLimit = 10;
    /** At most one ACK per this interval in reply to out-of-window segments without data (ACK loops). */
    public volatile long outOfWindowAckInterval = 500 * MS;
    /** PMTU discovery (RFC 1191, 8201): the smallest MTU an ICMP message may set. */
    public volatile int minPathMtu = 552;
    /** Out-of-order ranges a receiver keeps; a segment that would need more is dropped (and retransmitted). */
    public volatile int maxReassemblyRanges = 64;
    /** Segments a connection sends at most per output call, so one ACK cannot make one thread send forever. */
    public volatile int maxBurst = 256;

    public TcpConfig() {}

    /** A copy with the same values. */
    public TcpConfig copy() {
        TcpConfig c = new TcpConfig();
        c.initialRto = initialRto; c.minRto = minRto; c.maxRto = maxRto; c.rtoAfterSynLoss = rtoAfterSynLoss;
        c.delayedAck = delayedAck; c.maxAckDelay = maxAckDelay; c.msl = msl; c.finWait2Timeout = finWait2Timeout;
        c.synRetries = synRetries; c.synAckRetries = synAckRetries; c.maxRetransmits = maxRetransmits;
        c.keepIdle = keepIdle; c.keepInterval = keepInterval; c.keepCount = keepCount;
        c.sendBuffer = sendBuffer; c.receiveBuffer = receiveBuffer; c.receiveBufferMax = receiveBufferMax;
        c.sendBufferMax = sendBufferMax; c.initialWindow = initialWindow; c.congestionControl = congestionControl;
        c.sack = sack; c.timestamps = timestamps; c.windowScaling = windowScaling; c.rack = rack;
        c.tailLossProbe = tailLossProbe; c.dupThresh = dupThresh; c.synCookies = synCookies;
        c.challengeAckLimit = challengeAckLimit; c.outOfWindowAckInterval = outOfWindowAckInterval;
        c.minPathMtu = minPathMtu; c.maxReassemblyRanges = maxReassemblyRanges; c.maxBurst = maxBurst;
        return c;
    }
}
