package org.kextnet.examples.netem;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KernelExtension;
import org.kextnet.kpi.Kpi;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.control.ControlConnection;
import org.kextnet.kpi.control.ControlKpi;
import org.kextnet.kpi.control.ControlParams;
import org.kextnet.kpi.control.ControlRef;
import org.kextnet.kpi.control.KernelControl;
import org.kextnet.kpi.interfacefilter.InterfaceFilterRef;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.Ifnet;

/**
 * netem, after Linux's network emulator: an interface filter that delays, jitters, loses, duplicates and reorders
 * frames and limits the rate, on a chosen interface and direction, configured through its kernel control
 * {@value #NAME}, and deterministic from a seed (the same frames in the same order meet the same fate). Frames it
 * holds are re-injected from callouts on the kernel's timer, so on a test's manual clock a delay is virtual time.
 *
 * <p>Commands (text, one per message; the answer is one message; docs/samples.md):
 * <ul>
 *   <li>{@code set IF in|out|both [delay 20ms] [jitter 5ms] [loss 1%] [dup 0.5%] [reorder 2%] [rate 100mbit]
 *       [limit 1000] [seed 42]} — replaces that direction's impairment (what is not given is none; limit 1000,
 *       seed 1); the draws start again from the seed;</li>
 *   <li>{@code clear IF [in|out|both]} — the frames held leave at once, in order; with nothing left on the
 *       interface, the filter is detached;</li>
 *   <li>{@code show [IF]} — one line per impaired direction: its impairment and counters.</li>
 * </ul>
 * A request that is wrong is answered {@code error: ...} and changes nothing.
 */
public final class Netem implements KernelExtension, KernelControl {
    /** The control's name, and the filters'. */
    public static final String NAME = "netem";
    static final String TAG = "org.kextnet.examples.netem";

    /** Guards the map; each shaper's queues guard themselves. */
    private final Map<String, Shaper> shapers = new TreeMap<>();
    private volatile Kpi kpi;
    private volatile int tag;
    private volatile ControlRef ctl;

    @Override public int start(Kpi kpi) {
        this.kpi = kpi;
        tag = kpi.mbufs().tagIdFind(TAG);
        try {
            ctl = kpi.controls().register(ControlParams.named(NAME).withSizes(0, 64 * 1024), this);
        } catch (KpiException e) {
            return e.errno();
        }
        kpi.log().log(System.Logger.Level.INFO, "network emulator ready; control " + NAME);
        return 0;
    }

    /**
     * Detaches every filter (held frames are freed) and deregisters the control; EBUSY until every filter's
     * detached callback has run and the control is gone.
     */
    @Override public int stop(Kpi kpi) {
        List<Shaper> all;
        synchronized (shapers) {
            all = new ArrayList<>(shapers.values());
        }
        boolean gone = true;
        for (Shaper s : all) {
            InterfaceFilterRef r = s.ref;
            if (r != null) r.detach();
            gone &= s.detached;
        }
        ControlRef c = ctl;
        if (c != null && kpi.controls().deregister(c) == 0) ctl = null;
        int rest = kpi.removeAll(); // the queues' callouts
        return gone && ctl == null && rest == 0 ? 0 : Errno.EBUSY;
    }

    // ---- the kernel control ----

    @Override public int connect(ControlConnection connection) { return 0; }

    @Override public int send(ControlConnection connection, Mbuf m, int flags) {
        byte[] b = new byte[m.packetLength()];
        m.copyData(0, b, 0, b.length);
        m.free();
        String answer = command(new String(b, StandardCharsets.UTF_8));
        ControlRef c = ctl;
        if (c == null) return Errno.ENOTCONN;
        return kpi.controls().enqueueData(c, connection.unit(), ByteBuffer.wrap(answer.getBytes(StandardCharsets.UTF_8)), ControlKpi.DATA_EOR);
    }

    /** Runs one command line and returns the answer: what the control answers, and a way to drive netem from code. */
    public String command(String line) {
        String[] w = line.strip().split("\\s+");
        try {
            return switch (w[0]) {
                case "set" -> set(w);
                case "clear" -> clear(w);
                case "show" -> show(w);
                default -> throw new IllegalArgumentException("unknown command '" + line.strip()
                        + "' (set IF in|out|both ..., clear IF [in|out|both], show [IF])");
            };
        } catch (IllegalArgumentException | KpiException e) {
            return "error: " + e.getMessage();
        }
    }

