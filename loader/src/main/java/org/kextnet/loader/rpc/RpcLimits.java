package org.kextnet.loader.rpc;

/**
 * What the RPC lets its clients hold (docs/rpc.md, "Limits"; docs/reliability.md, "kern_loader under abuse").
 *
 * @param maxConnections  connections served at once; beyond it the connection silent longest (status listeners
 *                        excepted) is closed to admit a new one, or, if there is none, the new one is refused with an
 *                        error frame (128)
 * @param maxListeners    connections subscribed to the log ({@code kl_util -L}) at once; a LOG beyond it is refused (128)
 * @param frameTimeoutMillis longest a client may take over its greeting, over one frame once its first byte has
 *                        arrived, and over taking one frame the daemon writes to it; then it is closed
 * @param idleTimeoutMillis a connection with no request outstanding and no frame under way is closed after this long
 *                        silent (status listeners excepted)
 * @param connectionBudget bytes of requests one connection may have in the daemon at once (frames being read or
 *                        awaiting their answer, and control receive buffers); its next frame is not read until
 *                        answers free enough. At least one request is always admitted.
 */
public record RpcLimits(int maxConnections, int maxListeners, long frameTimeoutMillis, long idleTimeoutMillis, int connectionBudget) {
    /** Outstanding requests one connection may have at once, whatever their size. */
    public static final int MAX_OUTSTANDING = 64;

    public RpcLimits {
        if (maxConnections < 1 || maxListeners < 0 || frameTimeoutMillis < 1 || idleTimeoutMillis < 1 || connectionBudget < 1)
            throw new IllegalArgumentException("RPC limits must be positive: " + this);
    }

    /** 128 connections, 16 listeners, 5 s per greeting, frame or write, 5 min idle, 1 MiB per connection. */
    public static RpcLimits defaults() {
        return new RpcLimits(128, 16, 5_000, 300_000, 1 << 20);
    }

    public RpcLimits withConnections(int connections, int listeners) {
        return new RpcLimits(connections, listeners, frameTimeoutMillis, idleTimeoutMillis, connectionBudget);
    }

    public RpcLimits withTimeouts(long frameMillis, long idleMillis) {
        return new RpcLimits(maxConnections, maxListeners, frameMillis, idleMillis, connectionBudget);
    }
}
