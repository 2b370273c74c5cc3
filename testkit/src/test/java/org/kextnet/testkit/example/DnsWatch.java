package org.kextnet.testkit.example;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.kextnet.kpi.*;
import org.kextnet.kpi.ipfilter.*;
import org.kextnet.kpi.mbuf.Mbuf;

public final class DnsWatch implements KernelExtension, IpFilter {
    static final int BLOCKED = 0x0a000063;   // 10.0.0.99
    static final int DELAYED = 0x0a000064;   // 10.0.0.100
    final AtomicLong dns = new AtomicLong();
    final ConcurrentLinkedQueue<Mbuf> held = new ConcurrentLinkedQueue<>();
    volatile IpFilterRef self;
    Kpi kpi;

    @Override public int start(Kpi kpi) {
        this.kpi = kpi;
        try {
            self = kpi.ipFilters().addV4("dns-watch", Position.DEFAULT, this);
            kpi.callouts().scheduleAtFixedRate(this::release, 10, TimeUnit.MILLISECONDS);
            return 0;
        } catch (KpiException e) {
            kpi.removeAll();
            return e.errno();
        }
    }

    // Called on the receiving packet thread, after reassembly; m starts at the IP header.
    @Override public int input(Mbuf m, int offset, int protocol) {
        int src = m.getInt(12);
        if (src == BLOCKED) return Errno.EPERM;                   // dropped and freed by the kernel
        if (protocol == 17 && m.getU16(offset + 2) == 53) dns.incrementAndGet();
        if (src == DELAYED) {
            held.add(m);                                         // ours now
            return Errno.EJUSTRETURN;
        }
        return 0;
    }

    // Runs on the timer thread; injecting with our own reference resumes after us.
    void release() {
        Mbuf m;
        while ((m = held.poll()) != null) {
            if (kpi.ipFilters().injectInput(m, self) != 0) m.free(); // on error the packet is still ours
        }
    }

    @Override public void detached() {
        Mbuf m;
        while ((m = held.poll()) != null) m.free();              // nothing calls us any more
    }
}
