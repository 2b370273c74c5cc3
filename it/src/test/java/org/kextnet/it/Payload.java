package org.kextnet.it;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;

/**
 * A deterministic stream of pseudo-random bytes for bulk transfers: {@code size} bytes drawn from {@code seed},
 * produced piece by piece (so that 100 MB never sit in memory at once), written to a file for Linux's tools, and
 * its SHA-256, to compare with what the other side received.
 */
final class Payload {
    private final long size;
    private final long seed;

    Payload(long size, long seed) {
        this.size = size;
        this.seed = seed;
    }

    long size() { return size; }

    /** Produces the stream in order. Not thread-safe. */
    final class Source {
        private final SplittableRandom rnd = new SplittableRandom(seed);
        private final MessageDigest sha = sha256();
        private long produced;

        /** Fills {@code buf} (cleared first) with the next bytes, at most {@code buf.capacity()}; false at the end. */
        boolean next(ByteBuffer buf) {
            buf.clear();
            long left = size - produced;
            if (left <= 0) return false;
            int n = (int) Math.min(buf.capacity() & ~7, left);
            buf.order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i + 8 <= n; i += 8) buf.putLong(rnd.nextLong());
            while (buf.position() < n) buf.put((byte) rnd.nextInt());
            buf.flip();
            sha.update(buf.duplicate());
            produced += n;
            return true;
        }

        /** The SHA-256 of what was produced, in hex (once everything was). */
        String sha256Hex() { return HexFormat.of().formatHex(sha.digest()); }
    }

    Source source() { return new Source(); }

    /** Writes the stream to {@code file}; returns its SHA-256 in hex. */
    String writeTo(Path file) throws IOException {
        Source s = source();
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        try (OutputStream out = Files.newOutputStream(file)) {
            while (s.next(buf)) out.write(buf.array(), 0, buf.limit());
        }
        return s.sha256Hex();
    }

    /** The stream's SHA-256 in hex. */
    String sha256Hex() {
        Source s = source();
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        while (s.next(buf)) { /* hashing is all it does */ }
        return s.sha256Hex();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
