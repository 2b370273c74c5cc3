package org.kextnet.kpi;

/**
 * A KPI call that creates something (a registration, an interface, a connection) failed; {@link #errno()}
 * says why, with the values xnu's corresponding call returns (for example {@link Errno#EEXIST} from
 * {@code ctl_register} when the id and unit are taken).
 */
public final class KpiException extends Exception {
    private static final long serialVersionUID = 1L;
    private final int errno;

    public KpiException(int errno, String message) {
        super(Errno.name(errno) + ": " + message);
        this.errno = errno;
    }

    /** The error number, never 0. */
    public int errno() { return errno; }
}
