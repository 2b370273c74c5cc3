package org.kextnet.kernel.config;

/**
 * A JSON writer (RFC 8259) for the {@code -j} listings of the admin commands and of kl_util: one compact document
 * per command, as {@code ip -j} prints. Written here rather than taken from a library because the listings only
 * write (nothing parses JSON), the kernel has no dependency besides the KPI, and kl_util -s runs in a fresh JVM
 * under the interpreter, where a JSON library's class loading would cost more than the command itself. Tests read
 * the output back with Jackson.
 *
 * <p>Calls follow the document's shape: {@code new Json().object().field("a", 1).key("b").array().value("x").end().end()}.
 * A misuse (a value where a key is due, an unbalanced {@link #end}) throws {@link IllegalStateException}.
 */
public final class Json {
    private final StringBuilder b = new StringBuilder();
    /** Per open container: 'o' object awaiting a key, 'v' object awaiting the key's value, 'a' array. */
    private final StringBuilder open = new StringBuilder();
    /** Whether the innermost open container has a member yet. */
    private boolean any;

    public Json object() {
        beforeValue();
        b.append('{');
        push('o');
        return this;
    }

    public Json array() {
        beforeValue();
        b.append('[');
        push('a');
        return this;
    }

    /** Closes the innermost object or array. */
    public Json end() {
        if (open.isEmpty()) throw new IllegalStateException("nothing open");
        char c = open.charAt(open.length() - 1);
        if (c == 'v') throw new IllegalStateException("a key without a value");
        open.setLength(open.length() - 1);
        b.append(c == 'a' ? ']' : '}');
        any = true;
        return this;
    }

    /** The next member's name, in an object. */
    public Json key(String name) {
        if (top() != 'o') throw new IllegalStateException("a key outside an object");
        if (any) b.append(',');
        string(name);
        b.append(':');
        open.setCharAt(open.length() - 1, 'v');
        return this;
    }

    public Json value(String s) {
        beforeValue();
        if (s == null) b.append("null"); else string(s);
        return this;
    }

    public Json value(long n) {
        beforeValue();
        b.append(n);
        return this;
    }

    public Json value(boolean v) {
        beforeValue();
        b.append(v);
        return this;
    }

    /** A number; NaN and infinities, which JSON cannot write, as null. */
    public Json value(double d) {
        beforeValue();
        if (Double.isNaN(d) || Double.isInfinite(d)) b.append("null");
        else if (d == Math.rint(d) && Math.abs(d) < 1e15) b.append((long) d);
        else b.append(d);
        return this;
    }

    public Json field(String name, String v) { return key(name).value(v); }
    public Json field(String name, long v) { return key(name).value(v); }
    public Json field(String name, boolean v) { return key(name).value(v); }
    public Json field(String name, double v) { return key(name).value(v); }

    /** The document, with a final newline. */
    @Override public String toString() {
        if (!open.isEmpty()) throw new IllegalStateException("unclosed " + (top() == 'a' ? "array" : "object"));
        return b + "\n";
    }

    private char top() { return open.isEmpty() ? 0 : open.charAt(open.length() - 1); }

    private void push(char c) {
        open.append(c);
        any = false;
    }

    private void beforeValue() {
        char t = top();
        if (t == 'o') throw new IllegalStateException("a value where a key is due");
        if (t == 'v') open.setCharAt(open.length() - 1, 'o');
        else if (t == 'a' && any) b.append(',');
        else if (t == 0 && !b.isEmpty()) throw new IllegalStateException("a second document");
        any = true;
    }

    private void string(String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) b.append("\\u00").append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 15, 16));
                    else b.append(c);
                }
            }
        }
        b.append('"');
    }
}
