package org.kextnet.loader.link;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;

import org.kextnet.loader.script.ScriptArg;
import org.kextnet.loader.script.ScriptCommand;

/**
 * A script command linked to its method (and, for a symbolic argument, to its static int field; for HMAP, to its
 * handler table's field). Reflection objects only: the method handles are made per load, bound to that load's instance.
 */
public record Routine(ScriptCommand command, Method method, ScriptArg arg, Field argField) {
    public boolean isStatic() { return Modifier.isStatic(method.getModifiers()); }

    /** The argument's value; reading a symbol's field initialises the server class. HMAP's routine gets MIG_BAD_ID. */
    public int argValue() throws IllegalAccessException {
        if (command instanceof ScriptCommand.HandlerMap) return ScriptCommand.HandlerMap.MIG_BAD_ID;
        return argField != null ? argField.getInt(null) : arg.value();
    }

    /** HMAP's handler table: a public field (static, or of the instance) holding a map; null for other commands. */
    public Field table() { return command instanceof ScriptCommand.HandlerMap ? argField : null; }
}
