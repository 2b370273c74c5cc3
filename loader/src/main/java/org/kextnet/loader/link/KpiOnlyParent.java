package org.kextnet.loader.link;

import java.io.IOException;
import java.net.URL;
import java.util.Collections;
import java.util.Enumeration;

import org.kextnet.kpi.Errno;

/**
 * The parent of every server class loader: it answers for the JDK (through the platform loader) and for
 * the KPI packages ({@code org.kextnet.kpi} and below), and for nothing else, so a server can reach neither
 * the kernel's nor the loader's internals nor their dependencies, whatever is on the class path.
 */
public final class KpiOnlyParent extends ClassLoader {
    /** The single instance. */
    public static final KpiOnlyParent INSTANCE;
    private static final String KPI_PREFIX = "org.kextnet.kpi.";
    private static final ClassLoader KPI_LOADER = Errno.class.getClassLoader();

    static {
        registerAsParallelCapable();
        INSTANCE = new KpiOnlyParent();
    }

    private KpiOnlyParent() {
        super("kextnet-kpi", ClassLoader.getPlatformClassLoader());
    }

    @Override protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        if (name.startsWith(KPI_PREFIX)) return KPI_LOADER.loadClass(name);
        return super.loadClass(name, resolve); // platform loader: the JDK only
    }

    @Override public URL getResource(String name) {
        if (name.startsWith("org/kextnet/kpi/")) return KPI_LOADER.getResource(name);
        return getParent().getResource(name);
    }

    @Override public Enumeration<URL> getResources(String name) throws IOException {
        if (name.startsWith("org/kextnet/kpi/")) return KPI_LOADER.getResources(name);
        URL u = getParent().getResource(name);
        return u == null ? Collections.emptyEnumeration() : Collections.enumeration(java.util.List.of(u));
    }
}
