package org.kextnet.loader.rpc;

import java.util.List;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.control.ControlRegistry;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.control.ControlClient;

/**
 * The kernel controls the RPC lets client processes reach: the daemon's kernel's {@link ControlRegistry}, as a
 * {@code PF_SYSTEM} socket in the JVM reaches it. The peer's credentials stand for the socket's privilege
 * ({@code CTL_FLAG_PRIVILEGED} controls accept only privileged RPC clients).
 */
public interface KernelControls {
    /**
     * Connects to the control named {@code name} ({@code CTLIOCGINFO} + {@code connect}).
     * @param unit 0 for the first free unit
     * @throws KpiException ENOENT (no such control), EBUSY (unit in use), EPERM (privileged control), or the
     *         control's own refusal
     */
    ControlClient connect(String name, int unit, boolean privileged) throws KpiException;

    /** Every registered control ({@code CTLIOCGCOUNT} and names). */
    List<ControlRegistry.ControlInfo> list();

    /** The controls of a running kernel. */
    static KernelControls of(Kernel kernel) {
        return new KernelControls() {
            @Override public ControlClient connect(String name, int unit, boolean privileged) throws KpiException {
                return kernel.controls().connect(name, unit, privileged);
            }

            @Override public List<ControlRegistry.ControlInfo> list() { return kernel.controls().list(); }
        };
    }

    /** No kernel: no controls. */
    KernelControls NONE = new KernelControls() {
        @Override public ControlClient connect(String name, int unit, boolean privileged) throws KpiException {
            throw new KpiException(Errno.ENOENT, "no kernel is joined to this kern_loader");
        }

        @Override public List<ControlRegistry.ControlInfo> list() { return List.of(); }
    };
}
