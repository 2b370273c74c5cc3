package org.kextnet.examples.tcplog;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicLong;

import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.socket.SockAddr;

/**
 * What tcplog knows of one TCP socket (tcplognke's {@code TCPLogInfo}): its kind, its addresses, the data that went
 * through it, when it was made, connected and ended, and the state the socket's events moved it to. It is the
 * socket filter's cookie for that socket, so the callbacks reach it without a lookup.
 *
 * <p>Threads: the counters are added to on packet threads (data in) and application threads (data out) at once,
 * so they are atomic; the other fields are written by the socket's callbacks, which xnu (and kextnet) serialise per
 * socket for events, and read by {@code list} on a control client's thread, hence volatile. The held data of the
 * delay mode is guarded by this object's monitor.
 */
final class Record {
    /** How the connection came about ({@code TLS_CONNECT_OUT}, {@code TLS_CONNECT_IN}, {@code TLS_LISTENING}). */
    enum Kind {
        /** Not known yet: a socket that has neither connected nor listened. */
        NONE("-"), OUT("out"), IN("in"), LISTEN("listen");

        final String text;

        Kind(String text) { this.text = text; }
    }

    /** Where the socket's events have moved it; CLOSED once the filter detached (the record is then finished). */
    enum State {
        CREATED, LISTENING, CONNECTING, CONNECTED, DISCONNECTING, DISCONNECTED, CLOSED;

        String text() { return name().toLowerCase(java.util.Locale.ROOT); }
    }

    final long id;
    final Instant created;
    volatile Kind kind = Kind.NONE;
    volatile State state = State.CREATED;
    volatile SockAddr local, remote;
    volatile Instant started, stopped;
    final AtomicLong bytesIn = new AtomicLong(), packetsIn = new AtomicLong(), bytesOut = new AtomicLong(),
            packetsOut = new AtomicLong();
    /** Received data held by the delay mode, oldest first. */
    final ArrayDeque<Held> held = new ArrayDeque<>();

    /** One piece of held data; due once its callout ran (or at once, if it only waits behind earlier data). */
    static final class Held {
        final Mbuf data;
        boolean due;

        Held(Mbuf data, boolean due) {
            this.data = data;
            this.due = due;
        }
    }

    Record(long id, Instant created) {
        this.id = id;
        this.created = created;
    }

    boolean finished() { return state == State.CLOSED; }

    /**
     * The record as one line of {@code key=value} words, the control's {@code list} format (docs/samples.md):
     * {@code id=3 kind=out state=connected local=10.0.0.1:49152 remote=10.0.0.2:80 bytes_in=5 packets_in=1
     * bytes_out=4 packets_out=1 created=2025-01-01T10:00:00.001Z started=2025-01-01T10:00:00.002Z stopped=-}.
     */
    String line() {
        return "id=" + id + " kind=" + kind.text + " state=" + state.text() + " local=" + text(local) + " remote=" + text(remote)
                + " bytes_in=" + bytesIn.get() + " packets_in=" + packetsIn.get()
                + " bytes_out=" + bytesOut.get() + " packets_out=" + packetsOut.get()
                + " created=" + created + " started=" + text(started) + " stopped=" + text(stopped);
    }

    private static String text(Object o) { return o == null ? "-" : o.toString(); }
}
