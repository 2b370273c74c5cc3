package org.kextnet.kernel.inet.tcp;

/**
 * One ACK's delivery-rate sample (draft-cheng-iccrg-delivery-rate-estimation, section 3.3; Linux's
 * {@code struct rate_sample}): how many bytes were delivered over how long, measured from the most recently
 * sent segment this ACK newly acknowledged or SACKed, whether the sender was application-limited when that
 * segment went out, and what the ACK did to the flight. The {@link Scoreboard} fills it; a
 * {@link CongestionControl} reads it in {@link CongestionControl#onRateSample}. One per connection, refilled
 * on every ACK (nothing is allocated per ACK); read it only during that call.
 */
final class RateSample {
    /** The connection is not in loss recovery; in fast recovery (RFC 6675); recovering from a retransmission timeout. */
    static final int OPEN = 0, RECOVERY = 1, LOSS = 2;

    /** Bytes delivered between the sampled segment's send and this ACK (the rate's numerator). */
    long delivered;
    /** The sample's interval, ns: max(send_elapsed, ack_elapsed); -1 when this ACK gives no valid rate. */
    long interval = -1;
    /** Whether the sampled segment was sent while the application, not the network, limited the sender. */
    boolean appLimited;
    /** The connection's delivered count when the sampled segment was sent (rounds are counted with it). */
    long priorDelivered;
    /** The connection's delivered count after this ACK (C.delivered). */
    long totalDelivered;
    /** RTT of the sampled segment (ns), or -1 if it was retransmitted (Karn) or nothing was delivered. */
    long rtt = -1;
    /** Bytes in flight (the RFC 6675 pipe) before this ACK, and after it and the loss detection it caused. */
    long priorInFlight, inFlight;
    /** Bytes this ACK newly acknowledged or SACKed, and bytes it made the connection declare lost. */
    long ackedSacked, newlyLost;
    /** {@link #OPEN}, {@link #RECOVERY} or {@link #LOSS}, after this ACK. */
    int recovery;

    /** Whether {@link #rate} means something: a positive interval. */
    boolean valid() { return interval > 0; }

    /** The delivery rate, bytes per second (0 without a valid sample). */
    long rate() { return interval > 0 ? (long) (delivered * 1e9 / interval) : 0; }

    @Override public String toString() {
        return "delivered " + delivered + " in " + interval + " ns (" + rate() + " B/s)" + (appLimited ? " app-limited" : "")
                + " rtt " + rtt + " inflight " + priorInFlight + "->" + inFlight + " acked " + ackedSacked + " lost " + newlyLost
                + " recovery " + recovery;
    }
}
