package org.kextnet.kernel.link.memwire;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.buf.Buffers;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.net.PacketContext;
import org.kextnet.kernel.sync.ManualClock;

/** What crosses the memory wire: the bytes, not the sending host's tags, flags and checksum state. */
class WireHandoffTest {
    @Test void theOtherEndGetsTheBytesWithoutThisHostsState() {
        Buffers buffers = new Buffers(16, 2);
        Kernel kernel = new Kernel("wire", buffers, new ManualClock());
        try {
            PacketContext ctx = kernel.contexts().open();
            MemoryWire wire = new MemoryWire("w", MemoryWire.Options.perfect().withPollMode(true));
            Packet m = buffers.alloc(60);
            m.setData(m.offset(), 60);
            m.segment().set(JAVA_BYTE, m.offset() + 5, (byte) 42);
            m.tagAllocate(0x7461, 1, 4);
            m.setFlags(0x3);
            m.setCsumFlags(0x5);

            assertThat(wire.a().transmit(ctx, m)).isTrue();
            Packet got = wire.b().take();

            assertThat(got.length()).isEqualTo(60);
            assertThat(got.segment().get(JAVA_BYTE, got.offset() + 5)).isEqualTo((byte) 42);
            assertThat(got.hasTags()).isFalse();
            assertThat(got.flags()).isZero();
            assertThat(got.csumFlags()).isZero();
            got.free();
            ctx.close();
        } finally {
            kernel.close();
        }
        assertThat(buffers.small().inUse()).isZero();
    }
}
