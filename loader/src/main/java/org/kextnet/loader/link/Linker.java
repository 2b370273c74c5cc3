package org.kextnet.loader.link;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;

import org.kextnet.kpi.KernelExtension;
import org.kextnet.kpi.server.KernServ;
import org.kextnet.kpi.server.PortMessage;
import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;
import org.kextnet.loader.script.ScriptArg;
import org.kextnet.loader.script.ScriptCommand;
import org.kextnet.loader.script.ScriptException;
import org.kextnet.loader.script.ServerScript;

/**
 * Links a server: defines its class in a fresh {@link ServerClassLoader} (without initialising it) and
 * resolves every routine of the script to a public method of that class with the routine's signature. A
 * class that implements {@link KernelExtension} is an extension: it needs a public no-argument constructor.
 * Nothing of the server runs. A routine that is missing or has another signature, a symbol that is not a
 * public static int field, or a class that refers to something outside the KPI and the JDK is
 * 108 SERVER_WONT_LINK, reported against the script line.
 */
public final class Linker {
    private Linker() {}

    /** Signatures, by kind of command, as written in docs/kern_loader.md. */
    static final Class<?>[] CALL_PARAMS = {KernServ.class, int.class};
    static final Class<?>[] MAP_PARAMS = {KernServ.class, PortMessage.class, int.class};
    static final Class<?>[] DEATH_PARAMS = {KernServ.class, long.class};

    public static LinkedServer link(ServerScript script, JarImage image, List<ClassLoader> dependencies) throws LoaderException {
        ServerClassLoader loader = new ServerClassLoader(script.name(), image, dependencies);
        Class<?> cls;
        try {
            cls = Class.forName(image.serverClass(), false, loader);
        } catch (ClassNotFoundException | LinkageError e) {
            throw new ScriptException(script.file(), 0, LoaderError.SERVER_WONT_LINK,
                    "server class " + image.serverClass() + " does not link: " + e);
        }
        if (!Modifier.isPublic(cls.getModifiers()))
            throw new ScriptException(script.file(), 0, LoaderError.SERVER_WONT_LINK, "server class " + cls.getName() + " is not public");
        List<Routine> load = new ArrayList<>();
        List<Routine> unload = new ArrayList<>();
        // A network kernel extension: the loader calls start(Kpi) and stop(Kpi) on its one instance.
        boolean extension = KernelExtension.class.isAssignableFrom(cls);
        boolean needsInstance = extension;
        for (ScriptCommand c : script.load()) {
            Routine r = resolve(script, cls, c);
            needsInstance |= !r.isStatic() || r.table() != null && !Modifier.isStatic(r.table().getModifiers());
            load.add(r);
        }
        for (ScriptCommand.Call c : script.unload()) {
            Routine r = resolve(script, cls, c);
            needsInstance |= !r.isStatic();
            unload.add(r);
        }
        if (needsInstance) {
            try {
                if (!Modifier.isPublic(cls.getConstructor().getModifiers())) throw new NoSuchMethodException();
                if (Modifier.isAbstract(cls.getModifiers())) throw new NoSuchMethodException();
            } catch (NoSuchMethodException | LinkageError e) {
                throw new ScriptException(script.file(), 0, LoaderError.SERVER_WONT_LINK,
                        "server class " + cls.getName() + (extension ? " is a KernelExtension" : " has instance routines")
                                + " but no public no-argument constructor");
            }
        }
        return new LinkedServer(loader, cls, load, unload, needsInstance, extension);
    }

    private static Routine resolve(ServerScript script, Class<?> cls, ScriptCommand c) throws ScriptException {
        Class<?>[] params;
        Class<?> ret;
        String form;
        ScriptArg arg;
        switch (c) {
            case ScriptCommand.Map m -> { params = MAP_PARAMS; ret = int.class; arg = m.arg(); form = "public int " + m.routine() + "(KernServ, PortMessage, int)"; }
            case ScriptCommand.HandlerMap h -> { params = MAP_PARAMS; ret = int.class; arg = ScriptArg.ZERO; form = "public int " + h.routine() + "(KernServ, PortMessage, int)"; }
            case ScriptCommand.Call k -> { params = CALL_PARAMS; ret = int.class; arg = k.arg(); form = "public int " + k.routine() + "(KernServ, int)"; }
            case ScriptCommand.PortDeath d -> { params = DEATH_PARAMS; ret = void.class; arg = ScriptArg.ZERO; form = "public void " + d.routine() + "(KernServ, long)"; }
        }
        Method m;
        try {
            m = cls.getMethod(c.routine(), params);
        } catch (NoSuchMethodException e) {
            boolean named = false;
            try {
                for (Method x : cls.getMethods()) named |= x.getName().equals(c.routine());
            } catch (LinkageError ignored) {
                // reported below as not linking
            }
            throw new ScriptException(script.file(), c.line(), LoaderError.SERVER_WONT_LINK, named
                    ? "routine " + c.routine() + " has the wrong signature; expected " + form
                    : "no routine " + c.routine() + " in " + cls.getName() + "; expected " + form);
        } catch (LinkageError e) {
            throw new ScriptException(script.file(), c.line(), LoaderError.SERVER_WONT_LINK,
                    cls.getName() + " refers to a class outside the KPI and the JDK: " + e.getMessage());
        }
        if (m.getReturnType() != ret)
            throw new ScriptException(script.file(), c.line(), LoaderError.SERVER_WONT_LINK,
                    "routine " + c.routine() + " returns " + m.getReturnType().getName() + "; expected " + form);
        if (!Modifier.isPublic(m.getDeclaringClass().getModifiers()))
            throw new ScriptException(script.file(), c.line(), LoaderError.SERVER_WONT_LINK, "routine " + c.routine() + " is declared in a non-public class");
        Field f = null;
        if (c instanceof ScriptCommand.HandlerMap h) {
            f = handlerTable(script, cls, h);
        } else if (arg.isSymbol()) {
            try {
                f = cls.getField(arg.symbol());
            } catch (NoSuchFieldException | LinkageError e) {
                f = null;
            }
            if (f == null || !Modifier.isStatic(f.getModifiers()) || f.getType() != int.class)
                throw new ScriptException(script.file(), c.line(), LoaderError.SERVER_WONT_LINK,
                        "argument " + arg.symbol() + " is not a public static int field of " + cls.getName());
        }
        return new Routine(c, m, arg, f);
    }

    /**
     * HMAP's handler table: a public field of the server class, static or of its instance, whose type is a
     * {@code java.util.Map} (message id to a {@code ToIntBiFunction<KernServ, PortMessage>}); its entries are checked at
     * load, when it is read.
     */
    private static Field handlerTable(ServerScript script, Class<?> cls, ScriptCommand.HandlerMap h) throws ScriptException {
        Field f;
        try {
            f = cls.getField(h.table());
        } catch (NoSuchFieldException | LinkageError e) {
            f = null;
        }
        if (f == null || !java.util.Map.class.isAssignableFrom(f.getType()))
            throw new ScriptException(script.file(), h.line(), LoaderError.SERVER_WONT_LINK, "handler table " + h.table()
                    + " is not a public field of " + cls.getName() + " of type Map<Integer, ToIntBiFunction<KernServ, PortMessage>>");
        return f;
    }
}
