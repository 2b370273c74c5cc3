package org.kextnet.examples.netem;

import java.math.BigDecimal;
import java.util.Locale;

/**
 * What one direction of one interface suffers (as a {@code tc qdisc ... netem} line): a delay with a jitter around it,
 * a share of frames lost, duplicated and sent ahead of the others (reordering), a rate the link is limited to, the most
 * frames held at once, and the seed of the random draws.
 *
 * @param delayNanos  added to every frame (except those sent ahead)
 * @param jitterNanos the delay varies by up to this much either way, evenly; it never reorders (a frame leaves no
 *                    earlier than the one before it)
 * @param loss        the share of frames dropped, 0..1
 * @param duplicate   the share of frames sent twice, 0..1
 * @param reorder     the share of frames sent at once, ahead of those held, 0..1 (needs a delay or a rate to show)
 * @param rateBits    the link's rate in bits per second, 0 for none: frames leave one after another at that rate
 * @param limit       the most frames held at once; a frame beyond it is dropped (counted as overflow)
 * @param seed        the random draws' seed: the same frames meet the same fate
 */
record Impairment(long delayNanos, long jitterNanos, double loss, double duplicate, double reorder, long rateBits, int limit, long seed) {
    static final int DEFAULT_LIMIT = 1000, MAX_LIMIT = 100_000;
    static final long DEFAULT_SEED = 1;
    static final long MAX_DELAY_NANOS = 60_000_000_000L;

    Impairment {
        if (delayNanos < 0 || delayNanos > MAX_DELAY_NANOS) throw new IllegalArgumentException("delay " + delayNanos + " ns is outside 0..60s");
        if (jitterNanos < 0 || jitterNanos > MAX_DELAY_NANOS) throw new IllegalArgumentException("jitter " + jitterNanos + " ns is outside 0..60s");
        for (double p : new double[] {loss, duplicate, reorder}) {
            if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("a share outside 0%..100%");
        }
        if (rateBits < 0) throw new IllegalArgumentException("rate " + rateBits);
        if (limit < 1 || limit > MAX_LIMIT) throw new IllegalArgumentException("limit " + limit + " is outside 1.." + MAX_LIMIT);
    }

    /** Whether frames wait at all (else they pass at once, or are lost, and only duplicates wait a tick). */
    boolean holds() { return delayNanos > 0 || jitterNanos > 0 || rateBits > 0; }

    /**
     * Parses the words after {@code set IF DIR}: {@code delay 20ms jitter 5ms loss 1% dup 0.5% reorder 2% rate 100mbit
     * limit 1000 seed 42}, each optional, in any order; what is not given is 0 (limit 1000, seed 1).
     * @throws IllegalArgumentException naming the word that is wrong
     */
    static Impairment parse(String[] w, int from) {
        long delay = 0, jitter = 0, rate = 0, seed = DEFAULT_SEED;
        double loss = 0, dup = 0, reorder = 0;
        int limit = DEFAULT_LIMIT;
        for (int i = from; i < w.length; i += 2) {
            if (i + 1 >= w.length) throw new IllegalArgumentException("'" + w[i] + "' wants a value");
            String v = w[i + 1];
            switch (w[i]) {
                case "delay" -> delay = duration(v);
                case "jitter" -> jitter = duration(v);
                case "loss" -> loss = share(v);
                case "dup", "duplicate" -> dup = share(v);
                case "reorder" -> reorder = share(v);
                case "rate" -> rate = rate(v);
                case "limit" -> limit = (int) number(v, "limit", 1, MAX_LIMIT);
                case "seed" -> seed = number(v, "seed", Long.MIN_VALUE, Long.MAX_VALUE);
                default -> throw new IllegalArgumentException("unknown parameter '" + w[i]
                        + "' (delay, jitter, loss, dup, reorder, rate, limit, seed)");
            }
        }
        return new Impairment(delay, jitter, loss, dup, reorder, rate, limit, seed);
    }

