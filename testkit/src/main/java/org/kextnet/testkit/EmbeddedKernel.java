package org.kextnet.testkit;

import java.util.List;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.hook.FaultPolicy;
import org.kextnet.kernel.net.Interface;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kpi.Kpi;

/**
 * A whole kernel in a unit test, with no TUN and no root: the kernel's {@link KernelHarness} as extension
 * authors use it.
 *
 * <p>Use an embedded kernel from one test thread.
 */
public final class EmbeddedKernel implements AutoCloseable {
    private final KernelHarness h;

    private EmbeddedKernel(KernelHarness h) { this.h = h; }

    /** A kernel with one Ethernet link {@code wire0} at 10.0.0.1/24 and the peer 10.0.0.2. */
    public static EmbeddedKernel create() { return new EmbeddedKernel(KernelHarness.create()); }

    public static Builder builder() { return new Builder(); }

    /** Builds an {@link EmbeddedKernel}. */
    public static final class Builder {
        private final KernelHarness.Builder b = KernelHarness.builder();

        public Builder name(String n) { b.name(n); return this; }
        public Builder ethernet(String ifName, String address) { b.ethernet(ifName, address); return this; }
        public Builder tun(String ifName, String address) { b.tun(ifName, address); return this; }
        public Builder forwarding(boolean on) { b.forwarding(on); return this; }
        public Builder faultPolicy(FaultPolicy p) { b.faultPolicy(p); return this; }
        public Builder threaded(boolean on) { b.threaded(on); return this; }
        public Builder ringSize(int frames) { b.ringSize(frames); return this; }
        public Builder buffers(int small, int large) { b.buffers(small, large); return this; }
        public EmbeddedKernel build() { return new EmbeddedKernel(b.build()); }
    }

    public Kernel kernel() { return h.kernel(); }
    public KernelHarness.Link link() { return h.link(); }
    public KernelHarness.Link link(String name) { return h.link(name); }
    public Interface ifp() { return h.ifp(); }
    public int ip() { return h.ip(); }
    public int peerIp() { return h.peerIp(); }
    public ExtensionHandle kpi(String name) { return h.kpi(name); }
    public Kpi extension(String name) { return h.extension(name); }
    public void injectInbound(byte[] frame) { h.injectInbound(frame); }
    public void injectInbound(String linkName, byte[] frame) { h.injectInbound(linkName, frame); }
    public void injectIp(byte[] packet) { h.injectIp(packet); }
    public void injectIp(String linkName, byte[] packet) { h.injectIp(linkName, packet); }
    public int runPending() { return h.runPending(); }
    public byte[] readOutbound() { return h.readOutbound(); }
    public byte[] readOutbound(String linkName) { return h.readOutbound(linkName); }
    public byte[] readOutboundIp() { return h.readOutboundIp(); }
    public byte[] readOutboundIp(String linkName) { return h.readOutboundIp(linkName); }
    public int discardOutbound(String linkName) { return h.discardOutbound(linkName); }
    public List<byte[]> drainOutbound(String linkName) { return h.drainOutbound(linkName); }
    public int outboundCount(String linkName) { return h.outboundCount(linkName); }
    public long stat(Stat s) { return h.stat(s); }
    public int buffersInUse() { return h.buffersInUse(); }
    public int leakedBuffers() { return h.leakedBuffers(); }
    public void awaitDetached() { h.awaitDetached(); }
    @Override public void close() { h.close(); }
}
