package org.kextnet.loader;

import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

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
        for (ServerInfo i : servers) b.append("SERVER: ").append(i.name()).append(' ').append(i.state().word()).append('\n');
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
        b.append("STATUS: ").append(i.state().word());
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
     * The kextstat-like table: {@code Index Refs Address Size Wired Name (Version) <Linked Against>}, then
     * the server's live registrations by kind and its contained faults.
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
                    i.wired(), i.state().word(), i.name(), i.version().isEmpty() ? "?" : i.version(), deps, regs, i.faults()));
        }
        return b.toString();
    }
}
