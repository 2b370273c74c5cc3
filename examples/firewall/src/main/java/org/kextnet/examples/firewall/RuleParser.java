package org.kextnet.examples.firewall;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads a rule set (docs/samples.md has the grammar):
 * <pre>
 * # a comment
 * default block
 * block in proto udp to 10.0.0.0/8 port 53
 * allow in on wire0 proto tcp from 10.1.0.0/16 port 1024-65535 to any port 22
 * allow out all
 * </pre>
 * The whole text is read before anything is used; the first mistake refuses all of it, naming its line.
 */
final class RuleParser {
    /** Most rules in one set. */
    static final int MAX_RULES = 10_000;

    /** A rule set that cannot be read: {@link #line()} is 1-based. */
    static final class RuleException extends Exception {
        private static final long serialVersionUID = 1L;
        private final int line;

        RuleException(int line, String message) {
            super("line " + line + ": " + message);
            this.line = line;
        }

        int line() { return line; }
    }

    /** What the text says: its rules in order, and what happens to a packet none of them matches. */
    record Parsed(List<Rule> rules, boolean defaultBlock) {}

    private final String[] w;
    private final int line;
    private int i;

    private RuleParser(String[] words, int line) {
        this.w = words;
        this.line = line;
    }

    static Parsed parse(String text) throws RuleException {
        List<Rule> rules = new ArrayList<>();
        Boolean defaultBlock = null;
        String[] lines = text.split("\n", -1);
        for (int n = 0; n < lines.length; n++) {
            String l = lines[n];
            int hash = l.indexOf('#');
            if (hash >= 0) l = l.substring(0, hash);
            l = l.strip();
            if (l.isEmpty()) continue;
            String[] words = l.split("\\s+");
            if (words[0].equals("default")) {
                if (defaultBlock != null) throw new RuleException(n + 1, "a second 'default' line");
                if (words.length != 2 || !(words[1].equals("allow") || words[1].equals("block"))) {
                    throw new RuleException(n + 1, "expected 'default allow' or 'default block'");
                }
                defaultBlock = words[1].equals("block");
                continue;
            }
            if (rules.size() == MAX_RULES) throw new RuleException(n + 1, "more than " + MAX_RULES + " rules");
            rules.add(new RuleParser(words, n + 1).rule());
        }
        return new Parsed(List.copyOf(rules), defaultBlock != null && defaultBlock);
    }

    /** {@code action [in|out] [on IFACE] ( [proto P] all | [proto P] [from HOSTS [port PORTS]] [to HOSTS [port PORTS]] )} */
    private Rule rule() throws RuleException {
        boolean block = switch (next("allow, block or default")) {
            case "allow" -> false;
            case "block" -> true;
            default -> throw error("expected allow, block or default");
        };
        int direction = Rule.BOTH;
        if (accept("in")) direction = Rule.IN;
        else if (accept("out")) direction = Rule.OUT;
        String iface = accept("on") ? interfaceName(next("an interface name after 'on'")) : null;
        int protocol = accept("proto") ? protocol(next("a protocol after 'proto'")) : -1;
        int[] src = {0, 0, -1, -1}, dst = {0, 0, -1, -1};
        if (accept("all")) {
            if (i < w.length) throw error("nothing may follow 'all'");
        } else {
            if (accept("from")) hosts(src, protocol);
            if (accept("to")) hosts(dst, protocol);
            if (i < w.length) throw error("unexpected '" + w[i] + "' (a rule reads: allow|block [in|out] [on IFACE] [proto P] all"
                    + " | ... [from HOSTS [port PORTS]] [to HOSTS [port PORTS]])");
            if (i == 1) throw error("a rule that matches everything says so: '" + w[0] + " all'");
        }
        return new Rule(block, direction, iface, protocol, src[0], src[1], src[2], src[3], dst[0], dst[1], dst[2], dst[3]);
    }

    /** {@code any | A.B.C.D[/P]}, then an optional {@code port N[-M]}: into {net, prefix, lo, hi}. */
    private void hosts(int[] into, int protocol) throws RuleException {
        String h = next("an address or 'any'");
        if (!h.equals("any")) {
            int slash = h.indexOf('/');
            int prefix = slash < 0 ? 32 : number(h.substring(slash + 1), 0, 32, "a prefix length");
            int a = address(slash < 0 ? h : h.substring(0, slash));
            if ((a & ~Rule.mask(prefix)) != 0) {
                throw error(h + " has host bits set (the network is " + Rule.ip(a & Rule.mask(prefix)) + "/" + prefix + ")");
            }
            into[0] = a;
            into[1] = prefix;
        }
        if (accept("port")) {
            if (protocol != 6 && protocol != 17) throw error("'port' needs 'proto tcp' or 'proto udp' before it");
            String p = next("a port or a range after 'port'");
            int dash = p.indexOf('-');
            int lo = number(dash < 0 ? p : p.substring(0, dash), 0, 65535, "a port");
            int hi = dash < 0 ? lo : number(p.substring(dash + 1), 0, 65535, "a port");
            if (hi < lo) throw error("port range " + p + " is empty");
            into[2] = lo;
            into[3] = hi;
        }
    }

    private int address(String s) throws RuleException {
        String[] p = s.split("\\.", -1);
        if (p.length != 4) throw error("'" + s + "' is not an IPv4 address");
        int a = 0;
        for (String x : p) a = a << 8 | number(x, 0, 255, "an IPv4 address");
        return a;
    }

    private int protocol(String s) throws RuleException {
        return switch (s) {
            case "icmp" -> 1;
            case "tcp" -> 6;
            case "udp" -> 17;
            default -> number(s, 0, 255, "tcp, udp, icmp or a protocol number");
        };
    }

    private String interfaceName(String s) throws RuleException {
        if (!s.matches("[A-Za-z][A-Za-z0-9_.-]{0,14}")) throw error("'" + s + "' is not an interface name");
        return s;
    }

    private int number(String s, int min, int max, String what) throws RuleException {
        if (!s.isEmpty() && s.length() <= 5 && s.chars().allMatch(Character::isDigit)) {
            int v = Integer.parseInt(s);
            if (v >= min && v <= max) return v;
        }
        throw error("'" + s + "' is not " + what + " (" + min + ".." + max + ")");
    }

    private String next(String expected) throws RuleException {
        if (i == w.length) throw error("expected " + expected + " at the end of the rule");
        return w[i++];
    }

    private boolean accept(String word) {
        if (i < w.length && w[i].equals(word)) {
            i++;
            return true;
        }
        return false;
    }

    private RuleException error(String message) {
        return new RuleException(line, message);
    }
}
