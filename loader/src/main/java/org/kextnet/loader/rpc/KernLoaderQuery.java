package org.kextnet.loader.rpc;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;

import org.kextnet.loader.LoaderException;

/**
 * A synchronous client of kern_loader: one request at a time on the caller's thread, over any connected byte
 * channel, with no reader thread, futures or lambdas. {@code kl_util -s} and {@code -k} use it, so that the command
 * in a fresh JVM runs little beyond its own request (docs/benchmarks.md, "kern_loader"). {@link KernLoaderClient} is
 * the full client: concurrent requests, log and port events, time-outs. This one skips events and waits for each
 * answer as long as the daemon takes, as the original kl_util did.
 */
public final class KernLoaderQuery implements RpcClient {
    private final FrameChannel ch;
    private final Hello hello;
    /** The tag of the last request. */
    private int tag;

    private KernLoaderQuery(FrameChannel ch, Hello hello) {
        this.ch = ch;
        this.hello = hello;
    }

    /**
     * Greets kern_loader over {@code channel}, a stream connected to its socket; closes the channel if that fails.
     * @param where the socket, for messages
     */
    public static KernLoaderQuery open(ByteChannel channel, Object where) throws IOException, LoaderException {
        FrameChannel ch = new FrameChannel(channel);
        try {
            return new KernLoaderQuery(ch, Hello.exchange(ch, Rpc.VERSION, where));
        } catch (IOException | LoaderException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** The protocol version agreed with the daemon. */
    public int version() { return hello.version(); }

    /** Sends the request and reads frames until its response (parts put together); events and anything else are skipped. */
    @Override public <R> R call(Request<R> request) throws IOException, LoaderException {
        try {
            return exchange(request);
        } catch (IOException e) {
            String m = e.getMessage();
            throw m != null && m.contains(hello.daemon()) ? e : new IOException("lost " + hello.daemon() + ": " + m, e);
        }
    }

    private <R> R exchange(Request<R> request) throws IOException, LoaderException {
        int t = ++tag;
        int op = request.op().code() | Rpc.RESPONSE;
        ch.write(request.frame(t));
        Parts parts = null;
        String said = null;
        while (true) {
            ByteBuffer f = ch.readFrame();
            if (f == null) throw new IOException(said != null ? hello.daemon() + ": " + said : "lost " + hello.daemon() + ": the connection ended without notice");
            int rop = f.get() & 0xff;
            int rtag = f.getInt();
            if (rop == Rpc.PART && rtag == t) {
                if (parts == null) parts = new Parts();
                parts.add(t, f);
            } else if (rop == Rpc.EVENT_CLOSING && rtag == 0) {
                if (Event.decode(rop, f) instanceof Event.Closing c) said = c.reason();
            } else if (rtag == t && rop == op) {
                return Response.decode(request, parts == null ? f : parts.complete(t, f), hello.version()).get();
            }
        }
    }

    @Override public void close() throws IOException {
        ch.close();
    }
}
