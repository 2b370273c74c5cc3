package org.kextnet.cli;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

/** Where kern_loader's socket is when no {@code --socket} is given, and how kl_util connects to it. */
final class LoaderSocket {
    private LoaderSocket() {}

    /**
     * System property choosing kl_util's socket: {@code jni} (the JNI shim, {@link UnixSocketShim}; an error if it
     * does not load), {@code jdk} (the JDK's {@code SocketChannel}); unset, the shim when it loads, else the JDK's.
     */
    static final String TRANSPORT_PROPERTY = "kextnet.kl.transport";

    /** {@code $KEXTNET_SOCKET}, else /run/kextnet/kern_loader.sock for root, else a per-user directory under /tmp. */
    static Path defaultPath() {
        String env = System.getenv("KEXTNET_SOCKET");
        if (env != null && !env.isBlank()) return Path.of(env);
        String user = System.getProperty("user.name");
        if ("root".equals(user)) return Path.of("/run/kextnet/kern_loader.sock");
        return Path.of(System.getProperty("java.io.tmpdir"), "kextnet-" + user, "kern_loader.sock");
    }

    static Path orDefault(Path p) {
        return p != null ? p : defaultPath();
    }

    /** The transport {@link #connect} uses: "jni" or "jdk", as {@value #TRANSPORT_PROPERTY} and the library allow. */
    static String transport() throws IOException {
        String t = System.getProperty(TRANSPORT_PROPERTY, "");
        if (t.equals("jdk")) return t;
        if (UnixSocketShim.load()) return "jni";
        if (t.equals("jni")) throw new IOException(TRANSPORT_PROPERTY + "=jni: " + UnixSocketShim.problem());
        return "jdk";
    }

    /** A stream connected to kern_loader's socket: through the JNI shim when it loads, else the JDK's channel. */
    static ByteChannel connect(Path socket) throws IOException {
        if (transport().equals("jni")) return UnixSocketShim.connect(socket);
        SocketChannel sc = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            sc.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException | RuntimeException e) {
            sc.close();
            throw e;
        }
        return sc;
    }
}
