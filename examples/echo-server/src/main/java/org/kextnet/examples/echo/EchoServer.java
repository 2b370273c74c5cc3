package org.kextnet.examples.echo;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

import org.kextnet.kpi.server.KernServ;
import org.kextnet.kpi.server.PortMessage;

/**
 * The example loadable kernel server: echoes every message on its port. Message id {@link #STATS} is
 * answered with the counts instead ("served=N deaths=M"). Its script is {@code echo.kern_server}.
 */
public final class EchoServer {
    /** Message id that asks for the server's counters. */
    public static final int STATS = 0x7fff0001;

    private final AtomicLong served = new AtomicLong();
    private final AtomicLong deaths = new AtomicLong();

    /** INIT: runs once per load, on the server's thread. */
    public int init(KernServ ks, int arg) {
        ks.log(KernServ.LOG_INFO, "echo server %s initialised, ports %s", ks.version(), ks.ports());
        return 0;
    }

    /** MAP echo: replies with the same id and body. */
    public int echo(KernServ ks, PortMessage msg, int arg) {
        served.incrementAndGet();
        if (msg.id() == STATS) {
            msg.reply(STATS, ("served=" + served.get() + " deaths=" + deaths.get()).getBytes(StandardCharsets.UTF_8));
        } else {
            msg.reply(msg.id(), msg.bytes());
        }
        return 0;
    }

    /** PORT_DEATH: a client that sent us messages went away. */
    public void portDeath(KernServ ks, long port) {
        // Log before counting: whoever sees the count (the stats message) can rely on the log line.
        ks.log(KernServ.LOG_INFO, "client reply port 0x%x died", port);
        deaths.incrementAndGet();
    }

    /** FREE: runs once per unload; nothing to release (no timeouts or registrations were made). */
    public int free(KernServ ks, int arg) {
        ks.log(KernServ.LOG_INFO, "echo server unloading after %d messages", served.get());
        return 0;
    }
}
