package org.kextnet.packetdrill;

/** A socket descriptor. Its fields are guarded by the shim's lock. */
final class SocketFile implements OpenFile {
    final ShimSocket socket;
    private boolean nonblocking, cloexec, closed;
    /** SO_RCVTIMEO and SO_SNDTIMEO in nanoseconds of virtual time; 0 waits forever, -1 not at all. */
    long receiveTimeout, sendTimeout;

    SocketFile(ShimSocket socket, boolean nonblocking, boolean cloexec) {
        this.socket = socket;
        this.nonblocking = nonblocking;
        this.cloexec = cloexec;
    }

    @Override public int pollEvents() { return closed ? Linux.POLLNVAL : socket.pollEvents(); }
    @Override public boolean isClosed() { return closed; }

    @Override public void close() {
        if (closed) return;
        closed = true;
        socket.close();
    }

    @Override public boolean nonblocking() { return nonblocking; }
    @Override public void setNonblocking(boolean on) { nonblocking = on; }
    @Override public boolean cloexec() { return cloexec; }
    @Override public void setCloexec(boolean on) { cloexec = on; }

    @Override public String toString() { return socket.toString(); }
}
