package org.kextnet.kernel.socket;

import org.kextnet.kpi.socket.Socket;
import org.kextnet.kpi.socketfilter.SocketAttachment;

/** One socket filter attached to one socket: the cookie and the way back to both. */
final class Attachment implements SocketAttachment {
    final SocketFilterEntry entry;
    private final SocketFilterSet set;
    private volatile Object cookie;
    volatile boolean detaching;
    /** Its place on the socket: attachments run in ascending order (set when it is published). */
    long order;

    Attachment(SocketFilterEntry entry, SocketFilterSet set) {
        this.entry = entry;
        this.set = set;
    }

    SocketFilterSet set() { return set; }

    @Override public Socket socket() { return set.socket(); }
    @Override public Object cookie() { return cookie; }
    @Override public void setCookie(Object c) { cookie = c; }
    @Override public int handle() { return entry.handle(); }

    @Override public String toString() { return "sflt " + entry.name() + " on " + set.socket(); }
}
