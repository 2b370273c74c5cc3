package org.kextnet.kpi.control;

import org.kextnet.kpi.Registration;

/** A registered kernel control ({@code kern_ctl_ref}). */
public interface ControlRef extends Registration {
    /** The control's id (assigned, or the fixed one). */
    int id();

    /** The fixed unit, or 0. */
    int unit();

    /** The registration as accepted, with defaults written back (sizes, id). */
    ControlParams params();

    /** Clients connected now. */
    int connectionCount();
}
