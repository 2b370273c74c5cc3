package org.kextnet.kernel.domain;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kpi.domain.DomainKpi;
import org.kextnet.kpi.domain.ProtocolSwitch;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.socket.SocketConstants;

/** IP input into a protocol an extension added, when that protocol fails. */
class DomainInputTest {
    private static final int PROTO = 251;
    private final KernelHarness k = KernelHarness.create();
    private final ExtensionHandle kpi = k.kpi("com.example.proto251");

    @AfterEach void tearDown() {
        k.close();
        assertThat(k.leakedBuffers()).as("buffers leaked").isZero();
    }

    @Test void aProtocolWhoseInputThrowsLosesNoBufferAndIsCounted() throws Exception {
        DomainKpi.ProtocolRef ref = kpi.domains().addProtocol(ProtocolFamily.PF_INET, new ProtocolSwitch() {
            @Override public int type() { return SocketConstants.SOCK_RAW; }
            @Override public int protocol() { return PROTO; }
            @Override public void input(Mbuf m, int offset) { throw new IllegalStateException("bug"); }
        });

        k.injectIp(Pkt.raw(PROTO, new byte[8]).withSrc(k.peerIp()).withDst(k.ip()).ipBytes());
        k.runPending();

        assertThat(ref.faults()).isEqualTo(1);
        assertThat(k.stat(Stat.NKE_FAULT_DROPS)).isEqualTo(1);
        assertThat(k.stat(Stat.IP_NO_PROTO)).isZero(); // it was the protocol's, not unknown
    }
}
