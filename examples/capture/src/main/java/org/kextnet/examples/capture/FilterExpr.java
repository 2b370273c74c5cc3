package org.kextnet.examples.capture;

import java.util.List;

import org.kextnet.kpi.mbuf.Mbuf;

/**
 * A capture filter, a small part of tcpdump's language, compiled into a tree that tests a frame in place: no
 * allocation, every read bounded by the data in the frame's first buffer.
 * <pre>
 * expr  := and ("or" and)*                    "||" for "or", "&&" for "and", "!" for "not"
 * and   := unary ("and" unary)*
 * unary := "not" unary | "(" expr ")" | prim
 * prim  := "ip" | "arp" | "icmp" | "udp" | "tcp" | "proto" (tcp | udp | icmp | 0..255)
 *        | ["src" | "dst"] "host" A.B.C.D | ["src" | "dst"] "net" A.B.C.D/LEN | ["src" | "dst"] "port" 0..65535
 * </pre>
 * {@code host} matches IPv4 source or destination (and ARP's sender or target); {@code port} matches TCP and UDP
 * ports (not in fragments after the first). An empty expression matches everything.
 */
sealed interface FilterExpr {
    /** Matches every frame. */
    FilterExpr ALL = new All();

    /**
     * Whether the frame matches: {@code l3} is where its network header starts in {@code m}'s data, {@code type} its
     * EtherType (0x0800 for IPv4 also on links without a link header).
     */
    boolean test(Mbuf m, int l3, int type);

    /** An expression that cannot be read: {@link #getMessage()} says where and what. */
    final class Invalid extends Exception {
        private static final long serialVersionUID = 1L;

        Invalid(String message) { super(message); }
    }

    static FilterExpr parse(List<String> words) throws Invalid {
        if (words.isEmpty()) return ALL;
        Parser p = new Parser(words);
        FilterExpr e = p.or();
        if (p.i < words.size()) throw new Invalid("unexpected '" + words.get(p.i) + "' in the filter");
        return e;
    }

    record All() implements FilterExpr {
        @Override public boolean test(Mbuf m, int l3, int type) { return true; }
    }

    record Or(FilterExpr a, FilterExpr b) implements FilterExpr {
        @Override public boolean test(Mbuf m, int l3, int type) { return a.test(m, l3, type) || b.test(m, l3, type); }
    }

    record And(FilterExpr a, FilterExpr b) implements FilterExpr {
        @Override public boolean test(Mbuf m, int l3, int type) { return a.test(m, l3, type) && b.test(m, l3, type); }
    }

    record Not(FilterExpr a) implements FilterExpr {
        @Override public boolean test(Mbuf m, int l3, int type) { return !a.test(m, l3, type); }
    }

    record EtherType(int value) implements FilterExpr {
        @Override public boolean test(Mbuf m, int l3, int type) { return type == value; }
    }

    /** IPv4 with this protocol. */
    record Proto(int value) implements FilterExpr {
        @Override public boolean test(Mbuf m, int l3, int type) {
            return type == 0x0800 && m.length() >= l3 + 20 && m.getU8(l3 + 9) == value;
        }
    }

    /** IPv4 source or destination (ARP sender or target) in {@code net}/{@code mask}; {@code dir} 1 source, 2 destination, 3 either. */
    record Net(int net, int mask, int dir) implements FilterExpr {
        @Override public boolean test(Mbuf m, int l3, int type) {
            int src, dst;
            if (type == 0x0800 && m.length() >= l3 + 20) {
                src = m.getInt(l3 + 12);
                dst = m.getInt(l3 + 16);
            } else if (type == 0x0806 && m.length() >= l3 + 28) {
                src = m.getInt(l3 + 14);
                dst = m.getInt(l3 + 24);
            } else {
                return false;
            }
            return (dir & 1) != 0 && (src & mask) == net || (dir & 2) != 0 && (dst & mask) == net;
        }
    }

