package org.kextnet.kernel.inet.tcp;

/**
 * The sender's record of every segment sent and not yet cumulatively acknowledged: the retransmission
 * queue, the SACK scoreboard (RFC 6675 section 3), and RACK's per-segment transmit times (RFC 8985 section
 * 6.1), in one array of records. Records tile {@code [SND.UNA, SND.NXT)} in sequence order, one per segment
 * as sent (a FIN is the last byte of the record that carries it); a SACK block or a smaller MSS that cuts a
 * record splits it, so marks are always whole records.
 *
 * <p>Each record is flagged SACKED, LOST (declared lost and not repaired), RETRANS (a retransmission is in
 * flight) and EVER_RETRANS (Karn). The byte counts of each class are kept as marks change, so the RFC 6675
 * pipe ({@link #pipe()}: bytes sent and not acknowledged, SACKed or lost, plus retransmissions in flight) is
 * O(1), as Linux's {@code packets_out - sacked_out - lost_out + retrans_out}.
 *
 * <p>It is also the delivery-rate estimator (draft-cheng-iccrg-delivery-rate-estimation; Linux's
 * tcp_rate.c): every transmission snapshots the connection's delivered count, the time of the last delivery,
 * the start of the current send interval and whether the application limited the sender; the ACK that
 * delivers a record turns the snapshot of the most recently sent one it delivered into a {@link RateSample}.
 *
 * <p>Parallel primitive arrays in a ring, grown by doubling and never shrunk: nothing is allocated per
 * segment. Owned by its {@link TcpConnection}, used under its lock.
 */
final class Scoreboard {
    /** APP_LIMITED: the record was (last) sent while the sender was application-limited (rate estimation). */
    static final int SACKED = 1, LOST = 2, RETRANS = 4, FIN = 8, EVER_RETRANS = 16, APP_LIMITED = 32;

    private int[] start = new int[16], end = new int[16];
    private long[] xmit = new long[16];
    /** Per record, at its (last) transmission: C.delivered, C.delivered_time, C.first_sent_time (the draft's P.*). */
    private long[] txDelivered = new long[16], txDeliveredTime = new long[16], txFirstSent = new long[16];
    private byte[] flags = new byte[16];
    private int mask = 15;
    private int head, count;
    private long outBytes, sackedBytes, lostBytes, retransBytes;
    /** No record before this index is LOST and waiting for its retransmission. */
    private int lostCursor;

    // The delivery-rate estimator's connection state (the draft's C.*).
    /** Bytes delivered (cumulatively ACKed or SACKed) since the connection began, and when the last of them was. */
    private long delivered, deliveredTime;
    /** The send time of the segment that started the current sampling interval. */
    private long firstSentTime;
    /** Nonzero while the application limits the sender: the delivered count at which the limited phase ends. */
    private long appLimited;
    /** Bytes ever declared lost (a lost retransmission counts again): a rate sample's newly lost bytes. */
    private long lostTotal;
    // What the current ACK's most recently sent delivered record had snapshotted (-1: nothing delivered yet).
    private long samplePriorDelivered = -1, samplePriorTime, sampleSendElapsed;
    private boolean sampleAppLimited;
    private long ackDelivered;

    // What the last cumAck/sack delivered, for RTT sampling and RACK (RFC 8985 6.2 steps 1-3).
    /** Transmit time and end of the most recently sent record newly delivered, or -1. */
    long deliveredXmit = -1;
    int deliveredEnd;
    boolean deliveredRetransmitted;
    /** Whether a newly delivered record had ever been retransmitted (Karn: no RTT sample from its time). */
    boolean deliveredAnyRetransmitted;
    /** Whether a newly delivered original transmission lay below an earlier SACK (reordering, RFC 8985 6.2 step 3). */
    boolean reorderingObserved;
    /** The highest end of a SACKed or ACKed record (RACK.fack), and its value before the current ACK. */
    int fack;
    private int fackAtAck;

