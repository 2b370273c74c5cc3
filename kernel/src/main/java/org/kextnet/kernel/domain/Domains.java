package org.kextnet.kernel.domain;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.PacketContext;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.nke.KernelRegistration;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.domain.DomainKpi;
import org.kextnet.kpi.domain.ProtocolSwitch;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.socket.SocketConstants;

/**
 * Protocols extensions add to a domain ({@code net_add_proto}, {@code net_del_proto}, {@code pffindproto}).
 * In the inet domain, IP input hands packets of an added protocol number to the protocol after the IP
 * filters (the kernel keeps ICMP and UDP); applications open sockets of the protocol with {@link #open}.
 */
public final class Domains {
    private static final VarHandle INET = MethodHandles.arrayElementVarHandle(Entry[].class);

    private final Kernel kernel;
    private final Entry[] inetByProtocol = new Entry[256];
    private final List<Entry> entries = new ArrayList<>();

    public Domains(Kernel kernel) {
        this.kernel = kernel;
    }

    public Kernel kernel() { return kernel; }

    /** The extension-facing KPI bound to {@code owner}. */
    public DomainKpi kpi(ExtensionHandle owner) { return new Kpi(owner); }

    /** An added protocol and its open sockets. */
    final class Entry extends KernelRegistration implements DomainKpi.ProtocolRef {
        final int domain;
        final ProtocolSwitch pr;
        private int sockets;

        Entry(ExtensionHandle owner, int domain, ProtocolSwitch pr) {
            super(owner, "protosw", ProtocolFamily.name(domain) + "/" + pr.type() + "/" + pr.protocol());
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

        void fault(String callback, Throwable t) {
            kernel.stats().count(Stat.NKE_FAULTS);
            if (countFault(callback, t)) remove(true);
        }

        int remove(boolean faulted) {
            synchronized (this) {
                if (!faulted && sockets > 0) return Errno.EBUSY;
                if (!beginDetach()) return Errno.ENOENT;
            }
            synchronized (Domains.this) {
                entries.remove(this);
                if (domain == ProtocolFamily.PF_INET && inetByProtocol[pr.protocol()] == this) INET.setVolatile(inetByProtocol, pr.protocol(), null);
            }
            kernel.grace().defer(() -> {
                try {
                    pr.removed();
                } catch (Throwable t) {
                    countFault("removed", t);
                }
                finishDetach(faulted);
            });
            return 0;
        }

        @Override protected boolean removeByKernel(boolean faulted) { return remove(faulted) == 0; }
    }

    Entry add(ExtensionHandle owner, int domain, ProtocolSwitch pr) throws KpiException {
        owner.checkOpen();
        if (domain != ProtocolFamily.PF_INET) throw new KpiException(Errno.EAFNOSUPPORT, "only the inet domain takes protocols");
        int p = pr.protocol();
        if (p <= 0 || p > 255) throw new KpiException(Errno.EINVAL, "protocol " + p);
        if (p == SocketConstants.IPPROTO_ICMP || p == SocketConstants.IPPROTO_UDP || p == SocketConstants.IPPROTO_TCP) {
            throw new KpiException(Errno.EEXIST, "the kernel implements protocol " + p);
        }
        Entry e = new Entry(owner, domain, pr);
        synchronized (this) {
            if (inetByProtocol[p] != null) throw new KpiException(Errno.EEXIST, "protocol " + p + " is added");
            entries.add(e);
            INET.setVolatile(inetByProtocol, p, e);
        }
        owner.record(e);
        return e;
    }

    /**
     * IP input's hand-off for a protocol the kernel does not implement ({@code ip_protox}). Takes ownership
     * when it returns true; false means nobody added the protocol (the caller answers protocol unreachable).
     */
    public boolean inetInput(PacketContext ctx, Packet m, int protocol, int offset) {
        ctx.enter(); // before the lookup: a removed protocol's removed() must wait for this call
        try {
            Entry e = (Entry) INET.getVolatile(inetByProtocol, protocol & 0xff);
            if (e == null) return false;
            int gen = m.generation();
            try {
                e.pr.input(m, offset);
            } catch (Throwable t) {
                if (!m.isFree() && m.generation() == gen) { // it threw before passing the packet on: drop it
                    ctx.stats().inc(Stat.NKE_FAULT_DROPS);
                    m.free();
                }
                e.fault("input", t);
            }
            return true;
        } finally {
            ctx.exit();
        }
    }

    /**
     * Opens a socket of an added protocol ({@code socket(domain, type, protocol)}) for code in the JVM.
     * @throws SocketError EPROTONOSUPPORT (no such protocol), or the protocol's attach error
     */
    public ProtocolSocketImpl open(int domain, int type, int protocol) throws SocketError {
        Entry e;
        synchronized (this) {
            e = domain == ProtocolFamily.PF_INET && protocol > 0 && protocol < 256 ? inetByProtocol[protocol] : null;
        }
        if (e == null || e.pr.type() != type || !e.openSocket()) throw new SocketError(Errno.EPROTONOSUPPORT, "no protocol " + domain + "/" + type + "/" + protocol);
        ProtocolSocketImpl so = new ProtocolSocketImpl(kernel, e);
        int r;
        try {
            r = e.pr.attach(so);
        } catch (Throwable t) {
            e.fault("attach", t);
            r = Errno.EIO;
        }
        if (r != 0) {
            e.socketClosed();
            throw new SocketError(r, "protocol refused the socket");
        }
        kernel.socketFilters().socketCreated(so);
        return so;
    }

    /** Status lines. */
    public synchronized List<String> describe() {
        List<String> l = new ArrayList<>();
        for (Entry e : entries) l.add(e.describe() + ", " + e.socketCount() + " sockets [" + e.owner().name() + "]");
        return l;
    }

    private final class Kpi implements DomainKpi {
        private final ExtensionHandle owner;

        Kpi(ExtensionHandle owner) { this.owner = owner; }

        @Override public ProtocolRef addProtocol(int domain, ProtocolSwitch protocol) throws KpiException {
            return add(owner, domain, protocol);
        }

        @Override public int removeProtocol(ProtocolRef ref) {
            if (!(ref instanceof Entry e) || e.owner() != owner) return Errno.ENOENT;
            return e.remove(false);
        }
    }
}
