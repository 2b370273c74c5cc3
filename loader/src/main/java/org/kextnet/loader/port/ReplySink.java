package org.kextnet.loader.port;

/** Where a message's reply goes (an RPC connection, or an in-JVM caller). */
@FunctionalInterface
public interface ReplySink {
    /**
     * Delivers a reply.
     * @param status  0 when the server replied (then {@code code}, {@code id}, {@code data} are its reply),
     *                else a kern_loader code saying why no server reply will come
     * @param code    the server's return code (0 = success)
     */
    void reply(int status, int code, int id, byte[] data, String detail);
}
