package org.kextnet.examples.firewall;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

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
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.ipfilter.IpPacketOptions;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.server.KernServ;
import org.kextnet.kpi.server.PortMessage;

/**
 * A firewall: an IP filter that judges every IPv4 packet the host receives, sends or forwards by an ordered rule
 * set (address, prefix, protocol, port, direction, interface; the first rule that matches decides), and a kernel
 * control {@value #NAME} through which the whole set is shown and replaced.
 *
 * <p>A new set is read and compiled completely before it is published with one volatile write: every packet is
 * judged by one set, the old or the new, never by part of each. A set with a mistake is refused whole, and the
 * old one stays. If the filter faults the kernel drops the packet (its fault policy fails closed by default).
 *
 * <p>Commands, for privileged clients (one message each; the first line is the command, the rest its rule text):
 * <pre>
 * show            the set with each rule's packet and byte counters
 * load\nRULES     replaces the whole set
 * check\nRULES    reads RULES and says what is wrong, changing nothing
 * flush           an empty set (everything allowed)
 * zero            the counters back to zero (the same rules)
 * </pre>
 * The grammar is in docs/samples.md; {@code kextnet firewall} is the command that speaks this.
 */
public final class Firewall implements KernelExtension, IpFilter, KernelControl {
    /** The filter's, the control's and the advertised port's name. */
    public static final String NAME = "firewall";
    /** The most a client may send at once: a rule set's text. */
    static final int MAX_TEXT = 1 << 20;

    private volatile RuleSet rules = RuleSet.EMPTY;
    private volatile Kpi kpi;
    private volatile ControlRef control;

    @Override public int start(Kpi kpi) {
        this.kpi = kpi;
        try {
            kpi.ipFilters().addV4(NAME, Position.DEFAULT, this);
            control = kpi.controls().register(ControlParams.named(NAME).withFlags(ControlParams.FLAG_PRIVILEGED).withSizes(MAX_TEXT, MAX_TEXT), this);
            return 0;
        } catch (KpiException e) {
            kpi.removeAll();
            return e.errno();
        }
    }

    // stop(Kpi) is the default: kpi.removeAll() removes the filter and the control (once no client is connected)
    // and answers EBUSY until both are gone.

    // ---- the filter: one volatile read of the set, then plain reads ----

    @Override public int input(Mbuf m, int offset, int protocol) {
        RuleSet s = rules;
        int sport = -1, dport = -1;
        if ((protocol == 6 || protocol == 17) && m.length() >= offset + 4) { // reassembled: the ports are there
            sport = m.getU16(offset);
            dport = m.getU16(offset + 2);
        }
        int i = s.match(Rule.IN, s.interfaceId(m.rcvif()), protocol, m.getInt(12), m.getInt(16), sport, dport);
        return s.decide(i, m.packetLength()) ? Errno.EPERM : 0;
    }

    @Override public int output(Mbuf m, IpPacketOptions options) {
        RuleSet s = rules;
        int protocol = m.getU8(9), ihl = (m.getU8(0) & 0x0f) * 4;
        int sport = -1, dport = -1;
        // A forwarded packet may be a fragment; only the first one carries the ports.
        if ((protocol == 6 || protocol == 17) && (m.getU16(6) & 0x1fff) == 0 && m.length() >= ihl + 4) {
            sport = m.getU16(ihl);
            dport = m.getU16(ihl + 2);
        }
        // The interface a rule's "on" names is the one the packet came in on: forwarded packets have it; a packet
        // this host sends has none (even a reply the kernel built in the request's buffer).
        boolean forwarded = (m.flags() & Mbuf.F_FORWARDED) != 0;
        int i = s.match(Rule.OUT, s.interfaceId(forwarded ? m.rcvif() : null), protocol, m.getInt(12), m.getInt(16), sport, dport);
        return s.decide(i, m.packetLength()) ? Errno.EPERM : 0;
    }

    // ---- the kernel control ----

    @Override public int connect(ControlConnection connection) { return 0; }

    @Override public int send(ControlConnection connection, Mbuf m, int flags) {
        byte[] b = new byte[m.packetLength()];
        m.copyData(0, b, 0, b.length);
        m.free();
        String reply = command(new String(b, StandardCharsets.UTF_8));
        return kpi.controls().enqueueData(control, connection.unit(), ByteBuffer.wrap(reply.getBytes(StandardCharsets.UTF_8)), ControlKpi.DATA_EOR);
    }

    /** One command and its reply; replies to refused commands start with {@code error:}. */
    String command(String message) {
        int nl = message.indexOf('\n');
        String verb = (nl < 0 ? message : message.substring(0, nl)).strip();
        String body = nl < 0 ? "" : message.substring(nl + 1);
        try {
            return switch (verb) {
                case "show" -> rules.show();
                case "load", "check" -> {
                    RuleParser.Parsed p = RuleParser.parse(body);
                    String what = p.rules().size() + (p.rules().size() == 1 ? " rule" : " rules") + ", default "
                            + (p.defaultBlock() ? "block" : "allow");
                    if (verb.equals("check")) yield "ok: " + what;
                    yield "loaded rule set " + publish(p) + ": " + what;
                }
                case "flush" -> "flushed: rule set " + publish(new RuleParser.Parsed(List.of(), false)) + " has no rules, default allow";
                case "zero" -> {
                    synchronized (this) {
                        RuleSet s = rules;
                        rules = new RuleSet(s.generation, s.rules, s.defaultBlock);
                        yield "counters zeroed (rule set " + s.generation + ")";
                    }
                }
                default -> "error: EINVAL: unknown command '" + verb + "' (show, load, check, flush, zero)";
            };
        } catch (RuleParser.RuleException e) {
            return "error: EINVAL: " + e.getMessage();
        }
    }

    /** Compiles and publishes a new set: the one volatile write every packet after it sees. Returns its number. */
    private synchronized int publish(RuleParser.Parsed p) {
        RuleSet next = new RuleSet(rules.generation + 1, p.rules(), p.defaultBlock());
        rules = next;
        return next.generation;
    }

    // ---- the advertised port ----

    /** MAP firewall: replies with the rule set as {@code show} prints it. */
    public int query(KernServ ks, PortMessage msg, int arg) {
        msg.reply(msg.id(), rules.show().getBytes(StandardCharsets.UTF_8));
        return 0;
    }
}
