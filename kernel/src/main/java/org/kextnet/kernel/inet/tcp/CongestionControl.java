package org.kextnet.kernel.inet.tcp;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * A congestion controller: one instance per connection, owning the connection's congestion window and
 * slow-start threshold (in bytes). The connection tells it what happened (ACKs outside recovery, the start
 * and end of loss recovery, retransmission timeouts, idle restarts); how much may be in flight is then
 * {@link #cwnd()}, compared with the RFC 6675 pipe, and how fast it may go is {@link #pacingRate()}. Loss
 * detection and recovery (SACK, RACK, NewReno's partial ACKs) stay in the connection, so a controller is only
 * the window (and rate) arithmetic of its specification.
 *
 * <p>Called under the connection's lock, never concurrently. Controllers are chosen by name, per connection
 * ({@code TCP_CONGESTION}) or system-wide ({@link TcpConfig#congestionControl}).
 */
public interface CongestionControl {
    /** The name {@link #create} knows it by. */
    String name();

    /** Starts with the initial window {@code initialWindow} bytes and sender MSS {@code smss}. */
    void init(long initialWindow, int smss, long now);

    /** The congestion window, bytes. */
    long cwnd();

    /** The slow-start threshold, bytes ({@link Long#MAX_VALUE} until the first congestion event). */
    long ssthresh();

    /** The sender MSS changed (path MTU). */
    void setMss(int smss);

    /**
     * A cumulative ACK outside loss recovery acknowledged {@code ackedBytes} new bytes.
     * @param cwndLimited whether the window, not the application, limited what was sent (a window that is
     *                    not used is not grown: RFC 7661, RFC 9438 section 5.8)
     * @param srtt        the smoothed RTT (ns), or 0 without a sample
     */
    void onAck(long ackedBytes, boolean cwndLimited, long now, long srtt);

    /** Loss recovery begins (RFC 5681 3.2 step 2, RFC 6675 section 5, RFC 9438 4.6); {@code flightSize} in bytes. */
    void onCongestionEvent(long flightSize, long now);

    /** Loss recovery ended: the RecoveryPoint was acknowledged; {@code flightSize} is what is still in flight. */
    void onRecoveryEnd(long flightSize, long now);

    /**
     * The retransmission timer expired: the loss window (RFC 5681 eq. 4, RFC 9438 4.8).
     * @param first whether it is the first timeout of the episode: later ones hold ssthresh (RFC 5681 3.1)
     */
    void onTimeout(long flightSize, long now, boolean first);

    /**
     * The last congestion event (or timeout) was spurious: every retransmission it caused came back as a
     * D-SACK (RFC 3708). Restore the state from before it (RFC 9438 4.9; RFC 4015's response).
     */
    void undo(long now);

    /** The sender was idle longer than an RTO (RFC 5681 4.1): restart from at most {@code restartWindow}. */
    void onIdle(long restartWindow, long now);

    /**
     * Every ACK that delivered data or made the connection declare some lost, in or out of recovery, after
     * loss detection: its delivery-rate sample ({@code rs}, valid only during the call). A model-based
     * controller (BBR) runs on these; the loss-based ones ignore them (the default).
     */
    default void onRateSample(RateSample rs, long now) { }

    /**
     * The rate at which the sender paces its segments, bytes per second; 0 (the default) for none: segments go
     * as soon as the window allows, as the loss-based controllers expect.
     */
    default long pacingRate() { return 0; }

    /**
     * Whether segments sent now are to be marked application-limited, though the application is not what
     * limits them: BBR's PROBE_RTT holds the window down on purpose, and its low rates must not lower the
     * bandwidth estimate. False by default.
     */
    default boolean holdsWindowDown() { return false; }

    /** The controllers known by name: "cubic", "newreno" and "bbr", and any registered. */
    Map<String, Supplier<CongestionControl>> KNOWN = new ConcurrentHashMap<>(Map.of(
            "cubic", Cubic::new, "newreno", NewReno::new, "bbr", Bbr::new));

    /** A new controller of the named kind. @throws IllegalArgumentException for an unknown name */
    static CongestionControl create(String name) {
        Supplier<CongestionControl> s = KNOWN.get(name);
        if (s == null) throw new IllegalArgumentException("unknown congestion control: " + name + " (known: " + KNOWN.keySet() + ")");
        return s.get();
    }
}
