package org.kextnet.kernel.link.tun;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The Linux side of a TUN/TAP device: moving it into a network namespace, its MTU, address and up flag.
 *
 * <p>In the JVM's own namespace the flags and MTU are set with {@code SIOCSIFFLAGS}/{@code SIOCSIFMTU}
 * ioctls; inside another namespace (which a thread cannot enter from Java) and for addresses the
 * {@code ip} command of iproute2 does the work, with a bounded wait.
 */
public final class HostLink {
    private static final long IP_TIMEOUT_SECONDS = 15;

    private final String dev;
    private volatile String netns;

    /** The Linux device {@code dev}, currently in namespace {@code netns} (null: the JVM's own). */
    public HostLink(String dev, String netns) {
        this.dev = dev;
        this.netns = netns;
    }

    public String dev() { return dev; }
    public String netns() { return netns; }

    /** Moves the device into the existing namespace {@code ns} ({@code ip link set DEV netns NS}); its fds keep working. */
    public void moveTo(String ns) {
        ip(prefix(), "link", "set", "dev", dev, "netns", ns);
        netns = ns;
    }

    /** Sets the device up (and running, once its fd is attached). */
    public void up() {
        if (netns == null) setFlags(Libc.IFF_UP, Libc.IFF_UP);
        else ip(prefix(), "link", "set", "dev", dev, "up");
    }

    public void setMtu(int mtu) {
        if (netns == null) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment ifr = ifreq(arena);
                ifr.set(ValueLayout.JAVA_INT, Libc.IFR_MTU, mtu);
                sockIoctl(arena, Libc.SIOCSIFMTU, ifr, "SIOCSIFMTU");
            }
        } else {
            ip(prefix(), "link", "set", "dev", dev, "mtu", Integer.toString(mtu));
        }
    }

    /** Adds an IPv4 address in CIDR form ("10.1.0.1/24") to the device. */
    public void addAddress(String cidr) {
        ip(prefix(), "addr", "add", cidr, "dev", dev);
    }

    private void setFlags(short value, short mask) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ifr = ifreq(arena);
            sockIoctl(arena, Libc.SIOCGIFFLAGS, ifr, "SIOCGIFFLAGS");
            short f = ifr.get(ValueLayout.JAVA_SHORT, Libc.IFR_FLAGS);
            ifr.set(ValueLayout.JAVA_SHORT, Libc.IFR_FLAGS, (short) ((f & ~mask) | (value & mask)));
            sockIoctl(arena, Libc.SIOCSIFFLAGS, ifr, "SIOCSIFFLAGS");
        }
    }

    private MemorySegment ifreq(Arena arena) {
        MemorySegment ifr = arena.allocate(Libc.IFREQ_SIZE);
        byte[] n = dev.getBytes(StandardCharsets.US_ASCII);
        MemorySegment.copy(n, 0, ifr, ValueLayout.JAVA_BYTE, 0, n.length);
        return ifr;
    }

    private void sockIoctl(Arena arena, long request, MemorySegment ifr, String what) {
        MemorySegment st = Libc.newCallState(arena);
        int s = Libc.socket(st, Libc.AF_INET, Libc.SOCK_DGRAM, 0);
        if (s < 0) throw new UncheckedIOException(new IOException("socket: " + Libc.errnoName(Libc.errno(st))));
        try {
            if (Libc.ioctl(st, s, request, ifr) < 0) {
                throw new UncheckedIOException(new IOException(what + " " + dev + ": " + Libc.errnoName(Libc.errno(st))));
            }
        } finally {
            Libc.close(st, s);
        }
    }

    private List<String> prefix() {
        List<String> c = new ArrayList<>();
        c.add(ipCommand());
        if (netns != null) {
            c.add("-n");
            c.add(netns);
        }
        return c;
    }

    private static void ip(List<String> prefix, String... args) {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of(args));
        run(cmd);
    }

    /** Runs a command to completion (bounded), throwing with its output if it fails. */
    static String run(List<String> cmd) {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + String.join(" ", cmd), e);
        }
        try (InputStream in = p.getInputStream()) {
            p.getOutputStream().close();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            // ip writes little; reading to EOF ends when it exits (or is killed below).
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    in.transferTo(out);
                } catch (IOException ignored) {
                    // the process went away; what was read is reported
                }
            });
            if (!p.waitFor(IP_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new UncheckedIOException(new IOException(String.join(" ", cmd) + ": no answer after " + IP_TIMEOUT_SECONDS + " s"));
            }
            reader.join(TimeUnit.SECONDS.toMillis(5));
            String text = out.toString(StandardCharsets.UTF_8).strip();
            if (p.exitValue() != 0) {
                throw new UncheckedIOException(new IOException(String.join(" ", cmd) + " failed (exit " + p.exitValue() + "): " + text));
            }
            return text;
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new IOException("interrupted: " + String.join(" ", cmd)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The iproute2 binary: sbin directories are often missing from a JVM's PATH. */
    static String ipCommand() {
        for (String p : new String[] {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
            if (Files.isExecutable(Path.of(p))) return p;
        }
        return "ip";
    }
}