    private String set(String[] w) throws KpiException {
        if (w.length < 3) throw new IllegalArgumentException("set wants an interface and a direction: set em0 out delay 20ms ...");
        Ifnet ifp = find(w[1]);
        boolean in = direction(w[2], true), out = direction(w[2], false);
        Impairment cfg = Impairment.parse(w, 3); // every word checked before anything changes
        Shaper s = shaper(ifp);
        synchronized (s) {
            if (in) s.in = configure(s.in, cfg, s, true);
            if (out) s.out = configure(s.out, cfg, s, false);
        }
        return show(s);
    }

    private Qdisc configure(Qdisc q, Impairment cfg, Shaper s, boolean input) {
        if (q != null) {
            q.configure(cfg);
            return q;
        }
        Ifnet ifp = s.ifp;
        return new Qdisc(kpi.callouts(), input
                ? h -> ifp.input(h.frame())                          // frees it if the interface is gone
                : h -> ifp.outputRaw(h.protocolFamily(), h.frame()), cfg);
    }

    private String clear(String[] w) {
        if (w.length < 2 || w.length > 3) throw new IllegalArgumentException("clear wants an interface and maybe a direction: clear em0 [in|out|both]");
        String dir = w.length == 3 ? w[2] : "both";
        boolean in = direction(dir, true), out = direction(dir, false);
        Shaper s;
        synchronized (shapers) {
            s = shapers.get(w[1]);
        }
        if (s == null) throw new IllegalArgumentException("no impairment on " + w[1]);
        Qdisc qi, qo;
        boolean empty;
        synchronized (s) {
            qi = in ? s.in : null;
            qo = out ? s.out : null;
            if (in) s.in = null;
            if (out) s.out = null;
            empty = s.in == null && s.out == null;
        }
        if (qi != null) qi.flush();
        if (qo != null) qo.flush();
        if (empty) {
            synchronized (shapers) {
                shapers.remove(w[1]);
            }
            InterfaceFilterRef r = s.ref;
            if (r != null) r.detach();
        }
        return "cleared " + w[1] + " " + dir;
    }

    private String show(String[] w) {
        if (w.length > 2) throw new IllegalArgumentException("show wants at most an interface");
        List<Shaper> all;
        synchronized (shapers) {
            if (w.length == 2 && !shapers.containsKey(w[1])) throw new IllegalArgumentException("no impairment on " + w[1]);
            all = w.length == 2 ? List.of(shapers.get(w[1])) : new ArrayList<>(shapers.values());
        }
        if (all.isEmpty()) return "no impairment";
        StringBuilder b = new StringBuilder();
        for (Shaper s : all) b.append(b.isEmpty() ? "" : "\n").append(show(s));
        return b.toString();
    }

    /** A shaper's impaired directions, one line each. */
    private static String show(Shaper s) {
        Qdisc in = s.in, out = s.out;
        StringBuilder b = new StringBuilder();
        if (in != null) b.append(s.ifp.name()).append(" in ").append(in.describe());
        if (out != null) b.append(b.isEmpty() ? "" : "\n").append(s.ifp.name()).append(" out ").append(out.describe());
        return b.toString();
    }

    private Ifnet find(String name) {
        Ifnet ifp = kpi.interfaces().findByName(name);
        if (ifp == null) throw new IllegalArgumentException("no interface " + name);
        return ifp;
    }

    private static boolean direction(String d, boolean in) {
        return switch (d) {
            case "in" -> in;
            case "out" -> !in;
            case "both" -> true;
            default -> throw new IllegalArgumentException("direction '" + d + "' is not in, out or both");
        };
    }

    /** The interface's shaper, its filter attached on first use. */
    private Shaper shaper(Ifnet ifp) throws KpiException {
        synchronized (shapers) {
            Shaper s = shapers.get(ifp.name());
            if (s != null && s.ifp == ifp && !s.detached) return s;
            s = new Shaper(ifp, tag);
            s.ref = kpi.interfaceFilters().attach(ifp, NAME, 0, Position.DEFAULT, s);
            shapers.put(ifp.name(), s);
            return s;
        }
    }
}
