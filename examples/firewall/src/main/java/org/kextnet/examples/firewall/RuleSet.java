package org.kextnet.examples.firewall;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

import org.kextnet.kpi.net.Ifnet;

/**
 * A compiled rule set: immutable once built (only its counters change), so that the filter reads a whole set
 * through one volatile reference and no packet ever sees part of one set and part of another. The rules lie in
 * arrays of ints, in order: {@link #match} walks them with plain int compares, the first that matches decides.
 *
 * <p>Per rule, a packet count and a byte count; the last pair counts the packets no rule matched (the default).
 * They are atomic (packets of several threads meet here) and belong to this set: a new set starts from zero.
 */
final class RuleSet {
    /** The set a firewall starts with: no rules, everything allowed. */
    static final RuleSet EMPTY = new RuleSet(0, List.of(), false);

    final int generation;
    final List<Rule> rules;
    final boolean defaultBlock;
    private final int n;
    // One array per field: measured a little faster over 1,000 rules than the fields of each rule side by side.
    private final int[] direction, protocol, srcNet, srcMask, srcLo, srcHi, dstNet, dstMask, dstLo, dstHi, iface;
    private final boolean[] block;
    /** The interface names the rules' {@code on} name, numbered: a rule holds the number, a packet looks its interface up once. */
    private final Map<String, Integer> interfaces = new HashMap<>();
    private final AtomicLongArray counters;

    RuleSet(int generation, List<Rule> rules, boolean defaultBlock) {
        this.generation = generation;
        this.rules = List.copyOf(rules);
        this.defaultBlock = defaultBlock;
        n = rules.size();
        direction = new int[n];
        protocol = new int[n];
        srcNet = new int[n];
        srcMask = new int[n];
        srcLo = new int[n];
        srcHi = new int[n];
        dstNet = new int[n];
        dstMask = new int[n];
        dstLo = new int[n];
        dstHi = new int[n];
        iface = new int[n];
        block = new boolean[n];
        for (int i = 0; i < n; i++) {
            Rule r = rules.get(i);
            direction[i] = r.direction();
            protocol[i] = r.protocol();
            srcNet[i] = r.srcNet();
            srcMask[i] = Rule.mask(r.srcPrefix());
            srcLo[i] = r.srcPortLo();
            srcHi[i] = r.srcPortHi();
            dstNet[i] = r.dstNet();
            dstMask[i] = Rule.mask(r.dstPrefix());
            dstLo[i] = r.dstPortLo();
            dstHi[i] = r.dstPortHi();
            iface[i] = r.iface() == null ? -1 : interfaces.computeIfAbsent(r.iface(), k -> interfaces.size());
            block[i] = r.block();
        }
        counters = new AtomicLongArray(2 * (n + 1));
    }

    int size() { return n; }

    /** The number {@link #match} takes for the interface a packet arrived on: -2 for none, or one no rule names. */
    int interfaceId(Ifnet ifp) {
        if (ifp == null || interfaces.isEmpty()) return -2;
        Integer id = interfaces.get(ifp.name());
        return id == null ? -2 : id;
    }

    /**
     * The index of the first rule that matches, or {@link #size()} if none does (the default decides).
     *
     * @param dir   {@link Rule#IN} or {@link Rule#OUT}
     * @param ifId  the receiving interface, from {@link #interfaceId}
     * @param sport the source port, or -1 if the packet has none (not TCP or UDP, or a later fragment)
     */
    int match(int dir, int ifId, int proto, int src, int dst, int sport, int dport) {
        for (int i = 0; i < n; i++) {
            if ((direction[i] & dir) == 0
                    || protocol[i] >= 0 && protocol[i] != proto
                    || (src & srcMask[i]) != srcNet[i]
                    || (dst & dstMask[i]) != dstNet[i]
                    || srcLo[i] >= 0 && (sport < srcLo[i] || sport > srcHi[i]) // sport -1 is below every range
                    || dstLo[i] >= 0 && (dport < dstLo[i] || dport > dstHi[i])
                    || iface[i] >= 0 && iface[i] != ifId) continue;
            return i;
        }
        return n;
    }

    /** Whether the rule (or the default, at {@link #size()}) blocks; counts the packet against it. */
    boolean decide(int index, int bytes) {
        counters.getAndIncrement(2 * index);
        counters.getAndAdd(2 * index + 1, bytes);
        return index < n ? block[index] : defaultBlock;
    }

    long packets(int index) { return counters.get(2 * index); }

    long bytes(int index) { return counters.get(2 * index + 1); }

    /**
     * The set as text that {@code load} reads back: a header, each rule with its counters as a comment, the default.
     * <pre>
     * # rule set 3: 2 rules; packets and bytes since it was loaded
     * block in proto udp to 10.0.0.0/8 port 53   # 4 packets, 240 bytes
     * allow out all                              # 10 packets, 980 bytes
     * default allow                              # 0 packets, 0 bytes
     * </pre>
     */
    String show() {
        int width = "default block".length();
        for (Rule r : rules) width = Math.max(width, r.toString().length());
        StringBuilder b = new StringBuilder("# rule set ").append(generation).append(": ").append(n).append(n == 1 ? " rule" : " rules")
                .append("; packets and bytes since it was loaded\n");
        for (int i = 0; i <= n; i++) {
            String text = i < n ? rules.get(i).toString() : defaultBlock ? "default block" : "default allow";
            b.append(text).append(" ".repeat(width - text.length())).append("   # ").append(packets(i)).append(" packets, ")
                    .append(bytes(i)).append(" bytes\n");
        }
        return b.toString();
    }
}
