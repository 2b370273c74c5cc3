package org.kextnet.loader;

import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

import org.kextnet.kernel.config.Json;

/**
 * kl_util's output, line for line as the original printed it ({@code SERVER:}, {@code RELOCATABLE:},
 * {@code LOADABLE:}, {@code STATUS:}, {@code PORTS:}, {@code No servers active}), plus the kextstat-like
 * table.
 */
public final class StatusFormat {
    private StatusFormat() {}

    /** {@code kl_util -s}: one {@code SERVER: name State} line each, or {@code No servers active}. */
    public static String summary(List<ServerInfo> servers) {
        if (servers.isEmpty()) return "No servers active\n";
        StringBuilder b = new StringBuilder();
        for (ServerInfo i : servers) b.append("SERVER: ").append(i.name()).append(' ').append(i.stateLabel()).append('\n');
        return b.toString();
    }

    /**
     * {@code kl_util -s name}: the detailed block. RELOCATABLE is omitted while Allocating; address and
     * ports are omitted for Allocating, Deallocated and Zombie (and for Faulted, which holds neither).
     */
    public static String detail(ServerInfo i) {
        StringBuilder b = new StringBuilder();
        b.append("SERVER: ").append(i.name()).append('\n');
        if (i.state() != ServerState.ALLOCATING && i.relocatable() != null) b.append("RELOCATABLE: ").append(i.relocatable()).append('\n');
        if (i.loadable() != null) b.append("LOADABLE: ").append(i.loadable()).append('\n');
        boolean holds = switch (i.state()) {
            case ALLOCATING, DEALLOCATED, ZOMBIE, FAULTED -> false;
            default -> true;
        };
        b.append("STATUS: ").append(i.stateLabel());
        if (holds && i.address() != 0) b.append(" at address 0x").append(Long.toHexString(i.address())).append(" for 0x").append(Long.toHexString(i.size())).append(" bytes");
        b.append('\n');
        if (holds) { // (appends, not String.format or +, whose first use in a JVM costs milliseconds: kl_util -s name)
            b.append("PORTS: ");
            boolean first = true;
            for (ServerInfo.PortInfo p : i.ports()) {
                if (!first) b.append(' ');
                first = false;
                b.append(p.name());
                if (p.advertised()) b.append("(advertised)");
            }
            b.append('\n');
        }
        if (i.fault() != null) b.append("FAULT: ").append(i.fault()).append('\n');
        return b.toString();
    }

    /**
     * The kextstat-like table: {@code Index Refs Address Size Wired State Name (Version) <Linked Against>
     * Registrations Faults}; under a server that has live kernel registrations, one line for each with what the
     * kernel counted of the calls into it (calls, packet verdicts, faults, calls over budget, time in the callback).
     */
    public static String kextstat(List<ServerInfo> servers) {
        StringBuilder b = new StringBuilder();
        b.append(String.format("%5s %4s %-10s %-8s %-8s %-11s %s%n", "Index", "Refs", "Address", "Size", "Wired", "State", "Name (Version) <Linked Against> Registrations Faults"));
        for (ServerInfo i : servers) {
            StringJoiner deps = new StringJoiner(" ");
            for (String d : i.depends()) {
                String idx = d;
                for (ServerInfo o : servers) if (o.name().equals(d)) idx = Integer.toString(o.index());
                deps.add(idx);
            }
            StringJoiner regs = new StringJoiner(",");
            for (Map.Entry<String, Integer> e : i.registrations().entrySet()) regs.add(e.getKey() + "=" + e.getValue());
            b.append(String.format("%5d %4d 0x%-8x 0x%-6x 0x%-6x %-11s %s (%s) <%s> {%s} %d%n", i.index(), i.refs(), i.address(), i.size(),
                    i.wired(), i.stateLabel(), i.name(), i.version().isEmpty() ? "?" : i.version(), deps, regs, i.faults()));
            if (i.hooks().isEmpty()) continue;
            b.append(String.format(HOOK_HEAD, "Kind", "Name", "Calls", "Passed", "Swallowed", "Dropped", "Faults", "OverBudget", "Time(us)"));
            for (ServerInfo.Hook h : i.hooks()) {
                var c = h.counters();
                b.append(String.format(HOOK_ROW, h.kind(), h.name() + (h.state().equals("active") ? "" : " (" + h.state() + ")"), c.calls(),
                        c.passed(), c.swallowed(), c.dropped(), c.faults(), c.overBudget(), c.nanos() / 1000));
            }
        }
        return b.toString();
    }

    private static final String HOOK_HEAD = "      %-10s %-20s %10s %10s %10s %10s %7s %10s %10s%n";
    private static final String HOOK_ROW = "      %-10s %-20s %10d %10d %10d %10d %7d %10d %10d%n";

    /**
     * kl_util's listings with {@code -j}: one JSON document, {@code {"servers":[...]}}, each server with every field
     * of its info (docs/kern_loader.md, "JSON"). {@code state} is what kl_util prints ({@link ServerInfo#stateLabel}),
     * {@code server_state} the loader's own state.
     */
    public static String json(List<ServerInfo> servers) {
        Json j = new Json().object().key("servers").array();
        for (ServerInfo i : servers) {
            j.object().field("index", i.index()).field("name", i.name()).field("state", i.stateLabel())
                    .field("server_state", i.state().word()).field("health", i.health())
                    .field("relocatable", i.relocatable()).field("address", i.address()).field("size", i.size())
                    .field("wired", i.wired()).field("version", i.version()).field("refs", i.refs());
            j.key("depends").array();
            for (String d : i.depends()) j.value(d);
            j.end().key("ports").array();
            for (ServerInfo.PortInfo p : i.ports()) j.object().field("name", p.name()).field("advertised", p.advertised()).end();
            j.end().field("faults", i.faults()).field("fault", i.fault()).key("registrations").object();
            for (Map.Entry<String, Integer> e : i.registrations().entrySet()) j.field(e.getKey(), e.getValue());
            j.end().key("hooks").array();
            for (ServerInfo.Hook h : i.hooks()) {
                var c = h.counters();
                j.object().field("kind", h.kind()).field("name", h.name()).field("state", h.state()).field("calls", c.calls())
                        .field("passed", c.passed()).field("swallowed", c.swallowed()).field("dropped", c.dropped())
                        .field("faults", c.faults()).field("over_budget", c.overBudget()).field("time_ns", c.nanos()).end();
            }
            j.end().end();
        }
        return j.end().end().toString();
    }
}
