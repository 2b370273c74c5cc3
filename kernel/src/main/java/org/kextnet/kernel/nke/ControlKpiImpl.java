package org.kextnet.kernel.nke;

import java.nio.ByteBuffer;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.control.ControlRegistry;
import org.kextnet.kernel.control.ControlSocket;
import org.kextnet.kernel.control.KernelControlEntry;
import org.kextnet.kernel.hook.Head;
import org.kextnet.kernel.hook.KernelRegistration;
import org.kextnet.kernel.hook.Owner;
import org.kextnet.kernel.hook.Removal;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.control.ControlClient;
import org.kextnet.kpi.control.ControlKpi;
import org.kextnet.kpi.control.ControlParams;
import org.kextnet.kpi.control.ControlRef;
import org.kextnet.kpi.control.KernelControl;
import org.kextnet.kpi.mbuf.Mbuf;

/** {@link ControlKpi} bound to one extension: its registrations and client connections are recorded. */
final class ControlKpiImpl implements ControlKpi {
    private final ControlRegistry registry;
    private final Owner owner;

    ControlKpiImpl(ControlRegistry registry, Owner owner) {
        this.registry = registry;
        this.owner = owner;
    }

    @Override public ControlRef register(ControlParams params, KernelControl control) throws KpiException {
        return registry.register(owner, params, control);
    }

    @Override public int deregister(ControlRef ref) {
        if (!(ref instanceof KernelControlEntry e) || e.owner() != owner) return Errno.EINVAL;
        return e.deregister();
    }

    private ControlSocket unitOf(ControlRef ref, int unit) {
        if (!(ref instanceof KernelControlEntry e) || e.owner() != owner) return null;
        return e.unit(unit);
    }

    @Override public int enqueueData(ControlRef ref, int unit, ByteBuffer data, int flags) {
        ControlSocket so = unitOf(ref, unit);
        if (so == null) return Errno.EINVAL;
        byte[] copy = new byte[data.remaining()];
        data.duplicate().get(copy);
        int r = so.enqueue(copy, flags);
        if (r == 0) data.position(data.limit());
        return r;
    }

    @Override public int enqueueMbuf(ControlRef ref, int unit, Mbuf m, int flags) {
        ControlSocket so = unitOf(ref, unit);
        if (so == null) return Errno.EINVAL;
        int r = so.enqueue(((Packet) m).toByteArray(), flags);
        if (r == 0) m.free();
        return r;
    }

    @Override public int enqueueSpace(ControlRef ref, int unit) {
        ControlSocket so = unitOf(ref, unit);
        return so == null ? -1 : so.space();
    }

    @Override public ControlClient connect(String name, int unit) throws KpiException {
        owner.checkOpen();
        ControlSocket so = registry.connect(name, unit, true);
        ClientRegistration reg = new ClientRegistration(owner, name, so);
        owner.record(reg);
        return new ControlClient() {
            @Override public org.kextnet.kpi.control.ControlAddress address() { return so.address(); }
            @Override public int send(ByteBuffer data, int f) { return so.send(data, f); }
            @Override public int receive(ByteBuffer dst, long timeout, java.util.concurrent.TimeUnit u) throws InterruptedException {
                return so.receive(dst, timeout, u);
            }
            @Override public int setOption(int option, byte[] value) { return so.setOption(option, value); }
            @Override public int getOption(int option, byte[] buffer) { return so.getOption(option, buffer); }
            @Override public boolean isConnected() { return so.isConnected(); }
            @Override public void close() { reg.end(); }
        };
    }

    /** An extension's client connection to a control, closed on unload. */
    private static final class ClientRegistration extends KernelRegistration {
        private final ControlSocket so;

        ClientRegistration(Owner owner, String name, ControlSocket so) {
            super(owner, Head.KERNEL_CONTROL, "kctl-client", name + ":" + so.unit());
            this.so = so;
        }

        void end() { removeByKernel(Removal.REQUESTED); }

        @Override public boolean removeByKernel(Removal why) {
            if (!beginDetach()) return true;
            so.close();
            finishDetach(why);
            return true;
        }
    }
}
