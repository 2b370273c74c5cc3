package org.kextnet.kernel.nke;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.hook.CallSlot;
import org.kextnet.kernel.hook.Head;
import org.kextnet.kernel.hook.KernelRegistration;
import org.kextnet.kernel.hook.Removal;
import org.kextnet.kernel.link.ExtensionLink;
import org.kextnet.kernel.link.LinkLayers;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.net.Interfaces;
import org.kextnet.kernel.net.Layers.Driver;
import org.kextnet.kernel.net.Layers.LinkLayer;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.event.KernelEvent;
import org.kextnet.kpi.net.DemuxDescriptor;
import org.kextnet.kpi.net.Ifnet;
import org.kextnet.kpi.net.IfnetFamily;
import org.kextnet.kpi.net.IfnetInit;

/**
 * Interfaces created by extensions ({@code ifnet_allocate}, {@code ifnet_attach}, {@code ifnet_detach}): the
 * kernel builds an ordinary {@link Interface} whose driver calls the extension's callbacks, and records it
 * against the extension from allocation until its {@code detached} callback has run.
 */
public final class ExtensionInterfaces {
    private final Interfaces interfaces;
    private final Map<Interface, Record> records = new ConcurrentHashMap<>();

    public ExtensionInterfaces(Interfaces interfaces) {
        this.interfaces = interfaces;
    }


    /** An extension's interface from allocation to its detached callback. */
    private final class Record extends KernelRegistration {
        final IfnetInit init;
        Interface ifp;
        volatile boolean attached, detachRequested;

        Record(ExtensionHandle owner, IfnetInit init) {
            super(owner, Head.INTERFACE, "ifnet", init.fullName());
            this.init = init;
        }

        @Override public void fault(String callback, Throwable t) {
            interfaces.contexts().stats().count(t == CallSlot.REFUSED ? Stat.NKE_REFUSED : Stat.NKE_FAULTS);
            super.fault(callback, t);
        }

        @Override protected Object target() { return init.output(); }

        int detach(Removal why) {
            synchronized (this) {
                if (detachRequested) return Errno.EINVAL;
                detachRequested = true;
            }
            if (!beginDetach()) return Errno.EINVAL;
            Runnable done = () -> {
                IfnetInit.Detached d = init.detached();
                records.remove(ifp, this);
                finish(why, "detached", d == null ? null : () -> d.detached(ifp));
            };
            if (!attached || !interfaces.detach(ifp, done)) {
                ifp.markDetached(); // allocated but never attached: nothing can be inside it
                interfaces.heads().grace().defer(done);
            }
            return 0;
        }

        @Override public boolean removeByKernel(Removal why) {
            detach(why);
            return true;
        }
    }

    /** The driver of an extension's interface: its callbacks, guarded and inside a read-side section. */
    private static final class ExtensionDriver implements Driver, Interface.DriverHooks {
        private final Record record;

        ExtensionDriver(Record record) { this.record = record; }

        @Override public boolean transmit(PacketContext ctx, Packet m) {
            int gen = m.generation();
            CallSlot s = ctx.calls;
            int r;
            ctx.enter();
            try {
                s.enter(record);
                r = record.init.output().output(record.ifp, m);
                s.exitVerdict(r);
            } catch (Throwable t) {
                s.threw(t);
                record.fault("output", t);
                if (!m.isFree() && m.generation() == gen) m.free();
                return false;
            } finally {
                ctx.exit();
            }
            return r == 0;
        }

        @Override public void event(Interface ifp, KernelEvent event) {
            IfnetInit.Event e = record.init.event();
            if (e != null) record.run("event", () -> e.event(ifp, event));
        }

        @Override public int addProto(Interface ifp, int pf, List<DemuxDescriptor> demux) {
            IfnetInit.AddProto a = record.init.addProto();
            return a == null ? 0 : record.call("add_proto", () -> a.addProto(ifp, pf, demux), Errno.EIO);
        }

