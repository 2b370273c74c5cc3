package org.kextnet.cli;

import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.inet.tcp.TcpSocket;
import org.kextnet.kpi.server.LogPriority;
import org.kextnet.loader.KernLoader;
import org.kextnet.loader.LoaderException;
import org.kextnet.loader.LoaderOptions;
import org.kextnet.loader.ServerState;
import org.kextnet.loader.StatusFormat;
import org.kextnet.loader.rpc.AdminCommands;
import org.kextnet.loader.rpc.KernLoaderClient;
import org.kextnet.loader.rpc.KernelControls;
import org.kextnet.loader.rpc.PeerPolicy;
import org.kextnet.loader.rpc.Request;
import org.kextnet.loader.rpc.RpcServer;
import org.kextnet.loader.server.NkeBridge;

/**
 * The kern_loader part of the main job: kern_loader in the foreground on the embedded kernel, joined to it, with
 * the example echo server, driven over its socket exactly as kl_util and {@code kextnet port send} drive it:
 * status, a demand load on the first message, an unload, and the status again; then the example NKE (the IP
 * filter counter): added with START, traffic counted by its filter and read over its kernel control, its
 * registrations in {@code kl_util -k}, an unload, and the registrations gone; then tcplog on a TCP exchange; then the
 * samples ({@link SamplesDemo}). The traffic comes from a {@link DemoPeer}: the in-process peer kernel, or Linux
 * behind a TUN device ({@code run --tun}). Each part is a short headed section saying what it shows and why.
 */
final class LoaderDemo {
    private final PrintStream out;

    LoaderDemo(PrintStream out) {
        this.out = out;
    }

    /** The example echo server's script: in the distribution, or in the source tree's build output. */
    static Path echoScript() {
        return exampleScript("echo-server", "echo-server.jar", "echo.kern_server");
    }

    /** The example NKE's script (the IP filter counter), found as {@link #echoScript} is. */
    static Path nkeScript() {
        return exampleScript("ipfilter-counter", "ipfilter-counter.jar", "ipcount.kern_server");
    }

    /** tcplog's script (examples/tcplog), found as {@link #echoScript} is. */
    static Path tcplogScript() {
        return exampleScript("tcplog", "tcplog.jar", "tcplog.kern_server");
    }

