package org.kextnet.kernel.inet.tcp;

import org.kextnet.kpi.Errno;

/** A TCP request that failed, with its errno ({@link Errno}): the socket layer passes it on as is. */
public final class TcpException extends Exception {
    private final int errno;

    public TcpException(int errno, String message) {
        super(Errno.name(errno) + ": " + message);
        this.errno = errno;
    }

    public int errno() { return errno; }
}
