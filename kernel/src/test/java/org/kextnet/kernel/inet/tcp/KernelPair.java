package org.kextnet.kernel.inet.tcp;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.net.IfFamily;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.wire.Ipv4;

/**
 * Two kernels on real time, each with its reader threads, joined by a memory wire on em0: kernel a has
 * 10.N.0.1/24, kernel b 10.N.0.2/24. What a test opens on them ({@link #keep}) is closed after it, last first,
 * then the kernels.
 */
final class KernelPair implements AutoCloseable {
    final Kernel a, b;
    final int addrA, addrB;
    final MemoryWire wire;
    private final List<AutoCloseable> open = new ArrayList<>();

    KernelPair(String name, int net, MemoryWire.Options options) {
        this(name, net, options, null);
    }

    /** With {@code buffers} for each kernel (null: the default pools). */
    KernelPair(String name, int net, MemoryWire.Options options, java.util.function.Supplier<Buffers> buffers) {
        a = buffers == null ? new Kernel(name + "-a") : new Kernel(name + "-a", buffers.get());
        b = buffers == null ? new Kernel(name + "-b") : new Kernel(name + "-b", buffers.get());
        addrA = Ipv4.parse("10." + net + ".0.1");
        addrB = Ipv4.parse("10." + net + ".0.2");
        wire = new MemoryWire(name, options);
        var ia = a.createInterface("em0", IfFamily.ETHERNET, wire.a(), 0x02_00_00_00_00_01L | (long) net << 8, 1500);
        var ib = b.createInterface("em0", IfFamily.ETHERNET, wire.b(), 0x02_00_00_00_00_02L | (long) net << 8, 1500);
        a.addAddress(ia, InterfaceAddress.parse(Ipv4.format(addrA) + "/24"));
        b.addAddress(ib, InterfaceAddress.parse(Ipv4.format(addrB) + "/24"));
        ia.up();
        ib.up();
    }

    <T extends AutoCloseable> T keep(T c) {
        synchronized (open) {
            open.add(c);
        }
        return c;
    }

    @Override public void close() throws Exception {
        List<AutoCloseable> l;
        synchronized (open) {
            l = new ArrayList<>(open);
        }
        Collections.reverse(l);
        try {
            for (AutoCloseable c : l) c.close();
        } finally {
            a.close();
            b.close();
        }
    }
}
