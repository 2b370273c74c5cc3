package org.kextnet.loader.link;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;

import org.kextnet.loader.script.ScriptArg;
import org.kextnet.loader.script.ScriptCommand;

/**
 * A script command linked to its method (and, for a symbolic argument, to its static int field).
 * Reflection objects only: the method handles are made per load, bound to that load's instance.
 */
public record Routine(ScriptCommand command, Method method, ScriptArg arg, Field argField) {
    public boolean isStatic() { return Modifier.isStatic(method.getModifiers()); }

    /** The argument's value; reading a symbol's field initialises the server class. */
    public int argValue() throws IllegalAccessException {
        return argField != null ? argField.getInt(null) : arg.value();
    }
}
