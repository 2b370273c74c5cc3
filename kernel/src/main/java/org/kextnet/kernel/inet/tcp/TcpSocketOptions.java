package org.kextnet.kernel.inet.tcp;

/**
 * The per-connection options a user sets ({@code SO_SNDBUF}, {@code TCP_NODELAY}, ...): set on a connection
 * before or while it runs, and on a listener as the template its connections start with. A mutable holder;
 * a connection copies the listener's when it is made.
 */
public final class TcpSocketOptions {
    /** SO_SNDBUF, SO_RCVBUF in bytes; 0 for the system default (and, for receiving, auto-tuning). */
    public int sendBuffer, receiveBuffer;
    /** TCP_NODELAY: no Nagle. */
    public boolean noDelay;
    /** SO_KEEPALIVE, and TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT (0: the system's). */
    public boolean keepAlive;
    public long keepIdle, keepInterval;
    public int keepCount;
    /** SO_OOBINLINE: urgent data stays in the stream. */
    public boolean oobInline;
    /** TCP_CONGESTION, or null for the system's. */
    public String congestionControl;
    /** TCP_MAXSEG: the largest segment to send and to announce (0: from the route). */
    public int maxSegment;
    /** TCP_USER_TIMEOUT (RFC 9293 3.8.3, RFC 5482) in ns: give up when data stays unacknowledged this long (0: retries decide). */
    public long userTimeout;

    public TcpSocketOptions() {}

    public TcpSocketOptions copy() {
        TcpSocketOptions o = new TcpSocketOptions();
        o.sendBuffer = sendBuffer; o.receiveBuffer = receiveBuffer; o.noDelay = noDelay; o.keepAlive = keepAlive;
        o.keepIdle = keepIdle; o.keepInterval = keepInterval; o.keepCount = keepCount; o.oobInline = oobInline;
        o.congestionControl = congestionControl; o.maxSegment = maxSegment; o.userTimeout = userTimeout;
        return o;
    }
}
