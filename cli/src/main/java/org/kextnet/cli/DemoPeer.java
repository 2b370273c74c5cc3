package org.kextnet.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.inet.Pinger;
import org.kextnet.kernel.inet.tcp.TcpSocket;
import org.kextnet.kernel.inet.udp.UdpDatagram;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.socket.SocketConstants;

/**
 * The other host of the main job's walk-through, which sends the traffic the samples act on: the in-process peer
 * kernel on the memory wire ({@link KernelPeer}), or Linux in a network namespace behind a TUN device, through its own
 * ping and nc ({@link LinuxPeer}). Every wait is bounded.
 */
interface DemoPeer {
    /** How the output names it: "peer", "Linux". */
    String name();

    /** Its address on the link to the kernel. */
    String address();

    /** One ICMP echo of 56 data bytes to {@code dst}: the round trip in nanoseconds, or -1 if no answer came in time. */
    long ping(String dst, int seq, int timeoutSeconds) throws Exception;

    /** One datagram to {@code dst:port}: the answer, or null if none came in time. */
    byte[] udpExchange(String dst, int port, byte[] data) throws Exception;

    /**
     * Connects to {@code dst:port}, sends {@code request}, closes its sending side, and returns everything read up to
     * the other side's FIN.
     */
    byte[] tcpExchange(String dst, int port, byte[] request) throws Exception;

    /** The in-process peer kernel. */
    record KernelPeer(Kernel kernel, String address) implements DemoPeer {
        @Override public String name() { return "peer"; }

        @Override public long ping(String dst, int seq, int timeoutSeconds) throws Exception {
            try (Pinger p = kernel.pinger()) {
                return p.ping(Ipv4.parse(dst), seq, 56, timeoutSeconds, TimeUnit.SECONDS);
            }
        }

        @Override public byte[] udpExchange(String dst, int port, byte[] data) throws Exception {
            try (UdpSocket so = kernel.udp().open().bind(0, 0)) {
                so.send(ByteBuffer.wrap(data), Ipv4.parse(dst), port);
                ByteBuffer b = ByteBuffer.allocate(65536);
                UdpDatagram d = so.receive(b, 2, TimeUnit.SECONDS);
                return d == null ? null : Arrays.copyOf(b.array(), d.length());
            }
        }

        @Override public byte[] tcpExchange(String dst, int port, byte[] request) throws Exception {
            try (TcpSocket client = kernel.tcp().open()) {
                client.setTimeout(5, TimeUnit.SECONDS);
                client.connect(Ipv4.parse(dst), port);
                client.write(ByteBuffer.wrap(request));
                client.shutdown(SocketConstants.SHUT_WR);
                return LoaderDemo.readToEnd(client);
            }
        }
    }

    /** Linux in network namespace {@code netns}: {@code ip netns exec NS ping} and {@code nc}. */
    record LinuxPeer(String netns, String address) implements DemoPeer {
        private static final Pattern TIME = Pattern.compile("time=([0-9.]+) ms");

        @Override public String name() { return "Linux"; }

        @Override public long ping(String dst, int seq, int timeoutSeconds) throws Exception {
            String out = Exec.run(null, timeoutSeconds + 5, "ip", "netns", "exec", netns, "ping", "-n", "-c", "1", "-W", Integer.toString(timeoutSeconds), dst).output();
            Matcher m = TIME.matcher(out);
            return m.find() ? (long) (Double.parseDouble(m.group(1)) * 1e6) : -1;
        }

        @Override public byte[] udpExchange(String dst, int port, byte[] data) throws Exception {
            // OpenBSD nc: sends stdin as one datagram and prints what comes back until 1 s passes without any.
            Exec r = Exec.run(data, 10, "ip", "netns", "exec", netns, "nc", "-u", "-n", "-w", "1", dst, Integer.toString(port));
            return r.stdout().length == 0 ? null : r.stdout();
        }

        @Override public byte[] tcpExchange(String dst, int port, byte[] request) throws Exception {
            // -N: shut down the sending side at the end of stdin, then read up to the FIN.
            return Exec.run(request, 15, "ip", "netns", "exec", netns, "nc", "-n", "-N", "-w", "5", dst, Integer.toString(port)).stdout();
        }
    }

    /** A command this process started, run to its end with a bounded wait: its exit status and output. */
    record Exec(int exit, byte[] stdout, String stderr) {
        String output() { return new String(stdout, StandardCharsets.UTF_8) + stderr; }
        boolean ok() { return exit == 0; }

        /** Runs {@code cmd} with {@code stdin} (or none); a command still running after {@code seconds} is killed (exit -1). */
        static Exec run(byte[] stdin, long seconds, String... cmd) throws IOException, InterruptedException {
            Process p = new ProcessBuilder(List.of(cmd)).start();
            ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
            List<Thread> pumps = new ArrayList<>(List.of(pump(p.getInputStream(), out), pump(p.getErrorStream(), err)));
            try (OutputStream in = p.getOutputStream()) {
                if (stdin != null) in.write(stdin);
            } catch (IOException ignored) {
                // it did not read all its input; its output says what it did
            }
            boolean done = p.waitFor(seconds, TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
            for (Thread t : pumps) t.join(5000);
            synchronized (out) {
                return new Exec(done ? p.exitValue() : -1, out.toByteArray(), err.toString(StandardCharsets.UTF_8));
            }
        }

        private static Thread pump(InputStream from, ByteArrayOutputStream to) {
            return Thread.ofVirtual().start(() -> {
                try (from) {
                    byte[] b = new byte[8192];
                    for (int n; (n = from.read(b)) > 0; ) synchronized (to) { to.write(b, 0, n); }
                } catch (IOException ignored) {
                    // the process is gone; keep what was read
                }
            });
        }
    }
}
