package org.kextnet.kpi.server;

/**
 * A log line's priority, syslog's {@code LOG_ERR} to {@code LOG_DEBUG} (the ones {@code kern_serv_log} is used with).
 * A lower {@link #code()} is more urgent; kern_loader echoes a line when its priority is at or above the daemon's
 * threshold, and carries the code on the RPC to {@code kl_util -L}.
 */
public enum LogPriority {
    ERR(3), WARNING(4), NOTICE(5), INFO(6), DEBUG(7);

    private final int code;

    LogPriority(int code) { this.code = code; }

    /** syslog's number for it (3 to 7). */
    public int code() { return code; }

    /** syslog's name for it, as log files print it: {@code err}, {@code warning}, {@code notice}, {@code info}, {@code debug}. */
    public String label() { return name().toLowerCase(java.util.Locale.ROOT); }

    /** Whether a line of this priority passes a threshold: it is at least as urgent. */
    public boolean atLeast(LogPriority threshold) { return code <= threshold.code; }

    /** The priority of a syslog number; numbers more urgent than 3 are {@link #ERR}, less urgent than 7 {@link #DEBUG}. */
    public static LogPriority of(int code) {
        if (code <= ERR.code) return ERR;
        if (code >= DEBUG.code) return DEBUG;
        return values()[code - ERR.code];
    }
}