    /** An example's script (and its jar beside it) in the distribution or the build output, or null. */
    static Path exampleScript(String module, String jar, String script) {
        List<Path> candidates = new ArrayList<>();
        try {
            Path here = Path.of(LoaderDemo.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            // dist/lib/kextnet-cli.jar -> dist/examples; cli/target/classes -> cli/target/dist/examples
            candidates.add(here.getParent().resolveSibling("examples").resolve(script));
            candidates.add(here.resolveSibling("dist").resolve("examples").resolve(script));
            candidates.add(here.getParent().getParent().resolveSibling("examples").resolve(module + "/target/" + script));
        } catch (URISyntaxException | RuntimeException ignored) {
            // fall back to the working directory
        }
        candidates.add(Path.of("examples/" + module + "/target/" + script));
        candidates.add(Path.of("../examples/" + module + "/target/" + script));
        for (Path p : candidates) if (Files.isRegularFile(p) && Files.isRegularFile(p.resolveSibling(jar))) return p.toAbsolutePath().normalize();
        return null;
    }

    /** A short headed section: what is shown, and why. */
    static void section(PrintStream out, String title, String why) {
        out.println();
        out.println("== " + title + " ==");
        out.println(why);
    }

    /**
     * Runs the demonstration on {@code hosts.kernel()} with traffic from {@code hosts.peer()}, then the samples' part
     * ({@link SamplesDemo}); returns whether every step did what it should.
     */
    boolean run(DemoHosts hosts) throws Exception {
        Kernel kernel = hosts.kernel();
        String here = hosts.here();
        DemoPeer peer = hosts.peer();
        Path script = echoScript(), nke = nkeScript();
        section(out, "kern_loader: servers loaded on demand (NeXTSTEP)",
                "kern_loader runs in this process on the kernel above, with the example echo server; the commands are kl_util's.");
        if (script == null) {
            out.println("kern_loader: the example echo server is not built (examples/echo-server): FAILED");
            return false;
        }
        Path dir = Files.createTempDirectory("kextnet-run-");
        Path sock = dir.resolve("kern_loader.sock");
        boolean ok = true;
        NkeBridge bridge = new NkeBridge(kernel);
        try (KernLoader loader = new KernLoader(LoaderOptions.defaults().withKernel(bridge, bridge))) {
            loader.log().echoTo(out, LogPriority.INFO);
            // The socket is this user's alone (mode 0600 in a private directory): its primary group is made the admin
            // group, so that the walk-through's kl_util -a/-u work without root.
            PeerPolicy policy = new PeerPolicy(Files.readAttributes(dir, PosixFileAttributes.class).group().getName());
            RpcServer server = new RpcServer(loader, AdminCommands.of(hosts.commands()), KernelControls.of(kernel), policy, sock, "rw-------", null);
            try (server) {
                out.println("kern_loader -d " + script + "   (in the foreground, on the embedded kernel; socket " + sock + ")");
                for (LoaderException e : loader.configure(List.of(script), null)) {
                    out.println("kern_loader: " + e);
                    ok = false;
                }
                try (KernLoaderClient c = KernLoaderClient.connect(sock)) {
                    out.println();
                    out.println("$ kl_util -s");
                    out.print(StatusFormat.summary(c.list()));
                    out.println("$ kl_util -s echo");
                    out.print(StatusFormat.detail(c.info("echo")));
                    ok &= c.info("echo").state() == ServerState.ALLOCATED;

                    out.println();
                    out.println("$ kextnet port send echo hello kern_loader      (the first message loads the server)");
                    byte[] msg = "hello kern_loader".getBytes(StandardCharsets.UTF_8);
                    long t0 = System.nanoTime();
                    Request.Reply r = c.send(c.lookup("echo"), 1, msg);
                    long cold = System.nanoTime() - t0;
                    out.printf("reply from echo: id %d, code %d, %d bytes, %.1f ms including the demand load%n", r.id(), r.code(), r.data().length, cold / 1e6);
                    out.println(new String(r.data(), StandardCharsets.UTF_8));
                    ok &= r.code() == 0 && java.util.Arrays.equals(r.data(), msg);
                    t0 = System.nanoTime();
                    r = c.send(c.lookup("echo"), 2, msg);
                    out.printf("second message: reply in %d us (server loaded)%n", (System.nanoTime() - t0) / 1000);

                    out.println();
                    out.println("$ kl_util -s");
                    out.print(StatusFormat.summary(c.list()));
                    ok &= c.info("echo").state() == ServerState.LOADED;
                    out.println("$ kl_util -k");
                    out.print(StatusFormat.kextstat(c.list()));

                    out.println();
                    out.println("$ kl_util -u echo");
                    c.unload("echo");
                    c.ping();
                    out.println("$ kl_util -s echo");
                    out.print(StatusFormat.detail(c.info("echo")));
                    ok &= c.info("echo").state() == ServerState.ALLOCATED;
                    ok &= c.lookup("echo") != 0; // advertised again: the next message loads it again

                    ok &= nke(c, here, peer, nke);
                    ok &= tcplog(c, kernel, here, peer, tcplogScript());
                    ok &= new SamplesDemo(out, c, hosts, dir).run();
                }
            }
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        out.println(ok ? "kern_loader: demo OK" : "kern_loader: demo FAILED");
        return ok;
    }

    /**
     * The example NKE: added with START (start(Kpi) registers its IP filter and kernel control), traffic from the
     * peer counted by the filter and read over the control, its registrations in kl_util -k, then an unload after
     * which the kernel records none.
     */
    private boolean nke(KernLoaderClient c, String here, DemoPeer peer, Path script) throws Exception {
        section(out, "an NKE: the example IP filter counter (examples/ipfilter-counter)",
                "Added with START, its start(Kpi) registers an IP filter and a kernel control; it counts " + peer.name() + "'s traffic.");
        if (script == null) {
            out.println("kern_loader: the example NKE is not built (examples/ipfilter-counter): FAILED");
            return false;
        }
        out.println("$ kl_util -a " + script + "      (an NKE with START: loaded at once)");
        c.add(script);
        c.ping();
        boolean ok = c.info("ipcount").state() == ServerState.LOADED;
        int replies = 0;
        for (int seq = 1; seq <= 3; seq++) if (peer.ping(here, seq, 2) >= 0) replies++;
        if (peer.udpExchange(here, 7, "count me".getBytes(StandardCharsets.US_ASCII)) != null) replies++;
        out.println(peer.name() + " -> " + here + ": 3 pings and 1 UDP echo, " + replies + " replies");
        out.println("$ kextnet ctl send ipcount stats      (the NKE's kernel control, through kern_loader)");
        String stats;
        try (KernLoaderClient.RemoteControl ctl = c.connectControl("ipcount", 0)) {
            ctl.send(ByteBuffer.wrap("stats".getBytes(StandardCharsets.UTF_8)), 0);
            ByteBuffer b = ByteBuffer.allocate(256);
            int n = ctl.receive(b, 5, TimeUnit.SECONDS);
            stats = n > 0 ? new String(b.array(), 0, n, StandardCharsets.UTF_8) : "no reply";
        }
        out.println(stats);
        ok &= replies == 4 && stats.equals("in icmp=3 udp=1 tcp=0 other=0 out icmp=3 udp=1 tcp=0 other=0");
        out.println("$ kl_util -k");
        out.print(StatusFormat.kextstat(c.list()));
        ok &= c.info("ipcount").registrations().equals(java.util.Map.of("ipfilter", 1, "kctl", 1));

        out.println("$ kl_util -u ipcount      (stop(Kpi) removes them; kern_loader waits for their detached callbacks)");
        c.unload("ipcount");
        c.ping();
        out.println("$ kl_util -k");
        out.print(StatusFormat.kextstat(c.list()));
        String nke = c.admin("nke");
        ok &= c.info("ipcount").state() == ServerState.ALLOCATED && c.info("ipcount").registrations().isEmpty()
                && !nke.contains("ipcount") && c.controls().isEmpty();
        out.println("$ kextnet admin nke | grep -c ipcount");
        out.println(nke.lines().filter(l -> l.contains("ipcount")).count());
        return ok;
    }

    /**
     * tcplog on a TCP exchange: added with START (its global socket filter attaches to the kernel's new TCP sockets),
     * the peer asks the kernel's port 80 and reads the answer, {@code kextnet tcplog} shows the listener and the
     * connection with their bytes, and an unload removes the filter and the control.
     */
    private boolean tcplog(KernLoaderClient c, Kernel kernel, String here, DemoPeer peer, Path script) throws Exception {
        section(out, "tcplog: a socket filter on TCP (examples/tcplog, after Apple's tcplognke)",
                "Its global socket filter records the kernel's listener on port 80 and the connection " + peer.name() + " makes to it.");
        if (script == null) {
            out.println("kern_loader: tcplog is not built (examples/tcplog): FAILED");
            return false;
        }
        out.println("$ kl_util -a " + script + "      (a global socket filter on TCP, after Apple's tcplognke)");
        c.add(script);
        c.ping();
        boolean ok = c.info("tcplog").state() == ServerState.LOADED;
        byte[] request = "GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] answer = "HTTP/1.0 200 OK\r\n\r\nhello from kextnet\n".getBytes(StandardCharsets.US_ASCII);
        byte[] got;
        try (TcpSocket server = kernel.tcp().open().bind(0, 80)) {
            server.listen(4);
            server.setTimeout(5, TimeUnit.SECONDS);
            // The peer's side on a thread of its own (Linux's nc is a process that waits for the answer).
            CompletableFuture<byte[]> client = CompletableFuture.supplyAsync(() -> {
                try {
                    return peer.tcpExchange(here, 80, request);
                } catch (Exception e) {
                    throw new CompletionException(e);
                }
            });
            try (TcpSocket conn = server.accept(10, TimeUnit.SECONDS)) {
                if (conn == null) throw new IllegalStateException("no connection accepted");
                readToEnd(conn); // the request, up to the peer's FIN
                conn.write(ByteBuffer.wrap(answer));
            }
            got = client.get(20, TimeUnit.SECONDS);
        }
        out.println(peer.name() + " -> " + here + ":80 over TCP: a " + request.length + "-byte request, a " + got.length + "-byte answer");
        ok &= java.util.Arrays.equals(got, answer);
        out.println("$ kextnet tcplog      (its kernel control, through kern_loader)");
        List<String> lines;
        try (KernLoaderClient.RemoteControl ctl = c.connectControl(TcplogCommand.CONTROL, 0)) {
            // The connection's end reaches the filter on the kernel's threads: wait (bounded) for both records to close.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            do {
                lines = TcplogCommand.ask(ctl, "list");
                if (lines.stream().filter(l -> l.contains(" state=closed ")).count() == 2) break;
                Thread.sleep(10);
            } while (System.nanoTime() < deadline);
        }
        List<String> records = lines.subList(0, lines.size() - 1);
        out.print(TcplogCommand.table(records, java.time.ZoneId.systemDefault()));
        ok &= records.size() == 2
                && records.get(0).contains(" kind=listen state=closed local=0.0.0.0:80 ")
                && records.get(1).contains(" kind=in state=closed local=" + here + ":80 remote=" + peer.address() + ":")
                && records.get(1).contains(" bytes_in=" + request.length + " ")
                && records.get(1).contains(" bytes_out=" + answer.length + " ");
        out.println("$ kl_util -k");
        out.print(StatusFormat.kextstat(c.list()));
        ok &= c.info("tcplog").registrations().equals(java.util.Map.of("sflt", 1, "kctl", 1));
        out.println("$ kl_util -u tcplog");
        c.unload("tcplog");
        c.ping();
        ok &= c.info("tcplog").state() == ServerState.ALLOCATED && c.info("tcplog").registrations().isEmpty() && c.controls().isEmpty();
        out.println("tcplog: unloaded, " + c.info("tcplog").registrations().size() + " registrations left");
        return ok;
    }

    /** Reads until the peer's FIN (each read waits up to the socket's timeout). */
    static byte[] readToEnd(TcpSocket so) throws Exception {
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(4096);
        while (true) {
            b.clear();
            int n = so.read(b);
            if (n < 0) return all.toByteArray();
            if (n == 0) throw new IllegalStateException("no data within the socket's timeout");
            all.write(b.array(), 0, n);
        }
    }
}
