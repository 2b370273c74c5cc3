package org.kextnet.kpi.server;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A loaded server's handle on the loader and kernel ({@code kern_server_t} and the {@code kern_serv_*}
 * functions). One handle exists per load of a server; it stops working when the server is unloaded, and
 * everything made through it (timeouts, callouts, wired buffers, kernel registrations) is recorded against
 * the server and released by the unload.
 *
 * <p>All methods are thread-safe.
 */
public interface KernServ {
    /** The priorities under {@code kern_serv_log}'s (syslog's) names. */
    LogPriority LOG_ERR = LogPriority.ERR, LOG_WARNING = LogPriority.WARNING, LOG_NOTICE = LogPriority.NOTICE,
            LOG_INFO = LogPriority.INFO, LOG_DEBUG = LogPriority.DEBUG;

    /** The server's name ({@code SERVER_NAME}). */
    String serverName();

    /** The server's version from its jar manifest ({@code Kext-Server-Version}). */
    String version();

    /** The names of the server's ports, in script order. */
    List<String> ports();

    /**
     * The id of one of the server's own ports, advertised or not. A port that is only mapped (no
     * {@code ADVERTIZED_PORT}/{@code ADVERTISE}) cannot be looked up by name; its server reaches it through this id and
     * hands it to a client, for example in a reply, and the client sends to the id, as a Mach server gave out send
     * rights to the ports kern_loader passed it. The id stays the same across unloads.
     * @return the port's id, or 0 if the server has no port of that name
     */
    long port(String name);

    /** The server's instance: the object its instance routines are called on. */
    Object instance();

    /** {@code kern_serv_log}: logs a message at {@code priority}; formatted as {@link String#format}. */
    void log(LogPriority priority, String format, Object... args);

    /**
     * {@code kern_serv_callout}: runs {@code task} soon on the server's own thread, after the routines and
     * callouts queued before it. A callout that throws is logged and counted as a fault.
     */
    void callout(Runnable task);

    /**
     * {@code ns_timeout}: runs {@code task} once after {@code delay} on the server's thread.
     * @return the handle with which to cancel it ({@code ns_untimeout})
     */
    Timeout timeout(Runnable task, long delay, TimeUnit unit);

    /**
     * {@code kalloc} of wired memory: a zeroed direct buffer counted in the server's wired size and
     * released with the server (keep no reference to it after FREE).
     */
    ByteBuffer allocateWired(int bytes);

    /**
     * Sends an unsolicited message to a reply port the server has received ({@link PortMessage#replyPort()}).
     * @return false if that port is dead
     */
    boolean send(long replyPort, int id, byte[] data);

    /**
     * A kernel interface bound to this server (for example the NKE KPI handle), if the kernel provides
     * {@code type}: registrations made through it are recorded against this server.
     */
    <T> Optional<T> kpi(Class<T> type);

    /** A timeout from {@link #timeout}. */
    interface Timeout {
        /**
         * Cancels it; a run already under way finishes, none starts after this returns.
         * @return whether a run was cancelled
         */
        boolean cancel();
    }
}