    /** Starts the record at the first sequence number after the SYN. */
    void init(int seq) {
        clear();
        fack = seq;
        fackAtAck = seq;
    }

    int count() { return count; }
    boolean isEmpty() { return count == 0; }
    long outBytes() { return outBytes; }
    long sackedBytes() { return sackedBytes; }
    long lostBytes() { return lostBytes; }
    long retransBytes() { return retransBytes; }
    /** RFC 6675 pipe in bytes. */
    long pipe() { return outBytes - sackedBytes - lostBytes + retransBytes; }

    int start(int i) { return start[(head + i) & mask]; }
    int end(int i) { return end[(head + i) & mask]; }
    int flags(int i) { return flags[(head + i) & mask]; }
    long xmit(int i) { return xmit[(head + i) & mask]; }
    int length(int i) { int k = (head + i) & mask; return end[k] - start[k]; }
    /** The record's payload bytes (its length less the FIN). */
    int dataLength(int i) { int k = (head + i) & mask; return end[k] - start[k] - ((flags[k] & FIN) != 0 ? 1 : 0); }

    /** Records a segment just sent for the first time. */
    void append(int s, int e, long now, boolean fin) {
        if (count == start.length) grow();
        if (count == 0) firstSentTime = deliveredTime = now; // nothing in flight: a sampling interval starts here
        int k = (head + count) & mask;
        start[k] = s;
        end[k] = e;
        xmit[k] = now;
        flags[k] = (byte) (fin ? FIN : 0);
        snapshot(k);
        count++;
        outBytes += e - s;
    }

    /** The draft's OnPacketSent: what a rate sample from record k will be measured against. */
    private void snapshot(int k) {
        txDelivered[k] = delivered;
        txDeliveredTime[k] = deliveredTime;
        txFirstSent[k] = firstSentTime;
        if (appLimited != 0) flags[k] |= APP_LIMITED;
        else flags[k] &= ~APP_LIMITED;
    }

    /**
     * The sender had room in the window ({@code pipe} bytes in flight) and nothing to send (the draft's
     * CheckIfApplicationLimited): samples from segments sent until what is in flight now is delivered say less
     * about the path than about the application, and a rate estimator must not take them as the path's.
     */
    void markAppLimited(long pipe) {
        appLimited = Math.max(1, delivered + pipe);
    }

    boolean appLimited() { return appLimited != 0; }
    long delivered() { return delivered; }
    long lostTotal() { return lostTotal; }

    /** Adds or removes record k's bytes from the class counters. */
    private void account(int k, int sign) {
        int len = end[k] - start[k];
        int f = flags[k];
        outBytes += sign * len;
        if ((f & SACKED) != 0) sackedBytes += sign * len;
        else {
            if ((f & LOST) != 0) lostBytes += sign * len;
            if ((f & RETRANS) != 0) retransBytes += sign * len;
        }
    }

    /** The start of one ACK's processing: forgets what the last one delivered. */
    void beginAck() {
        fackAtAck = fack;
        samplePriorDelivered = -1;
        ackDelivered = 0;
        deliveredXmit = -1;
        deliveredRetransmitted = false;
        deliveredAnyRetransmitted = false;
        reorderingObserved = false;
    }

    private void delivered(int k) {
        int f = flags[k];
        if ((f & EVER_RETRANS) != 0) deliveredAnyRetransmitted = true;
        else if (Seq.lt(end[k], fackAtAck)) reorderingObserved = true;
        delivered += end[k] - start[k];
        ackDelivered += end[k] - start[k];
        if (deliveredXmit == -1 || xmit[k] - deliveredXmit > 0 || (xmit[k] == deliveredXmit && Seq.gt(end[k], deliveredEnd))) {
            deliveredXmit = xmit[k];
            deliveredEnd = end[k];
            deliveredRetransmitted = (f & EVER_RETRANS) != 0;
            // the draft's UpdateRateSample, from the most recently sent record (as Linux's tcp_rate_skb_delivered)
            samplePriorDelivered = txDelivered[k];
            samplePriorTime = txDeliveredTime[k];
            sampleAppLimited = (f & APP_LIMITED) != 0;
            sampleSendElapsed = xmit[k] - txFirstSent[k];
        }
        if (Seq.gt(end[k], fack)) fack = end[k];
    }

