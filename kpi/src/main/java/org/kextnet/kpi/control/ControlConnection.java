package org.kextnet.kpi.control;

/**
 * One client connection to a kernel control: the unit and the extension's per-connection state
 * ({@code unitinfo}). Valid from {@link KernelControl#connect} until {@link KernelControl#disconnect} returns.
 */
public interface ControlConnection {
    /** The control's id. */
    int id();

    /** The unit the client is connected to (unique per control while connected). */
    int unit();

    /** Whether the client connected with privileges. */
    boolean privileged();

    /** The extension's per-connection state, or null. */
    Object unitInfo();

    void setUnitInfo(Object info);

    /** Whether the connection is still open. */
    boolean isConnected();
}
