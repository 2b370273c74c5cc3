package org.kextnet.loader.script;

/**
 * A routine's argument in a script: a number (decimal, {@code 0x} hex or {@code 0} octal) or a symbol, the
 * name of a public static int field of the server class that is read when the server is loaded.
 */
public record ScriptArg(int value, String symbol) {
    /** The argument when a command gives none. */
    public static final ScriptArg ZERO = new ScriptArg(0, null);

    public boolean isSymbol() { return symbol != null; }

    @Override public String toString() { return symbol != null ? symbol : Integer.toString(value); }
}
