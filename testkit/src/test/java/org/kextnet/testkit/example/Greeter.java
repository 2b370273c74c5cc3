package org.kextnet.testkit.example;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.server.KernServ;
import org.kextnet.kpi.server.PortMessage;

public final class Greeter {
    final AtomicInteger served = new AtomicInteger();

    // INIT init 0: once per load, on the server's thread; a non-zero result fails the load.
    public int init(KernServ ks, int arg) {
        ks.log(KernServ.LOG_INFO, "%s %s loaded, ports %s", ks.serverName(), ks.version(), ks.ports());
        return 0;
    }

    // MAP greet greet 0: one call per message to the port greet, on the server's thread.
    public int greet(KernServ ks, PortMessage msg, int arg) {
        String name = new String(msg.bytes(), StandardCharsets.UTF_8).strip();
        if (name.isEmpty()) return Errno.EINVAL;                  // no reply: the code goes back as the reply's
        String answer = "hello, " + name + " (" + served.incrementAndGet() + ")";
        msg.reply(msg.id(), answer.getBytes(StandardCharsets.UTF_8));
        return 0;
    }
}
