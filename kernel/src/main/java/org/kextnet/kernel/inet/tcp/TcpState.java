package org.kextnet.kernel.inet.tcp;

/** The connection states of RFC 9293 section 3.3.2, printed with their RFC names. */
public enum TcpState {
    CLOSED("CLOSED"),
    LISTEN("LISTEN"),
    SYN_SENT("SYN-SENT"),
    SYN_RECEIVED("SYN-RECEIVED"),
    ESTABLISHED("ESTABLISHED"),
    FIN_WAIT_1("FIN-WAIT-1"),
    FIN_WAIT_2("FIN-WAIT-2"),
    CLOSE_WAIT("CLOSE-WAIT"),
    CLOSING("CLOSING"),
    LAST_ACK("LAST-ACK"),
    TIME_WAIT("TIME-WAIT");

    private final String rfcName;

    TcpState(String rfcName) { this.rfcName = rfcName; }

    /** Whether both SYNs have been exchanged (RFC 5961's "synchronized states"). */
    public boolean isSynchronized() { return ordinal() >= ESTABLISHED.ordinal(); }

    /** Whether this side may still send data: the user has not closed the sending direction. */
    public boolean canSend() { return this == ESTABLISHED || this == CLOSE_WAIT; }

    /** Whether data from the peer is still accepted (RFC 9293 3.10.7.4, seventh step). */
    public boolean canReceive() { return this == ESTABLISHED || this == FIN_WAIT_1 || this == FIN_WAIT_2; }

    @Override public String toString() { return rfcName; }
}