    /**
     * Removes what {@code ack} acknowledges cumulatively, trimming a record it cuts. Records newly delivered
     * (not SACKed before) are noted for RTT and RACK.
     * @return whether a record carrying the FIN was acknowledged
     */
    boolean cumAck(int ack) {
        boolean finAcked = false;
        while (count > 0) {
            int k = head;
            if (Seq.leq(end[k], ack)) {
                if ((flags[k] & SACKED) == 0) delivered(k);
                if ((flags[k] & FIN) != 0) finAcked = true;
                account(k, -1);
                head = (head + 1) & mask;
                count--;
                lostCursor = Math.max(0, lostCursor - 1);
            } else {
                if (Seq.gt(ack, start[k])) { // a record cut by the ACK (the peer's segments differ from ours)
                    if ((flags[k] & SACKED) == 0) {
                        delivered += ack - start[k];
                        ackDelivered += ack - start[k];
                    }
                    account(k, -1);
                    start[k] = ack;
                    account(k, 1);
                }
                break;
            }
        }
        if (count == 0) head = 0;
        if (Seq.gt(ack, fack)) fack = ack;
        return finAcked;
    }

    /** Index of the record holding sequence number {@code seq}, or -1. Records tile their range, so a binary search. */
    private int find(int seq) {
        if (count == 0 || Seq.lt(seq, start(0)) || Seq.geq(seq, end(count - 1))) return -1;
        int lo = 0, hi = count - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (Seq.leq(start(mid), seq)) lo = mid; else hi = mid - 1;
        }
        return lo;
    }

    /** Splits record i at {@code seq} (strictly inside it); both halves keep the flags and transmit time. */
    void split(int i, int seq) {
        if (count == start.length) grow();
        // shift records i+1.. up by one
        for (int j = count; j > i + 1; j--) copy((head + j - 1) & mask, (head + j) & mask);
        int k = (head + i) & mask, n = (head + i + 1) & mask;
        account(k, -1);
        start[n] = seq;
        end[n] = end[k];
        xmit[n] = xmit[k];
        flags[n] = flags[k];
        txDelivered[n] = txDelivered[k];
        txDeliveredTime[n] = txDeliveredTime[k];
        txFirstSent[n] = txFirstSent[k];
        end[k] = seq;
        flags[k] &= ~FIN;
        account(k, 1);
        account(n, 1);
        count++;
    }

    private void copy(int from, int to) {
        start[to] = start[from];
        end[to] = end[from];
        xmit[to] = xmit[from];
        flags[to] = flags[from];
        txDelivered[to] = txDelivered[from];
        txDeliveredTime[to] = txDeliveredTime[from];
        txFirstSent[to] = txFirstSent[from];
    }

    /**
     * Marks {@code [left, right)} SACKed (RFC 2018), splitting records at its edges.
     * @return bytes newly SACKed
     */
    long sack(int left, int right) {
        if (count == 0) return 0;
        left = Seq.max(left, start(0));
        right = Seq.min(right, end(count - 1));
        if (Seq.geq(left, right)) return 0;
        int i = find(left);
        if (i < 0) return 0;
        if (start(i) != left) {
            split(i, left);
            i++;
        }
        long newly = 0;
        for (; i < count && Seq.lt(start(i), right); i++) {
            if (Seq.gt(end(i), right)) split(i, right);
            int k = (head + i) & mask;
            if ((flags[k] & SACKED) != 0) continue;
            delivered(k);
            account(k, -1);
            flags[k] = (byte) ((flags[k] | SACKED) & ~(LOST | RETRANS));
            account(k, 1);
            newly += end[k] - start[k];
        }
        return newly;
    }

    /** Declares record i lost (RFC 6675 IsLost, RACK, NewReno): it will be retransmitted. */
    void markLost(int i) {
        int k = (head + i) & mask;
        int f = flags[k];
        if ((f & SACKED) != 0 || (f & (LOST | RETRANS)) == LOST) return;
        account(k, -1);
        flags[k] = (byte) ((f | LOST) & ~RETRANS);
        account(k, 1);
        lostTotal += end[k] - start[k];
        if (i < lostCursor) lostCursor = i;
    }

    /**
     * Declares record i lost unless it already is (its repair may be in flight): the DupThresh and NewReno
     * rules, which see the same hole again on every duplicate ACK. {@link #markLost} re-marks a lost
     * retransmission, which is what RACK finds.
     */
    void markLostOnce(int i) {
        if ((flags(i) & LOST) == 0) markLost(i);
    }

    /** Records that record i was just retransmitted at {@code now}. */
    void markRetransmitted(int i, long now) {
        int k = (head + i) & mask;
        account(k, -1);
        flags[k] |= RETRANS | EVER_RETRANS;
        xmit[k] = now;
        snapshot(k); // a retransmission is a transmission: it samples afresh
        account(k, 1);
    }

    /** The first record that is lost and not yet retransmitted (RFC 6675 NextSeg rule 1), or -1. */
    int nextLost() {
        if (lostBytes == 0) return -1;
        for (int i = lostCursor; i < count; i++) {
            if ((flags(i) & (SACKED | LOST | RETRANS)) == LOST) {
                lostCursor = i;
                return i;
            }
        }
        lostCursor = count;
        return -1;
    }

    /** After an RTO: forget SACK marks (RFC 2018 section 8, the receiver may have reneged) and declare everything lost. */
    void markAllLost() {
        for (int i = 0; i < count; i++) {
            int k = (head + i) & mask;
            flags[k] = (byte) ((flags[k] & (FIN | EVER_RETRANS | APP_LIMITED)) | LOST);
        }
        sackedBytes = 0;
        retransBytes = 0;
        lostBytes = outBytes;
        lostCursor = 0;
    }

    /** After PMTU shrank: records longer than {@code mss} are lost (RFC 1191: retransmit them in smaller segments). */
    int markLongerLost(int mss) {
        int n = 0;
        for (int i = 0; i < count; i++) {
            if ((flags(i) & SACKED) == 0 && dataLength(i) > mss) {
                markLost(i);
                n++;
            }
        }
        return n;
    }

    /**
     * RFC 6675 section 4 IsLost for every record below the highest SACK: lost when DupThresh discontiguous
     * SACKed segments, or more than (DupThresh - 1) * SMSS SACKed bytes, lie above it.
     * @return whether any record was newly marked
     */
    boolean markLostByDupThresh(int dupThresh, int smss) {
        long sackedAbove = 0;
        int segmentsAbove = 0;
        boolean marked = false;
        for (int i = count - 1; i >= 0; i--) {
            int f = flags(i);
            if ((f & SACKED) != 0) {
                sackedAbove += length(i);
                segmentsAbove++;
            } else if ((segmentsAbove >= dupThresh || sackedAbove > (long) (dupThresh - 1) * smss) && (f & LOST) == 0) {
                markLost(i);
                marked = true;
            }
        }
        return marked;
    }

    /**
     * RACK_detect_loss (RFC 8985 6.2 step 5): a record sent before the most recently delivered one
     * ({@code rackXmit}, {@code rackEnd}) is lost once {@code rtt + reoWnd} has passed since it was sent.
     * @return the longest time until a record not yet lost would be (arm the reordering timer), or 0
     */
    long rackDetectLoss(long now, long rackXmit, int rackEnd, long rtt, long reoWnd) {
        long timeout = 0;
        for (int i = 0; i < count; i++) {
            int k = (head + i) & mask;
            int f = flags[k];
            if ((f & SACKED) != 0 || (f & (LOST | RETRANS)) == LOST) continue;
            long x = xmit[k];
            boolean before = rackXmit - x > 0 || (x == rackXmit && Seq.gt(rackEnd, end[k]));
            if (!before) {
                // Records are sent in sequence order, retransmissions aside: an original transmission sent after
                // the RACK segment means every later original one was too.
                if ((f & EVER_RETRANS) == 0) break;
                continue;
            }
            long remaining = x + rtt + reoWnd - now;
            if (remaining <= 0) markLost(i);
            else timeout = Math.max(timeout, remaining);
        }
        return timeout;
    }

    /** The records as text, for tests and debugging: start+length and flags. */
    @Override public String toString() {
        StringBuilder b = new StringBuilder("pipe " + pipe() + " out " + outBytes + " sacked " + sackedBytes + " lost " + lostBytes
                + " retrans " + retransBytes + ":");
        for (int i = 0; i < count; i++) {
            int f = flags(i);
            b.append(' ').append(Integer.toUnsignedString(start(i))).append('+').append(length(i))
                    .append((f & SACKED) != 0 ? "S" : "").append((f & LOST) != 0 ? "L" : "").append((f & RETRANS) != 0 ? "R" : "");
        }
        return b.toString();
    }

    /**
     * The end of one ACK's processing (the draft's GenerateRateSample): fills {@code rs} with what it delivered
     * and the rate since the sampled record was sent. The rate is invalid ({@code interval} -1) if nothing was
     * delivered, or if the interval is shorter than {@code minRtt} (ACK compression would make it too high).
     * The caller fills in the flight, the losses and the recovery state.
     */
    void rateSample(RateSample rs, long now, long minRtt) {
        if (ackDelivered > 0) deliveredTime = now;
        if (appLimited != 0 && delivered > appLimited) appLimited = 0; // the app-limited data is all delivered
        rs.ackedSacked = ackDelivered;
        rs.totalDelivered = delivered;
        rs.rtt = deliveredXmit >= 0 && !deliveredRetransmitted ? now - deliveredXmit : -1;
        if (samplePriorDelivered < 0) {
            rs.delivered = 0;
            rs.interval = -1;
            rs.appLimited = false;
            rs.priorDelivered = delivered;
            return;
        }
        firstSentTime = deliveredXmit; // the next interval starts at the send of the record sampled now
        rs.priorDelivered = samplePriorDelivered;
        rs.appLimited = sampleAppLimited;
        rs.delivered = delivered - samplePriorDelivered;
        // The sending and the ACKing rates both bound the path's; the longer interval is the lower, safer rate.
        long interval = Math.max(sampleSendElapsed, now - samplePriorTime);
        rs.interval = interval <= 0 || (minRtt != RttEstimator.NONE && interval < minRtt) ? -1 : interval;
    }

    /** Drops every record (the connection closed). */
    void clear() {
        head = count = 0;
        outBytes = sackedBytes = lostBytes = retransBytes = 0;
        lostCursor = 0;
        delivered = deliveredTime = firstSentTime = appLimited = lostTotal = 0;
        samplePriorDelivered = -1;
    }

    private void grow() {
        int n = start.length * 2;
        int[] s = new int[n], e = new int[n];
        long[] x = new long[n], td = new long[n], tt = new long[n], tf = new long[n];
        byte[] f = new byte[n];
        for (int i = 0; i < count; i++) {
            int k = (head + i) & mask;
            s[i] = start[k];
            e[i] = end[k];
            x[i] = xmit[k];
            f[i] = flags[k];
            td[i] = txDelivered[k];
            tt[i] = txDeliveredTime[k];
            tf[i] = txFirstSent[k];
        }
        start = s;
        end = e;
        xmit = x;
        flags = f;
        txDelivered = td;
        txDeliveredTime = tt;
        txFirstSent = tf;
        mask = n - 1;
        head = 0;
    }
}
