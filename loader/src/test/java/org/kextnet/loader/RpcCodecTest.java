package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.kextnet.kpi.Registration;
import org.kextnet.loader.rpc.InfoCodec;
import org.kextnet.loader.rpc.RpcFormatException;
import org.kextnet.loader.rpc.RpcReader;
import org.kextnet.loader.rpc.RpcWriter;

/** The field codec: what RpcWriter writes RpcReader reads back, from any kind of buffer, and shortfalls are 122. */
class RpcCodecTest {
    static ServerInfo info(int index, Map<String, Integer> regs) {
        return new ServerInfo(index, "s" + index + "-é", ServerState.LOADED, Path.of("/x/s.jar").toString(), null, 0x10000000L + index,
                0x1000, List.of(new ServerInfo.PortInfo("p", true), new ServerInfo.PortInfo("q", false)), "1.0", List.of("lib"), 1,
                -1L, 3, null, regs);
    }

    /** The frame body after the length, op and tag. */
    static ByteBuffer body(RpcWriter w) {
        return w.frame().position(9).slice();
    }

    @Test void fieldsRoundTripFromHeapSlicesAndReadOnlyBuffers() throws Exception {
        RpcWriter w = new RpcWriter(0x02, 7).u8(255).u16(65535).i32(-2).i64(Long.MIN_VALUE + 5).str("ascii").str("ünï").str(null).bytes(new byte[] {1, 2});
        InfoCodec.write(w, info(1, Map.of("timeout", 2, "callout", 1)));
        InfoCodec.write(w, info(2, Map.of()));
        ByteBuffer heap = body(w);
        ByteBuffer readOnly = heap.asReadOnlyBuffer();
        ByteBuffer direct = ByteBuffer.allocateDirect(heap.remaining()).put(heap.duplicate()).flip();
        for (ByteBuffer b : List.of(heap, readOnly, direct)) {
            int pos = b.position();
            RpcReader r = new RpcReader(b);
            assertThat(r.u8()).isEqualTo(255);
            assertThat(r.u16()).isEqualTo(65535);
            assertThat(r.i32()).isEqualTo(-2);
            assertThat(r.i64()).isEqualTo(Long.MIN_VALUE + 5);
            assertThat(r.str()).isEqualTo("ascii");
            assertThat(r.str()).isEqualTo("ünï");
            assertThat(r.str()).isEmpty();
            assertThat(r.bytes()).containsExactly(1, 2);
            assertThat(InfoCodec.read(r)).isEqualTo(info(1, Map.of("callout", 1, "timeout", 2)));
            assertThat(InfoCodec.read(r)).isEqualTo(info(2, Map.of()));
            r.end();
            assertThat(b.position()).as("the buffer's own position does not move").isEqualTo(pos);
        }
    }

    /** Version 4 adds the extension's health and each registration's counters; a version-3 frame has neither. */
    @Test void healthAndCountersTravelFromVersion4AndAreLeftOutBefore() throws Exception {
        ServerInfo plain = info(1, Map.of("ipfilter", 1));
        ServerInfo full = new ServerInfo(plain.index(), plain.name(), plain.state(), plain.relocatable(), null, plain.address(),
                plain.size(), plain.ports(), plain.version(), plain.depends(), plain.refs(), plain.wired(), plain.faults(),
                "ipfilter f did not return in 1.00 s", plain.registrations(), "Faulted (stuck)",
                List.of(new ServerInfo.Hook("ipfilter", "f", "active", new Registration.Counters(12, 9, 1, 2, 0, 3, 45_000)),
                        new ServerInfo.Hook("kctl", "c", "detaching", new Registration.Counters(1, 0, 0, 0, 1, 0, 7))));
        RpcWriter w4 = new RpcWriter(0x02, 1).version(4);
        InfoCodec.write(w4, full);
        RpcReader r4 = new RpcReader(body(w4)).version(4);
        assertThat(InfoCodec.read(r4)).isEqualTo(full);
        r4.end();
        assertThat(full.stateLabel()).isEqualTo("Faulted (stuck)");

        RpcWriter w3 = new RpcWriter(0x02, 1).version(3);
        InfoCodec.write(w3, full);
        RpcReader r3 = new RpcReader(body(w3)).version(3);
        ServerInfo old = InfoCodec.read(r3);
        r3.end(); // nothing a version-3 client would not read
        assertThat(old.health()).isEmpty();
        assertThat(old.hooks()).isEmpty();
        assertThat(old.registrations()).isEqualTo(full.registrations());
        assertThat(old.stateLabel()).isEqualTo("Loaded");
    }

    @Test void shortfallsAndBadUtf8AreMalformed() {
        assertThatThrownBy(() -> new RpcReader(ByteBuffer.wrap(new byte[] {0, 1, 2})).i32()).isInstanceOf(RpcFormatException.class);
        assertThatThrownBy(() -> new RpcReader(ByteBuffer.wrap(new byte[] {0, 3, 'a'})).str()).isInstanceOf(RpcFormatException.class);
        assertThatThrownBy(() -> new RpcReader(ByteBuffer.wrap(new byte[] {0, 1, (byte) 0xff})).str())
                .isInstanceOf(RpcFormatException.class).hasMessage("string is not UTF-8");
        assertThatThrownBy(() -> new RpcReader(ByteBuffer.wrap(new byte[] {(byte) 0xff, 0, 0, 0})).bytes()).isInstanceOf(RpcFormatException.class);
        assertThatThrownBy(() -> new RpcReader(ByteBuffer.wrap(new byte[] {0, 0, 0, 9})).count32(1)).isInstanceOf(RpcFormatException.class);
        assertThatThrownBy(() -> new RpcReader(ByteBuffer.wrap(new byte[] {1})).end()).hasMessage("1 trailing bytes");
    }
}
