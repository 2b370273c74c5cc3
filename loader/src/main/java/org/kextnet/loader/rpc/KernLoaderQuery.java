package org.kextnet.loader.rpc;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.util.List;

import org.kextnet.loader.LoaderException;
import org.kextnet.loader.ServerInfo;

/**
 * A synchronous client for kern_loader's read-only requests (LIST, INFO): one request at a time on the caller's
 * thread, over any connected byte channel, with no reader thread, futures or lambdas. {@code kl_util -s} and
 * {@code -k} use it, so that the command in a fresh JVM runs little beyond its own request (docs/benchmarks.md,
 * "kern_loader"). {@link KernLoaderClient} is the full client: concurrent requests, log and port events, time-outs.
 * This one waits for each answer as long as the daemon takes, as the original kl_util did.
 */
public final class KernLoaderQuery implements AutoCloseable, ServerStatus {
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

    @Override public List<ServerInfo> list() throws IOException, LoaderException {
        return InfoCodec.readList(call(Rpc.LIST, request(Rpc.LIST)));
    }

    @Override public ServerInfo info(String name) throws IOException, LoaderException {
        return InfoCodec.read(call(Rpc.INFO, request(Rpc.INFO).str(name)));
    }

    /** A new request frame with the next tag. */
    private RpcWriter request(int op) {
        return new RpcWriter(op, ++tag);
    }

    /** Sends the request just built by {@link #request} and reads frames until its response. */
    private RpcReader call(int op, RpcWriter request) throws IOException, LoaderException {
        ch.write(request.frame());
        while (true) {
            ByteBuffer f = ch.readFrame();
            if (f == null) throw new IOException("kern_loader closed the connection");
            int rop = f.get() & 0xff;
            // Events (this client subscribes to none) and anything not answering this request are skipped.
            if (f.getInt() == tag && rop == (op | Rpc.RESPONSE)) return RpcReader.response(f);
        }
    }

    @Override public void close() throws IOException {
        ch.close();
    }
}
