package org.kextnet.kernel.buf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.kextnet.kernel.wire.Bytes;

/** Tests and fuzzing run with headers checked: a bad offset in a vector stage throws instead of touching memory. */
class UncheckedAccessTest {
    @Test void testsRunChecked() {
        assertThat(Packet.UNCHECKED).as("-Dkextnet.unchecked is for the launcher and benchmarks only").isFalse();
    }

    @Test void aReadPastTheBufferThroughTheHeaderViewThrows() {
        try (PacketPool pool = new PacketPool("t", 2, 256, 64)) {
            Packet m = pool.alloc();
            m.setLength(20);
            assertThat(m.headers()).isSameAs(m.segment());
            assertThat(m.headerBase()).isEqualTo(m.offset());
            assertThatThrownBy(() -> m.headers().get(Bytes.U64, m.headerBase() + m.capacity()))
                    .isInstanceOf(IndexOutOfBoundsException.class);
            m.free();
        }
    }
}
