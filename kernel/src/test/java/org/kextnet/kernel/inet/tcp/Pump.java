package org.kextnet.kernel.inet.tcp;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;

/**
 * An application on one end of a connection, driven by its upcall: it writes {@code toSend} bytes of a
 * seeded pseudo-random stream, then shuts down sending, and reads until the end of the stream, hashing both
 * directions with SHA-256. Reading and writing from inside the upcall is what the engine promises to allow.
 */
final class Pump implements TcpUpcall {
    private final long toSend;
    private final SplittableRandom data;
    private final MessageDigest sentHash, receivedHash;
    private final byte[] chunk = new byte[64 * 1024];
    private final ByteBuffer in = ByteBuffer.allocate(256 * 1024);
    private ByteBuffer pending = ByteBuffer.allocate(0);
    long sent, received;
    boolean sentAll, eof;
    int error;
    TcpConnection connection;

    Pump(long toSend, long seed) {
        this.toSend = toSend;
        this.data = new SplittableRandom(seed);
        try {
            sentHash = MessageDigest.getInstance("SHA-256");
            receivedHash = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    @Override public void events(TcpConnection c, int events) {
        connection = c;
        if ((events & ERROR) != 0 && error == 0) error = c.error();
        if ((events & (READABLE | CANT_RECV_MORE)) != 0) read(c);
        if ((events & (CONNECTED | WRITABLE)) != 0) write(c);
    }

    /** Moves whatever can move now (for a caller outside the upcall). */
    void poke() {
        if (connection == null) return;
        read(connection);
        write(connection);
    }

    private void read(TcpConnection c) {
        try {
            while (!eof) {
                in.clear();
                int n = c.read(in);
                if (n < 0) {
                    eof = true;
                } else if (n == 0) {
                    return;
                } else {
                    receivedHash.update(in.array(), 0, n);
                    received += n;
                }
            }
        } catch (TcpException e) {
            error = e.errno();
        }
    }

    private void write(TcpConnection c) {
        try {
            while (!sentAll) {
                if (!pending.hasRemaining()) {
                    long left = toSend - sent;
                    if (left <= 0) {
                        sentAll = true;
                        c.shutdownOutput();
                        return;
                    }
                    int n = (int) Math.min(chunk.length, left);
                    data.nextBytes(chunk);
                    sentHash.update(chunk, 0, n);
                    sent += n;
                    pending = ByteBuffer.wrap(chunk, 0, n);
                }
                if (c.write(pending) == 0) return;
            }
        } catch (TcpException e) {
            error = e.errno();
        }
    }

    boolean done() { return (sentAll || toSend == 0) && eof; }

    String sentDigest() { return HexFormat.of().formatHex(((MessageDigest) clone(sentHash)).digest()); }
    String receivedDigest() { return HexFormat.of().formatHex(((MessageDigest) clone(receivedHash)).digest()); }

    private static Object clone(MessageDigest d) {
        try {
            return d.clone();
        } catch (CloneNotSupportedException e) {
            throw new AssertionError(e);
        }
    }
}
