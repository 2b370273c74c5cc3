package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** kl_util's output shapes, state by state. */
class StatusFormatTest {
    static ServerInfo info(int index, String name, ServerState s, long addr, List<ServerInfo.PortInfo> ports, String fault,
                           List<String> deps, int refs, Map<String, Integer> regs) {
        return new ServerInfo(index, name, s, "/usr/lib/kextnet/" + name + ".jar", null, addr, addr == 0 ? 0 : 0x2000, ports, "1.0",
                deps, refs, s == ServerState.LOADED ? 0x5d8 : 0, 2, fault, regs);
    }

    static final List<ServerInfo.PortInfo> PORTS = List.of(new ServerInfo.PortInfo("midi0", true), new ServerInfo.PortInfo("midi1", false));

    @Test void summary() {
        assertThat(StatusFormat.summary(List.of())).isEqualTo("No servers active\n");
        assertThat(StatusFormat.summary(List.of(
                info(1, "mididriver", ServerState.LOADED, 0x10f70000L, PORTS, null, List.of(), 0, Map.of()),
                info(2, "slot", ServerState.ALLOCATING, 0, List.of(), null, List.of(), 0, Map.of()))))
                .isEqualTo("SERVER: mididriver Loaded\nSERVER: slot Allocating\n");
    }

    @Test void detailShapes() {
        assertThat(StatusFormat.detail(info(1, "mididriver", ServerState.ALLOCATED, 0x10f70000L, PORTS, null, List.of(), 0, Map.of())))
                .isEqualTo("""
                        SERVER: mididriver
                        RELOCATABLE: /usr/lib/kextnet/mididriver.jar
                        STATUS: Allocated at address 0x10f70000 for 0x2000 bytes
                        PORTS: midi0(advertised) midi1
                        """);
        assertThat(StatusFormat.detail(info(1, "slot", ServerState.ALLOCATING, 0, PORTS, null, List.of(), 0, Map.of())))
                .isEqualTo("SERVER: slot\nSTATUS: Allocating\n");
        assertThat(StatusFormat.detail(info(1, "bad", ServerState.FAULTED, 0, PORTS, "INIT init failed: boom", List.of(), 0, Map.of())))
                .isEqualTo("SERVER: bad\nRELOCATABLE: /usr/lib/kextnet/bad.jar\nSTATUS: Faulted\nFAULT: INIT init failed: boom\n");
        assertThat(StatusFormat.detail(info(1, "d", ServerState.DETACHED, 0x10000000L, List.of(), null, List.of(), 0, Map.of())))
                .isEqualTo("SERVER: d\nRELOCATABLE: /usr/lib/kextnet/d.jar\nSTATUS: Detached at address 0x10000000 for 0x2000 bytes\nPORTS: \n");
    }

    @Test void kextstat() {
        String t = StatusFormat.kextstat(List.of(
                info(1, "lib", ServerState.LOADED, 0x10000000L, List.of(), null, List.of(), 1, Map.of()),
                info(2, "user", ServerState.LOADED, 0x10002000L, List.of(), null, List.of("lib", "gone"), 0, Map.of("timeout", 1))));
        assertThat(t.lines()).containsExactly(
                "Index Refs Address    Size     Wired    State       Name (Version) <Linked Against> Registrations Faults",
                "    1    1 0x10000000 0x2000   0x5d8    Loaded      lib (1.0) <> {} 2",
                "    2    0 0x10002000 0x2000   0x5d8    Loaded      user (1.0) <1 gone> {timeout=1} 2");
    }

    /** A server whose extension the kernel quarantined shows as Faulted, and -k lists each registration's counters. */
    @Test void healthAndPerRegistrationCounters() {
        ServerInfo base = info(2, "fw", ServerState.LOADED, 0x10002000L, List.of(), "ipfilter fw did not return in 1.00 s", List.of(), 0,
                Map.of("ipfilter", 1, "kctl", 1));
        ServerInfo stuck = new ServerInfo(base.index(), base.name(), base.state(), base.relocatable(), null, base.address(), base.size(),
                base.ports(), base.version(), base.depends(), base.refs(), base.wired(), base.faults(), base.fault(), base.registrations(),
                "Faulted (stuck)", List.of(
                        new ServerInfo.Hook("ipfilter", "fw", "active", new org.kextnet.kpi.Registration.Counters(1200, 1000, 150, 50, 0, 2, 3_400_000)),
                        new ServerInfo.Hook("kctl", "fw", "detaching", new org.kextnet.kpi.Registration.Counters(4, 0, 0, 0, 1, 0, 9_000))));
        assertThat(StatusFormat.summary(List.of(stuck))).isEqualTo("SERVER: fw Faulted (stuck)\n");
        assertThat(StatusFormat.detail(stuck)).contains("STATUS: Faulted (stuck) at address 0x10002000 for 0x2000 bytes\n",
                "FAULT: ipfilter fw did not return in 1.00 s\n");
        assertThat(StatusFormat.kextstat(List.of(stuck)).lines()).containsExactly(
                "Index Refs Address    Size     Wired    State       Name (Version) <Linked Against> Registrations Faults",
                "    2    0 0x10002000 0x2000   0x5d8    Faulted (stuck) fw (1.0) <> {ipfilter=1,kctl=1} 2",
                "      Kind       Name                      Calls     Passed  Swallowed    Dropped  Faults OverBudget   Time(us)",
                "      ipfilter   fw                         1200       1000        150         50       0          2       3400",
                "      kctl       fw (detaching)                4          0          0          0       1          0          9");
    }
}