    /** {@code 20ms}, {@code 0.5ms}, {@code 1s}, {@code 250us}, {@code 0}. */
    static long duration(String v) {
        String s = v.toLowerCase(Locale.ROOT);
        long unit;
        String n;
        if (s.endsWith("us")) { unit = 1_000; n = s.substring(0, s.length() - 2); }
        else if (s.endsWith("ms")) { unit = 1_000_000; n = s.substring(0, s.length() - 2); }
        else if (s.endsWith("s")) { unit = 1_000_000_000; n = s.substring(0, s.length() - 1); }
        else if (s.equals("0")) return 0;
        else throw new IllegalArgumentException("'" + v + "' is not a time (20ms, 500us, 1s)");
        BigDecimal nanos = decimal(n, v, "a time (20ms, 500us, 1s)").multiply(BigDecimal.valueOf(unit));
        if (nanos.signum() < 0 || nanos.compareTo(BigDecimal.valueOf(MAX_DELAY_NANOS)) > 0) {
            throw new IllegalArgumentException("'" + v + "' is outside 0..60s");
        }
        return nanos.longValue();
    }

    /** {@code 1%}, {@code 0.5%}, {@code 100%}. */
    static double share(String v) {
        if (!v.endsWith("%")) throw new IllegalArgumentException("'" + v + "' is not a percentage (1%, 0.5%)");
        BigDecimal p = decimal(v.substring(0, v.length() - 1), v, "a percentage (1%, 0.5%)");
        if (p.signum() < 0 || p.compareTo(BigDecimal.valueOf(100)) > 0) throw new IllegalArgumentException("'" + v + "' is outside 0%..100%");
        return p.doubleValue() / 100;
    }

    /** {@code 100mbit}, {@code 1gbit}, {@code 64kbit}, {@code 9600bit}: bits per second, as tc writes them. */
    static long rate(String v) {
        String s = v.toLowerCase(Locale.ROOT);
        long unit;
        String n;
        if (s.endsWith("gbit")) { unit = 1_000_000_000L; n = s.substring(0, s.length() - 4); }
        else if (s.endsWith("mbit")) { unit = 1_000_000L; n = s.substring(0, s.length() - 4); }
        else if (s.endsWith("kbit")) { unit = 1_000L; n = s.substring(0, s.length() - 4); }
        else if (s.endsWith("bit")) { unit = 1; n = s.substring(0, s.length() - 3); }
        else throw new IllegalArgumentException("'" + v + "' is not a rate (100mbit, 1gbit, 64kbit)");
        BigDecimal bits = decimal(n, v, "a rate (100mbit, 1gbit, 64kbit)").multiply(BigDecimal.valueOf(unit));
        if (bits.compareTo(BigDecimal.valueOf(8)) < 0 || bits.compareTo(BigDecimal.valueOf(1_000_000_000_000L)) > 0) {
            throw new IllegalArgumentException("'" + v + "' is outside 8bit..1000gbit");
        }
        return bits.longValue();
    }

    private static long number(String v, String what, long min, long max) {
        long n;
        try {
            n = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " '" + v + "' is not a whole number");
        }
        if (n < min || n > max) throw new IllegalArgumentException(what + " " + n + " is outside " + min + ".." + max);
        return n;
    }

    private static BigDecimal decimal(String n, String v, String what) {
        try {
            return new BigDecimal(n);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + v + "' is not " + what);
        }
    }

    /** As {@code set} takes it: {@code delay=20ms jitter=5ms loss=1% dup=0.5% reorder=2% rate=100mbit limit=1000 seed=42}. */
    @Override public String toString() {
        return "delay=" + time(delayNanos) + " jitter=" + time(jitterNanos) + " loss=" + percent(loss) + " dup=" + percent(duplicate)
                + " reorder=" + percent(reorder) + " rate=" + (rateBits == 0 ? "none" : rateText(rateBits)) + " limit=" + limit + " seed=" + seed;
    }

    private static String time(long nanos) {
        if (nanos == 0) return "0";
        if (nanos % 1_000_000 == 0) return nanos / 1_000_000 + "ms";
        return BigDecimal.valueOf(nanos, 3).stripTrailingZeros().toPlainString() + "us";
    }

    private static String percent(double p) {
        return BigDecimal.valueOf(p * 100).round(new java.math.MathContext(6)).stripTrailingZeros().toPlainString() + "%";
    }

    private static String rateText(long bits) {
        if (bits % 1_000_000_000L == 0) return bits / 1_000_000_000L + "gbit";
        if (bits % 1_000_000L == 0) return bits / 1_000_000L + "mbit";
        if (bits % 1_000L == 0) return bits / 1_000L + "kbit";
        return bits + "bit";
    }
}
