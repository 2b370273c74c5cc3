package org.kextnet.kpi.server;

import java.nio.ByteBuffer;

/**
 * A message received on one of a server's ports (a Mach message: an id, a body and an optional reply
 * port). A routine replies at most once, from any thread, now or later.
 */
public interface PortMessage {
    /** The port it was sent to. */
    String port();

    /** The message id ({@code msgh_id}). */
    int id();

    /** The body, read-only. */
    ByteBuffer data();

    /** The body as a new array. */
    byte[] bytes();

    /** The reply port, or 0 if the sender wants no reply. */
    long replyPort();

    /**
     * Replies on the reply port with return code 0.
     * @return false if there is no reply port, it died, or a reply was already sent
     */
    boolean reply(int id, byte[] data);

    /** Replies with a non-zero return code and no body ({@code kern_return_t} of a failed MiG call). */
    boolean replyError(int code);
}
