package org.kextnet.loader.rpc;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;

/**
 * The greeting, the client's side (docs/rpc.md, "Greeting"): what the daemon answered. Shared by
 * {@link KernLoaderClient} and {@link KernLoaderQuery}.
 */
record Hello(int version, boolean privileged, long replyPort, String user, long pid, String where) {
    /** The daemon, as messages name it: "kern_loader (pid 1234, /run/kextnet/kern_loader.sock)". */
    String daemon() {
        return "kern_loader (" + (pid > 0 ? "pid " + pid + ", " : "") + where + ")";
    }

    /**
     * Sends the client's greeting announcing {@code clientVersion} and reads the daemon's.
     * @param where the socket, for the message when the peer is not kern_loader
     * @throws LoaderException 122 if the peer is not kern_loader, 120 if it refused the version
     */
    static Hello exchange(FrameChannel ch, int clientVersion, Object where) throws IOException, LoaderException {
        RpcWriter w = new RpcWriter();
        w.i32(Rpc.MAGIC).u16(clientVersion).u16(0);
        IOException unsent = null;
        try {
            ch.write(w.raw());
        } catch (IOException e) {
            unsent = e; // a daemon at its limit answers and closes at once: its answer may still be there to read
        }
        ByteBuffer h;
        try {
            h = ch.readExactly(8);
        } catch (IOException e) {
            if (unsent != null) throw unsent;
            throw e;
        }
        if (h.getInt() != Rpc.MAGIC) throw new LoaderException(LoaderError.RPC_MALFORMED, where + " is not a kern_loader socket");
        int version = h.getShort() & 0xffff;
        int flags = h.getShort() & 0xffff;
        long rp = ch.readExactly(8).getLong();
        byte[] user = new byte[ch.readExactly(2).getShort() & 0xffff];
        ch.readExactly(user.length).get(user);
        long pid = version >= 3 ? ch.readExactly(4).getInt() & 0xffffffffL : 0;
        if ((flags & Rpc.HELLO_BUSY) != 0) { // the daemon's reason follows, as an error frame
            ByteBuffer f = ch.readFrame();
            if (f == null) throw new LoaderException(LoaderError.RPC_BUSY, "kern_loader at " + where + " is busy");
            f.position(f.position() + 5);
            RpcReader r = new RpcReader(f);
            int code = r.u16();
            throw new LoaderException(code, r.str(), null);
        }
        if ((flags & Rpc.HELLO_VERSION_REFUSED) != 0)
            throw new LoaderException(LoaderError.RPC_VERSION, "kern_loader speaks protocol " + version + ", not " + clientVersion);
        return new Hello(version, (flags & Rpc.HELLO_PRIVILEGED) != 0, rp, new String(user, StandardCharsets.UTF_8), pid, String.valueOf(where));
    }
}
