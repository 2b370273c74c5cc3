package org.kextnet.kernel.hook;

import org.kextnet.kpi.Registration;

/** Why a registration is being removed, and so the state it ends in. */
public enum Removal {
    /** Its owner asked (a remove call, or an unload's clean-up): it ends {@link Registration.State#DETACHED}. */
    REQUESTED,
    /** The kernel quarantined it after repeated faults: it ends {@link Registration.State#FAULTED}. */
    QUARANTINE;

    /** The state a registration removed this way ends in. */
    public Registration.State endState() {
        return this == QUARANTINE ? Registration.State.FAULTED : Registration.State.DETACHED;
    }
}
