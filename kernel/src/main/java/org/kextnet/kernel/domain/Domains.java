package org.kextnet.kernel.domain;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.hook.CallSlot;
import org.kextnet.kernel.hook.Head;
import org.kextnet.kernel.hook.KernelRegistration;
import org.kextnet.kernel.hook.Owner;
import org.kextnet.kernel.hook.Removal;
import org.kextnet.kernel.net.Layers.TransportProtocol;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.socket.SocketFilters;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.domain.DomainKpi;
import org.kextnet.kpi.domain.ProtocolSwitch;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.socket.SocketConstants;

/**
 * Protocols extensions add to a domain ({@code net_add_proto}, {@code net_del_proto}, {@code pffindproto}).
 * In the inet domain an added protocol registers in IPv4's {@link org.kextnet.kernel.inet.ProtocolSwitch} beside the kernel's own
 * (ICMP, UDP, TCP), so IP input hands it packets of its number after the IP filters; applications open
 * sockets of the protocol with {@link #open}.
 */
public final class Domains {
    private final org.kextnet.kernel.inet.ProtocolSwitch inet;
    private final SocketFilters socketLayer;
    private final Map<Integer, Entry> inetByProtocol = new HashMap<>();
    private final List<Entry> entries = new ArrayList<>();

    public Domains(org.kextnet.kernel.inet.ProtocolSwitch inet, SocketFilters sockets) {
        this.inet = inet;
        this.socketLayer = sockets;
    }


    /** An added protocol and its open sockets. */
    public final class Entry extends KernelRegistration implements DomainKpi.ProtocolRef, TransportProtocol {
        final int domain;
        final ProtocolSwitch pr;
        private int sockets;

        Entry(Owner owner, int domain, ProtocolSwitch pr) {
            super(owner, Head.DOMAIN_PROTOCOL, "protosw", ProtocolFamily.name(domain) + "/" + pr.type() + "/" + pr.protocol());
            this.domain = domain;
            this.pr = pr;
        }

        @Override public int domain() { return domain; }
        @Override public ProtocolSwitch protocolSwitch() { return pr; }
        @Override public synchronized int socketCount() { return sockets; }

        synchronized boolean openSocket() {
            if (!isActive()) return false;
            sockets++;
            return true;
        }

        synchronized void socketClosed() { sockets--; }

        @Override public void fault(String callback, Throwable t) {
            socketLayer.contexts().stats().count(t == CallSlot.REFUSED ? Stat.NKE_REFUSED : Stat.NKE_FAULTS);
            super.fault(callback, t);
        }

        @Override protected Object target() { return pr; }

        public int remove(Removal why) {
            synchronized (this) {
                if (why == Removal.REQUESTED && sockets > 0) return Errno.EBUSY;
                if (!beginDetach()) return Errno.ENOENT;
            }
            synchronized (Domains.this) {
                entries.remove(this);
                if (domain == ProtocolFamily.PF_INET && inetByProtocol.remove(pr.protocol(), this)) inet.unregister(pr.protocol(), this);
            }
            socketLayer.heads().grace().defer(() -> finish(why, "removed", pr::removed));
            return 0;
        }

        @Override public boolean removeByKernel(Removal why) { return remove(why) == 0; }

        /** IP input's hand-off through the protocol switch ({@code ip_protox}), inside the reader's read-side section. */
        @Override public void input(PacketContext ctx, Packet m, int offset) {
            ctx.enter(); // a removed protocol's removed() must wait for this call
            try {
                if (!isActive()) {
                    ctx.stats().inc(Stat.IP_NO_PROTO);
                    m.free();
                    return;
                }
                int gen = m.generation();
                CallSlot s = ctx.calls;
                try {
                    s.enter(this);
                    pr.input(m, offset);
                    s.exit();
                } catch (Throwable t) {
                    s.threw(t);
                    if (!m.isFree() && m.generation() == gen) { // it threw before passing the packet on: drop it
                        ctx.stats().inc(Stat.NKE_FAULT_DROPS);
                        m.free();
                    }
                    fault("input", t);
                }
            } finally {
                ctx.exit();
            }
        }
    }

    public Entry add(Owner owner, int domain, ProtocolSwitch pr) throws KpiException {
        owner.checkOpen();
        if (domain != ProtocolFamily.PF_INET) throw new KpiException(Errno.EAFNOSUPPORT, "only the inet domain takes protocols");
        int p = pr.protocol();
        if (p <= 0 || p > 255) throw new KpiException(Errno.EINVAL, "protocol " + p);
        if (p == SocketConstants.IPPROTO_ICMP || p == SocketConstants.IPPROTO_UDP || p == SocketConstants.IPPROTO_TCP) {
            throw new KpiException(Errno.EEXIST, "the kernel implements protocol " + p);
        }
        Entry e = new Entry(owner, domain, pr);
        synchronized (this) {
            if (inetByProtocol.containsKey(p)) throw new KpiException(Errno.EEXIST, "protocol " + p + " is added");
            try {
                inet.register(p, e);
            } catch (IllegalStateException taken) {
                throw new KpiException(Errno.EEXIST, "protocol " + p + " is registered");
            }
            entries.add(e);
            inetByProtocol.put(p, e);
        }
        owner.record(e);
        return e;
    }

    /**
     * Opens a socket of an added protocol ({@code socket(domain, type, protocol)}) for code in the JVM.
     * @throws SocketError EPROTONOSUPPORT (no such protocol), or the protocol's attach error
     */
    public ProtocolSocketImpl open(int domain, int type, int protocol) throws SocketError {
        Entry e;
        synchronized (this) {
            e = domain == ProtocolFamily.PF_INET ? inetByProtocol.get(protocol) : null;
        }
        if (e == null || e.pr.type() != type || !e.openSocket()) throw new SocketError(Errno.EPROTONOSUPPORT, "no protocol " + domain + "/" + type + "/" + protocol);
        ProtocolSocketImpl so = new ProtocolSocketImpl(socketLayer, e);
        int r = e.call("attach", () -> e.pr.attach(so), Errno.EIO);
        if (r != 0) {
            e.socketClosed();
            throw new SocketError(r, "protocol refused the socket");
        }
        socketLayer.socketCreated(so);
        return so;
    }

    /** Status lines. */
    public synchronized List<String> describe() {
        List<String> l = new ArrayList<>();
        for (Entry e : entries) l.add(e.describe() + ", " + e.socketCount() + " sockets [" + e.owner().name() + "]");
        return l;
    }

}
