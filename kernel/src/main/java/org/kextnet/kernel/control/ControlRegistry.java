package org.kextnet.kernel.control;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.event.EventBus;
import org.kextnet.kernel.hook.Heads;
import org.kextnet.kernel.hook.Owner;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.control.ControlParams;
import org.kextnet.kpi.control.KernelControl;
import org.kextnet.kpi.event.KernelEvents;

/**
 * The kernel's registered controls ({@code kern_control.c}): registration by name with a dynamic or fixed
 * id, name lookup ({@code CTLIOCGINFO}), and connections from clients. The registry's lock guards the list
 * of controls only; no extension callback runs under it.
 */
public final class ControlRegistry {
    private final EventBus events;
    private final Heads heads;
    private final Buffers buffers;
    private final List<KernelControlEntry> controls = new ArrayList<>();
    private int nextId = 1;

    public ControlRegistry(EventBus events, Heads heads, Buffers buffers) {
        this.events = events;
        this.heads = heads;
        this.buffers = buffers;
    }

    Heads heads() { return heads; }

    Buffers buffers() { return buffers; }

    /** {@code ctl_register}. */
    public KernelControlEntry register(Owner owner, ControlParams p, KernelControl control) throws KpiException {
        owner.checkOpen();
        if (control == null) throw new KpiException(Errno.EINVAL, "no control callbacks");
        byte[] nameBytes = p.name().getBytes(StandardCharsets.UTF_8);
        if (nameBytes.length == 0 || nameBytes.length >= ControlParams.MAX_NAME) {
            throw new KpiException(Errno.EINVAL, "control name must have 1.." + (ControlParams.MAX_NAME - 1) + " bytes");
        }
        boolean fixed = (p.flags() & ControlParams.FLAG_REG_ID_UNIT) != 0;
        KernelControlEntry e;
        synchronized (this) {
            for (KernelControlEntry c : controls) {
                if (c.params().name().equals(p.name())) throw new KpiException(Errno.EEXIST, "control " + p.name() + " is registered");
                if (fixed && c.id() == p.id() && c.unit() == p.unit()) {
                    throw new KpiException(Errno.EEXIST, "control id " + p.id() + " unit " + p.unit() + " is taken");
                }
            }
            int id = fixed ? p.id() : allocateId();
            ControlParams accepted = new ControlParams(p.name(), id, fixed ? p.unit() : 0, p.flags(),
                    p.sendSize() > 0 ? p.sendSize() : ControlParams.DEFAULT_SENDSIZE,
                    p.recvSize() > 0 ? p.recvSize() : ControlParams.DEFAULT_RECVSIZE);
            e = new KernelControlEntry(this, owner, accepted, control);
            controls.add(e);
        }
        owner.record(e);
        postEvent(KernelEvents.KEV_CTL_REGISTERED, e);
        return e;
    }

    private int allocateId() {
        while (true) {
            int id = nextId++;
            boolean used = false;
            for (KernelControlEntry c : controls) if (c.id() == id) used = true;
            if (!used) return id;
        }
    }

    /** Removes a control that has no connections (the entry checked that under its own lock). */
    void unregister(KernelControlEntry e) {
        synchronized (this) {
            controls.remove(e);
        }
        postEvent(KernelEvents.KEV_CTL_DEREGISTERED, e);
    }

    private void postEvent(int code, KernelControlEntry e) {
        byte[] d = ByteBuffer.allocate(8).putInt(e.id()).putInt(e.unit()).array();
        events.postKernel(KernelEvents.KEV_SYSTEM_CLASS, KernelEvents.KEV_CTL_SUBCLASS, code, d);
    }

    /** {@code CTLIOCGINFO}: the id of the control named {@code name}, or -1. */
    public synchronized int lookup(String name) {
        for (KernelControlEntry c : controls) if (c.params().name().equals(name)) return c.id();
        return -1;
    }

    /** {@code CTLIOCGCOUNT}: how many controls are registered. */
    public synchronized int count() { return controls.size(); }

    synchronized KernelControlEntry find(int id, int unit) {
        for (KernelControlEntry c : controls) {
            if (c.id() != id) continue;
            boolean fixed = (c.params().flags() & ControlParams.FLAG_REG_ID_UNIT) != 0;
            if (!fixed || unit == 0 || c.unit() == unit) return c;
        }
        return null;
    }

    /**
     * Connects a client in the JVM to the control named {@code name} (the socket calls {@code CTLIOCGINFO}
     * then {@code connect}).
     * @param unit       0 for the first free unit
     * @param privileged whether the client has privileges (required by {@link ControlParams#FLAG_PRIVILEGED})
     * @throws KpiException ENOENT, EBUSY, EPERM, or the control's connect error
     */
    public ControlSocket connect(String name, int unit, boolean privileged) throws KpiException {
        int id = lookup(name);
        if (id < 0) throw new KpiException(Errno.ENOENT, "no control named " + name);
        return connect(id, unit, privileged);
    }

    /** Connects to control {@code id} on {@code unit}. */
    public ControlSocket connect(int id, int unit, boolean privileged) throws KpiException {
        KernelControlEntry c = find(id, unit);
        if (c == null) throw new KpiException(Errno.ENOENT, "no control with id " + id);
        return c.connect(unit, privileged);
    }

    /**
     * A registered control as {@code kextnet ctl list} shows it.
     * @param owner the extension that registered it
     */
    public record ControlInfo(String name, int id, int unit, int flags, int clients, String owner) {}

    /** Every registered control, in order of registration. */
    public synchronized List<ControlInfo> list() {
        List<ControlInfo> l = new ArrayList<>();
        for (KernelControlEntry c : controls) {
            l.add(new ControlInfo(c.params().name(), c.id(), c.unit(), c.params().flags(), c.connectionCount(), c.owner().name()));
        }
        return l;
    }

    /** Status lines. */
    public synchronized List<String> describe() {
        List<String> l = new ArrayList<>();
        for (KernelControlEntry c : controls) l.add(c.describe());
        return l;
    }
}