        @Override public void delProto(Interface ifp, int pf) {
            IfnetInit.DelProto d = record.init.delProto();
            if (d != null) record.run("del_proto", () -> d.delProto(ifp, pf));
        }

        @Override public int ioctl(Interface ifp, long command, Object argument) {
            IfnetInit.Ioctl i = record.init.ioctl();
            if (i == null) return Errno.EOPNOTSUPP;
            PacketContext ctx = ifp.table().contexts().acquire();
            ctx.enter(); // an administrator's thread: the interface's detached waits for this call
            try {
                return record.call(ctx.calls, "ioctl", () -> i.ioctl(ifp, command, argument), Errno.EIO);
            } finally {
                ctx.exit();
                ifp.table().contexts().release(ctx);
            }
        }

        @Override public String describe() { return "extension " + record.owner().name(); }
    }

    Interface allocate(ExtensionHandle owner, IfnetInit init) throws KpiException {
        owner.checkOpen();
        if (init.family() == IfnetFamily.LOOPBACK || init.family() == IfnetFamily.ANY) {
            throw new KpiException(Errno.EINVAL, "extensions cannot create " + init.family() + " interfaces");
        }
        Record r = new Record(owner, init);
        synchronized (this) {
            if (interfaces.find(init.fullName()) != null) throw new KpiException(Errno.EEXIST, "interface " + init.fullName() + " exists");
            for (Record x : records.values()) {
                if (x.init.fullName().equals(init.fullName())) throw new KpiException(Errno.EEXIST, "interface " + init.fullName() + " is allocated");
                if (init.uniqueId() != null && init.uniqueId().equals(x.init.uniqueId()) && x.init.family() == init.family()) {
                    throw new KpiException(Errno.EEXIST, "unique id " + init.uniqueId() + " is in use");
                }
            }
            boolean ethernet = init.family() == IfnetFamily.ETHERNET;
            IfFamily family = ethernet ? IfFamily.ETHERNET : IfFamily.TUN;
            LinkLayer link = init.demux() != null || init.framer() != null
                    ? new ExtensionLink(init, init.headerLength() >= 0 ? init.headerLength() : ethernet ? 14 : 0, r)
                    : LinkLayers.of(family);
            r.ifp = new Interface(interfaces, init.fullName(), interfaces.allocateIndex(), family, new ExtensionDriver(r),
                    ethernet ? init.lladdr() : 0, init.mtu(), link, init.family(), init.type());
            records.put(r.ifp, r);
        }
        owner.record(r);
        return r.ifp;
    }

    private Record own(ExtensionHandle owner, Ifnet ifp) {
        Record r = ifp instanceof Interface i ? records.get(i) : null;
        return r != null && r.owner() == owner ? r : null;
    }

    /** Status lines. */
    public List<String> describe() {
        List<String> l = new ArrayList<>();
        for (Record r : records.values()) l.add(r.describe() + " [" + r.owner().name() + "]");
        return l;
    }


    /** {@code ifnet_attach} of an interface {@code owner} allocated: 0, EINVAL (not its own, or attached before), EEXIST. */
    int attach(ExtensionHandle owner, Ifnet ifp) {
        Record r = own(owner, ifp);
        if (r == null) return Errno.EINVAL;
        synchronized (r) {
            if (r.attached || r.detachRequested) return Errno.EINVAL; // an ifnet cannot be re-attached
            r.attached = true;
        }
        try {
            interfaces.attach(r.ifp);
        } catch (RuntimeException e) {
            return Errno.EEXIST;
        }
        return 0;
    }

    /** {@code ifnet_detach} of an interface {@code owner} allocated. */
    int detach(ExtensionHandle owner, Ifnet ifp) {
        Record r = own(owner, ifp);
        return r == null ? Errno.EINVAL : r.detach(Removal.REQUESTED);
    }

    Ifnet find(String name) { return interfaces.find(name); }

    List<Ifnet> list() { return new ArrayList<>(interfaces.list()); }
}
