package org.kextnet.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.CRC32;

import javax.lang.model.SourceVersion;

/**
 * The projects {@code kextnet new} makes: one per kind of extension, from the templates under
 * {@code org/kextnet/cli/templates/} (a {@code common/} set and one directory per kind), with {@code {{key}}}
 * placeholders. Versions come from {@code kit.properties}, which the build fills from its own pom, so a project
 * uses exactly what the distribution was built with.
 */
final class ProjectKit {
    private static final String TEMPLATES = "/org/kextnet/cli/templates/";
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{(\\w+)}}");
    private static final Pattern IMPORT = Pattern.compile("(?m)^import (?:static )?[\\w.]+\\.(\\w+);");
    /** A server's name as kern_loader takes it, starting with a letter so that it makes a Java class name. */
    static final Pattern NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_.-]{0,63}");

    /** The kinds, by the word the command takes. */
    enum Kind {
        IP_FILTER("ip-filter", "An IP filter that drops the UDP datagrams for one port and counts what it drops and lets through."),
        INTERFACE_FILTER("interface-filter", "An interface filter that counts the frames each Ethernet interface receives and sends."),
        SOCKET_FILTER("socket-filter", "A socket filter that counts what UDP sockets receive and send and refuses sends to one port."),
        KERNEL_CONTROL("kernel-control", "A kernel control through which applications set and read named settings."),
        SERVER("server", "A loadable kern_loader server that answers with the kernel's interfaces and their counters.");

        final String word, summary;

        Kind(String word, String summary) {
            this.word = word;
            this.summary = summary;
        }

        static Kind of(String word) {
            for (Kind k : values()) if (k.word.equals(word)) return k;
            return null;
        }

        static String words() {
            return Arrays.stream(values()).map(k -> k.word).collect(Collectors.joining(", "));
        }
    }

    /** What to make: a kind, a name, a Java package and the distribution repository the pom names. */
    record Spec(Kind kind, String name, String javaPackage, Path repository) {
        /** The extension's class: the name in upper camel case ("udp-drop": UdpDrop), kept clear of the names the code imports. */
        String className() {
            String c = Arrays.stream(name.split("[-_.]+")).filter(s -> !s.isEmpty())
                    .map(s -> Character.toUpperCase(s.charAt(0)) + s.substring(1)).collect(Collectors.joining());
            return reservedNames(kind).contains(c) ? c + "Extension" : c;
        }

        /** The default package: org.example and the name's letters and digits, lower case. */
        static String defaultPackage(String name) {
            return "org.example." + name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
        }
    }

    private ProjectKit() {}

    /** Why {@code javaPackage} cannot be used, or null. */
    static String checkPackage(String javaPackage) {
        if (!SourceVersion.isName(javaPackage, SourceVersion.latestSupported())) return "'" + javaPackage + "' is not a Java package name";
        if (javaPackage.equals("org.kextnet") || javaPackage.startsWith("org.kextnet.")) return "org.kextnet is kextnet's own package";
        return null;
    }

    /** The files of a project, by path relative to its directory, with their text. */
    static Map<String, String> render(Spec spec) {
        Map<String, String> v = values(spec);
        String kind = spec.kind().word + "/";
        String pkgPath = spec.javaPackage().replace('.', '/');
        String cls = spec.className();
        v.put("usage", render(template(kind + "usage.tmpl"), v).strip());
        Map<String, String> files = new LinkedHashMap<>();
        files.put("pom.xml", render(template("common/pom.xml.tmpl"), v));
        files.put("README.md", render(template("common/README.md.tmpl"), v));
        files.put(".gitignore", render(template("common/gitignore.tmpl"), v));
        files.put(".mvn/maven.config", render(template("common/maven.config.tmpl"), v));
        files.put("src/main/java/" + pkgPath + "/" + cls + ".java", render(template(kind + "Extension.java.tmpl"), v));
        files.put("src/test/java/" + pkgPath + "/" + cls + "Test.java", render(template(kind + "ExtensionTest.java.tmpl"), v));
        files.put("src/main/kern_server/" + spec.name() + ".kern_server", render(template(kind + "server.kern_server.tmpl"), v));
        return files;
    }

    /**
     * Writes the project into {@code dir}, which must be absent or empty: into a fresh directory beside it first,
     * renamed into place at the end, so that a failure leaves nothing behind.
     * @return the paths written, relative to {@code dir}
     */
    static List<String> write(Spec spec, Path dir) throws IOException {
        Map<String, String> files = render(spec);
        Path parent = dir.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, "." + dir.getFileName() + ".new-");
        try {
            for (Map.Entry<String, String> f : files.entrySet()) {
                Path p = tmp.resolve(f.getKey());
                Files.createDirectories(p.getParent());
                Files.writeString(p, f.getValue(), StandardCharsets.UTF_8);
            }
            if (Files.isDirectory(dir)) Files.delete(dir); // empty (checked by the caller); fails if it no longer is
            Files.move(tmp, dir);
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
        return List.copyOf(files.keySet());
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: the directory is hidden and named for what it is
        }
    }

    /**
     * The distribution's repository beside the code of this command: {@code dist/repo} for {@code dist/lib/*.jar}
     * (the launcher's), {@code target/dist/repo} for {@code target/classes} (a build tree).
     */
    static Path defaultRepository() {
        try {
            Path code = Path.of(ProjectKit.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return Files.isDirectory(code) ? code.resolveSibling("dist").resolve("repo") : code.getParent().resolveSibling("repo");
        } catch (URISyntaxException | RuntimeException e) {
            return Path.of("repo");
        }
    }

    /** The path, relative to a repository, of the KPI jar the projects depend on. */
    static String kpiJarPath() {
        String v = kit().getProperty("kextnet.version");
        return "org/kextnet/kextnet-kpi/" + v + "/kextnet-kpi-" + v + ".jar";
    }

    private static Map<String, String> values(Spec spec) {
        Properties kit = kit();
        Map<String, String> v = new LinkedHashMap<>();
        v.put("kind", spec.kind().word);
        v.put("summary", spec.kind().summary);
        v.put("name", spec.name());
        v.put("Class", spec.className());
        v.put("package", spec.javaPackage());
        v.put("packagePath", spec.javaPackage().replace('.', '/'));
        v.put("groupId", spec.javaPackage());
        v.put("repositoryUrl", spec.repository().toAbsolutePath().normalize().toUri().toString());
        v.put("javaHome", System.getProperty("java.home"));
        v.put("handle", handle(spec));
        for (String k : kit.stringPropertyNames()) v.put(camel(k), kit.getProperty(k));
        return v;
    }

    /** "plugin.compiler.version" → "pluginCompilerVersion"; "kextnet.version" → "kextnetVersion". */
    private static String camel(String key) {
        String[] w = key.split("\\.");
        StringBuilder s = new StringBuilder(w[0]);
        for (int i = 1; i < w.length; i++) s.append(Character.toUpperCase(w[i].charAt(0))).append(w[i].substring(1));
        return s.toString();
    }

    /** A socket filter handle of the project's own, from its package and name (xnu's are four-character codes). */
    private static String handle(Spec spec) {
        CRC32 crc = new CRC32();
        crc.update((spec.javaPackage() + "." + spec.name()).getBytes(StandardCharsets.UTF_8));
        return String.format("0x%08X", crc.getValue());
    }

    static String render(String template, Map<String, String> values) {
        Matcher m = PLACEHOLDER.matcher(template);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String v = values.get(m.group(1));
            if (v == null) throw new IllegalStateException("template placeholder {{" + m.group(1) + "}} has no value");
            m.appendReplacement(out, Matcher.quoteReplacement(v));
        }
        return m.appendTail(out).toString();
    }

    /** The simple names a kind's code imports or declares, and java.lang's common ones: not for the extension's class. */
    private static Set<String> reservedNames(Kind kind) {
        Set<String> names = new TreeSet<>(List.of("Counts", "String", "Object", "System", "Integer", "Long", "Math", "Thread",
                "Override", "Exception", "Record", "Enum", "Class", "Runtime", "Character", "Byte", "Short", "Boolean"));
        for (String t : new String[] {"Extension.java.tmpl", "ExtensionTest.java.tmpl"}) {
            Matcher m = IMPORT.matcher(template(kind.word + "/" + t));
            while (m.find()) names.add(m.group(1));
        }
        return names;
    }

    static String template(String path) {
        try (InputStream in = ProjectKit.class.getResourceAsStream(TEMPLATES + path)) {
            if (in == null) throw new IllegalStateException("no template " + path);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Properties kit() {
        try (InputStream in = ProjectKit.class.getResourceAsStream("kit.properties")) {
            if (in == null) throw new IllegalStateException("no kit.properties");
            Properties p = new Properties();
            p.load(in);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
