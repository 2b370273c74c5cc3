package org.kextnet.loader;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.HashMap;
import java.util.Map;
import java.util.function.ToIntBiFunction;

import org.kextnet.kpi.server.KernServ;
import org.kextnet.kpi.server.PortMessage;
import org.kextnet.loader.script.ScriptCommand;
import org.kextnet.loader.script.ScriptException;

/**
 * An HMAP port's dispatch, as 3.x's MiG handler interface did it: the message id picks the handler from the server's
 * table (MiG's struct of function pointers, here a map from message id to handler); an id the table does not hold goes
 * to the HMAP routine with {@link ScriptCommand.HandlerMap#MIG_BAD_ID}, as MiG's demultiplexer answered it. The table is
 * read once per load, on the server's thread, and copied: later changes to the server's map are not seen.
 */
final class HandlerTable {
    /** Most entries a handler table may have (a MiG subsystem has a few dozen routines). */
    static final int MAX_ENTRIES = 4096;

    private static final MethodHandle DISPATCH;

    static {
        try {
            DISPATCH = MethodHandles.lookup().findVirtual(HandlerTable.class, "dispatch",
                    MethodType.methodType(int.class, KernServ.class, PortMessage.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Map<Integer, ToIntBiFunction<KernServ, PortMessage>> handlers;
    /** (KernServ, PortMessage)int: the HMAP routine with MIG_BAD_ID bound. */
    private final MethodHandle unknown;

    private HandlerTable(Map<Integer, ToIntBiFunction<KernServ, PortMessage>> handlers, MethodHandle unknown) {
        this.handlers = handlers;
        this.unknown = unknown;
    }

    /**
     * Reads the table from its field ({@code instance} for an instance field) and checks every entry.
     * @param unknown the HMAP routine, (KernServ, PortMessage, int)int
     * @throws ScriptException 109, naming the HMAP line, if the table is null, too large, or holds a key that is not an
     *         Integer or a value that is not a {@code ToIntBiFunction}
     */
    @SuppressWarnings("unchecked")
    static HandlerTable read(ScriptCommand.HandlerMap h, java.nio.file.Path script, Field field, Object instance, MethodHandle unknown)
            throws ScriptException, IllegalAccessException {
        Object value = field.get(Modifier.isStatic(field.getModifiers()) ? null : instance);
        if (!(value instanceof Map<?, ?> m)) throw bad(h, script, "is null");
        if (m.size() > MAX_ENTRIES) throw bad(h, script, "has " + m.size() + " entries, more than " + MAX_ENTRIES);
        Map<Integer, ToIntBiFunction<KernServ, PortMessage>> copy = new HashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (!(e.getKey() instanceof Integer id)) throw bad(h, script, "has a key that is not an Integer: " + e.getKey());
            if (!(e.getValue() instanceof ToIntBiFunction<?, ?> f)) throw bad(h, script, "maps id " + id + " to " + e.getValue()
                    + ", not a ToIntBiFunction<KernServ, PortMessage>");
            copy.put(id, (ToIntBiFunction<KernServ, PortMessage>) f);
        }
        return new HandlerTable(Map.copyOf(copy), MethodHandles.insertArguments(unknown, 2, ScriptCommand.HandlerMap.MIG_BAD_ID));
    }

    private static ScriptException bad(ScriptCommand.HandlerMap h, java.nio.file.Path script, String what) {
        return new ScriptException(script, h.line(), LoaderError.SERVER_WONT_LOAD, "handler table " + h.table() + " " + what);
    }

    /** The port's routine, (KernServ, PortMessage)int, as the other MAP commands bind theirs. */
    MethodHandle handle() { return DISPATCH.bindTo(this); }

    int dispatch(KernServ ks, PortMessage m) throws Throwable {
        ToIntBiFunction<KernServ, PortMessage> f = handlers.get(m.id());
        return f != null ? f.applyAsInt(ks, m) : (int) unknown.invokeExact(ks, m);
    }
}
