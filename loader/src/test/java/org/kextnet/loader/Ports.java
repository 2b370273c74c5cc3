package org.kextnet.loader;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.kextnet.loader.port.Message;
import org.kextnet.loader.port.Port;
import org.kextnet.loader.port.ReplyPort;

/** In-JVM port clients for tests. */
final class Ports {
    private Ports() {}

    /** What came back for a message: status 0 with the server's code, id and data, or a loader status. */
    record Result(int status, int code, int id, byte[] data, String detail) {
        String text() { return new String(data); }
    }

    static CompletableFuture<Result> sendAsync(KernLoader l, ReplyPort rp, String port, int id, byte[] data) {
        Port p = l.names().lookup(port);
        CompletableFuture<Result> f = new CompletableFuture<>();
        if (p == null) {
            f.complete(new Result(LoaderError.UNKNOWN_PORT.code(), 0, 0, new byte[0], "no port"));
            return f;
        }
        p.send(new Message(port, id, data, rp.id(), (status, code, rid, d, detail) -> f.complete(new Result(status, code, rid, d, detail))));
        return f;
    }

    static Result send(KernLoader l, String port, int id, byte[] data) throws Exception {
        ReplyPort rp = l.names().newReplyPort((i, d) -> {});
        try {
            return sendAsync(l, rp, port, id, data).get(30, TimeUnit.SECONDS);
        } finally {
            l.names().destroy(rp);
        }
    }
}
