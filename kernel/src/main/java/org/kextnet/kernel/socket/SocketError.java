package org.kextnet.kernel.socket;

import java.io.IOException;

import org.kextnet.kpi.Errno;

/** A socket call refused by the kernel, with the errno it returned. */
public final class SocketError extends IOException {
    private final int errno;

    public SocketError(int errno, String message) {
        super(Errno.name(errno) + ": " + message);
        this.errno = errno;
    }

    public int errno() { return errno; }
}
