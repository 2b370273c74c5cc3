package org.kextnet.packetdrill;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The JNI boundary's conventions: counts or negative Linux errnos, never an exception. */
class NativeEntryTest {
    @AfterEach void free() { NativeEntry.free(); }

    @Test void badSoFlagsStopTheShimWithAMessageNamingTheWord() {
        assertThat(NativeEntry.init("max_wait=0")).isEqualTo("bad --so_flags: max_wait=0 is outside 1..86400");
    }

    @Test void aCallThatWouldBlockForeverOnTheMainThreadFailsWithEintr() {
        assertThat(NativeEntry.init("max_wait=2")).isNull();
        assertThat(NativeEntry.socket(50, Linux.AF_INET, Linux.SOCK_DGRAM, 0)).isZero();
        assertThat(NativeEntry.recv(50, ByteBuffer.allocateDirect(8), 0, new int[5])).isEqualTo(-Linux.EINTR);
        long[] time = new long[1];
        assertThat(NativeEntry.netdevReceive(ByteBuffer.allocateDirect(64), time)).isZero(); // the empty packet
        assertThat(time[0]).isEqualTo(NativeEntry.gettimeofday());
    }

    @Test void aCallBeforeInitFailsWithEioInsteadOfThrowing() {
        assertThat(NativeEntry.close(3)).isEqualTo(-Linux.EIO);
    }
}
