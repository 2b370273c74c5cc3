package org.kextnet.kernel.control;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.kextnet.kernel.hook.Head;
import org.kextnet.kernel.hook.KernelRegistration;
import org.kextnet.kernel.hook.Owner;
import org.kextnet.kernel.hook.Removal;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.control.ControlParams;
import org.kextnet.kpi.control.ControlRef;
import org.kextnet.kpi.control.KernelControl;

/**
 * One registered kernel control: its parameters, callbacks and connected units. The entry's lock guards the
 * unit table; callbacks run after it is released, and a unit counts as connected from the moment its
 * connect callback starts, so {@code deregister} cannot slip in between.
 */
public final class KernelControlEntry extends KernelRegistration implements ControlRef {
    final ControlRegistry registry;
    private final ControlParams params;
    final KernelControl control;
    private final Map<Integer, ControlSocket> units = new TreeMap<>();
    private boolean registered = true;

    KernelControlEntry(ControlRegistry registry, Owner owner, ControlParams params, KernelControl control) {
        super(owner, Head.KERNEL_CONTROL, "kctl", params.name());
        this.registry = registry;
        this.params = params;
        this.control = control;
    }

    @Override public int id() { return params.id(); }
    @Override public int unit() { return params.unit(); }
    @Override public ControlParams params() { return params; }
    boolean isStream() { return (params.flags() & ControlParams.FLAG_REG_SOCK_STREAM) != 0; }

    @Override public synchronized int connectionCount() { return units.size(); }

    ControlSocket connect(int unit, boolean privileged) throws KpiException {
        if ((params.flags() & ControlParams.FLAG_PRIVILEGED) != 0 && !privileged) {
            throw new KpiException(Errno.EPERM, "control " + params.name() + " is privileged");
        }
        ControlSocket so;
        synchronized (this) {
            if (!registered) throw new KpiException(Errno.ENOENT, "control " + params.name() + " is not registered");
            if ((params.flags() & ControlParams.FLAG_REG_ID_UNIT) != 0) {
                if (unit == 0) unit = params.unit();
            } else if (unit == 0) {
                unit = 1;
                while (units.containsKey(unit)) unit++;
            }
            if (units.containsKey(unit)) throw new KpiException(Errno.EBUSY, "unit " + unit + " of " + params.name() + " is in use");
            so = new ControlSocket(this, unit, privileged);
            units.put(unit, so);
        }
        ControlSocket connecting = so;
        int r = call("connect", () -> control.connect(connecting), Errno.EIO);
        if (r != 0) {
            synchronized (this) {
                units.remove(unit);
            }
            throw new KpiException(r, "control " + params.name() + " refused the connection");
        }
        so.connected();
        return so;
    }

    /** The client disconnected: forget the unit, then tell the control (which may deregister from there). */
    void disconnected(ControlSocket so) {
        synchronized (this) {
            if (units.get(so.unit()) != so) return;
            units.remove(so.unit());
        }
        run("disconnect", () -> control.disconnect(so));
    }

    /** The connected unit {@code unit}, or null. */
    public synchronized ControlSocket unit(int unit) { return units.get(unit); }

    /** {@code ctl_deregister}. */
    /** {@code ctl_deregister}: 0, or EBUSY while clients are connected. */
    public int deregister() { return deregister(Removal.REQUESTED); }

    private int deregister(Removal why) {
        synchronized (this) {
            if (!registered) return Errno.EINVAL;
            if (!units.isEmpty()) return Errno.EBUSY;
            registered = false;
        }
        if (!beginDetach()) return Errno.EINVAL;
        registry.unregister(this);
        finishDetach(why);
        return 0;
    }

    @Override protected Object target() { return control; }

    /**
     * Unload or quarantine: without clients the control is deregistered; a quarantine also disconnects the
     * clients first. An unload with clients connected is refused (the extension must wait for them).
     */
    @Override public boolean removeByKernel(Removal why) {
        if (why == Removal.QUARANTINE) {
            List<ControlSocket> all;
            synchronized (this) {
                all = new ArrayList<>(units.values());
            }
            for (ControlSocket so : all) so.close();
        }
        return deregister(why) == 0;
    }

    /** A forced unload: the clients are disconnected (their disconnect callbacks run), then the control goes. */
    @Override public boolean forceRemove() {
        List<ControlSocket> all;
        synchronized (this) {
            all = new ArrayList<>(units.values());
        }
        for (ControlSocket so : all) so.close();
        return deregister(Removal.REQUESTED) == 0;
    }

    @Override public String describe() {
        return super.describe() + " id " + id() + (unit() != 0 ? " unit " + unit() : "") + ", " + connectionCount() + " clients";
    }
}