    /** A TCP or UDP source or destination port; {@code dir} as for {@link Net}. */
    record Port(int port, int dir) implements FilterExpr {
        @Override public boolean test(Mbuf m, int l3, int type) {
            if (type != 0x0800 || m.length() < l3 + 20) return false;
            int proto = m.getU8(l3 + 9), ihl = (m.getU8(l3) & 0x0f) * 4;
            if (proto != 6 && proto != 17 || (m.getU16(l3 + 6) & 0x1fff) != 0 || ihl < 20 || m.length() < l3 + ihl + 4) return false;
            return (dir & 1) != 0 && m.getU16(l3 + ihl) == port || (dir & 2) != 0 && m.getU16(l3 + ihl + 2) == port;
        }
    }

    /** Recursive descent over the words. */
    final class Parser {
        private final List<String> w;
        int i;

        Parser(List<String> words) { this.w = words; }

        FilterExpr or() throws Invalid {
            FilterExpr e = and();
            while (accept("or") || accept("||")) e = new Or(e, and());
            return e;
        }

        private FilterExpr and() throws Invalid {
            FilterExpr e = unary();
            while (accept("and") || accept("&&")) e = new And(e, unary());
            return e;
        }

        private FilterExpr unary() throws Invalid {
            if (accept("not") || accept("!")) return new Not(unary());
            if (accept("(")) {
                FilterExpr e = or();
                if (!accept(")")) throw new Invalid("expected ')' in the filter");
                return e;
            }
            return primitive();
        }

        private FilterExpr primitive() throws Invalid {
            String word = next("a filter primitive (ip, arp, icmp, udp, tcp, proto, host, net, port)");
            switch (word) {
                case "ip": return new EtherType(0x0800);
                case "arp": return new EtherType(0x0806);
                case "icmp": return new Proto(1);
                case "tcp": return new Proto(6);
                case "udp": return new Proto(17);
                case "proto": return new Proto(protocol(next("a protocol after 'proto'")));
                default: break;
            }
            int dir = 3;
            if (word.equals("src") || word.equals("dst")) {
                dir = word.equals("src") ? 1 : 2;
                word = next("host, net or port after '" + word + "'");
            }
            return switch (word) {
                case "host" -> new Net(address(next("an address after 'host'")), -1, dir);
                case "net" -> net(next("a network A.B.C.D/LEN after 'net'"), dir);
                case "port" -> new Port(number(next("a port after 'port'"), 65535, "a port"), dir);
                default -> throw new Invalid("unknown filter word '" + word + "'");
            };
        }

        private FilterExpr net(String s, int dir) throws Invalid {
            int slash = s.indexOf('/');
            if (slash < 0) throw new Invalid("'" + s + "' is not a network A.B.C.D/LEN");
            int len = number(s.substring(slash + 1), 32, "a prefix length");
            int mask = len == 0 ? 0 : -1 << (32 - len);
            return new Net(address(s.substring(0, slash)) & mask, mask, dir);
        }

        private static int protocol(String s) throws Invalid {
            return switch (s) {
                case "icmp" -> 1;
                case "tcp" -> 6;
                case "udp" -> 17;
                default -> number(s, 255, "a protocol");
            };
        }

        private static int address(String s) throws Invalid {
            String[] p = s.split("\\.", -1);
            if (p.length != 4) throw new Invalid("'" + s + "' is not an IPv4 address");
            int a = 0;
            for (String x : p) a = a << 8 | number(x, 255, "an IPv4 address");
            return a;
        }

        private static int number(String s, int max, String what) throws Invalid {
            if (!s.isEmpty() && s.length() <= 5 && s.chars().allMatch(Character::isDigit)) {
                int v = Integer.parseInt(s);
                if (v <= max) return v;
            }
            throw new Invalid("'" + s + "' is not " + what + " (0.." + max + ")");
        }

        private String next(String expected) throws Invalid {
            if (i == w.size()) throw new Invalid("expected " + expected + " at the end of the filter");
            return w.get(i++);
        }

        private boolean accept(String word) {
            if (i < w.size() && w.get(i).equals(word)) {
                i++;
                return true;
            }
            return false;
        }
    }
}
