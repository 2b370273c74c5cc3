package org.kextnet.loader.link;

import java.io.InputStream;
import java.util.List;

/**
 * One load of one server: defines the classes of its {@link JarImage}, after asking {@link KpiOnlyParent}
 * (JDK and KPI) and before asking the loaders of the servers it depends on. Dropping every reference to it
 * after an unload lets the server's classes be collected.
 */
public final class ServerClassLoader extends ClassLoader {
    static {
        registerAsParallelCapable();
    }

    private final JarImage image;
    private final List<ClassLoader> dependencies;

    public ServerClassLoader(String serverName, JarImage image, List<ClassLoader> dependencies) {
        super("kern_server:" + serverName, KpiOnlyParent.INSTANCE);
        this.image = image;
        this.dependencies = List.copyOf(dependencies);
    }

    @Override protected Class<?> findClass(String name) throws ClassNotFoundException {
        byte[] b = image.classBytes(name);
        if (b != null) return defineClass(name, b, 0, b.length);
        for (ClassLoader dep : dependencies) {
            try {
                return dep.loadClass(name);
            } catch (ClassNotFoundException ignored) {
                // try the next dependency
            }
        }
        throw new ClassNotFoundException(name + " (not in the server's jar, its dependencies, the KPI or the JDK)");
    }

    @Override public InputStream getResourceAsStream(String name) {
        InputStream in = image.resource(name);
        return in != null ? in : super.getResourceAsStream(name);
    }

    public JarImage image() { return image; }
}
