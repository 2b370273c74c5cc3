package org.kextnet.loader;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

/** Builds real server jars for tests: compiles sources with the JDK compiler against the KPI and writes a jar. */
final class TestJars {
    private static final Map<List<String>, Map<String, byte[]>> CACHE = new ConcurrentHashMap<>();

    private TestJars() {}

    /** The example echo server's source, from the examples module. */
    static String echoSource() throws IOException {
        return exampleSource("examples/echo-server/src/main/java/org/kextnet/examples/echo/EchoServer.java");
    }

    /** The example NKE's source (the IP filter counter), from the examples module. */
    static String ipCounterSource() throws IOException {
        return exampleSource("examples/ipfilter-counter/src/main/java/org/kextnet/examples/ipcount/IpCounter.java");
    }

    private static String exampleSource(String path) throws IOException {
        Path rel = Path.of(path);
        return Files.readString(Files.exists(rel) ? rel : Path.of("..").resolve(rel)); // from the root or from loader/
    }

    /**
     * Writes {@code dir/jarName} holding the compiled {@code sources} (class name → source) and a manifest
     * naming {@code serverClass}, {@code version} and {@code depends} (may be null).
     */
    static Path jar(Path dir, String jarName, String serverClass, String version, String depends, Map<String, String> sources) throws IOException {
        return jar(dir, jarName, serverClass, version, depends, sources, null);
    }

    /** As above, keeping only the classes named in {@code keep} (and their nested classes) when it is not null. */
    static Path jar(Path dir, String jarName, String serverClass, String version, String depends, Map<String, String> sources,
                    java.util.Set<String> keep) throws IOException {
        Map<String, byte[]> classes = new java.util.TreeMap<>(compile(sources));
        if (keep != null) classes.keySet().removeIf(c -> !keep.contains(c.replaceAll("\\$.*", "")));
        Manifest mf = new Manifest();
        Attributes a = mf.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        if (serverClass != null) a.putValue("Kext-Server-Class", serverClass);
        if (version != null) a.putValue("Kext-Server-Version", version);
        if (depends != null) a.putValue("Kext-Depends", depends);
        Path jar = dir.resolve(jarName);
        Path tmp = dir.resolve(jarName + ".tmp");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(tmp), mf)) {
            for (Map.Entry<String, byte[]> e : classes.entrySet()) {
                out.putNextEntry(new JarEntry(e.getKey().replace('.', '/') + ".class"));
                out.write(e.getValue());
                out.closeEntry();
            }
        }
        boolean existed = Files.exists(jar);
        FileTime old = existed ? Files.getLastModifiedTime(jar) : null;
        Files.move(tmp, jar, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        if (old != null && Files.getLastModifiedTime(jar).equals(old)) {
            Files.setLastModifiedTime(jar, FileTime.fromMillis(old.toMillis() + 2000)); // a visible change
        }
        return jar;
    }

    static Path script(Path dir, String fileName, String text) throws IOException {
        Path p = dir.resolve(fileName);
        Files.writeString(p, text);
        return p;
    }

    static Map<String, byte[]> compile(Map<String, String> sources) {
        List<String> key = new ArrayList<>();
        sources.forEach((k, v) -> { key.add(k); key.add(v); });
        return CACHE.computeIfAbsent(key, k -> doCompile(sources));
    }

    private static Map<String, byte[]> doCompile(Map<String, String> sources) {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diags = new DiagnosticCollector<>();
        Map<String, byte[]> out = new ConcurrentHashMap<>();
        StandardJavaFileManager std = javac.getStandardFileManager(diags, null, null);
        javax.tools.ForwardingJavaFileManager<StandardJavaFileManager> fm = new javax.tools.ForwardingJavaFileManager<>(std) {
            @Override public JavaFileObject getJavaFileForOutput(Location loc, String className, JavaFileObject.Kind kind, javax.tools.FileObject sibling) {
                return new SimpleJavaFileObject(URI.create("mem:///" + className.replace('.', '/') + ".class"), kind) {
                    @Override public OutputStream openOutputStream() {
                        return new java.io.ByteArrayOutputStream() {
                            @Override public void close() { out.put(className, toByteArray()); }
                        };
                    }
                };
            }
        };
        List<JavaFileObject> units = new ArrayList<>();
        sources.forEach((name, src) -> units.add(new SimpleJavaFileObject(URI.create("string:///" + name.replace('.', '/') + ".java"), JavaFileObject.Kind.SOURCE) {
            @Override public CharSequence getCharContent(boolean ignoreEncodingErrors) { return src; }
        }));
        List<String> opts = List.of("--release", "25", "-classpath", System.getProperty("java.class.path"), "-proc:none");
        if (!javac.getTask(null, fm, diags, opts, null, units).call()) throw new IllegalStateException("compile failed: " + diags.getDiagnostics());
        return out;
    }
}
