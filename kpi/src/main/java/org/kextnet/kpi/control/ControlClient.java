package org.kextnet.kpi.control;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * The client end of a kernel-control connection ({@code socket(PF_SYSTEM, SOCK_DGRAM, SYSPROTO_CONTROL)} then
 * {@code connect}). Thread-safe; {@link #receive} parks, so virtual threads may use it freely.
 */
public interface ControlClient extends AutoCloseable {
    /** The address connected to. */
    ControlAddress address();

    /**
     * Sends the remaining bytes of {@code data} to the control (its {@code send} callback runs on this thread).
     * @return 0, or the errno: the control's, ENOTCONN after close, EMSGSIZE above the control's send size,
     *         ENOBUFS without buffers
     */
    int send(ByteBuffer data, int flags);

    /**
     * Receives one message (datagram controls) or the bytes available (stream controls) into {@code dst},
     * waiting up to {@code timeout}; a datagram larger than the space left is truncated.
     * @return bytes received, 0 if the time ran out, or -1 once the connection is closed and drained
     */
    int receive(ByteBuffer dst, long timeout, TimeUnit unit) throws InterruptedException;

    /** Sets option {@code option} (level {@code SYSPROTO_CONTROL}). @return 0 or the control's errno */
    int setOption(int option, byte[] value);

    /**
     * Gets option {@code option} into {@code buffer} (null asks for the size).
     * @return bytes written or needed, or a negative errno
     */
    int getOption(int option, byte[] buffer);

    /** Whether the connection is open. */
    boolean isConnected();

    /** Disconnects (the control's {@code disconnect} runs on this thread). Idempotent. */
    @Override void close();
}
