package org.kextnet.loader.link;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarInputStream;
import java.util.jar.Manifest;
import java.util.zip.ZipEntry;

import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;

/**
 * A server jar read whole into memory (the "relocatable"): its class bytes, its manifest and the file's
 * modification time and size when read. Holding the bytes means no file stays open while the server
 * runs, and a later change on disk is seen by comparing {@link #changedOnDisk()}.
 */
public final class JarImage {
    /** Manifest attribute naming the server class. */
    public static final String SERVER_CLASS = "Kext-Server-Class";
    /** Manifest attribute with the server's version (required, as the 3.x "Server Version" section). */
    public static final String SERVER_VERSION = "Kext-Server-Version";
    /** Manifest attribute listing, blank-separated, the servers this one depends on. */
    public static final String DEPENDS = "Kext-Depends";
    /** Largest jar accepted. */
    public static final long MAX_BYTES = 64L << 20;

    private final Path path;
    private final long mtime, size;
    private final Map<String, byte[]> classes;
    private final Map<String, byte[]> resources;
    private final Manifest manifest;
    private final String serverClass, version;
    private final List<String> depends;
    private final long classBytes;

    private JarImage(Path path, long mtime, long size, Map<String, byte[]> classes, Map<String, byte[]> resources,
                     Manifest manifest, String serverClass, String version, List<String> depends) {
        this.path = path;
        this.manifest = manifest;
        this.mtime = mtime;
        this.size = size;
        this.classes = classes;
        this.resources = resources;
        this.serverClass = serverClass;
        this.version = version;
        this.depends = depends;
        long n = 0;
        for (byte[] b : classes.values()) n += b.length;
        this.classBytes = n;
    }

    /**
     * Reads a jar. 110 CANT_OPEN_SERVER if it cannot be read; 111 BAD_RELOCATABLE if it is not a jar or its
     * manifest lacks the server class or version.
     */
    public static JarImage read(Path path) throws LoaderException {
        BasicFileAttributes attrs;
        byte[] bytes;
        try {
            attrs = Files.readAttributes(path, BasicFileAttributes.class);
            if (!attrs.isRegularFile()) throw new LoaderException(LoaderError.CANT_OPEN_SERVER, path + ": not a regular file");
            if (attrs.size() > MAX_BYTES) throw new LoaderException(LoaderError.BAD_RELOCATABLE, path + ": larger than " + MAX_BYTES + " bytes");
            bytes = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new LoaderException(LoaderError.CANT_OPEN_SERVER, path + ": no such file");
        } catch (IOException e) {
            throw new LoaderException(LoaderError.CANT_OPEN_SERVER, path + ": " + e.getMessage());
        }
        Map<String, byte[]> classes = new HashMap<>();
        Map<String, byte[]> resources = new HashMap<>();
        Manifest mf;
        try (JarInputStream in = new JarInputStream(new ByteArrayInputStream(bytes), false)) {
            mf = in.getManifest();
            int entries = 0;
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                if (++entries > 65536) throw new LoaderException(LoaderError.BAD_RELOCATABLE, path + ": too many entries");
                if (e.isDirectory()) continue;
                byte[] data = in.readAllBytes();
                String n = e.getName();
                if (n.endsWith(".class") && !n.startsWith("META-INF/") && !n.endsWith("module-info.class")) {
                    classes.put(n.substring(0, n.length() - 6).replace('/', '.'), data);
                } else {
                    resources.put(n, data);
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new LoaderException(LoaderError.BAD_RELOCATABLE, path + ": not a jar (" + e.getMessage() + ")");
        }
        if (mf == null) throw new LoaderException(LoaderError.BAD_RELOCATABLE, path + ": jar has no manifest");
        Attributes a = mf.getMainAttributes();
        String cls = trim(a.getValue(SERVER_CLASS));
        String version = trim(a.getValue(SERVER_VERSION));
        if (cls == null) throw new LoaderException(LoaderError.BAD_RELOCATABLE, path + ": manifest has no " + SERVER_CLASS);
        if (version == null) throw new LoaderException(LoaderError.BAD_RELOCATABLE, path + ": manifest has no " + SERVER_VERSION);
        if (!classes.containsKey(cls)) throw new LoaderException(LoaderError.SERVER_WONT_LINK, path + ": server class " + cls + " is not in the jar");
        String deps = trim(a.getValue(DEPENDS));
        List<String> depends = deps == null ? List.of() : List.of(deps.split("[\\s,]+"));
        return new JarImage(path, attrs.lastModifiedTime().toMillis(), attrs.size(), Collections.unmodifiableMap(classes),
                Collections.unmodifiableMap(resources), mf, cls, version, depends);
    }

    private static String trim(String s) {
        if (s == null) return null;
        s = s.strip();
        return s.isEmpty() ? null : s;
    }

    /** Whether the file now differs (modification time or size) from when it was read; true if it is gone. */
    public boolean changedOnDisk() {
        try {
            BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
            return a.lastModifiedTime().toMillis() != mtime || a.size() != size;
        } catch (IOException e) {
            return true;
        }
    }

    /**
     * Writes the image as the loader holds it (its manifest, classes and resources, entries sorted) to {@code file}, as
     * 3.x's kern_loader wrote the "loadable" it had relocated for gdb: what runs, even after the jar on disk changes.
     * Written beside it and renamed into place, so a reader never sees half of it.
     */
    public void write(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, ".loadable-", ".tmp");
        try {
            try (java.util.jar.JarOutputStream out = new java.util.jar.JarOutputStream(Files.newOutputStream(tmp), manifest)) {
                Map<String, byte[]> entries = new java.util.TreeMap<>(resources);
                entries.remove("META-INF/MANIFEST.MF");
                classes.forEach((n, b) -> entries.put(n.replace('.', '/') + ".class", b));
                for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                    out.putNextEntry(new java.util.jar.JarEntry(e.getKey()));
                    out.write(e.getValue());
                    out.closeEntry();
                }
            }
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    public Path path() { return path; }
    public String serverClass() { return serverClass; }
    public String version() { return version; }
    public List<String> depends() { return depends; }
    /** Class names (binary names) in the jar. */
    public java.util.Set<String> classNames() { return classes.keySet(); }
    /** Sum of the class files' sizes: the server's text, for status and the wired size. */
    public long classBytes() { return classBytes; }

    byte[] classBytes(String name) { return classes.get(name); }

    InputStream resource(String name) {
        byte[] b = resources.get(name);
        if (b == null) b = name.endsWith(".class") ? classes.get(name.substring(0, name.length() - 6).replace('/', '.')) : null;
        return b == null ? null : new ByteArrayInputStream(b);
    }
}
