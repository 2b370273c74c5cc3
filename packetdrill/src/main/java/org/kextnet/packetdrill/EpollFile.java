package org.kextnet.packetdrill;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An epoll instance: an interest list of descriptors, each with its events and its 64-bit data, reported in the
 * order they were added. Level-triggered by default; {@code EPOLLONESHOT} disables an entry once reported
 * until {@code EPOLL_CTL_MOD}; {@code EPOLLET} reports an entry when an event bit it did not have at the last
 * {@code epoll_wait} appears, or when its socket's {@link ShimSocket#eventCount} moved (new data on a descriptor
 * that was readable all along, as in Linux). Guarded by the shim's lock.
 */
final class EpollFile implements OpenFile {
    private static final class Interest {
        int events;
        long data;
        boolean disabled;
        int lastSeen;
        long lastCount;
    }

    private final Map<Integer, Interest> interests = new LinkedHashMap<>();
    private boolean cloexec, nonblocking, closed;

    EpollFile(boolean cloexec) { this.cloexec = cloexec; }

    /** {@code epoll_ctl}. @return 0 or a negative errno */
    int control(int op, int fd, OpenFile target, int events, long data) {
        Interest i = interests.get(fd);
        switch (op) {
            case Linux.EPOLL_CTL_ADD -> {
                if (i != null) return -Linux.EEXIST;
                if (target == this) return -Linux.EINVAL;
                if (target instanceof EpollFile) return -Linux.EINVAL; // nested epoll: not supported here
                i = new Interest();
                i.events = events;
                i.data = data;
                interests.put(fd, i);
            }
            case Linux.EPOLL_CTL_MOD -> {
                if (i == null) return -Linux.ENOENT;
                i.events = events;
                i.data = data;
                i.disabled = false;
                i.lastSeen = 0;
                i.lastCount = target instanceof SocketFile s ? s.socket.eventCount() : 0;
            }
            case Linux.EPOLL_CTL_DEL -> {
                if (i == null) return -Linux.ENOENT;
                interests.remove(fd);
            }
            default -> { return -Linux.EINVAL; }
        }
        return 0;
    }

    /** Forgets a descriptor that was closed (Linux drops it from every interest list when its file goes). */
    void forget(int fd) { interests.remove(fd); }

    /**
     * What {@code epoll_wait} reports now, up to {@code max} entries, into {@code events} and {@code data};
     * with {@code consume}, one-shot entries are disabled and edges are taken.
     * @param files the shim's descriptor table
     * @return how many
     */
    int collect(Map<Integer, OpenFile> files, int[] events, long[] data, int max, boolean consume) {
        int n = 0;
        for (Map.Entry<Integer, Interest> e : interests.entrySet()) {
            if (n == max) break;
            Interest i = e.getValue();
            OpenFile f = files.get(e.getKey());
            if (i.disabled || f == null) continue;
            int ready = f.pollEvents() & (i.events | Linux.EPOLLERR | Linux.EPOLLHUP) & ~(Linux.EPOLLET | Linux.EPOLLONESHOT);
            int report = ready;
            if ((i.events & Linux.EPOLLET) != 0) {
                long count = f instanceof SocketFile s ? s.socket.eventCount() : 0;
                if ((ready & ~i.lastSeen) == 0 && count == i.lastCount) report = 0;
                if (consume) {
                    i.lastSeen = ready;
                    i.lastCount = count;
                }
            }
            if (report == 0) continue;
            if (events != null) {
                events[n] = report;
                data[n] = i.data;
            }
            n++;
            if (consume && (i.events & Linux.EPOLLONESHOT) != 0) i.disabled = true;
        }
        return n;
    }

    /** An epoll descriptor is readable when some entry is ready (nested epoll is refused, so this is all). */
    @Override public int pollEvents() { return 0; }
    @Override public boolean isClosed() { return closed; }
    @Override public void close() { closed = true; interests.clear(); }
    @Override public boolean nonblocking() { return nonblocking; }
    @Override public void setNonblocking(boolean on) { nonblocking = on; }
    @Override public boolean cloexec() { return cloexec; }
    @Override public void setCloexec(boolean on) { cloexec = on; }
}
