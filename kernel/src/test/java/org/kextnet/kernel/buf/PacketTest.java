package org.kextnet.kernel.buf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PacketTest {
    private final PacketPool pool = new PacketPool("test", 4, 256, 64);

    @AfterEach void allReturned() {
        assertThat(pool.inUse()).isZero();
        pool.close();
    }

    @Test void startsEmptyAfterTheHeadroom() {
        Packet m = pool.alloc();
        assertThat(m.offset()).isEqualTo(64);
        assertThat(m.length()).isZero();
        assertThat(m.headroom()).isEqualTo(64);
        assertThat(m.tailroom()).isEqualTo(192);
        m.free();
    }

    @Test void prependAndAdjMoveTheDataWindowWithoutCopying() {
        Packet m = pool.alloc();
        m.setLength(10);
        m.put8(0, 0xaa);
        assertThat(m.prepend(14)).isTrue();
        assertThat(m.length()).isEqualTo(24);
        assertThat(m.getU8(14)).isEqualTo(0xaa);
        assertThat(m.prepend(51)).isFalse(); // only 50 bytes of headroom left
        m.adj(14);
        assertThat(m.getU8(0)).isEqualTo(0xaa);
        m.adj(-4);
        assertThat(m.length()).isEqualTo(6);
        assertThat(m.append(186)).isTrue();
        assertThat(m.append(1)).isFalse();
        m.adj(1000); // as mbuf_adj: trims what there is
        assertThat(m.length()).isZero();
        m.free();
    }

    @Test void aSecondFreeThrows() {
        Packet m = pool.alloc();
        m.free();
        assertThatThrownBy(m::free).isInstanceOf(IllegalStateException.class).hasMessageContaining("freed twice");
        assertThat(pool.available()).isEqualTo(4);
    }

    @Test void anEmptyPoolReturnsNull() {
        Packet[] all = new Packet[4];
        for (int i = 0; i < 4; i++) all[i] = pool.alloc();
        assertThat(pool.alloc()).isNull();
        assertThat(pool.inUse()).isEqualTo(4);
        for (Packet m : all) m.free();
    }

    @Test void aReusedBufferStartsClean() {
        Packet m = pool.alloc();
        m.setFlags(Packet.F_BROADCAST);
        m.setCsumFlags(Packet.CSUM_IP_VALID);
        m.tags().allocate(1, 2, 4)[0] = 9;
        m.timestamp = 5;
        m.free();
        Packet again = null;
        for (int i = 0; i < 4; i++) {
            Packet x = pool.alloc();
            if (x == m) again = x; else x.free();
        }
        assertThat(again).isSameAs(m);
        assertThat(again.flags()).isZero();
        assertThat(again.csumFlags()).isZero();
        assertThat(again.hasTags()).isFalse();
        assertThat(again.timestamp).isZero();
        again.free();
    }

    @Test void copiesAcrossAChain() {
        Packet a = pool.alloc();
        Packet b = pool.alloc();
        a.setLength(3);
        b.setLength(3);
        for (int i = 0; i < 3; i++) { a.put8(i, i); b.put8(i, 3 + i); }
        a.next = b;
        assertThat(a.packetLength()).isEqualTo(6);
        assertThat(a.toByteArray()).containsExactly(0, 1, 2, 3, 4, 5);
        byte[] mid = new byte[3];
        a.copyData(2, mid, 0, 3);
        assertThat(mid).containsExactly(2, 3, 4);
        a.free(); // frees the whole chain
        assertThat(b.isFree()).isTrue();
    }

    @Test void tagsAreFoundByOwnerAndType() {
        Packet m = pool.alloc();
        PacketTags t = m.tags();
        t.allocate(7, 1, 8)[0] = 42;
        t.allocate(7, 2, 8)[0] = 43;
        t.allocate(8, 1, 8)[0] = 44;
        assertThat(t.find(7, 1)[0]).isEqualTo((byte) 42);
        assertThat(t.find(8, 1)[0]).isEqualTo((byte) 44);
        assertThat(t.length(7, 2)).isEqualTo(8);
        assertThat(t.free(7, 1)).isTrue();
        assertThat(t.find(7, 1)).isNull();
        assertThat(t.find(7, 2)[0]).isEqualTo((byte) 43);
        assertThat(t.allocate(9, 1, PacketTags.MAX_TAG_LENGTH + 1)).isNull();
        m.free();
    }
}
