package org.kextnet.kernel.nke;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.kextnet.kernel.hook.CallLimits;
import org.kextnet.kernel.hook.FaultPolicy;

/**
 * A kernel's extension registry: the extensions that hold a {@link ExtensionHandle} (the KPI handle bound to
 * each), the fault policy, and the tag ids handed out by name. The kernel's own registrations (its IPv4
 * plumbing) are owned by the handle named {@value #KERNEL}.
 */
public final class Nke {
    /** The name of the kernel's own handle. */
    public static final String KERNEL = "kernel";

    private final Subsystems parts;
    private final Map<String, ExtensionHandle> extensions = new ConcurrentHashMap<>();
    private final Map<String, Integer> tagIds = new ConcurrentHashMap<>();
    private final AtomicInteger nextTagId = new AtomicInteger(1);
    private final ExtensionHandle kernelHandle;

    public Nke(Subsystems parts) {
        this.parts = parts;
        this.kernelHandle = open(KERNEL);
    }

    /** What the KPI reaches. */
    public Subsystems parts() { return parts; }

    public FaultPolicy policy() { return parts.heads().policy(); }

    public void setPolicy(FaultPolicy p) { parts.heads().setPolicy(p); }

    /** How long a call into each kind of head may take before it is counted (soft) or abandoned (hard). */
    public CallLimits limits() { return parts.heads().limits(); }

    public void setLimits(CallLimits l) { parts.heads().setLimits(l); }

    /** The handle that owns the kernel's own registrations. */
    public ExtensionHandle kernelHandle() { return kernelHandle; }

    /** A new KPI handle for extension {@code name}, logging to {@code kextnet.kext.NAME}. */
    public ExtensionHandle open(String name) {
        return open(name, System.getLogger("kextnet.kext." + name));
    }

    /**
     * A new KPI handle for extension {@code name}, logging to {@code log} (the loader passes its per-server log).
     * @throws IllegalArgumentException if an extension of that name holds a handle
     */
    public ExtensionHandle open(String name, System.Logger log) {
        ExtensionHandle h = new ExtensionHandle(this, name, log);
        if (extensions.putIfAbsent(name, h) != null) throw new IllegalArgumentException("extension " + name + " already has a KPI handle");
        return h;
    }

    /** The handle of extension {@code name}, or null. */
    public ExtensionHandle find(String name) { return extensions.get(name); }

    /** Every open handle. */
    public List<ExtensionHandle> extensions() { return new ArrayList<>(extensions.values()); }

    void closed(ExtensionHandle h) { extensions.remove(h.name(), h); }

    /**
     * A status listing of everything extensions registered ({@code kextstat} plus the chains): per extension its
     * health, faults and registrations, then each hook point in order, then every registration's counters (calls,
     * verdicts, faults, calls over budget, time in its callbacks). For the loader's {@code kl_util -s} and the
     * admin commands.
     */
    public String describe() {
        StringBuilder b = new StringBuilder();
        List<ExtensionHandle> all = extensions();
        for (ExtensionHandle h : all) {
            String health = h.health() == ExtensionHandle.Health.OK ? "" : h.health().label().toLowerCase() + ", ";
            b.append(h.name()).append(" (").append(health).append(h.faultCount()).append(" faults)\n");
            if (h.isStuck()) b.append("  stuck: ").append(h.stuckIn()).append('\n');
            for (String l : h.describe()) b.append("  ").append(l).append('\n');
        }
        chains().forEach((title, lines) -> section(b, title, lines));
        List<String> counters = new ArrayList<>();
        for (ExtensionHandle h : all) for (String l : h.describeCounters()) counters.add(h.name() + ": " + l);
        section(b, "counters", counters);
        return b.toString();
    }

    /**
     * Each hook point's chain in order, by title ("ip filters (ipv4)", "interface filters (wire0)", "socket filters",
     * "protocols", "extension interfaces", "domain protocols", "kernel controls"): a line per entry, empty when none.
     */
    public Map<String, List<String>> chains() {
        Map<String, List<String>> m = new LinkedHashMap<>();
        m.put("ip filters (ipv4)", parts.ipv4().filters().v4().describe());
        for (var ifp : parts.interfaces().list()) m.put("interface filters (" + ifp.name() + ")", ifp.filters().chain().describe());
        m.put("socket filters", parts.socketFilters().describe());
        m.put("protocols", parts.protocols().describe());
        m.put("extension interfaces", parts.extensionInterfaces().describe());
        m.put("domain protocols", parts.domains().describe());
        m.put("kernel controls", parts.controls().describe());
        return m;
    }

    private static void section(StringBuilder b, String title, List<String> lines) {
        if (lines.isEmpty()) return;
        b.append(title).append(":\n");
        for (String l : lines) b.append("  ").append(l).append('\n');
    }

    /** {@code mbuf_tag_id_find}: a stable id per name (0 is the kernel's). */
    public int tagId(String name) {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("empty tag id name");
        return tagIds.computeIfAbsent(name, n -> nextTagId.getAndIncrement());
    }
}
