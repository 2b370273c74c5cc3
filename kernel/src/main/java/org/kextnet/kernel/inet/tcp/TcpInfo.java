package org.kextnet.kernel.inet.tcp;

/**
 * A snapshot of one connection for {@code netstat}-like listings ({@code struct tcp_info}, {@code xtcpcb}).
 * Times in nanoseconds, windows and queues in bytes.
 *
 * @param sendQueue      bytes in the send buffer (unsent and unacknowledged)
 * @param receiveQueue   bytes received in order and not yet read
 * @param retransmits    segments retransmitted over the connection's life
 * @param backoff        current RTO backoff (doublings)
 */
public record TcpInfo(TcpState state, TcpEndpoint local, TcpEndpoint remote, int sendQueue, int receiveQueue,
                      long srtt, long rttvar, long rto, int backoff, long cwnd, long ssthresh, long sendWindow,
                      long receiveWindow, int mss, long bytesInFlight, long retransmits, long bytesSent,
                      long bytesReceived, String congestionControl, boolean sack, boolean timestamps,
                      int sendScale, int receiveScale, boolean inRecovery) {

    /** One {@code netstat -n -p tcp}-like line: addresses, queues, state, then the congestion state. */
    public String format() {
        return String.format("tcp %8d %8d  %-22s %-22s %-12s rtt %.3f/%.3f ms rto %d ms cwnd %d ssthresh %s rexmt %d %s",
                receiveQueue, sendQueue, local, remote, state, srtt / 1e6, rttvar / 1e6, rto / 1_000_000, cwnd,
                ssthresh == Long.MAX_VALUE ? "-" : Long.toString(ssthresh), retransmits, congestionControl);
    }
}
