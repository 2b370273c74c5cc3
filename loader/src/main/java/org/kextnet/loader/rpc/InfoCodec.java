package org.kextnet.loader.rpc;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.kextnet.kpi.Registration;
import org.kextnet.loader.ServerInfo;
import org.kextnet.loader.ServerState;

/** {@link ServerInfo} on the wire (docs/rpc.md, "server info"). */
public final class InfoCodec {
    private InfoCodec() {}

    public static void write(RpcWriter w, ServerInfo i) {
        w.i32(i.index()).str(i.name()).str(i.state().word()).str(i.relocatable()).str(i.loadable())
                .i64(i.address()).i64(i.size());
        w.u16(i.ports().size());
        for (ServerInfo.PortInfo p : i.ports()) w.str(p.name()).u8(p.advertised() ? 1 : 0);
        w.str(i.version());
        w.u16(i.depends().size());
        for (String d : i.depends()) w.str(d);
        w.i32(i.refs()).i64(i.wired()).i64(i.faults()).str(i.fault());
        w.u16(i.registrations().size());
        for (Map.Entry<String, Integer> e : i.registrations().entrySet()) w.str(e.getKey()).i32(e.getValue());
        if (w.version() < 4) return;
        w.str(i.health());
        w.u16(i.hooks().size());
        for (ServerInfo.Hook h : i.hooks()) {
            Registration.Counters c = h.counters();
            w.str(h.kind()).str(h.name()).str(h.state()).i64(c.calls()).i64(c.passed()).i64(c.swallowed()).i64(c.dropped())
                    .i64(c.faults()).i64(c.overBudget()).i64(c.nanos());
        }
    }

    /** LIST's result: {@code u32 n}, n infos. */
    public static List<ServerInfo> readList(RpcReader r) throws RpcFormatException {
        int n = r.count32(1);
        List<ServerInfo> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(read(r));
        return out;
    }

    public static ServerInfo read(RpcReader r) throws RpcFormatException {
        int index = r.i32();
        String name = r.str();
        String word = r.str();
        ServerState state = ServerState.ofWord(word);
        if (state == null) state = ServerState.ZOMBIE; // a newer daemon's state: shown as unknown
        String reloc = emptyToNull(r.str());
        String loadable = emptyToNull(r.str());
        long address = r.i64(), size = r.i64();
        // Empty lists and maps are the shared immutable ones: kl_util decodes many infos in a cold JVM.
        int np = r.count16(3);
        List<ServerInfo.PortInfo> ports = np == 0 ? List.of() : new ArrayList<>(np);
        for (int k = 0; k < np; k++) ports.add(new ServerInfo.PortInfo(r.str(), r.u8() != 0));
        String version = r.str();
        int nd = r.count16(2);
        List<String> deps = nd == 0 ? List.of() : new ArrayList<>(nd);
        for (int k = 0; k < nd; k++) deps.add(r.str());
        int refs = r.i32();
        long wired = r.i64(), faults = r.i64();
        String fault = emptyToNull(r.str());
        int nr = r.count16(6);
        Map<String, Integer> regs = nr == 0 ? Map.of() : new LinkedHashMap<>();
        for (int k = 0; k < nr; k++) regs.put(r.str(), r.i32());
        if (r.version() < 4) return new ServerInfo(index, name, state, reloc, loadable, address, size, ports, version, deps, refs, wired, faults, fault, regs);
        String health = r.str();
        int nh = r.count16(2 + 2 + 2 + 7 * 8);
        List<ServerInfo.Hook> hooks = nh == 0 ? List.of() : new ArrayList<>(nh);
        for (int k = 0; k < nh; k++) {
            String kind = r.str(), hookName = r.str(), hookState = r.str();
            hooks.add(new ServerInfo.Hook(kind, hookName, hookState,
                    new Registration.Counters(r.i64(), r.i64(), r.i64(), r.i64(), r.i64(), r.i64(), r.i64())));
        }
        return new ServerInfo(index, name, state, reloc, loadable, address, size, ports, version, deps, refs, wired, faults, fault, regs,
                health, hooks);
    }

    private static String emptyToNull(String s) { return s.isEmpty() ? null : s; }
}
