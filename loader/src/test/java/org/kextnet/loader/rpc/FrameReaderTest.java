package org.kextnet.loader.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.EOFException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

import org.junit.jupiter.api.Test;

/** The daemon's read buffer follows the bytes that arrive, never a length a client merely declares. */
class FrameReaderTest {
    /** Delivers {@code data} at most {@code chunk} bytes per read, then end of stream. */
    static final class Trickle implements ReadableByteChannel {
        final ByteBuffer data;
        final int chunk;
        int reads;

        Trickle(byte[] data, int chunk) {
            this.data = ByteBuffer.wrap(data);
            this.chunk = chunk;
        }

        @Override public int read(ByteBuffer dst) {
            if (!data.hasRemaining()) return -1;
            int n = Math.min(chunk, Math.min(dst.remaining(), data.remaining()));
            dst.put(data.slice(data.position(), n));
            data.position(data.position() + n);
            reads++;
            return n;
        }

        @Override public boolean isOpen() { return true; }
        @Override public void close() {}
    }

    @Test void aDeclaredLengthAllocatesNothingUntilItsBytesArrive() throws Exception {
        byte[] header = ByteBuffer.allocate(13).putInt(16 << 20).put((byte) 0x0C).putInt(1).putInt(0).array();
        int[] activity = {0};
        FrameReader r = new FrameReader(new Trickle(header, 13), () -> activity[0]++);
        assertThat(r.fill(4)).isTrue();
        int declared = r.peekInt(0);
        assertThat(declared).isEqualTo(16 << 20);
        assertThatThrownBy(() -> r.fill(4 + declared)).isInstanceOf(EOFException.class);
        assertThat(r.capacity()).as("13 bytes arrived: the buffer did not grow for 16 MiB").isLessThanOrEqualTo(2 * FrameReader.SMALL);
        assertThat(activity[0]).isEqualTo(1);
    }

    @Test void aLargeFrameGrowsTheBufferByWhatArrivedAndItShrinksAfter() throws Exception {
        int len = 256 * 1024;
        byte[] frame = new byte[4 + len + 9];
        ByteBuffer.wrap(frame).putInt(len);
        for (int i = 4; i < frame.length; i++) frame[i] = (byte) i;
        ByteBuffer.wrap(frame, 4 + len, 9).putInt(5).put((byte) 1).putInt(7); // a PING after it
        Trickle t = new Trickle(frame, 1000);
        FrameReader r = new FrameReader(t, () -> {});
        int maxSeen = 0;
        for (int have = 1000; have < 4 + len; have += 1000) {
            r.fill(have);
            maxSeen = Math.max(maxSeen, r.capacity());
            assertThat(r.capacity()).as("after %d bytes", have).isLessThanOrEqualTo(Math.max(2 * FrameReader.SMALL, 2 * r.buffered()));
        }
        r.fill(4 + len);
        r.take(4);
        ByteBuffer f = r.take(len);
        assertThat(f.get(0)).isEqualTo((byte) 4);
        assertThat(f.get(len - 1)).isEqualTo((byte) (4 + len - 1));
        r.shrink();
        assertThat(r.capacity()).isEqualTo(FrameReader.SMALL);
        assertThat(r.fill(9)).isTrue();
        assertThat(r.peekInt(0)).as("the next frame survives the shrink").isEqualTo(5);
        r.skip(9);
        assertThat(r.fill(1)).as("a clean end between frames").isFalse();
    }

    /** What an idle connection's spin reads with: what is there now, without waiting, and never past a full buffer. */
    @Test void readAvailableTakesWhatIsThereWithoutWaiting() throws Exception {
        java.nio.channels.Pipe pipe = java.nio.channels.Pipe.open();
        try (var source = pipe.source(); var sink = pipe.sink()) {
            source.configureBlocking(false);
            int[] activity = {0};
            FrameReader r = new FrameReader(source, () -> activity[0]++);
            assertThat(r.readAvailable()).as("nothing there").isZero();
            assertThat(activity[0]).isZero();
            sink.write(ByteBuffer.wrap(new byte[] {0, 0, 0, 5, 1}));
            assertThat(r.readAvailable()).isEqualTo(5);
            assertThat(activity[0]).isEqualTo(1);
            assertThat(r.fill(5)).isTrue();
            assertThat(r.peekInt(0)).isEqualTo(5);
            r.take(5);
            sink.write(ByteBuffer.wrap(new byte[FrameReader.SMALL + 10]));
            int got = 0;
            while (got < FrameReader.SMALL) got += r.readAvailable();
            assertThat(r.buffered()).isEqualTo(FrameReader.SMALL);
            assertThat(r.readAvailable()).as("a full buffer is not read into").isEqualTo(FrameReader.SMALL);
            assertThat(r.buffered()).isEqualTo(FrameReader.SMALL);
            r.take(FrameReader.SMALL);
            assertThat(r.readAvailable()).as("the 10 bytes left in the pipe").isEqualTo(10);
            r.take(10);
            sink.close();
            assertThat(r.readAvailable()).as("end of stream").isEqualTo(-1);
        }
    }
}
