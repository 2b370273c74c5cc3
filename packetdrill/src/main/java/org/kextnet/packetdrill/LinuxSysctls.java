package org.kextnet.packetdrill;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.inet.tcp.TcpConfig;

/**
 * Linux's {@code net.ipv4.tcp_*} sysctls of the shim's network namespace, read into kextnet's {@link TcpConfig}
 * where kextnet has the same setting ({@code --so_flags=sysctls}).
 *
 * <p>Why: packetdrill's own TCP scripts configure the stack under test with shell commands at their start
 * ({@code defaults.sh}: {@code tcp_rmem}, {@code tcp_timestamps}, {@code tcp_syn_retries}...; some turn timestamps
 * off). Those commands run in the script's network namespace, the shim's too; read when each socket is made, they
 * configure kextnet as they would configure Linux. A sysctl kextnet has no equivalent for is left alone, and a
 * missing or unreadable file changes nothing. kextnet's own scripts run without the flag, on kextnet's defaults.
 *
 * <p>The mapping: {@code tcp_timestamps}, {@code tcp_sack}, {@code tcp_window_scaling}, {@code tcp_syncookies}
 * (0 off, else on); {@code tcp_rmem} and {@code tcp_wmem} (default and largest buffer; the largest receive buffer
 * decides the window scale, as in Linux); {@code tcp_syn_retries}, {@code tcp_synack_retries},
 * {@code tcp_retries2}; {@code tcp_keepalive_time}, {@code _intvl}, {@code _probes}; {@code tcp_fin_timeout};
 * {@code tcp_reordering} (DupThresh); {@code tcp_recovery} bit 1 (RACK); {@code tcp_early_retrans} 3 or 4 (the
 * tail loss probe); {@code tcp_congestion_control} ({@code cubic}, and {@code reno} as NewReno).
 */
final class LinuxSysctls {
    /** Where Linux shows them. */
    static final Path PROC = Path.of("/proc/sys/net/ipv4");

    private final Path dir;

    LinuxSysctls(Path dir) { this.dir = dir; }

    /** Reads every mapped sysctl that is there and sets its equivalent in {@code cfg}. */
    void applyTo(TcpConfig cfg) {
        flag("tcp_timestamps", v -> cfg.timestamps = v);
        flag("tcp_sack", v -> cfg.sack = v);
        flag("tcp_window_scaling", v -> cfg.windowScaling = v);
        flag("tcp_syncookies", v -> cfg.synCookies = v);
        long[] rmem = numbers("tcp_rmem", 3);
        if (rmem != null && rmem[1] > 0 && rmem[2] >= rmem[1]) {
            cfg.receiveBuffer = clampInt(rmem[1]);
            cfg.receiveBufferMax = clampInt(rmem[2]);
        }
        long[] wmem = numbers("tcp_wmem", 3);
        if (wmem != null && wmem[1] > 0 && wmem[2] >= wmem[1]) {
            cfg.sendBuffer = clampInt(wmem[1]);
            cfg.sendBufferMax = clampInt(wmem[2]);
        }
        number("tcp_syn_retries", 1, 127, v -> cfg.synRetries = (int) v);
        number("tcp_synack_retries", 0, 127, v -> cfg.synAckRetries = (int) v);
        number("tcp_retries2", 0, 127, v -> cfg.maxRetransmits = (int) v);
        number("tcp_keepalive_time", 1, Integer.MAX_VALUE, v -> cfg.keepIdle = TimeUnit.SECONDS.toNanos(v));
        number("tcp_keepalive_intvl", 1, Integer.MAX_VALUE, v -> cfg.keepInterval = TimeUnit.SECONDS.toNanos(v));
        number("tcp_keepalive_probes", 1, 127, v -> cfg.keepCount = (int) v);
        number("tcp_fin_timeout", 1, Integer.MAX_VALUE, v -> cfg.finWait2Timeout = TimeUnit.SECONDS.toNanos(v));
        number("tcp_reordering", 1, 300, v -> cfg.dupThresh = (int) v);
        number("tcp_recovery", 0, Integer.MAX_VALUE, v -> cfg.rack = (v & 1) != 0);
        number("tcp_early_retrans", 0, 4, v -> cfg.tailLossProbe = v >= 3);
        String cc = read("tcp_congestion_control");
        // not bbr, some systems' default: packetdrill's scripts expect CUBIC's timing unless they ask for another
        if ("cubic".equals(cc)) cfg.congestionControl = "cubic";
        else if ("reno".equals(cc)) cfg.congestionControl = "newreno";
    }

    private interface BoolSetter { void set(boolean v); }
    private interface LongSetter { void set(long v); }

    private void flag(String name, BoolSetter s) {
        long[] v = numbers(name, 1);
        if (v != null) s.set(v[0] != 0);
    }

    private void number(String name, long min, long max, LongSetter s) {
        long[] v = numbers(name, 1);
        if (v != null && v[0] >= min && v[0] <= max) s.set(v[0]);
    }

    /** The first {@code n} numbers of a sysctl, or null if it is missing or not that. */
    private long[] numbers(String name, int n) {
        String text = read(name);
        if (text == null) return null;
        String[] w = text.split("\\s+");
        if (w.length < n) return null;
        long[] v = new long[n];
        try {
            for (int i = 0; i < n; i++) v[i] = Long.parseLong(w[i]);
        } catch (NumberFormatException e) {
            return null;
        }
        return v;
    }

    private String read(String name) {
        // read as a stream: a /proc file reports a size of 0, and Files.readString trusts the size
        try (InputStream in = Files.newInputStream(dir.resolve(name))) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip();
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException | SecurityException e) {
            return null;
        }
    }

    private static int clampInt(long v) { return (int) Math.min(Integer.MAX_VALUE, v); }
}
