package org.kextnet.kernel.net;

import org.kextnet.kpi.net.FrameInfo;

/** The {@link FrameInfo} a thread reuses between a protocol's pre-output and the framer. */
public final class FrameInfoImpl implements FrameInfo {
    private long destination;
    private int frameType;
    private long linkDestination;

    /** Starts a new packet to {@code dest}. */
    public FrameInfoImpl reset(long dest) {
        destination = dest;
        frameType = 0;
        linkDestination = 0;
        return this;
    }

    @Override public long destination() { return destination; }
    @Override public int frameType() { return frameType; }
    @Override public void setFrameType(int type) { frameType = type; }
    @Override public long linkDestination() { return linkDestination; }
    @Override public void setLinkDestination(long address) { linkDestination = address; }
}
